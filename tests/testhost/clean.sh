#!/usr/bin/env bash
# Remove every ollama-gate test container, the release server and the test network.
set -euo pipefail
docker info >/dev/null 2>&1 || exit 0
for net in ollama-gate ollama-gate-fw ollama-gate-tls; do
  ids=$(docker ps -aq --filter network=$net)
  [ -z "$ids" ] || docker rm -f $ids >/dev/null
  docker network rm $net >/dev/null 2>&1 || true
done

#!/usr/bin/env bash
# Remove every ollama-gate test container, the release server and the test network.
set -euo pipefail
docker info >/dev/null 2>&1 || exit 0
ids=$(docker ps -aq --filter network=ollama-gate)
[ -z "$ids" ] || docker rm -f $ids >/dev/null
docker network rm ollama-gate >/dev/null 2>&1 || true

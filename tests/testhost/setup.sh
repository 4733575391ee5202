#!/usr/bin/env bash
# Prepare this machine to run ollama-gate's test hosts, offline:
#   1. install Debian's docker.io and mmdebstrap when missing (needs root);
#   2. start dockerd when no engine answers, recording its PID in $OG_STATE/dockerd.pid;
#   3. build the Debian systemd base images (12 bookworm, 13 trixie) from the Debian mirror once
#      (reused afterwards; the two are built side by side).
# Safe to run again: every step is skipped when its result is already there.
# Stop what step 2 started with: tests/testhost/stop-docker.sh
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/testhost/common.sh
. "$here/common.sh"

log() { printf '[testhost] %s\n' "$*" >&2; }

need_pkgs=()
command -v dockerd >/dev/null 2>&1 || need_pkgs+=(docker.io)
command -v mmdebstrap >/dev/null 2>&1 || need_pkgs+=(mmdebstrap)
command -v zstd >/dev/null 2>&1 || need_pkgs+=(zstd)
# the firewall scenario runs a playbook over real SSH (lock-out checks)
command -v ssh-keygen >/dev/null 2>&1 || need_pkgs+=(openssh-client)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  log "installing ${need_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi

mkdir -p "$OG_STATE"
if ! docker info >/dev/null 2>&1; then
  log "no Docker engine answers; starting dockerd (log: $OG_STATE/dockerd.log)"
  # setsid: the engine outlives this script but not the session that owns it.
  setsid dockerd >"$OG_STATE/dockerd.log" 2>&1 < /dev/null &
  echo $! > "$OG_STATE/dockerd.pid"
  for _ in $(seq 1 100); do
    docker info >/dev/null 2>&1 && break
    sleep 0.2
  done
  docker info >/dev/null 2>&1 || { log "dockerd did not come up:"; tail -20 "$OG_STATE/dockerd.log" >&2; exit 1; }
  log "dockerd running, PID $(cat "$OG_STATE/dockerd.pid")"
fi

build_image() { # <suite> <tag>
  local suite=$1 tag=$2
  if docker image inspect "$tag" >/dev/null 2>&1; then
    return 0
  fi
  local work
  work=$(mktemp -d)
  log "building $tag from the Debian mirror ($OG_MIRROR, $suite)"
  mmdebstrap --quiet --variant=minbase \
    --include=systemd,systemd-sysv,dbus,python3,python3-apt,sudo,ca-certificates,iproute2,curl,procps \
    "$suite" "$work/rootfs.tar" \
    "deb $OG_MIRROR $suite main" \
    "deb $OG_MIRROR $suite-updates main" \
    "deb $OG_SECURITY_MIRROR $suite-security main"
  cp "$here/Dockerfile" "$work/Dockerfile"
  docker build --quiet --tag "$tag" "$work" >/dev/null
  rm -rf "$work"
  log "built $tag"
}

build_image bookworm "$OG_IMAGE" &
bookworm=$!
build_image trixie "$OG_IMAGE_TRIXIE" &
trixie=$!
status=0
wait "$bookworm" || status=1
wait "$trixie" || status=1
exit "$status"

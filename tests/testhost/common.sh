# Shared settings of the test-host scripts (sourced, not run).
# shellcheck shell=bash
OG_STATE=${OG_STATE:-/var/tmp/ollama-gate}
OG_IMAGE=${OG_IMAGE:-ollama-gate/debian12-systemd:1}
# Debian 13 test hosts (a platform with "release: trixie" in molecule.yml)
OG_IMAGE_TRIXIE=${OG_IMAGE_TRIXIE:-ollama-gate/debian13-systemd:1}
OG_MIRROR=${OG_MIRROR:-http://deb.debian.org/debian}
OG_SECURITY_MIRROR=${OG_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
export OG_STATE OG_IMAGE OG_IMAGE_TRIXIE OG_MIRROR OG_SECURITY_MIRROR

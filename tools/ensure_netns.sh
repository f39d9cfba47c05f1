#!/usr/bin/env bash
# The index-wait tests run the real resolver and connect in a private network namespace
# (unshare, ip). Install Debian's packages when a program is missing.
set -euo pipefail
if command -v unshare >/dev/null 2>&1 && { command -v ip >/dev/null 2>&1 || [ -x /usr/sbin/ip ] || [ -x /sbin/ip ]; }; then
  exit 0
fi
if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
  echo "unshare or ip is missing; install them with: apt-get install util-linux iproute2" >&2
  exit 1
fi
echo "installing util-linux and iproute2 (apt-get install) for the index-wait tests"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq util-linux iproute2 >/dev/null

#!/usr/bin/env bash
# The storage tests start a throwaway PostgreSQL cluster, so they need the server
# binaries (initdb, pg_ctl). Install Debian's package when they are missing.
set -euo pipefail
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
  echo "PostgreSQL server binaries are missing; install them with: apt-get install postgresql" >&2
  exit 1
fi
echo "installing PostgreSQL server binaries (apt-get install postgresql) for the storage tests"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null

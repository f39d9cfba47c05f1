#!/usr/bin/env bash
# The text-to-speech plugin's tests synthesise speech offline with espeak-ng.
# Install Debian's package when the program is missing.
set -euo pipefail
if command -v espeak-ng >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
  echo "espeak-ng is missing; install it with: apt-get install espeak-ng" >&2
  exit 1
fi
echo "installing espeak-ng (apt-get install espeak-ng) for the text-to-speech tests"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq espeak-ng >/dev/null

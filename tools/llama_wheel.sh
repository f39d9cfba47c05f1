#!/usr/bin/env bash
# Build llama-cpp-python once per machine into a wheel cache, so tests and the demo
# install it in seconds. PyPI publishes only its source; a build takes about five
# minutes on two cores. GGML_NATIVE=OFF keeps the wheel portable across CPUs.
# Progress: tools/build_progress.py turns the build's step lines ([N/M] from Ninja,
# [NN%] from Make) into a counter with the elapsed time; the full log is kept.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
WHEELS="${PEPPERPY_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pepperpy/wheels}"
VERSION="${LLAMA_CPP_VERSION:-0.3.36}"
PY="${1:-python3}"
mkdir -p "$WHEELS"
if ls "$WHEELS"/llama_cpp_python-"$VERSION"-*.whl >/dev/null 2>&1; then
  exit 0  # built before: nothing to say, nothing to wait for
fi
LOG="$WHEELS/llama-cpp-python-$VERSION-build.log"
echo "llama-cpp-python $VERSION: building it from source, once per machine, into $WHEELS"
echo "  (PyPI has no wheel for it; about 5 minutes on 2 cores, up to 15 on a busy machine;"
echo "   later runs reuse the wheel; full log: $LOG)"
start=$(date +%s)
status=0
CMAKE_ARGS="-DGGML_NATIVE=OFF" "$PY" -m pip wheel --no-deps -v -w "$WHEELS" \
  "llama-cpp-python==$VERSION" 2>&1 | tee "$LOG" \
  | "$PY" "$HERE/build_progress.py" --label llama.cpp || status=$?
if [ "$status" -ne 0 ] || ! ls "$WHEELS"/llama_cpp_python-"$VERSION"-*.whl >/dev/null 2>&1; then
  echo "llama-cpp-python $VERSION: the build failed after $(( $(date +%s) - start ))s;" \
       "the last lines of $LOG:" >&2
  tail -n 25 "$LOG" >&2
  exit 1
fi
echo "llama-cpp-python $VERSION: built in $(( $(date +%s) - start ))s"

#!/usr/bin/env bash
# Build llama-cpp-python once per machine into a wheel cache, so tests and the demo
# install it in seconds. PyPI publishes only its source; a build of what text generation
# needs takes a few minutes on two cores. GGML_NATIVE=OFF keeps the wheel portable across CPUs.
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
echo "  (PyPI has no wheel for it; about 2 minutes on 2 cores, up to 5 on a busy machine;"
echo "   later runs reuse the wheel; full log: $LOG)"
start=$(date +%s)
status=0
# Text generation needs libllama and ggml only. The package's CMakeLists also builds the
# multimodal library (mtmd: a file per vision and audio model family) and llama.cpp's
# `common` helpers (argument parsing, chat templates, downloads), which the Python
# bindings never load: LLAVA_BUILD=OFF drops the first, and one line of the unpacked
# source turns the forced LLAMA_BUILD_COMMON off (nothing else is changed, so the
# libraries and the generated text are those of the full build).
SRC="$(mktemp -d)"
trap 'rm -rf "$SRC"' EXIT
"$PY" -m pip download --quiet --no-deps --no-binary :all: -d "$SRC" \
  "llama-cpp-python==$VERSION"
tar -xzf "$SRC"/llama_cpp_python-"$VERSION".tar.gz -C "$SRC"
TREE="$SRC/llama_cpp_python-$VERSION"
sed -i 's/set(LLAMA_BUILD_COMMON ON CACHE BOOL/set(LLAMA_BUILD_COMMON OFF CACHE BOOL/' \
  "$TREE/CMakeLists.txt"
CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF \
-DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF" \
  "$PY" -m pip wheel --no-deps -v -w "$WHEELS" "$TREE" 2>&1 | tee "$LOG" \
  | "$PY" "$HERE/build_progress.py" --label llama.cpp || status=$?
if [ "$status" -ne 0 ] || ! ls "$WHEELS"/llama_cpp_python-"$VERSION"-*.whl >/dev/null 2>&1; then
  echo "llama-cpp-python $VERSION: the build failed after $(( $(date +%s) - start ))s;" \
       "the last lines of $LOG:" >&2
  tail -n 25 "$LOG" >&2
  exit 1
fi
echo "llama-cpp-python $VERSION: built in $(( $(date +%s) - start ))s"

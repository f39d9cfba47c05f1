#!/usr/bin/env bash
# Build llama-cpp-python once per machine into a wheel cache, so tests and the demo
# install it in seconds. PyPI publishes only its source; a build takes about five
# minutes on two cores. GGML_NATIVE=OFF keeps the wheel portable across CPUs.
set -euo pipefail
WHEELS="${PEPPERPY_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pepperpy/wheels}"
VERSION="${LLAMA_CPP_VERSION:-0.3.36}"
PY="${1:-python3}"
mkdir -p "$WHEELS"
if ls "$WHEELS"/llama_cpp_python-"$VERSION"-*.whl >/dev/null 2>&1; then
  echo "llama-cpp-python $VERSION: using the cached wheel in $WHEELS"
  exit 0
fi
echo "llama-cpp-python $VERSION: building from source into $WHEELS (about 5 minutes; progress below)"
start=$(date +%s)
CMAKE_ARGS="-DGGML_NATIVE=OFF" "$PY" -m pip wheel --no-deps -v -w "$WHEELS" \
  "llama-cpp-python==$VERSION" 2>&1 | grep --line-buffered -E '^\s*\[ *[0-9]+%\]|Successfully|ERROR|error:' || true
ls "$WHEELS"/llama_cpp_python-"$VERSION"-*.whl >/dev/null
echo "llama-cpp-python $VERSION: built in $(( $(date +%s) - start ))s"

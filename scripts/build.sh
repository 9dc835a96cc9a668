#!/usr/bin/env bash
# Sets up dependencies and builds everything (Release, Ninja) into build/.
# Usage: scripts/build.sh [extra cmake args]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
"$ROOT/scripts/setup.sh"
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-Release} "$@" >/dev/null
# 2 parallel jobs keep peak memory modest on small machines.
cmake --build "$BUILD_DIR" -- -j"${JOBS:-$(nproc)}"

#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite: every ctest test of the
# release build, then the unit and fake-driven consensus tests again under
# ASan+UBSan and under TSan (scripts/sanitizers.sh), then the fuzz targets
# for a bounded time each (scripts/fuzz.sh). Exits non-zero on any failure.
# Arguments go to the release build's ctest and skip the sanitizer and fuzz
# runs (e.g. `scripts/test.sh -L unit`); SANITIZERS=0 and FUZZ=0 skip them
# too.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
"$ROOT/scripts/build.sh"
(
  cd "${BUILD_DIR:-$ROOT/build}"
  ctest --output-on-failure --timeout 600 -j"${TEST_JOBS:-2}" "$@"
)
if [[ $# -eq 0 && ${SANITIZERS:-1} != 0 ]]; then
  "$ROOT/scripts/sanitizers.sh"
fi
if [[ $# -eq 0 && ${FUZZ:-1} != 0 ]]; then
  "$ROOT/scripts/fuzz.sh"
fi

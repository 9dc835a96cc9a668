#!/usr/bin/env bash
# Builds the unit and fake-driven consensus tests with sanitizers and runs
# them: AddressSanitizer + UndefinedBehaviorSanitizer (GCC, build-asan/) and
# ThreadSanitizer (clang, build-tsan/; clang also checks the lock
# annotations, -Wthread-safety, as errors). Which tests run where is each
# test target's SANITIZERS list in CMake (labels `asan`, `tsan`).
# Usage: scripts/sanitizers.sh [address|thread]...   (default: both)
# Called by scripts/test.sh; set-up (clang, its sanitizer runtimes) by scripts/setup.sh.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
kinds=("$@")
((${#kinds[@]})) || kinds=(address thread)

for kind in "${kinds[@]}"; do
  case $kind in
    address) preset=asan label=asan ;;
    thread) preset=tsan label=tsan ;;
    *) echo "sanitizers: unknown sanitizer '$kind' (address or thread)" >&2; exit 2 ;;
  esac
  dir=$ROOT/build-$preset
  echo "sanitizers: $kind: building the tests that run under it in $dir"
  cmake --preset "$preset" -S "$ROOT" >/dev/null
  mapfile -t targets <"$dir/sanitizer-targets.txt"
  cmake --build "$dir" --target "${targets[@]}" -- -j"${JOBS:-$(nproc)}"
  echo "sanitizers: $kind: running ${targets[*]}"
  (
    cd "$dir"
    # halt_on_error: the first report fails the test; second_deadlock_stack
    # names both sides of a lock-order inversion.
    ASAN_OPTIONS=halt_on_error=1:detect_leaks=1 \
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
      ctest --output-on-failure --timeout 600 -j"${TEST_JOBS:-2}" -L "^$label$"
  )
done

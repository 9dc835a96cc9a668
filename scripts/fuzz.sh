#!/usr/bin/env bash
# Builds the libFuzzer targets (CMake preset `fuzz`: clang, ASan+UBSan, in
# build-fuzz/) and runs each for a bounded time: first its regressions
# (fuzz/regressions/<target>/, every input once), then fuzzing from its seed
# corpus (fuzz/corpus/<target>/, copied to a scratch folder so that the run
# adds nothing to git). Any crash, sanitizer report, leak, timeout or
# out-of-memory fails the run; the script prints where the input was saved
# and how to reproduce it. Targets and their -max_len come from
# build-fuzz/fuzz-targets.txt (fuzz/CMakeLists.txt).
# Usage: scripts/fuzz.sh [TARGET...]   (default: every target)
# Environment: FUZZ_SECONDS (fuzzing time per target, default 30),
# FUZZ_JOBS (targets fuzzed at once, default 2), FUZZ_WORK (scratch folder,
# default build-fuzz/fuzz-runs/<time>), JOBS (build jobs, default nproc).
# Called by scripts/test.sh (FUZZ=0 skips it); set-up (clang, libclang-rt-14-dev:
# libFuzzer's runtime) by scripts/setup.sh.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build-fuzz
SECS=${FUZZ_SECONDS:-30}
PARALLEL=${FUZZ_JOBS:-2}
WORK=${FUZZ_WORK:-$BUILD/fuzz-runs/$(date +%Y%m%d-%H%M%S)}
[[ $SECS =~ ^[1-9][0-9]*$ ]] || { echo "fuzz: FUZZ_SECONDS must be a positive number of seconds" >&2; exit 2; }
[[ $PARALLEL =~ ^[1-9][0-9]*$ ]] || { echo "fuzz: FUZZ_JOBS must be a positive number" >&2; exit 2; }

start=$(date +%s)
echo "fuzz: building the targets in $BUILD"
cmake --preset fuzz -S "$ROOT" >/dev/null
cmake --build "$BUILD" --target fuzz -- -j"${JOBS:-$(nproc)}"
built=$(date +%s)

declare -A max_len
all=()
while read -r name len; do
  max_len[$name]=$len
  all+=("$name")
done <"$BUILD/fuzz-targets.txt"
targets=("$@")
((${#targets[@]})) || targets=("${all[@]}")
for t in "${targets[@]}"; do
  [[ -n ${max_len[$t]:-} ]] || { echo "fuzz: unknown target '$t' (${all[*]})" >&2; exit 2; }
done

# halt_on_error: the first report ends the run; print_stacktrace: UBSan says where.
export ASAN_OPTIONS=halt_on_error=1:detect_leaks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

# run_target NAME: regressions, then fuzzing; writes $WORK/NAME/{log,rc,seconds}.
run_target() {
  local name=$1 dir=$WORK/$1 bin=$BUILD/fuzz/fuzz_$1 t0 rc=0
  local regressions=$ROOT/fuzz/regressions/$name
  mkdir -p "$dir/corpus" "$dir/artifacts"
  cp -r "$ROOT/fuzz/corpus/$name/." "$dir/corpus/"
  t0=$(date +%s)
  {
    local inputs=()
    if [[ -d $regressions ]]; then
      mapfile -t inputs < <(find "$regressions" -type f ! -name '.*' | sort)
    fi
    if ((${#inputs[@]})); then
      echo "== regressions: ${#inputs[@]} inputs"
      "$bin" -artifact_prefix="$dir/artifacts/" "${inputs[@]}" || rc=$?
    fi
    if ((rc == 0)); then
      echo "== fuzzing for ${SECS}s"
      "$bin" -max_total_time="$SECS" -max_len="${max_len[$name]}" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$dir/artifacts/" "$dir/corpus" || rc=$?
    fi
  } >"$dir/log" 2>&1
  echo $rc >"$dir/rc"
  echo $(($(date +%s) - t0)) >"$dir/seconds"
}

echo "fuzz: running ${targets[*]} for ${SECS}s each, $PARALLEL at a time, in $WORK"
mkdir -p "$WORK"
running=0
for t in "${targets[@]}"; do
  if ((running >= PARALLEL)); then
    wait -n || true
    running=$((running - 1))
  fi
  run_target "$t" &
  running=$((running + 1))
done
wait

failed=()
for t in "${targets[@]}"; do
  dir=$WORK/$t
  stat() { sed -n "s/^stat::$1: *//p" "$dir/log" | tail -1; }
  seeds=$(find "$ROOT/fuzz/corpus/$t" -type f | wc -l)
  corpus=$(find "$dir/corpus" -type f | wc -l)
  if [[ $(cat "$dir/rc") == 0 ]]; then
    printf 'fuzz: %-15s ok: %10s runs in %3ss (%s/s), corpus %s -> %s inputs\n' "$t" "$(stat number_of_executed_units)" \
      "$(cat "$dir/seconds")" "$(stat average_exec_per_sec)" "$seeds" "$corpus"
    continue
  fi
  failed+=("$t")
  echo "fuzz: $t FAILED (exit $(cat "$dir/rc")); the end of its log ($dir/log):"
  tail -n 60 "$dir/log" | sed 's/^/    /'
  mapfile -t found < <(find "$dir/artifacts" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
    -o -name 'oom-*' \))
  for a in "${found[@]}"; do
    echo "fuzz: $t: the input is saved in $a"
    echo "    reproduce:           $BUILD/fuzz/fuzz_$t $a"
    echo "    keep as regression:  cp $a $ROOT/fuzz/regressions/$t/<what-it-is>"
  done
  if ((${#found[@]} == 0)); then
    # A regression fails as itself: libFuzzer saves nothing for inputs it is only given to run.
    input=$(sed -n 's/^Running: //p' "$dir/log" | tail -1)
    if [[ -n $input ]]; then
      echo "fuzz: $t: the failing input is the regression $input"
      echo "    reproduce:           $BUILD/fuzz/fuzz_$t $input"
    else
      echo "fuzz: $t: no input was saved (see the log)"
    fi
  fi
done
end=$(date +%s)
echo "fuzz: build $((built - start))s, runs $((end - built))s, total $((end - start))s"
if ((${#failed[@]})); then
  echo "fuzz: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: all ${#targets[@]} targets ran clean"

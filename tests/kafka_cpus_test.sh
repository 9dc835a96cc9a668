#!/usr/bin/env bash
# scripts/kafka start --cpus: bad CPU lists are refused before anything
# starts; a pinned broker's every thread runs only on the CPUs given, the
# layout records them, a running broker is not re-placed by another start,
# and a start without --cpus runs unpinned.
# Usage: kafka_cpus_test.sh REPO_ROOT PORT WORK_DIR
set -euo pipefail
ROOT=$1 PORT=$2 WORK=$3
KAFKA=$ROOT/scripts/kafka
DIR=$WORK/kafka
fail() { echo "kafka cpus test: $*" >&2; exit 1; }
rm -rf "$WORK"
mkdir -p "$WORK"
trap '"$KAFKA" wipe --dir "$DIR" >/dev/null 2>&1 || true' EXIT

# Every thread's allowed CPUs, one line per distinct list.
thread_cpus() { cat /proc/"$1"/task/*/status | sed -n 's/^Cpus_allowed_list:\s*//p' | sort -u; }

# 1. Lists refused with exit 2, and no broker folder made.
for bad in a 1-0 0,,1 "0 1" 99999 -1; do
  rc=0
  "$KAFKA" start --dir "$DIR" --port "$PORT" --cpus "$bad" 2>"$WORK/bad.err" || rc=$?
  [[ $rc -eq 2 ]] && grep -q "^kafka: .*--cpus" "$WORK/bad.err" ||
    fail "--cpus '$bad': expected exit 2 naming --cpus, got $rc: $(cat "$WORK/bad.err")"
done
[[ ! -e $DIR ]] || fail "a refused start made $DIR"

# 2. Pinned to one CPU (the last this process may use).
mine=$(sed -n 's/^Cpus_allowed_list:\s*//p' /proc/$$/status)
cpu=$(taskset -cp $$ | sed 's/.*: //' | tr ',' '\n' | tail -n1 | sed 's/.*-//')
"$KAFKA" start --dir "$DIR" --port "$PORT" --cpus "$cpu" --wait 180 >"$WORK/start.out" 2>"$WORK/start.err" ||
  fail "start --cpus $cpu failed: $(cat "$WORK/start.err")"
pid=$(cat "$DIR/node1/pid")
[[ $(thread_cpus "$pid") == "$cpu" ]] || fail "broker threads may run on $(thread_cpus "$pid" | paste -sd' '), not only $cpu"
grep -qE "(^| )CPUS=$cpu( |$)" "$DIR/layout" || fail "layout does not record CPUS=$cpu: $(cat "$DIR/layout")"
"$KAFKA" status --dir "$DIR" | grep -q "CPUs $cpu)" || fail "status does not show CPUs $cpu: $("$KAFKA" status --dir "$DIR")"

# 3. Another placement for the running broker is refused; the same one is a no-op.
rc=0
"$KAFKA" start --dir "$DIR" --port "$PORT" 2>"$WORK/replace.err" || rc=$?
[[ $rc -eq 1 ]] && grep -q "stop them before" "$WORK/replace.err" ||
  fail "an unpinned start on a pinned running broker: exit $rc: $(cat "$WORK/replace.err")"
"$KAFKA" start --dir "$DIR" --port "$PORT" --cpus "$cpu" >/dev/null 2>"$WORK/again.err" ||
  fail "starting a running broker again with its CPUs failed: $(cat "$WORK/again.err")"
[[ $(cat "$DIR/node1/pid") == "$pid" ]] || fail "the running broker was replaced"

# 4. Stopped, then started without --cpus: unpinned, as this process is.
"$KAFKA" stop --dir "$DIR" 2>/dev/null
"$KAFKA" start --dir "$DIR" --port "$PORT" --wait 180 >/dev/null 2>"$WORK/unpinned.err" ||
  fail "start without --cpus failed: $(cat "$WORK/unpinned.err")"
pid=$(cat "$DIR/node1/pid")
[[ $(thread_cpus "$pid") == "$mine" ]] || fail "an unpinned broker may run on $(thread_cpus "$pid" | paste -sd' '), not $mine"
grep -qE "(^| )CPUS=( |$)" "$DIR/layout" || fail "layout of an unpinned start: $(cat "$DIR/layout")"
echo "kafka cpus test: OK (pinned to CPU $cpu, then unpinned: $mine)"

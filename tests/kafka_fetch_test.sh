#!/usr/bin/env bash
# scripts/kafka fetch on an empty cache, as on a new machine, with real Maven:
# a fetch killed part way publishes nothing, and three fetches started at once
# all succeed with one Maven run between them and one complete, usable Kafka.
# Usage: kafka_fetch_test.sh REPO_ROOT WORK_DIR
set -euo pipefail
ROOT=$1 WORK=$2
KAFKA=$ROOT/scripts/kafka
VERSION=$(sed -n 's/^KAFKA_VERSION=\${KAFKA_VERSION:-\(.*\)}$/\1/p' "$KAFKA")
[[ -n $VERSION ]] || { echo "kafka fetch test: no KAFKA_VERSION in $KAFKA" >&2; exit 1; }
export KAFKA_CACHE=$WORK/cache
LIBS=$KAFKA_CACHE/kafka-$VERSION/libs
fail() { echo "kafka fetch test: $*" >&2; exit 1; }
rm -rf "$WORK"
mkdir -p "$WORK"

# 1. A fetch killed while Maven downloads (as Ctrl-C kills Maven with it)
#    leaves no libs folder behind.
setsid "$KAFKA" fetch 2>"$WORK/killed.err" &
victim=$!
for ((i = 0; i < 1200; i++)); do
  [[ -n $(find "$KAFKA_CACHE/maven-repository" -name '*.jar' -print -quit 2>/dev/null) ]] && break
  kill -0 "$victim" 2>/dev/null || break
  sleep 0.1
done
kill -0 "$victim" 2>/dev/null || fail "the fetch to kill ended before Maven downloaded anything: $(cat "$WORK/killed.err")"
kill -KILL -- "-$victim"
wait "$victim" 2>/dev/null || true
[[ ! -e $LIBS ]] || fail "a killed fetch left $LIBS behind"
ls -d "$KAFKA_CACHE"/.fetch-tmp.* >/dev/null 2>&1 || fail "expected the killed fetch's temporary folder to remain"

# 2. Three fetches at once on that cache.
pids=()
for i in 1 2 3; do
  "$KAFKA" fetch 2>"$WORK/fetch$i.err" &
  pids+=($!)
done
for i in 1 2 3; do
  wait "${pids[$((i - 1))]}" || fail "concurrent fetch $i failed: $(cat "$WORK/fetch$i.err")"
done
fetched=$(cat "$WORK"/fetch?.err | grep -c "fetching Apache Kafka" || true)
waited=$(cat "$WORK"/fetch?.err | grep -c "fetched by another caller" || true)
[[ $fetched -eq 1 && $waited -eq 2 ]] ||
  fail "expected one Maven run and two callers served by it, saw $fetched and $waited: $(cat "$WORK"/fetch?.err)"
[[ -f $LIBS/.complete && -f $LIBS/kafka_2.13-$VERSION.jar ]] || fail "$LIBS is not complete"
! ls -d "$KAFKA_CACHE"/.fetch-tmp.* >/dev/null 2>&1 || fail "temporary folders left in $KAFKA_CACHE"
[[ ! -e $LIBS/libs ]] || fail "the libs folder was nested into itself"
jars=$(find "$LIBS" -name '*.jar' | wc -l)
((jars > 20)) || fail "only $jars jars in $LIBS"

# 3. What was published runs: Kafka's storage tool makes a cluster id.
uuid=$(java -cp "$LIBS/*" kafka.tools.StorageTool random-uuid 2>"$WORK/uuid.err" | tail -n1) ||
  fail "kafka.tools.StorageTool did not run: $(cat "$WORK/uuid.err")"
[[ $uuid =~ ^[A-Za-z0-9_-]{22}$ ]] || fail "unexpected cluster id '$uuid'"

# 4. A later fetch finds it and does nothing.
"$KAFKA" fetch 2>"$WORK/again.err" || fail "a fetch on a full cache failed: $(cat "$WORK/again.err")"
[[ ! -s $WORK/again.err ]] || fail "a fetch on a full cache printed: $(cat "$WORK/again.err")"
echo "kafka fetch test: OK ($jars jars; one Maven run served three concurrent callers; a killed fetch published nothing)"

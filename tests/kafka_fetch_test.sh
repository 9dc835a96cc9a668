#!/usr/bin/env bash
# scripts/kafka fetch on an empty cache, as on a new machine, with real Maven:
# a fetch killed part way publishes nothing; three fetches started at once
# all succeed with one Maven run between them and one complete, usable Kafka
# broker folder (libs) and tools folder (tools-libs), each published once; a
# cache with libs but no tools-libs (made before the tools existed) gains
# tools-libs on its next fetch and keeps its libs.
# Usage: kafka_fetch_test.sh REPO_ROOT WORK_DIR
set -euo pipefail
ROOT=$1 WORK=$2
KAFKA=$ROOT/scripts/kafka
VERSION=$(sed -n 's/^KAFKA_VERSION=\${KAFKA_VERSION:-\(.*\)}$/\1/p' "$KAFKA")
[[ -n $VERSION ]] || { echo "kafka fetch test: no KAFKA_VERSION in $KAFKA" >&2; exit 1; }
export KAFKA_CACHE=$WORK/cache
LIBS=$KAFKA_CACHE/kafka-$VERSION/libs
TOOLS=$KAFKA_CACHE/kafka-$VERSION/tools-libs
fail() { echo "kafka fetch test: $*" >&2; exit 1; }
count() { local pattern=$1; shift; cat "$@" | grep -c "$pattern" || true; }  # PATTERN FILE...
rm -rf "$WORK"
mkdir -p "$WORK"

# 1. A fetch killed while Maven downloads (as Ctrl-C kills Maven with it)
#    leaves no libs or tools folder behind.
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
[[ ! -e $LIBS && ! -e $TOOLS ]] || fail "a killed fetch left $LIBS or $TOOLS behind"
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
fetched=$(count "fetching Apache Kafka $VERSION from" "$WORK"/fetch?.err)
fetched_tools=$(count "fetching Kafka's tools $VERSION" "$WORK"/fetch?.err)
waited=$(count "fetched by another caller" "$WORK"/fetch?.err)
[[ $fetched -eq 1 && $fetched_tools -eq 1 && $waited -eq 2 ]] ||
  fail "expected one Maven run for each folder and two callers served by them, saw $fetched, $fetched_tools and $waited: $(cat "$WORK"/fetch?.err)"
[[ -f $LIBS/.complete && -f $LIBS/kafka_2.13-$VERSION.jar ]] || fail "$LIBS is not complete"
[[ -f $TOOLS/.complete && -f $TOOLS/kafka-tools-$VERSION.jar && -f $TOOLS/kafka-clients-$VERSION.jar ]] ||
  fail "$TOOLS is not complete: $(ls -A "$TOOLS" 2>&1)"
! ls -d "$KAFKA_CACHE"/.fetch-tmp.* >/dev/null 2>&1 || fail "temporary folders left in $KAFKA_CACHE"
[[ ! -e $LIBS/libs && ! -e $TOOLS/tools-libs && ! -e $TOOLS/out ]] || fail "a folder was nested into itself"
jars=$(find "$LIBS" -name '*.jar' | wc -l)
((jars > 20)) || fail "only $jars jars in $LIBS"
# The tools folder holds what ProducerPerformance needs, not all of kafka-tools'
# dependencies (Connect's runtime, Jetty, Jersey, the broker).
tool_jars=$(find "$TOOLS" -name '*.jar' | wc -l)
extra=$(cd "$TOOLS" && ls | grep -E '^(connect-|jetty-|jersey-|jackson-|kafka_2\.13|kafka-storage|kafka-metadata)' || true)
[[ -z $extra && $tool_jars -le 15 ]] || fail "$TOOLS holds $tool_jars jars, among them: ${extra:-(none of the excluded)}"
tools_inode=$(stat -c %i "$TOOLS")
libs_inode=$(stat -c %i "$LIBS")

# 3. What was published runs: Kafka's storage tool makes a cluster id, and
#    ProducerPerformance prints its usage and, without a broker, builds a
#    producer, times out one record and prints its (empty) summary.
uuid=$(java -cp "$LIBS/*" kafka.tools.StorageTool random-uuid 2>"$WORK/uuid.err" | tail -n1) ||
  fail "kafka.tools.StorageTool did not run: $(cat "$WORK/uuid.err")"
[[ $uuid =~ ^[A-Za-z0-9_-]{22}$ ]] || fail "unexpected cluster id '$uuid'"
"$KAFKA" producer-perf >"$WORK/pp-usage.out" 2>"$WORK/pp-usage.err" ||
  fail "producer-perf without arguments failed: $(cat "$WORK/pp-usage.err")"
grep -q "^usage: producer-performance" "$WORK/pp-usage.out" ||
  fail "producer-perf printed no usage: $(head -c 2000 "$WORK/pp-usage.out" "$WORK/pp-usage.err")"
"$KAFKA" producer-perf --topic fetch-test --num-records 1 --record-size 100 --throughput -1 \
  --producer-props bootstrap.servers=127.0.0.1:1 max.block.ms=500 >"$WORK/pp-nobroker.out" 2>"$WORK/pp-nobroker.err" ||
  fail "producer-perf without a broker failed: $(tail -n 20 "$WORK/pp-nobroker.err")"
! grep -E "NoClassDefFoundError|ClassNotFoundException" "$WORK/pp-nobroker.err" ||
  fail "ProducerPerformance misses classes in $TOOLS"
grep -q "^0 records sent, .* 99.9th.$" "$WORK/pp-nobroker.out" ||
  fail "producer-perf without a broker printed no summary: $(cat "$WORK/pp-nobroker.out")"

# 4. A later fetch finds both and does nothing, replacing nothing.
"$KAFKA" fetch 2>"$WORK/again.err" || fail "a fetch on a full cache failed: $(cat "$WORK/again.err")"
[[ ! -s $WORK/again.err ]] || fail "a fetch on a full cache printed: $(cat "$WORK/again.err")"
[[ $(stat -c %i "$TOOLS") == "$tools_inode" && $(stat -c %i "$LIBS") == "$libs_inode" ]] ||
  fail "a fetch on a full cache replaced a published folder"

# 5. A cache made before the tools existed (libs only): two fetches at once
#    publish tools-libs once and leave libs as it was.
rm -rf "$TOOLS"
for i in 1 2; do
  "$KAFKA" fetch 2>"$WORK/upgrade$i.err" &
  pids[$i]=$!
done
for i in 1 2; do
  wait "${pids[$i]}" || fail "fetch $i on a libs-only cache failed: $(cat "$WORK/upgrade$i.err")"
done
fetched=$(count "fetching Apache Kafka $VERSION from" "$WORK"/upgrade?.err)
fetched_tools=$(count "fetching Kafka's tools $VERSION" "$WORK"/upgrade?.err)
[[ $fetched -eq 0 && $fetched_tools -eq 1 ]] ||
  fail "on a libs-only cache expected one tools fetch and no libs fetch, saw $fetched_tools and $fetched: $(cat "$WORK"/upgrade?.err)"
[[ -f $TOOLS/.complete && $(stat -c %i "$LIBS") == "$libs_inode" ]] || fail "the upgrade did not keep libs or publish tools-libs"
echo "kafka fetch test: OK ($jars broker jars, $tool_jars tools jars; one Maven run served three concurrent callers;" \
  "a killed fetch published nothing; a libs-only cache gained tools-libs)"

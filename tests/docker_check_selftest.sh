#!/usr/bin/env bash
# Shows that docker_check.py fails on a broken copy of docker/: an unpinned
# image, a package Debian does not have, a flag the binary lacks, a broker
# setting that disagrees with configs/broker, two raft orderers with one id, and
# Prometheus scraping a port the orderer does not serve.
# Usage: docker_check_selftest.sh REPO_ROOT BUILD_DIR
set -euo pipefail
ROOT=$1 BUILD=$2
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
(cd "$ROOT" && git ls-files -z 2>/dev/null | xargs -0 -I{} cp --parents {} "$TMP" 2>/dev/null) || cp -r "$ROOT"/. "$TMP"
cp -r "$ROOT/docker" "$ROOT/configs" "$ROOT/monitoring" "$TMP"/
sed -i 's/--rate=2000/--rat=2000/; s/KAFKA_NUM_NETWORK_THREADS: "3"/KAFKA_NUM_NETWORK_THREADS: "8"/; s#apache/kafka:3.9.1#apache/kafka#' \
  "$TMP/docker/docker-compose.yml"
sed -i 's/libfmt9/libfmt99/' "$TMP/docker/Dockerfile"
sed -i 's/--raft-id=3/--raft-id=2/' "$TMP/docker/docker-compose.raft.yml"
sed -i 's/orderer:8443/orderer:8999/' "$TMP/monitoring/prometheus.yml"
set +e
out=$(/usr/bin/python3 "$ROOT/tests/docker_check.py" "$TMP" "$BUILD")
rc=$?
set -e
echo "$out"
[[ $rc -ne 0 ]] || { echo "selftest: the check passed a broken compose file" >&2; exit 1; }
for want in "not pinned" "libfmt99" "no flag --rat" "KAFKA_NUM_NETWORK_THREADS=8" "are not unique" \
    "scrapes orderer:8999"; do
  grep -q -- "$want" <<<"$out" || { echo "selftest: missing problem '$want'" >&2; exit 1; }
done
echo "selftest: OK, all six planted problems reported"

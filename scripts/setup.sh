#!/usr/bin/env bash
# Installs everything the build and tests need, idempotently: Debian packages
# (only the missing ones; `apt-get update` only when something is missing).
# Safe to run again and again.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config
  clang libclang-rt-14-dev  # the sanitizer runs: TSan and -Wthread-safety (scripts/sanitizers.sh); libFuzzer (scripts/fuzz.sh)
  clang-format              # the layout check (tests/format_check.sh)
  librdkafka-dev            # Kafka client (C API) incl. rdkafka_mock.h
  libssl-dev                # OpenSSL 3: SHA-256, ECDSA P-256
  librocksdb-dev            # ledger storage
  libraft-dev libuv1-dev liblz4-dev   # the raft backend (libraft 0.15 on libuv; its static lib needs lz4)
  protobuf-compiler libprotobuf-dev
  libgrpc++-dev protobuf-compiler-grpc   # Deliver service
  libboost-program-options-dev
  libgtest-dev libgmock-dev
  libspdlog-dev nlohmann-json3-dev
  prometheus-cpp-dev libcivetweb-dev   # /metrics, /healthz, /readyz
  prometheus                # the real Prometheus the monitoring test scrapes with
  python3
  python3-yaml              # static check of docker/
  python3-pandas python3-scipy python3-statsmodels python3-matplotlib   # bench analysis
  python3-prometheus-client # bench: parses the orderer's /metrics (text format)
  openjdk-17-jre-headless maven          # a real Kafka broker (scripts/kafka)
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "setup: need root or sudo to install packages" >&2; exit 1; }
    SUDO=sudo
  fi
  export DEBIAN_FRONTEND=noninteractive
  # Another set-up (a demo and the tests started together) may hold dpkg's lock: wait for it.
  APT=(-o DPkg::Lock::Timeout=600)
  $SUDO apt-get "${APT[@]}" update -q
  $SUDO apt-get "${APT[@]}" install -y -q --no-install-recommends "${missing[@]}"
else
  echo "setup: all Debian packages present"
fi

# Toxiproxy, the userspace TCP proxy of the network-fault tests (slow and
# stalled links): built with Go into ~/.cache, once (scripts/toxiproxy).
"$(dirname "$0")/toxiproxy" install >/dev/null

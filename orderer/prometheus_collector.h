// The orderer's metrics in Prometheus's terms, read from OrdererMetrics at
// scrape time (the pipeline keeps writing its lock-free counters; nothing
// on the ordering path knows about Prometheus). Names follow Hyperledger
// Fabric's orderer where Fabric has the metric; docs/operations.md lists them all.
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <string>
#include <vector>

#include "ledger/block_store.h"
#include "orderer/metrics.h"

namespace ordering {

class OrdererCollector : public prometheus::Collectable {
 public:
  // `metrics` must outlive the collector. `consensus` names the backend
  // (its counters are exported as consensus_<consensus>_<counter>).
  OrdererCollector(const OrdererMetrics* metrics, std::string channel, std::string consensus)
      : metrics_(metrics), channel_(std::move(channel)), consensus_(std::move(consensus)) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const OrdererMetrics* metrics_;
  std::string channel_;
  std::string consensus_;
};

// The ledger's memory beside the chain's data (BlockStore::Memory()): RocksDB's
// table readers, block cache and memtables, read at scrape time. `ledger`
// must outlive the collector (OrdererNode stops its monitoring first).
class LedgerCollector : public prometheus::Collectable {
 public:
  LedgerCollector(const BlockStore* ledger, std::string channel) : ledger_(ledger), channel_(std::move(channel)) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const BlockStore* ledger_;
  std::string channel_;
};

// A backend counter's Prometheus name: consensus_<backend>_<counter>, the
// counter's own "<backend>_" prefix dropped, anything but [a-zA-Z0-9_] as '_'.
std::string ConsenterMetricName(const std::string& backend, const std::string& counter);

}  // namespace ordering

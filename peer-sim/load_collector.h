// peer-sim's live counters in Prometheus's terms (peer-sim --metrics-listen):
// transactions submitted / acknowledged / delivered / failed, blocks, and
// the end-to-end and acknowledgement latency histograms of the whole run
// (warm-up included; the report's figures cover the measured window only).
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <string>
#include <vector>

#include "peer-sim/load_options.h"

namespace ordering {

class LoadCollector : public prometheus::Collectable {
 public:
  // `metrics` must outlive the collector.
  LoadCollector(const LoadMetrics* metrics, std::string channel, std::string submit)
      : metrics_(metrics), channel_(std::move(channel)), submit_(std::move(submit)) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const LoadMetrics* metrics_;
  std::string channel_;
  std::string submit_;
};

}  // namespace ordering

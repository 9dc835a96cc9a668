// Building Prometheus metric families by hand (collectors that read our
// own lock-free counters at scrape time), and the process collector.
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <vector>

#include "common/histogram.h"

namespace ordering {

// Process metrics read from /proc/self on each scrape:
// process_cpu_seconds_total, process_resident_memory_bytes,
// process_start_time_seconds, process_threads (the names Prometheus's own
// clients use, so dashboards written for them work).
class ProcessCollector : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override;
};

// Helpers for collectors that build families by hand.
prometheus::MetricFamily MakeFamily(const char* name, const char* help, prometheus::MetricType type);
prometheus::ClientMetric& AddSample(prometheus::MetricFamily* family,
                                    std::vector<prometheus::ClientMetric::Label> labels, double value);
// A histogram sample from a snapshot (bounds in seconds, +Inf added).
void AddHistogram(prometheus::MetricFamily* family, std::vector<prometheus::ClientMetric::Label> labels,
                  const AtomicHistogram::Snapshot& snapshot);

}  // namespace ordering

// librdkafka's statistics (statistics.interval.ms) of the Kafka backend's
// producer and consumer, as Prometheus gauges and counters: per broker the
// request round trip, the producer's time in queue (int_latency) and in the
// output buffer (outbuf_latency) as p50/p99, requests sent, responses
// received and retries; per topic the producer's batch sizes; per client the
// messages queued, sent and received. Update() parses on librdkafka's poll
// thread; Collect() reads the last parse.
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/mutex.h"

namespace ordering::kafka_backend {

class KafkaStatsCollector : public prometheus::Collectable {
 public:
  // `client` names the handle ("producer", "consumer"); a later update of
  // the same client replaces its samples. Malformed JSON is ignored (and
  // counted in kafka_client_statistics_errors_total).
  void Update(const std::string& client, std::string_view json);
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  struct Sample {
    std::string family;
    std::vector<prometheus::ClientMetric::Label> labels;
    double value = 0;
  };
  mutable Mutex mu_;
  std::map<std::string, std::vector<Sample>> by_client_ GUARDED_BY(mu_);
  uint64_t errors_ GUARDED_BY(mu_) = 0;
};

}  // namespace ordering::kafka_backend

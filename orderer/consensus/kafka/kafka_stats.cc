#include "orderer/consensus/kafka/kafka_stats.h"

#include "common/kafka_stats.h"
#include "common/prometheus_util.h"

namespace ordering::kafka_backend {

namespace {

struct FamilyInfo {
  const char* name;
  const char* help;
  prometheus::MetricType type;
};

// Every family this collector exports, in output order.
const FamilyInfo kFamilies[] = {
    {"kafka_client_broker_rtt_seconds", "Request round trip to the broker (librdkafka rtt), by quantile.",
     prometheus::MetricType::Gauge},
    {"kafka_client_broker_int_latency_seconds",
     "Producer: time from produce() to the broker's request being built (librdkafka int_latency), by quantile.",
     prometheus::MetricType::Gauge},
    {"kafka_client_broker_outbuf_latency_seconds",
     "Time a request waits in the broker's output buffer (librdkafka outbuf_latency), by quantile.",
     prometheus::MetricType::Gauge},
    {"kafka_client_broker_requests_sent_total", "Requests sent to the broker.", prometheus::MetricType::Counter},
    {"kafka_client_broker_responses_received_total", "Responses received from the broker.",
     prometheus::MetricType::Counter},
    {"kafka_client_broker_request_retries_total", "Requests retried to the broker.", prometheus::MetricType::Counter},
    {"kafka_client_batch_bytes", "Producer batch size in bytes per topic (avg, p99).", prometheus::MetricType::Gauge},
    {"kafka_client_batch_messages", "Producer batch size in messages per topic (avg, p99).",
     prometheus::MetricType::Gauge},
    {"kafka_client_messages_queued", "Messages in the client's queues (librdkafka msg_cnt).",
     prometheus::MetricType::Gauge},
    {"kafka_client_messages_sent_total", "Messages sent to brokers.", prometheus::MetricType::Counter},
    {"kafka_client_messages_received_total", "Messages received from brokers.", prometheus::MetricType::Counter},
};

}  // namespace

void KafkaStatsCollector::Update(const std::string& client, std::string_view json) {
  kafka::ClientStats stats;
  if (!kafka::ParseClientStats(json, &stats)) {
    MutexLock l(&mu_);
    ++errors_;
    return;
  }
  std::vector<Sample> samples;
  using Labels = std::vector<prometheus::ClientMetric::Label>;
  const Labels base = {{"client", client}};
  auto with = [&](Labels extra) {
    Labels l = base;
    l.insert(l.end(), extra.begin(), extra.end());
    return l;
  };
  for (const kafka::BrokerStats& b : stats.brokers) {
    // The bootstrap entries and logical brokers (the group coordinator) have no node id.
    if (b.node_id < 0) continue;
    const std::string broker = std::to_string(b.node_id);
    for (const auto& [window, family] : {std::pair{&b.rtt, "kafka_client_broker_rtt_seconds"},
                                         {&b.int_latency, "kafka_client_broker_int_latency_seconds"},
                                         {&b.outbuf_latency, "kafka_client_broker_outbuf_latency_seconds"}}) {
      if (!*window || (*window)->cnt <= 0) continue;  // nothing in this window
      samples.push_back({family, with({{"broker", broker}, {"quantile", "0.5"}}), (*window)->p50 / 1e6});
      samples.push_back({family, with({{"broker", broker}, {"quantile", "0.99"}}), (*window)->p99 / 1e6});
    }
    samples.push_back({"kafka_client_broker_requests_sent_total", with({{"broker", broker}}), b.tx});
    samples.push_back({"kafka_client_broker_responses_received_total", with({{"broker", broker}}), b.rx});
    samples.push_back({"kafka_client_broker_request_retries_total", with({{"broker", broker}}), b.txretries});
  }
  for (const kafka::TopicStats& t : stats.topics) {
    for (const auto& [window, family] :
         {std::pair{&t.batchsize, "kafka_client_batch_bytes"}, {&t.batchcnt, "kafka_client_batch_messages"}}) {
      if (!*window || (*window)->cnt <= 0) continue;
      samples.push_back({family, with({{"topic", t.name}, {"stat", "avg"}}), (*window)->avg});
      samples.push_back({family, with({{"topic", t.name}, {"stat", "p99"}}), (*window)->p99});
    }
  }
  samples.push_back({"kafka_client_messages_queued", base, stats.msg_cnt});
  samples.push_back({"kafka_client_messages_sent_total", base, stats.txmsgs});
  samples.push_back({"kafka_client_messages_received_total", base, stats.rxmsgs});
  MutexLock l(&mu_);
  by_client_[client] = std::move(samples);
}

std::vector<prometheus::MetricFamily> KafkaStatsCollector::Collect() const {
  MutexLock l(&mu_);
  std::vector<prometheus::MetricFamily> out;
  for (const FamilyInfo& info : kFamilies) {
    prometheus::MetricFamily f = MakeFamily(info.name, info.help, info.type);
    for (const auto& [client, samples] : by_client_) {
      for (const Sample& s : samples) {
        if (s.family == info.name) AddSample(&f, s.labels, s.value);
      }
    }
    if (!f.metric.empty()) out.push_back(std::move(f));
  }
  auto errors = MakeFamily("kafka_client_statistics_errors_total", "librdkafka statistics that did not parse.",
                           prometheus::MetricType::Counter);
  AddSample(&errors, {}, static_cast<double>(errors_));
  out.push_back(std::move(errors));
  return out;
}

}  // namespace ordering::kafka_backend

#include "orderer/consensus/kafka/kafka_stats.h"

#include <nlohmann/json.hpp>

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

double Num(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : 0.0;
}

}  // namespace

void KafkaStatsCollector::Update(const std::string& client, std::string_view json) {
  nlohmann::json j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  std::vector<Sample> samples;
  if (!j.is_object()) {
    std::lock_guard<std::mutex> l(mu_);
    ++errors_;
    return;
  }
  using Labels = std::vector<prometheus::ClientMetric::Label>;
  const Labels base = {{"client", client}};
  auto with = [&](Labels extra) {
    Labels l = base;
    l.insert(l.end(), extra.begin(), extra.end());
    return l;
  };
  if (auto brokers = j.find("brokers"); brokers != j.end() && brokers->is_object()) {
    for (const auto& [name, b] : brokers->items()) {
      // The bootstrap entries and logical brokers (the group coordinator) have no node id.
      if (Num(b, "nodeid") < 0) continue;
      const std::string broker = std::to_string(static_cast<int64_t>(Num(b, "nodeid")));
      for (const auto& [key, family] : {std::pair{"rtt", "kafka_client_broker_rtt_seconds"},
                                        {"int_latency", "kafka_client_broker_int_latency_seconds"},
                                        {"outbuf_latency", "kafka_client_broker_outbuf_latency_seconds"}}) {
        auto w = b.find(key);
        if (w == b.end() || !w->is_object() || Num(*w, "cnt") <= 0) continue;  // nothing in this window
        for (const auto& [q, field] : {std::pair{"0.5", "p50"}, {"0.99", "p99"}}) {
          samples.push_back({family, with({{"broker", broker}, {"quantile", q}}), Num(*w, field) / 1e6});
        }
      }
      samples.push_back({"kafka_client_broker_requests_sent_total", with({{"broker", broker}}), Num(b, "tx")});
      samples.push_back({"kafka_client_broker_responses_received_total", with({{"broker", broker}}), Num(b, "rx")});
      samples.push_back({"kafka_client_broker_request_retries_total", with({{"broker", broker}}), Num(b, "txretries")});
    }
  }
  if (auto topics = j.find("topics"); topics != j.end() && topics->is_object()) {
    for (const auto& [topic, t] : topics->items()) {
      for (const auto& [key, family] : {std::pair{"batchsize", "kafka_client_batch_bytes"},
                                        {"batchcnt", "kafka_client_batch_messages"}}) {
        auto w = t.find(key);
        if (w == t.end() || !w->is_object() || Num(*w, "cnt") <= 0) continue;
        samples.push_back({family, with({{"topic", topic}, {"stat", "avg"}}), Num(*w, "avg")});
        samples.push_back({family, with({{"topic", topic}, {"stat", "p99"}}), Num(*w, "p99")});
      }
    }
  }
  samples.push_back({"kafka_client_messages_queued", base, Num(j, "msg_cnt")});
  samples.push_back({"kafka_client_messages_sent_total", base, Num(j, "txmsgs")});
  samples.push_back({"kafka_client_messages_received_total", base, Num(j, "rxmsgs")});
  std::lock_guard<std::mutex> l(mu_);
  by_client_[client] = std::move(samples);
}

std::vector<prometheus::MetricFamily> KafkaStatsCollector::Collect() const {
  std::lock_guard<std::mutex> l(mu_);
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

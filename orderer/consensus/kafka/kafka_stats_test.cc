// librdkafka's statistics JSON as Prometheus samples: per-broker quantiles
// in seconds, bootstrap and logical brokers left out, batch sizes per
// topic, and malformed JSON counted rather than thrown.
#include "orderer/consensus/kafka/kafka_stats.h"

#include <gtest/gtest.h>

#include <memory>

#include "common/monitoring_server.h"

namespace ordering::kafka_backend {
namespace {

// A trimmed statistics document in librdkafka 2.0's shape.
constexpr const char* kStats = R"({
  "name": "rdkafka#producer-1", "type": "producer", "msg_cnt": 12, "txmsgs": 5000, "rxmsgs": 0,
  "brokers": {
    "127.0.0.1:9092/bootstrap": {"nodeid": -1, "tx": 3, "rx": 3, "txretries": 0,
                                 "rtt": {"cnt": 2, "p50": 900, "p99": 1000}},
    "127.0.0.1:9092/1": {"nodeid": 1, "tx": 210, "rx": 209, "txretries": 2,
                         "rtt": {"cnt": 40, "p50": 1500, "p99": 12000},
                         "int_latency": {"cnt": 5000, "p50": 25000, "p99": 31000},
                         "outbuf_latency": {"cnt": 0, "p50": 0, "p99": 0}},
    "GroupCoordinator": {"nodeid": -1, "tx": 1, "rx": 1, "txretries": 0}
  },
  "topics": {"mychannel": {"batchsize": {"cnt": 40, "avg": 130000, "p99": 131072},
                           "batchcnt": {"cnt": 40, "avg": 125, "p99": 128}}}
})";

TEST(KafkaStatsCollectorTest, BrokersTopicsAndClientTotals) {
  auto stats = std::make_shared<KafkaStatsCollector>();
  stats->Update("producer", kStats);
  stats->Update("consumer", "not json {");
  const std::string text = RenderMetrics({stats});
  auto has = [&](const std::string& line) { return text.find(line + "\n") != std::string::npos; };
  EXPECT_TRUE(has("kafka_client_broker_rtt_seconds{client=\"producer\",broker=\"1\",quantile=\"0.5\"} 0.0015")) << text;
  EXPECT_TRUE(has("kafka_client_broker_rtt_seconds{client=\"producer\",broker=\"1\",quantile=\"0.99\"} 0.012")) << text;
  EXPECT_TRUE(has("kafka_client_broker_int_latency_seconds{client=\"producer\",broker=\"1\",quantile=\"0.99\"} 0.031"))
      << text;
  EXPECT_EQ(text.find("kafka_client_broker_outbuf_latency_seconds{"), std::string::npos) << "no samples in window";
  EXPECT_TRUE(has("kafka_client_broker_request_retries_total{client=\"producer\",broker=\"1\"} 2")) << text;
  EXPECT_EQ(text.find("broker=\"-1\""), std::string::npos) << "bootstrap and coordinator entries are not brokers";
  EXPECT_TRUE(has("kafka_client_batch_bytes{client=\"producer\",topic=\"mychannel\",stat=\"p99\"} 131072")) << text;
  EXPECT_TRUE(has("kafka_client_batch_messages{client=\"producer\",topic=\"mychannel\",stat=\"avg\"} 125")) << text;
  EXPECT_TRUE(has("kafka_client_messages_queued{client=\"producer\"} 12")) << text;
  EXPECT_TRUE(has("kafka_client_messages_sent_total{client=\"producer\"} 5000")) << text;
  EXPECT_TRUE(has("kafka_client_statistics_errors_total 1")) << text;
  // A later update of a client replaces its samples.
  stats->Update("producer", R"({"msg_cnt": 0, "txmsgs": 6000, "rxmsgs": 0})");
  const std::string again = RenderMetrics({stats});
  EXPECT_NE(again.find("kafka_client_messages_sent_total{client=\"producer\"} 6000\n"), std::string::npos) << again;
  EXPECT_EQ(again.find("kafka_client_broker_rtt_seconds"), std::string::npos) << again;
}

}  // namespace
}  // namespace ordering::kafka_backend

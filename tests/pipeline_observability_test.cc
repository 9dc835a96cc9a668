// What an operator sees of a running pipeline: /metrics agreeing with the
// ledger, and the log lines at each level.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <sstream>

#include "common/cli.h"
#include "common/kafka_log_capture.h"
#include "common/monitoring_server.h"
#include "orderer/consensus/kafka/kafka_chain.h"
#include "orderer/node.h"
#include "proto/ab.grpc.pb.h"
#include "proto/kafka.pb.h"
#include "tests/pipeline_fixture.h"

namespace ordering::testing {
namespace {

TEST_F(PipelineTest, MetricsEndpointAgreesWithTheLedger) {
  OrdererOptions o = NodeOptions(dir_.path("ledger"));
  o.metrics_listen = "127.0.0.1:0";
  auto node = StartNode(o);
  ASSERT_TRUE(node);
  ASSERT_GT(node->metrics_port(), 0);
  int status = 0;
  std::string body;
  ASSERT_TRUE(LocalHttpGet(node->metrics_port(), "/readyz", &status, &body).ok());
  EXPECT_EQ(status, 200) << body;
  ASSERT_TRUE(LocalHttpGet(node->metrics_port(), "/healthz", &status, &body).ok());
  EXPECT_EQ(status, 200) << body;

  Submitter sub(broker_->bootstrap(), channel_);
  TestPeer peer(channel_);
  BuiltTx first;
  constexpr int kTxs = 120;
  for (int i = 0; i < kTxs; ++i) {
    BuiltTx tx = peer.Next();
    if (i == 0) first = tx;
    sub.Send(tx.record, tx.tx_id);
  }
  sub.Send(first.record, first.tx_id);  // a duplicate: rejected and counted
  sub.Flush();
  ASSERT_TRUE(WaitFor([&] {
    return node->metrics().txs_ordered.load() >= kTxs && node->metrics().rejected_total() >= 1;
  })) << node->metrics().Summary();
  const uint64_t height = node->ledger()->Info().height;

  ASSERT_TRUE(LocalHttpGet(node->metrics_port(), "/metrics", &status, &body).ok());
  ASSERT_EQ(status, 200);
  auto value = [&](const std::string& series) {
    const size_t at = body.find("\n" + series + " ");
    if (at == std::string::npos) return -1.0;
    return std::stod(body.substr(at + series.size() + 2));
  };
  const std::string ch = "{channel=\"" + channel_ + "\"}";
  EXPECT_EQ(value("orderer_transactions_ordered_total" + ch), kTxs) << body;
  EXPECT_EQ(value("ledger_blockchain_height" + ch), static_cast<double>(height)) << body;
  EXPECT_EQ(value("consensus_kafka_committed_block_number" + ch), static_cast<double>(height - 1)) << body;
  EXPECT_EQ(value("orderer_transactions_rejected_total{channel=\"" + channel_ + "\",cause=\"duplicate\"}"), 1) << body;
  EXPECT_EQ(value("orderer_blocks_cut_total{channel=\"" + channel_ + "\",reason=\"max_message_count\"}") +
                value("orderer_blocks_cut_total{channel=\"" + channel_ + "\",reason=\"timeout\"}"),
            static_cast<double>(height - 1))
      << body;
  // Every block was written once, and every transaction's signature verified.
  EXPECT_EQ(value("ledger_blockstorage_commit_time_count" + ch), static_cast<double>(height - 1)) << body;
  EXPECT_GE(value("orderer_signature_verify_duration_seconds_count" + ch), kTxs + 1) << body;
  EXPECT_GE(value("consensus_kafka_last_offset" + ch), kTxs) << body;
  EXPECT_GT(value("process_resident_memory_bytes"), 0) << body;
  // The ledger's memory, each part present; what was written sits in the memtables.
  const std::string mem = "orderer_ledger_memory_bytes{channel=\"" + channel_ + "\",part=\"";
  EXPECT_GE(value(mem + "table_readers\"}"), 0) << body;
  EXPECT_GE(value(mem + "block_cache\"}"), 0) << body;
  EXPECT_GT(value(mem + "memtables\"}"), 0) << body;
  node->Stop();
  EXPECT_EQ(ReadLedger(dir_.path("ledger")).tx_ids.size(), static_cast<size_t>(kTxs));
}

// --log-level reaches the debug lines (they are compiled in): a block's
// "written" line shows at debug and not at info.
TEST_F(PipelineTest, DebugLinesShowAtDebugAndNotAtInfo) {
  std::ostringstream captured;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(captured);
  std::shared_ptr<spdlog::logger> previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", sink));
  auto run = [&](const char* level, int txs) {
    EXPECT_TRUE(cli::SetLogLevel(level));
    captured.str("");
    auto node = StartNode(NodeOptions(dir_.path(std::string("ledger-") + level)));
    if (!node) return std::string();
    Submitter sub(broker_->bootstrap(), channel_);
    TestPeer peer(channel_);
    for (int i = 0; i < txs; ++i) {
      BuiltTx tx = peer.Next();
      sub.Send(tx.record, tx.tx_id);
    }
    sub.Flush();
    EXPECT_TRUE(WaitFor([&] { return node->metrics().txs_ordered.load() >= static_cast<uint64_t>(txs); }));
    node->Stop();
    return captured.str();
  };
  const std::string at_info = run("info", 50);
  const std::string at_debug = run("debug", 50);
  spdlog::set_default_logger(previous);
  cli::SetLogLevel("info");
  EXPECT_NE(at_info.find("orderer ready"), std::string::npos) << at_info;
  EXPECT_EQ(at_info.find("written:"), std::string::npos) << at_info;
  EXPECT_NE(at_debug.find("written:"), std::string::npos) << at_debug;
}

// At the default level (info) the orderer logs events, not transactions:
// ten times the transactions, a tenth of them rejected, gives no more lines,
// and no line names a transaction.
TEST_F(PipelineTest, DefaultLevelLogsNothingPerTransaction) {
  std::ostringstream captured;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(captured);
  std::shared_ptr<spdlog::logger> previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", sink));
  ASSERT_TRUE(cli::SetLogLevel("info"));
  std::vector<std::string> ids;
  auto run = [&](const std::string& name, int txs) {
    channel_ = broker_->NewChannelName() + "-" + name;  // a topic of its own: nothing of the other run is read
    EXPECT_TRUE(broker_->CreateChannel(channel_).ok());
    captured.str("");
    auto node = StartNode(NodeOptions(dir_.path("ledger-" + name)));
    if (!node) return std::string();
    Submitter sub(broker_->bootstrap(), channel_);
    TestPeer peer(channel_);
    int bad = 0;
    for (int i = 0; i < txs; ++i) {
      BuiltTx tx = peer.Next();
      ids.push_back(tx.tx_id);
      if (i % 10 == 9) {
        sub.Send(TamperedRecord(peer), "bad-" + std::to_string(i));  // a bad signature
        ++bad;
      } else {
        sub.Send(tx.record, tx.tx_id);
      }
    }
    sub.Flush();
    EXPECT_TRUE(WaitFor([&] {
      return node->metrics().txs_ordered.load() + node->metrics().rejected_total() >= static_cast<uint64_t>(txs);
    })) << node->metrics().Summary();
    EXPECT_EQ(node->metrics().rejected_total(), static_cast<uint64_t>(bad));
    node->Stop();
    return captured.str();
  };
  const std::string few = run("few", 40);
  const std::string many = run("many", 400);
  spdlog::set_default_logger(previous);
  auto lines = [](const std::string& s) { return std::count(s.begin(), s.end(), '\n'); };
  EXPECT_NE(many.find("orderer ready"), std::string::npos) << many;
  // A line or two may differ by timing (a retried partition check), not by hundreds.
  EXPECT_LE(lines(many), lines(few) + 3) << "40 transactions:\n" << few << "400 transactions:\n" << many;
  for (const std::string& id : ids) {
    ASSERT_EQ(many.find(id), std::string::npos) << "a transaction id in an info line:\n" << many;
    ASSERT_EQ(few.find(id), std::string::npos) << "a transaction id in an info line:\n" << few;
  }
}

// The brokers' settings that lose acknowledged records are read at start.
// On a real broker: the project's broker settings hold every rule a cluster
// of its size can hold (gauges on /metrics; on one broker the replication
// rule cannot hold: a warning), and a channel whose topic deletes old
// records or allows unclean leader election is refused, with a message
// naming the setting, its value, the rule and the fix, unless
// --kafka-settings-check warn. The mock cluster cannot describe its
// settings: a warning, and the node starts.
TEST_F(PipelineTest, KafkaSettingsThatLoseDataAreRefusedAtStart) {
  auto scrape = [](OrdererNode* node) {
    int status = 0;
    std::string body;
    EXPECT_TRUE(LocalHttpGet(node->metrics_port(), "/metrics", &status, &body).ok());
    return body;
  };
  kafka::CapturedLog log;
  OrdererOptions good = NodeOptions(dir_.path("ledger"));
  good.metrics_listen = "127.0.0.1:0";
  auto node = StartNode(good);
  ASSERT_TRUE(node);
  const std::string body = scrape(node.get());
  node->Stop();
  const std::string ch = "channel=\"" + channel_ + "\"";
  if (!broker_->real()) {
    EXPECT_EQ(log.Count("could not read broker settings: "), 1u) << log.text();
    EXPECT_NE(body.find("orderer_kafka_settings_checked{" + ch + "} 0"), std::string::npos) << body;
    return;
  }
  std::vector<std::string> brokers;
  ASSERT_TRUE(kafka::BrokerAddresses(broker_->bootstrap(), {}, 10000, &brokers).ok());
  EXPECT_NE(body.find("orderer_kafka_settings_checked{" + ch + "} 1"), std::string::npos) << body;
  for (const std::string rule : {"unclean_leader_election", "message_sizes", "retention"}) {
    EXPECT_NE(body.find("orderer_kafka_setting_ok{" + ch + ",rule=\"" + rule + "\"} 1"), std::string::npos)
        << rule << "\n"
        << body;
  }
  const std::string min_isr = brokers.size() >= 3 ? "1" : "0";
  EXPECT_NE(body.find("orderer_kafka_setting_ok{" + ch + ",rule=\"min_insync_replicas\"} " + min_isr),
            std::string::npos)
      << body;
  EXPECT_EQ(log.Count("the rule cannot hold on fewer than 3 brokers"), brokers.size() >= 3 ? 0u : 1u) << log.text();

  struct Bad {
    std::string topic;
    kafka::ConfigMap configs;
    std::vector<std::string> said;
  };
  const std::vector<Bad> bad = {
      {channel_ + "-retention",
       {{"retention.ms", "1000"}},
       {"retention.ms=1000 on topic " + channel_ + "-retention", "rule: retention.ms=-1 and retention.bytes=-1",
        "--add-config retention.ms=-1,retention.bytes=-1"}},
      {channel_ + "-unclean",
       {{"unclean.leader.election.enable", "true"}},
       {"unclean.leader.election.enable=true on topic " + channel_ + "-unclean", "rule: must be false",
        "--add-config unclean.leader.election.enable=false"}},
  };
  std::vector<std::string> topics;
  for (const Bad& b : bad) {
    SCOPED_TRACE(b.topic);
    topics.push_back(b.topic);
    ASSERT_TRUE(kafka::EnsureTopic(broker_->bootstrap(), {}, b.topic, 1, 0, 30000, b.configs).ok());
    for (const auto mode : {kafka_backend::SettingsCheck::kRefuse, kafka_backend::SettingsCheck::kWarn}) {
      OrdererOptions o = NodeOptions(dir_.path("ledger-" + b.topic + kafka_backend::SettingsCheckName(mode)));
      o.channel.channel_id = b.topic;
      KafkaChainOptions k;
      k.brokers = broker_->bootstrap();
      k.settings_check = mode;
      o.make_consenter = OnlyKafka(k);
      std::unique_ptr<OrdererNode> n;
      Status st = OrdererNode::Start(o, SystemClock::Default(), &n);
      if (mode == kafka_backend::SettingsCheck::kRefuse) {
        ASSERT_FALSE(st.ok());
        for (const std::string& s : b.said) EXPECT_NE(st.message().find(s), std::string::npos) << st.ToString();
        EXPECT_NE(st.message().find("--kafka-settings-check warn"), std::string::npos) << st.ToString();
      } else {
        ASSERT_TRUE(st.ok()) << st.ToString();
        n->Stop();
        EXPECT_EQ(log.Count(b.said[0]), 1u) << log.text();
        EXPECT_EQ(log.Count("(allowed by --kafka-settings-check warn)"), topics.size()) << log.text();
      }
    }
  }
  EXPECT_TRUE(kafka::DeleteTopics(broker_->bootstrap(), {}, topics, 30000).ok());
}

// A time-to-cut for a block already cut (stale) or not yet reachable
// (future) must not cut the pending batch; only counts and real timeouts do.

}  // namespace
}  // namespace ordering::testing

#include "orderer/consensus/kafka/kafka_settings.h"

#include <gtest/gtest.h>
#include <prometheus/client_metric.h>
#include <prometheus/metric_family.h>

#include "common/kafka_log_capture.h"

namespace ordering::kafka_backend {
namespace {

using Outcome = SettingFinding::Outcome;
constexpr uint64_t kAbsoluteMaxBytes = 10 * 1024 * 1024;

// What configs/broker/broker.properties gives a topic on three brokers.
kafka::ClusterSettings GoodCluster() {
  kafka::ClusterSettings s;
  s.topic = "ch";
  s.broker_count = 3;
  s.replication_factor = 3;
  s.topic_configs = {{"unclean.leader.election.enable", "false"},
                     {"min.insync.replicas", "2"},
                     {"max.message.bytes", "11534336"},
                     {"retention.ms", "-1"},
                     {"retention.bytes", "-1"}};
  for (int32_t id = 1; id <= 3; ++id) {
    s.broker_addresses[id] = "127.0.0.1:" + std::to_string(9091 + id);
    s.broker_configs[id] = {{"replica.fetch.max.bytes", "11534336"}, {"message.max.bytes", "11534336"}};
  }
  return s;
}

SettingFinding Find(const kafka::ClusterSettings& s, const std::string& rule) {
  for (SettingFinding& f : EvaluateSettings(s, kAbsoluteMaxBytes)) {
    if (f.rule == rule) return f;
  }
  ADD_FAILURE() << "no finding for " << rule;
  return {};
}

bool Says(const SettingFinding& f, const std::string& what) { return f.message.find(what) != std::string::npos; }

TEST(KafkaSettingsTest, TheProjectsBrokerSettingsHoldEveryRuleOnThreeBrokers) {
  const std::vector<SettingFinding> findings = EvaluateSettings(GoodCluster(), kAbsoluteMaxBytes);
  ASSERT_EQ(findings.size(), SettingRules().size());
  for (size_t i = 0; i < findings.size(); ++i) {
    EXPECT_EQ(findings[i].rule, SettingRules()[i]);
    EXPECT_EQ(findings[i].outcome, Outcome::kOk) << findings[i].rule << ": " << findings[i].message;
  }
}

TEST(KafkaSettingsTest, OneBrokerCannotHoldTheReplicationRuleSoItIsAWarningNotARefusal) {
  kafka::ClusterSettings s = GoodCluster();
  s.broker_count = 1;
  s.replication_factor = 1;
  s.topic_configs["min.insync.replicas"] = "1";
  s.broker_configs.erase(2);
  s.broker_configs.erase(3);
  const SettingFinding f = Find(s, "min_insync_replicas");
  EXPECT_EQ(f.outcome, Outcome::kImpossible) << f.message;
  EXPECT_TRUE(Says(f, "min.insync.replicas=1 with replication factor 1")) << f.message;
  EXPECT_TRUE(Says(f, "cannot hold on fewer than 3 brokers")) << f.message;
  EXPECT_TRUE(Says(f, "1 < min.insync.replicas < replication factor")) << f.message;
  EXPECT_EQ(Find(s, "message_sizes").outcome, Outcome::kOk);
}

TEST(KafkaSettingsTest, MinInsyncReplicasOutsideTheRuleIsRefusedWithTheFix) {
  kafka::ClusterSettings s = GoodCluster();
  s.topic_configs["min.insync.replicas"] = "1";
  SettingFinding f = Find(s, "min_insync_replicas");
  EXPECT_EQ(f.outcome, Outcome::kViolated);
  EXPECT_TRUE(Says(f, "min.insync.replicas=1 with replication factor 3 on topic ch")) << f.message;
  EXPECT_TRUE(Says(f, "lost with it")) << f.message;
  EXPECT_TRUE(Says(f, "--entity-name ch --add-config min.insync.replicas=2")) << f.message;
  s.topic_configs["min.insync.replicas"] = "3";
  f = Find(s, "min_insync_replicas");
  EXPECT_EQ(f.outcome, Outcome::kViolated);
  EXPECT_TRUE(Says(f, "writes stop whenever a replica is down")) << f.message;
  // A topic of one replica on a cluster that could hold three.
  s = GoodCluster();
  s.replication_factor = 1;
  s.topic_configs["min.insync.replicas"] = "1";
  f = Find(s, "min_insync_replicas");
  EXPECT_EQ(f.outcome, Outcome::kViolated);
  EXPECT_TRUE(Says(f, "recreate the channel's topic with replication factor 3")) << f.message;
}

TEST(KafkaSettingsTest, UncleanLeaderElectionIsRefused) {
  kafka::ClusterSettings s = GoodCluster();
  s.topic_configs["unclean.leader.election.enable"] = "true";
  const SettingFinding f = Find(s, "unclean_leader_election");
  EXPECT_EQ(f.outcome, Outcome::kViolated);
  EXPECT_TRUE(Says(f, "unclean.leader.election.enable=true on topic ch")) << f.message;
  EXPECT_TRUE(Says(f, "rule: must be false")) << f.message;
  EXPECT_TRUE(Says(f, "--add-config unclean.leader.election.enable=false")) << f.message;
}

TEST(KafkaSettingsTest, LimitedRetentionIsRefused) {
  kafka::ClusterSettings s = GoodCluster();
  s.topic_configs["retention.ms"] = "604800000";  // Kafka's default: 7 days
  s.topic_configs["retention.bytes"] = "1073741824";
  const SettingFinding f = Find(s, "retention");
  EXPECT_EQ(f.outcome, Outcome::kViolated);
  EXPECT_TRUE(Says(f, "retention.ms=604800000 and retention.bytes=1073741824 on topic ch")) << f.message;
  EXPECT_TRUE(Says(f, "rule: retention.ms=-1 and retention.bytes=-1")) << f.message;
  EXPECT_TRUE(Says(f, "--add-config retention.ms=-1,retention.bytes=-1")) << f.message;
}

TEST(KafkaSettingsTest, MessageSizesBelowAbsoluteMaxBytesAreRefused) {
  kafka::ClusterSettings s = GoodCluster();
  // Kafka's defaults, below the channel's 10 MB AbsoluteMaxBytes.
  s.topic_configs["max.message.bytes"] = "1048588";
  s.broker_configs[2]["replica.fetch.max.bytes"] = "1048576";
  SettingFinding f = Find(s, "message_sizes");
  EXPECT_EQ(f.outcome, Outcome::kViolated);
  EXPECT_TRUE(Says(f, "replica.fetch.max.bytes=1048576 on broker 2 is not above AbsoluteMaxBytes 10485760"))
      << f.message;
  EXPECT_TRUE(Says(f, "max.message.bytes of topic ch is 1048588, not above AbsoluteMaxBytes 10485760")) << f.message;
  EXPECT_TRUE(Says(f, "AbsoluteMaxBytes < replica.fetch.max.bytes <= message.max.bytes")) << f.message;
  EXPECT_TRUE(Says(f, "of AbsoluteMaxBytes + 1 MiB (11534336)")) << f.message;
  // Followers that may fetch more than the topic accepts.
  s = GoodCluster();
  s.broker_configs[1]["replica.fetch.max.bytes"] = "20971520";
  f = Find(s, "message_sizes");
  EXPECT_EQ(f.outcome, Outcome::kViolated);
  EXPECT_TRUE(Says(f, "replica.fetch.max.bytes=20971520 on broker 1 is above max.message.bytes of topic ch (11534336)"))
      << f.message;
  // A smaller channel needs less.
  s = GoodCluster();
  s.topic_configs["max.message.bytes"] = "1048588";
  for (auto& [id, c] : s.broker_configs) c["replica.fetch.max.bytes"] = "1048576";
  for (const SettingFinding& x : EvaluateSettings(s, 512 * 1024)) EXPECT_EQ(x.outcome, Outcome::kOk) << x.message;
}

TEST(KafkaSettingsTest, SettingsTheClusterDidNotReportAreUnknownNotViolated) {
  kafka::ClusterSettings s = GoodCluster();
  s.topic_configs.clear();
  s.broker_configs.clear();
  for (const SettingFinding& f : EvaluateSettings(s, kAbsoluteMaxBytes)) {
    EXPECT_EQ(f.outcome, Outcome::kUnknown) << f.rule << ": " << f.message;
    EXPECT_TRUE(Says(f, "did not report")) << f.message;
  }
}

TEST(KafkaSettingsTest, TheFlagTakesRefuseWarnOrOff) {
  SettingsCheck mode = SettingsCheck::kOff;
  ASSERT_TRUE(ParseSettingsCheck("refuse", &mode).ok());
  EXPECT_EQ(mode, SettingsCheck::kRefuse);
  ASSERT_TRUE(ParseSettingsCheck("warn", &mode).ok());
  EXPECT_EQ(mode, SettingsCheck::kWarn);
  ASSERT_TRUE(ParseSettingsCheck("off", &mode).ok());
  EXPECT_EQ(mode, SettingsCheck::kOff);
  Status st = ParseSettingsCheck("strict", &mode);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("refuse, warn or off"), std::string::npos) << st.ToString();
}

TEST(KafkaSettingsTest, TheFindingsAreGaugesPerRule) {
  kafka::ClusterSettings s = GoodCluster();
  s.topic_configs["retention.ms"] = "1000";
  s.topic_configs.erase("unclean.leader.election.enable");
  SettingsCollector collector("mychannel");
  collector.Set(true, EvaluateSettings(s, kAbsoluteMaxBytes));
  std::map<std::string, double> ok;
  double checked = -1;
  for (const prometheus::MetricFamily& f : collector.Collect()) {
    for (const prometheus::ClientMetric& m : f.metric) {
      std::string rule;
      for (const auto& l : m.label) {
        if (l.name == "rule") rule = l.value;
      }
      if (f.name == "orderer_kafka_setting_ok") ok[rule] = m.gauge.value;
      if (f.name == "orderer_kafka_settings_checked") checked = m.gauge.value;
    }
  }
  EXPECT_EQ(checked, 1);
  EXPECT_EQ(ok, (std::map<std::string, double>{{"min_insync_replicas", 1}, {"message_sizes", 1}, {"retention", 0}}));
}

// The mock cluster has no DescribeConfigs: a warning, whatever the mode,
// and quickly (not a timeout).
TEST(KafkaSettingsTest, AClusterThatCannotDescribeItsSettingsIsAWarning) {
  std::unique_ptr<kafka::MockCluster> mock;
  ASSERT_TRUE(kafka::MockCluster::Start(1, &mock).ok());
  ASSERT_TRUE(mock->CreateTopic("ch", 1, 1).ok());
  kafka::CapturedLog log;
  SettingsCollector collector("ch");
  std::vector<std::string> brokers;
  const auto t0 = std::chrono::steady_clock::now();
  Status st = CheckBrokerSettings(SettingsCheck::kRefuse, mock->bootstrap(), {}, "ch", kAbsoluteMaxBytes, 10000,
                                  &collector, &brokers);
  EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  EXPECT_EQ(log.Count("could not read broker settings: "), 1u) << log.text();
  EXPECT_EQ(log.Count("mock cluster"), 1u) << log.text();
  for (const prometheus::MetricFamily& f : collector.Collect()) {
    if (f.name == "orderer_kafka_settings_checked") {
      EXPECT_EQ(f.metric.at(0).gauge.value, 0);
    }
    EXPECT_NE(f.name, "orderer_kafka_setting_ok");
  }
}

}  // namespace
}  // namespace ordering::kafka_backend

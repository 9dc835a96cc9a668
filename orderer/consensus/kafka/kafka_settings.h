// The broker settings a Kafka-based orderer needs so that the brokers never
// lose what they acknowledged (Fabric's rules for its Kafka orderer), checked
// at start against what the cluster reports (Admin API DescribeConfigs of the
// channel's topic and of every broker):
//
//   unclean_leader_election  unclean.leader.election.enable=false: an
//                            out-of-sync replica never becomes leader;
//   min_insync_replicas      1 < min.insync.replicas < replication factor: an
//                            acknowledged record is on two brokers, and one
//                            broker down does not stop writes;
//   message_sizes            AbsoluteMaxBytes < replica.fetch.max.bytes <=
//                            max.message.bytes (the topic's; it defaults to
//                            the brokers' message.max.bytes): the largest
//                            envelope is accepted and copied to followers;
//   retention                retention.ms=-1 and retention.bytes=-1 on the
//                            topic: a restarted orderer re-reads from its
//                            ledger's last offset, which must still be there.
//
// A violated rule refuses the start (--kafka-settings-check refuse, the
// default), or is only logged (warn), or nothing is read (off). A rule the
// cluster cannot satisfy at all (min.insync.replicas with fewer than 3
// brokers: a test broker) is a warning either way, and so is a cluster that
// does not answer DescribeConfigs (the mock cluster).
#pragma once

#include <prometheus/collectable.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/kafka.h"
#include "common/mutex.h"
#include "common/status.h"

namespace ordering::kafka_backend {

enum class SettingsCheck { kRefuse, kWarn, kOff };
// "refuse", "warn", "off".
[[nodiscard]] Status ParseSettingsCheck(const std::string& text, SettingsCheck* out);
const char* SettingsCheckName(SettingsCheck mode);

// The outcome of one rule.
struct SettingFinding {
  enum class Outcome {
    kOk,
    kViolated,    // refused in refuse mode
    kImpossible,  // violated, but this cluster cannot satisfy the rule: a warning
    kUnknown,     // the cluster did not report the setting
  };
  std::string rule;  // "unclean_leader_election", "min_insync_replicas", "message_sizes", "retention"
  Outcome outcome = Outcome::kOk;
  // kOk: what holds, briefly; otherwise the setting, its value, the rule and
  // how to fix it.
  std::string message;
};

// The rules' names, in the order Evaluate reports them.
const std::vector<std::string>& SettingRules();

// Applies the rules to what the cluster reported about `settings.topic`:
// one finding per rule. A pure function.
std::vector<SettingFinding> EvaluateSettings(const kafka::ClusterSettings& settings, uint64_t absolute_max_bytes);

// The findings as gauges on /metrics: orderer_kafka_setting_ok{channel,rule}
// 1 when the rule holds, 0 when it does not (a rule whose setting was not
// reported has no sample), and orderer_kafka_settings_checked{channel} 1
// once the settings were read (0: off, or they could not be read).
class SettingsCollector : public prometheus::Collectable {
 public:
  explicit SettingsCollector(std::string channel) : channel_(std::move(channel)) {}
  void Set(bool checked, std::vector<SettingFinding> findings);
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const std::string channel_;
  mutable Mutex mu_;
  bool checked_ GUARDED_BY(mu_) = false;
  std::vector<SettingFinding> findings_ GUARDED_BY(mu_);
};

// Reads the settings of `topic` on `brokers` and applies the rules in
// `mode`: logs each finding (warning for every rule that does not hold;
// one info line when all hold), records them in `collector`, and returns
// an error naming every violated rule in refuse mode. A cluster that does
// not answer is a warning ("could not read broker settings: ..."), not an
// error. Fills *cluster_brokers with the cluster's brokers (HOST:PORT;
// empty when they could not be read).
[[nodiscard]] Status CheckBrokerSettings(SettingsCheck mode, const std::string& brokers, const Properties& props,
                                         const std::string& topic, uint64_t absolute_max_bytes, int timeout_ms,
                                         SettingsCollector* collector, std::vector<std::string>* cluster_brokers);

}  // namespace ordering::kafka_backend

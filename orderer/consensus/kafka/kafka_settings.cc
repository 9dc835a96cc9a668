#include "orderer/consensus/kafka/kafka_settings.h"

#include <spdlog/spdlog.h>

#include <charconv>
#include <optional>

#include "common/prometheus_util.h"

namespace ordering::kafka_backend {
namespace {

using Outcome = SettingFinding::Outcome;

std::optional<std::string> Lookup(const kafka::ConfigMap& m, const std::string& key) {
  auto it = m.find(key);
  if (it == m.end()) return std::nullopt;
  return it->second;
}

std::optional<int64_t> ToInt(const std::optional<std::string>& v) {
  if (!v) return std::nullopt;
  int64_t n = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || end != v->data() + v->size()) return std::nullopt;
  return n;
}

std::string TopicConfigFix(const std::string& topic, const std::string& configs) {
  return "kafka-configs.sh --bootstrap-server HOST:PORT --alter --entity-type topics --entity-name " + topic +
         " --add-config " + configs;
}

SettingFinding UncleanLeaderElection(const kafka::ClusterSettings& s) {
  SettingFinding f;
  f.rule = "unclean_leader_election";
  const auto v = Lookup(s.topic_configs, "unclean.leader.election.enable");
  if (!v) {
    f.outcome = Outcome::kUnknown;
    f.message = "topic " + s.topic + ": the cluster did not report unclean.leader.election.enable";
  } else if (*v == "false") {
    f.message = "unclean.leader.election.enable=false";
  } else {
    f.outcome = Outcome::kViolated;
    f.message = "unclean.leader.election.enable=" + *v + " on topic " + s.topic +
                ": a replica that missed acknowledged records may become leader and drop them (rule: must be "
                "false); fix: " +
                TopicConfigFix(s.topic, "unclean.leader.election.enable=false") +
                ", and unclean.leader.election.enable=false in every broker's server.properties";
  }
  return f;
}

SettingFinding MinInsyncReplicas(const kafka::ClusterSettings& s) {
  SettingFinding f;
  f.rule = "min_insync_replicas";
  const auto m = ToInt(Lookup(s.topic_configs, "min.insync.replicas"));
  const int rf = s.replication_factor;
  if (!m || rf <= 0) {
    f.outcome = Outcome::kUnknown;
    f.message =
        "topic " + s.topic + ": the cluster did not report " + (m ? "the partition's replicas" : "min.insync.replicas");
    return f;
  }
  const std::string what = "min.insync.replicas=" + std::to_string(*m) + " with replication factor " +
                           std::to_string(rf) + " on topic " + s.topic + " (" + std::to_string(s.broker_count) +
                           (s.broker_count == 1 ? " broker" : " brokers") + ")";
  if (1 < *m && *m < rf) {
    f.message = "min.insync.replicas=" + std::to_string(*m) + " < replication factor " + std::to_string(rf);
    return f;
  }
  const std::string rule = " (rule: 1 < min.insync.replicas < replication factor)";
  if (s.broker_count < 3) {
    // Not a choice of the operator: a cluster of one or two brokers cannot
    // hold the rule with any setting (a test broker).
    f.outcome = Outcome::kImpossible;
    f.message = what + ": the rule cannot hold on fewer than 3 brokers" + rule +
                "; acknowledged records are lost with a broker's disk. Fine for a test; in production run at least "
                "3 brokers (Fabric recommends 4), replication factor 3 and min.insync.replicas=2";
    return f;
  }
  f.outcome = Outcome::kViolated;
  if (*m <= 1) {
    f.message = what + ": a record acknowledged by one broker is lost with it" + rule;
  } else {
    f.message = what + ": writes stop whenever a replica is down" + rule;
  }
  if (rf < 3) {
    f.message +=
        "; fix: recreate the channel's topic with replication factor 3 (a new channel: the orderer's "
        "--replication-factor 3, or default.replication.factor=3 on the brokers) and min.insync.replicas=2";
  } else {
    f.message += "; fix: " + TopicConfigFix(s.topic, "min.insync.replicas=" + std::to_string(rf - 1));
  }
  return f;
}

SettingFinding MessageSizes(const kafka::ClusterSettings& s, uint64_t absolute_max_bytes) {
  SettingFinding f;
  f.rule = "message_sizes";
  const int64_t a = static_cast<int64_t>(absolute_max_bytes);
  const std::string rule = " (rule: AbsoluteMaxBytes < replica.fetch.max.bytes <= message.max.bytes)";
  const std::string fix = "; fix: replica.fetch.max.bytes and message.max.bytes of AbsoluteMaxBytes + 1 MiB (" +
                          std::to_string(a + (1 << 20)) + ") in every broker's server.properties";
  // The topic's max.message.bytes is the limit that applies to its records;
  // it defaults to the brokers' message.max.bytes.
  std::optional<int64_t> max_message = ToInt(Lookup(s.topic_configs, "max.message.bytes"));
  std::string max_message_name = "max.message.bytes of topic " + s.topic;
  std::vector<std::string> problems;
  std::vector<std::string> unknown;
  if (!max_message) unknown.push_back("max.message.bytes of topic " + s.topic);
  if (s.broker_configs.empty()) unknown.push_back("the brokers' replica.fetch.max.bytes");
  int64_t lowest_fetch = -1;
  for (const auto& [id, configs] : s.broker_configs) {
    const std::string broker = "broker " + std::to_string(id);
    const auto fetch = ToInt(Lookup(configs, "replica.fetch.max.bytes"));
    if (!fetch) {
      unknown.push_back("replica.fetch.max.bytes of " + broker);
      continue;
    }
    if (lowest_fetch < 0 || *fetch < lowest_fetch) lowest_fetch = *fetch;
    if (*fetch <= a) {
      problems.push_back("replica.fetch.max.bytes=" + std::to_string(*fetch) + " on " + broker +
                         " is not above AbsoluteMaxBytes " + std::to_string(a) +
                         ": its followers may fail to copy a channel's largest record");
    }
    if (max_message && *fetch > *max_message) {
      problems.push_back("replica.fetch.max.bytes=" + std::to_string(*fetch) + " on " + broker + " is above " +
                         max_message_name + " (" + std::to_string(*max_message) + ")");
    }
  }
  if (max_message && *max_message <= a) {
    problems.push_back(max_message_name + " is " + std::to_string(*max_message) + ", not above AbsoluteMaxBytes " +
                       std::to_string(a) + ": the broker refuses the largest envelopes the channel allows");
  }
  if (!problems.empty()) {
    f.outcome = Outcome::kViolated;
    for (size_t i = 0; i < problems.size(); ++i) f.message += (i ? "; " : "") + problems[i];
    f.message += rule + fix;
  } else if (!unknown.empty()) {
    f.outcome = Outcome::kUnknown;
    f.message = "the cluster did not report";
    for (size_t i = 0; i < unknown.size(); ++i) f.message += (i ? ", " : " ") + unknown[i];
  } else {
    f.message = "AbsoluteMaxBytes " + std::to_string(a) + " < replica.fetch.max.bytes " + std::to_string(lowest_fetch) +
                " <= max.message.bytes " + std::to_string(*max_message);
  }
  return f;
}

SettingFinding Retention(const kafka::ClusterSettings& s) {
  SettingFinding f;
  f.rule = "retention";
  std::vector<std::string> limited;
  std::vector<std::string> unknown;
  for (const char* key : {"retention.ms", "retention.bytes"}) {
    const auto v = Lookup(s.topic_configs, key);
    if (!v) {
      unknown.push_back(key);
    } else if (*v != "-1") {
      limited.push_back(std::string(key) + "=" + *v);
    }
  }
  if (!limited.empty()) {
    f.outcome = Outcome::kViolated;
    std::string settings;
    for (size_t i = 0; i < limited.size(); ++i) settings += (i ? " and " : "") + limited[i];
    f.message = settings + " on topic " + s.topic +
                ": the broker deletes old records, and an orderer restarted from its ledger's last offset finds "
                "them gone and stops (rule: retention.ms=-1 and retention.bytes=-1); fix: " +
                TopicConfigFix(s.topic, "retention.ms=-1,retention.bytes=-1");
  } else if (!unknown.empty()) {
    f.outcome = Outcome::kUnknown;
    f.message = "topic " + s.topic + ": the cluster did not report " + unknown[0];
  } else {
    f.message = "retention unlimited";
  }
  return f;
}

}  // namespace

Status ParseSettingsCheck(const std::string& text, SettingsCheck* out) {
  if (text == "refuse") {
    *out = SettingsCheck::kRefuse;
  } else if (text == "warn") {
    *out = SettingsCheck::kWarn;
  } else if (text == "off") {
    *out = SettingsCheck::kOff;
  } else {
    return Status::InvalidArgument("--kafka-settings-check takes refuse, warn or off, not '" + text + "'");
  }
  return Status::OK();
}

const char* SettingsCheckName(SettingsCheck mode) {
  switch (mode) {
    case SettingsCheck::kRefuse:
      return "refuse";
    case SettingsCheck::kWarn:
      return "warn";
    case SettingsCheck::kOff:
      return "off";
  }
  return "?";
}

const std::vector<std::string>& SettingRules() {
  static const std::vector<std::string> rules = {"unclean_leader_election", "min_insync_replicas", "message_sizes",
                                                 "retention"};
  return rules;
}

std::vector<SettingFinding> EvaluateSettings(const kafka::ClusterSettings& settings, uint64_t absolute_max_bytes) {
  return {UncleanLeaderElection(settings), MinInsyncReplicas(settings), MessageSizes(settings, absolute_max_bytes),
          Retention(settings)};
}

void SettingsCollector::Set(bool checked, std::vector<SettingFinding> findings) {
  MutexLock l(&mu_);
  checked_ = checked;
  findings_ = std::move(findings);
}

std::vector<prometheus::MetricFamily> SettingsCollector::Collect() const {
  MutexLock l(&mu_);
  std::vector<prometheus::MetricFamily> out;
  auto checked = MakeFamily("orderer_kafka_settings_checked",
                            "1 once the brokers' settings were read at start and checked (0: off, or unreadable).",
                            prometheus::MetricType::Gauge);
  AddSample(&checked, {{"channel", channel_}}, checked_ ? 1 : 0);
  out.push_back(std::move(checked));
  auto ok = MakeFamily("orderer_kafka_setting_ok",
                       "1 when the brokers' settings hold the rule at start, 0 when not (see docs/operations.md).",
                       prometheus::MetricType::Gauge);
  for (const SettingFinding& f : findings_) {
    if (f.outcome == SettingFinding::Outcome::kUnknown) continue;
    AddSample(&ok, {{"channel", channel_}, {"rule", f.rule}}, f.outcome == SettingFinding::Outcome::kOk ? 1 : 0);
  }
  if (!ok.metric.empty()) out.push_back(std::move(ok));
  return out;
}

Status CheckBrokerSettings(SettingsCheck mode, const std::string& brokers, const Properties& props,
                           const std::string& topic, uint64_t absolute_max_bytes, int timeout_ms,
                           SettingsCollector* collector, std::vector<std::string>* cluster_brokers) {
  cluster_brokers->clear();
  collector->Set(false, {});
  if (mode == SettingsCheck::kOff) {
    spdlog::info("kafka: the brokers' settings are not checked (--kafka-settings-check off)");
    return Status::OK();
  }
  kafka::ClusterSettings settings;
  Status st = kafka::DescribeSettings(brokers, props, topic, timeout_ms, &settings);
  for (const auto& [id, address] : settings.broker_addresses) cluster_brokers->push_back(address);
  if (!st.ok()) {
    spdlog::warn(
        "kafka: could not read broker settings: {}; starting without checking them (the rules an ordering "
        "service needs are in docs/operations.md)",
        st.ToString());
    return Status::OK();
  }
  for (const std::string& unread : settings.unread) {
    spdlog::warn("kafka: could not read broker settings of {}; its part of the message_sizes rule is not checked",
                 unread);
  }
  std::vector<SettingFinding> findings = EvaluateSettings(settings, absolute_max_bytes);
  collector->Set(true, findings);
  std::string refused;
  std::string holds;
  for (const SettingFinding& f : findings) {
    switch (f.outcome) {
      case Outcome::kOk:
        holds += (holds.empty() ? "" : ", ") + f.message;
        break;
      case Outcome::kUnknown:
        spdlog::warn("kafka settings: {} (rule {} not checked)", f.message, f.rule);
        break;
      case Outcome::kImpossible:
        spdlog::warn("kafka settings: {}", f.message);
        break;
      case Outcome::kViolated:
        if (mode == SettingsCheck::kRefuse) {
          refused += (refused.empty() ? "" : "\n  ") + f.message;
        } else {
          spdlog::warn("kafka settings: {} (allowed by --kafka-settings-check warn)", f.message);
        }
        break;
    }
  }
  if (!holds.empty()) spdlog::info("kafka settings of topic {}: {}", topic, holds);
  if (!refused.empty()) {
    return Status::InvalidArgument("the brokers' settings can lose acknowledged records:\n  " + refused +
                                   "\n(--kafka-settings-check warn starts anyway, for experiments)");
  }
  return Status::OK();
}

}  // namespace ordering::kafka_backend

// orderer: the ordering node. See --help.
#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/program_options.hpp>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <thread>

#include "common/cli.h"
#include "common/kafka.h"
#include "common/properties.h"
#include "common/units.h"
#include "orderer/node.h"

namespace po = boost::program_options;
using namespace ordering;

namespace {

std::atomic<int> g_signal{0};
void OnSignal(int sig) { g_signal = sig; }

int UsageError(const std::string& msg) { return cli::UsageError("orderer", msg); }

// Loads a properties file (if given) then key=value overrides.
Status CollectProperties(const std::string& file, const std::vector<std::string>& overrides,
                         const std::string& flag, Properties* out) {
  if (!file.empty()) ORDERING_RETURN_IF_ERROR(LoadPropertiesFile(file, out));
  for (const auto& kv : overrides) ORDERING_RETURN_IF_ERROR(ParsePropertyOverride(kv, flag, out));
  return Status::OK();
}

void WriteFileAtomically(const std::string& path, const std::string& content) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << content;
  }
  std::rename(tmp.c_str(), path.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_file, brokers, max_bytes_pref, max_bytes_abs, batch_timeout, log_level,
      summary_interval, metrics_file, ready_file, consumer_config, producer_config;
  std::vector<std::string> consumer_props, producer_props;
  OrdererOptions o;
  bool no_sync = false, no_create_topic = false;

  po::options_description general("General");
  general.add_options()
      ("help,h", "show this help and exit")
      ("config", po::value(&config_file), "read options from FILE (key = value lines, same names as the flags)")
      ("brokers", po::value(&brokers), "Kafka bootstrap servers HOST:PORT[,...] (required)")
      ("channel", po::value(&o.channel.channel_id)->default_value("mychannel"), "channel id")
      ("topic", po::value(&o.kafka.topic), "Kafka topic of the channel (default: the channel id)")
      ("ledger-dir", po::value(&o.ledger_dir)->default_value("orderer-ledger"), "RocksDB ledger directory (created if missing)")
      ("listen", po::value(&o.listen)->default_value("127.0.0.1:7050"), "Deliver (gRPC) address; port 0 picks a free port")
      ("no-sync", po::bool_switch(&no_sync), "do not fsync each block (unsafe on power loss; for experiments)")
      ("log-level", po::value(&log_level)->default_value("info"), "trace|debug|info|warn|error")
      ("summary-interval", po::value(&summary_interval)->default_value("10s"), "how often to log a counters summary (0 = never)")
      ("metrics-file", po::value(&metrics_file), "write counters as JSON to FILE (every summary interval and at exit)")
      ("ready-file", po::value(&ready_file), "once ready, write the Deliver port to FILE (removed at start)");
  po::options_description channel("Channel batch settings (recorded in genesis; an existing ledger keeps its own)");
  channel.add_options()
      ("max-message-count", po::value(&o.channel.batch_size.max_message_count)->default_value(500), "MaxMessageCount: cut a block at this many transactions")
      ("preferred-max-bytes", po::value(&max_bytes_pref)->default_value("2MB"), "PreferredMaxBytes: cut before a block grows past this")
      ("absolute-max-bytes", po::value(&max_bytes_abs)->default_value("10MB"), "AbsoluteMaxBytes: larger transactions are rejected")
      ("batch-timeout", po::value(&batch_timeout)->default_value("2s"), "BatchTimeout: cut a non-empty batch after this long");
  po::options_description kafka_opts("Kafka");
  kafka_opts.add_options()
      ("consumer-config", po::value(&consumer_config), "librdkafka consumer properties FILE")
      ("consumer-prop", po::value(&consumer_props)->composing(), "consumer property key=value (repeatable)")
      ("producer-config", po::value(&producer_config), "librdkafka producer properties FILE (time-to-cut/connect)")
      ("producer-prop", po::value(&producer_props)->composing(), "producer property key=value (repeatable)")
      ("no-create-topic", po::bool_switch(&no_create_topic), "do not create the channel topic if it is missing")
      ("replication-factor", po::value(&o.kafka.replication_factor)->default_value(0), "replication factor when creating the topic (0 = the brokers' default.replication.factor)")
      ("verify-workers", po::value(&o.kafka.verify_workers)->default_value(0), "signature-check threads (0 = one per core)");
  po::options_description all("Usage: orderer --brokers HOST:PORT [options]\n\n"
                              "Consumes the channel's Kafka partition, checks every transaction,\n"
                              "cuts blocks, chains and stores them, and serves them over Deliver");
  all.add(general).add(channel).add(kafka_opts);

  po::variables_map vm;
  if (auto code = cli::ParseFlags(argc, argv, "orderer", all, &vm)) return *code;
  if (!cli::SetLogLevel(log_level)) return UsageError("unknown --log-level '" + log_level + "'");
  if (brokers.empty()) return UsageError("--brokers is required (e.g. --brokers 127.0.0.1:9092)");
  o.kafka.brokers = brokers;
  o.sync_writes = !no_sync;
  o.kafka.create_topic = !no_create_topic;

  std::chrono::nanoseconds timeout, interval;
  Status st = ParseDuration(batch_timeout, &timeout);
  if (!st.ok()) return UsageError("--batch-timeout: " + st.message());
  o.channel.batch_timeout_ms = std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count();
  st = ParseDuration(summary_interval, &interval, std::chrono::seconds(1));
  if (!st.ok()) return UsageError("--summary-interval: " + st.message());
  st = ParseByteSize(max_bytes_pref, &o.channel.batch_size.preferred_max_bytes);
  if (!st.ok()) return UsageError("--preferred-max-bytes: " + st.message());
  st = ParseByteSize(max_bytes_abs, &o.channel.batch_size.absolute_max_bytes);
  if (!st.ok()) return UsageError("--absolute-max-bytes: " + st.message());
  st = CollectProperties(consumer_config, consumer_props, "--consumer-prop", &o.kafka.consumer_properties);
  if (!st.ok()) return UsageError(st.message());
  st = CollectProperties(producer_config, producer_props, "--producer-prop", &o.kafka.producer_properties);
  if (!st.ok()) return UsageError(st.message());
  // Validate Kafka properties up front so a typo is a usage error, not a
  // failure halfway through start-up.
  kafka::RdKafkaConfPtr probe;
  st = kafka::BuildConfig(brokers, o.kafka.consumer_properties, &probe);
  if (!st.ok()) return UsageError(st.message());
  st = kafka::BuildConfig(brokers, o.kafka.producer_properties, &probe);
  if (!st.ok()) return UsageError(st.message());

  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);

  // A ready file left by an earlier run must not announce this one early.
  if (!ready_file.empty()) std::remove(ready_file.c_str());
  std::unique_ptr<OrdererNode> node;
  st = OrdererNode::Start(o, SystemClock::Default(), &node);
  if (!st.ok()) {
    spdlog::error("cannot start: {}", st.ToString());
    return st.IsInvalidArgument() ? 2 : 1;
  }
  if (!ready_file.empty()) WriteFileAtomically(ready_file, std::to_string(node->deliver_port()) + "\n");

  auto write_metrics = [&] {
    if (!metrics_file.empty()) WriteFileAtomically(metrics_file, node->metrics().ToJson().dump(2) + "\n");
  };
  auto next_summary = std::chrono::steady_clock::now() + interval;
  int exit_code = 0;
  while (g_signal.load() == 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    Status err = node->Errored();
    if (!err.ok()) {
      spdlog::error("ordering stopped: {}", err.ToString());
      exit_code = 1;
      break;
    }
    if (interval.count() > 0 && std::chrono::steady_clock::now() >= next_summary) {
      spdlog::info("{}", node->metrics().Summary());
      write_metrics();
      next_summary += interval;
    }
  }
  if (g_signal.load() != 0) spdlog::info("signal {}: shutting down", g_signal.load());
  node->Stop();
  spdlog::info("final: {}", node->metrics().Summary());
  write_metrics();
  return exit_code;
}

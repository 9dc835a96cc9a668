// peer-sim: simulated peers that submit signed transactions through Kafka
// and time each one until the orderer delivers it. See --help.
#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/program_options.hpp>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "common/cli.h"
#include "common/kafka.h"
#include "common/properties.h"
#include "common/units.h"
#include "peer-sim/load.h"
#include "peer-sim/profile.h"

namespace po = boost::program_options;
using namespace ordering;

namespace {

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }

int UsageError(const std::string& msg) { return cli::UsageError("peer-sim", msg); }

std::string ProfileName(const std::string& path) {
  std::string name = path.substr(path.find_last_of('/') + 1);
  if (auto dot = name.rfind(".properties"); dot != std::string::npos) name.resize(dot);
  return name;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_file, profile, tx_size, duration, warmup, drain_timeout, progress_interval, json_path, log_level;
  std::vector<std::string> producer_props;
  LoadOptions o;
  bool quiet = false;

  po::options_description opts(
      "Usage: peer-sim --brokers HOST:PORT --orderer HOST:PORT [options]\n"
      "       peer-sim --brokers HOST:PORT --raw [options]\n\n"
      "Simulated peers sign transactions and submit them to the channel's Kafka topic with a\n"
      "producer profile, then time each one until the orderer delivers it in a block.\n"
      "Exits 0 when every transaction was delivered exactly once, 1 when any was lost,\n"
      "doubled or failed, 2 on a usage error, 3 when the run could not start.\n\nOptions");
  opts.add_options()
      ("help,h", "show this help and exit")
      ("config", po::value(&config_file), "read options from FILE (key = value lines, same names as the flags)")
      ("brokers", po::value(&o.brokers), "Kafka bootstrap servers HOST:PORT[,...] (required)")
      ("orderer", po::value(&o.orderer), "orderer Deliver address HOST:PORT (required unless --raw)")
      ("channel", po::value(&o.channel_id)->default_value("mychannel"), "channel id")
      ("topic", po::value(&o.topic), "Kafka topic (default: the channel id)")
      ("peers", po::value(&o.peers)->default_value(3), "simulated peers, each with its own key and producer")
      ("profile", po::value(&profile), "producer profile FILE (configs/profiles/*.properties); its broker.* keys are "
       "broker settings: not given to the producer, recorded in the report as profile_broker")
      ("producer-prop", po::value(&producer_props)->composing(), "producer property key=value, after the profile (repeatable)")
      ("tx-size", po::value(&tx_size)->default_value("1KB"), "record size on the wire")
      ("rate", po::value(&o.rate)->default_value(1000), "total tx/s over all peers, open loop; 0 = flat out")
      ("count", po::value(&o.count)->default_value(0), "stop after this many transactions (0 = no limit)")
      ("duration", po::value(&duration)->default_value("10s"), "stop submitting after this long (0 = no limit)")
      ("warmup", po::value(&warmup)->default_value("0s"), "leave transactions due in this first part of the run out of TPS and latency")
      ("max-in-flight", po::value(&o.max_in_flight)->default_value(20000), "flat out: most transactions submitted but not yet delivered")
      ("drain-timeout", po::value(&drain_timeout)->default_value("30s"), "after submitting, wait this long for deliveries")
      ("raw", po::bool_switch(&o.raw), "producer only: time submit -> broker ack, no orderer")
      ("json", po::value(&json_path), "write the report as JSON to FILE")
      ("progress-interval", po::value(&progress_interval)->default_value("5s"), "progress line interval (0 = none)")
      ("quiet,q", po::bool_switch(&quiet), "no progress lines")
      ("log-level", po::value(&log_level)->default_value("warn"), "trace|debug|info|warn|error");

  po::variables_map vm;
  if (auto code = cli::ParseFlags(argc, argv, "peer-sim", opts, &vm)) return *code;
  if (!cli::SetLogLevel(log_level)) return UsageError("unknown --log-level '" + log_level + "'");

  if (o.brokers.empty()) return UsageError("--brokers is required");
  if (!o.raw && o.orderer.empty()) return UsageError("--orderer is required (or --raw to time the producer alone)");
  if (o.raw && !o.orderer.empty()) return UsageError("--raw and --orderer exclude each other");
  if (!profile.empty()) {
    ProducerProfile loaded;
    Status st = LoadProducerProfile(profile, &loaded);
    if (!st.ok()) return UsageError("--profile: " + st.message());
    o.producer_properties = std::move(loaded.producer);
    o.profile_broker = std::move(loaded.broker);
    o.profile_name = ProfileName(profile);
  }
  for (const auto& kv : producer_props) {
    Status st = ParsePropertyOverride(kv, "--producer-prop", &o.producer_properties);
    if (!st.ok()) return UsageError(st.message());
  }
  {
    kafka::RdKafkaConfPtr probe;
    Status st = kafka::BuildConfig(o.brokers, o.producer_properties, &probe);
    if (!st.ok()) return UsageError(st.message());
  }
  uint64_t size = 0;
  Status st = ParseByteSize(tx_size, &size);
  if (!st.ok()) return UsageError("--tx-size: " + st.message());
  o.tx_size = size;
  std::chrono::nanoseconds d;
  st = ParseDuration(duration, &d, std::chrono::seconds(1));
  if (!st.ok()) return UsageError("--duration: " + st.message());
  o.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  if (vm["duration"].defaulted() && o.count > 0) o.duration_ms = 0;  // --count alone: run until the count
  st = ParseDuration(warmup, &d, std::chrono::seconds(1));
  if (!st.ok()) return UsageError("--warmup: " + st.message());
  o.warmup_ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  if (o.duration_ms > 0 && o.warmup_ms >= o.duration_ms) return UsageError("--warmup must be shorter than --duration");
  st = ParseDuration(drain_timeout, &d, std::chrono::seconds(1));
  if (!st.ok()) return UsageError("--drain-timeout: " + st.message());
  o.drain_timeout_ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  st = ParseDuration(progress_interval, &d, std::chrono::seconds(1));
  if (!st.ok()) return UsageError("--progress-interval: " + st.message());
  o.progress_interval_ms = quiet ? 0 : std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  if (o.rate < 0) return UsageError("--rate must not be negative");
  if (o.count == 0 && o.duration_ms == 0) return UsageError("give --count or a non-zero --duration");

  o.on_progress = [&o](const LoadProgress& p) {
    if (o.raw) {
      std::fprintf(stderr, "[%6.1fs] submitted %llu (%.0f/s)  acked %llu (%.0f/s)  failed %llu  in flight %llu  ack p50 %.1f ms p99 %.1f ms\n",
                   p.elapsed_s, static_cast<unsigned long long>(p.submitted), p.interval_submit_tps,
                   static_cast<unsigned long long>(p.acked), p.interval_delivered_tps,
                   static_cast<unsigned long long>(p.failed), static_cast<unsigned long long>(p.in_flight),
                   p.interval_latency.p50_ms, p.interval_latency.p99_ms);
    } else {
      std::fprintf(stderr, "[%6.1fs] submitted %llu (%.0f/s)  delivered %llu (%.0f/s)  failed %llu  in flight %llu  e2e p50 %.1f ms p99 %.1f ms\n",
                   p.elapsed_s, static_cast<unsigned long long>(p.submitted), p.interval_submit_tps,
                   static_cast<unsigned long long>(p.delivered), p.interval_delivered_tps,
                   static_cast<unsigned long long>(p.failed), static_cast<unsigned long long>(p.in_flight),
                   p.interval_latency.p50_ms, p.interval_latency.p99_ms);
    }
  };

  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  LoadReport report;
  st = RunLoad(o, &report, &g_stop);
  if (!st.ok()) {
    std::cerr << "peer-sim: " << st.ToString() << "\n";
    return st.IsInvalidArgument() ? 2 : 3;
  }
  std::cout << ReportToText(report);
  if (!json_path.empty()) {
    std::ofstream out(json_path, std::ios::trunc);
    out << ReportToJson(report).dump(2) << "\n";
    if (!out) {
      std::cerr << "peer-sim: cannot write report to '" << json_path << "'\n";
      return 3;
    }
  }
  if (!report.clean()) {
    std::cerr << "peer-sim: " << report.lost << " lost, " << report.duplicates << " doubled, " << report.failed
              << " failed transactions\n";
    return 1;
  }
  return 0;
}

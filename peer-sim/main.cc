// peer-sim: simulated peers that submit signed transactions through Kafka
// and time each one until the orderer delivers it. See --help.
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
#include "common/monitoring_server.h"
#include "common/prometheus_util.h"
#include "common/properties.h"
#include "common/units.h"
#include "peer-sim/load.h"
#include "peer-sim/load_collector.h"
#include "peer-sim/orderer_channel.h"
#include "peer-sim/pool.h"
#include "peer-sim/profile.h"

namespace po = boost::program_options;
using namespace ordering;

namespace {

// The first SIGINT/SIGTERM ends submitting (the drain still waits for
// what is owed, up to --drain-timeout); a second one cuts the drain short.
std::atomic<bool> g_stop{false};
std::atomic<bool> g_abort{false};
void OnSignal(int) {
  if (g_stop.exchange(true)) g_abort = true;
}

int UsageError(const std::string& msg) { return cli::UsageError("peer-sim", msg); }

int64_t Millis(std::chrono::nanoseconds d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); }

// "12.3 ms p50 .. p99" of the interval's completions, or, when none
// completed, the age of the oldest transaction still waiting.
std::string IntervalLatency(const LoadProgress& p, const char* what, const char* waiting) {
  char buf[160];
  if (p.interval_latency.count == 0) {
    std::snprintf(buf, sizeof(buf), "no %s this interval, oldest %s %.0f ms", what, waiting, p.oldest_undelivered_ms);
  } else {
    std::snprintf(buf, sizeof(buf), "%s p50 %.1f ms p99 %.1f ms", what, p.interval_latency.p50_ms,
                  p.interval_latency.p99_ms);
  }
  return buf;
}

std::string ProfileName(const std::string& path) {
  std::string name = path.substr(path.find_last_of('/') + 1);
  if (auto dot = name.rfind(".properties"); dot != std::string::npos) name.resize(dot);
  return name;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_file, submit, profile, tx_size, duration, warmup, warmup_max, steady_window, pool_size,
      drain_timeout, cooldown, progress_interval, json_path, log_level, metrics_listen, metrics_linger, reconnect_max;
  std::vector<std::string> producer_props;
  LoadOptions o;
  bool quiet = false;

  po::options_description opts(
      "Usage: peer-sim --brokers HOST:PORT --orderer HOST:PORT[,HOST:PORT...] [options]\n"
      "       peer-sim --submit broadcast --orderer HOST:PORT[,HOST:PORT...] [options]\n"
      "       peer-sim --brokers HOST:PORT --raw [options]\n\n"
      "Simulated peers sign transactions and submit them, by default straight into the channel's\n"
      "Kafka topic with a producer profile (--submit kafka), or through the orderer's Broadcast\n"
      "(--submit broadcast, any backend), then time each one until the orderer delivers it in a block.\n"
      "A run is a warm-up, then the measured window (--duration), then the drain (--drain-timeout).\n"
      "By default every transaction is signed before the clock starts (a pre-signed pool), so the\n"
      "generator does not limit the run; the report says whether it did (generator_bound) or the\n"
      "service held the peers back inside Submit (held_back).\n"
      "Exits 0 when every transaction was delivered exactly once, 1 when any was lost (acknowledged\n"
      "but undelivered, or never acknowledged), doubled or failed, 2 on a usage error, 3 when the\n"
      "run could not start or --ack-log could not be written.\n\nOptions");
  opts.add_options()("help,h", "show this help and exit")(
      "config", po::value(&config_file), "read options from FILE (key = value lines, same names as the flags)")(
      "submit", po::value(&submit)->default_value("kafka"),
      "how peers submit: kafka (each peer's own producer writes to the channel's partition) or "
      "broadcast (each peer's own gRPC Broadcast stream to --orderer)")(
      "brokers", po::value(&o.brokers), "Kafka bootstrap servers HOST:PORT[,...] (required with --submit kafka)")(
      "orderer", po::value(&o.orderer),
      "orderer address HOST:PORT: Deliver, and Broadcast (required unless --raw); or a comma list "
      "HOST:PORT,HOST:PORT,... of orderers serving the channel: every stream starts on the first, and one that "
      "breaks or cannot connect moves to the next, round robin")(
      "channel", po::value(&o.channel_id)->default_value("mychannel"), "channel id")(
      "topic", po::value(&o.topic), "Kafka topic (default: the channel id)")(
      "peers", po::value(&o.peers)->default_value(3), "simulated peers, each with its own key and producer")(
      "profile", po::value(&profile),
      "producer profile FILE (configs/profiles/*.properties); its broker.* keys are "
      "broker settings: not given to the producer, recorded in the report as profile_broker")(
      "producer-prop", po::value(&producer_props)->composing(),
      "producer property key=value, after the profile (repeatable)")(
      "tx-size", po::value(&tx_size)->default_value("1KB"), "record size on the wire")(
      "rate", po::value(&o.rate)->default_value(1000), "total tx/s over all peers, open loop; 0 = flat out")(
      "count", po::value(&o.count)->default_value(0),
      "stop after this many transactions, warm-up included (0 = no limit)")(
      "duration", po::value(&duration)->default_value("10s"),
      "length of the measured window, which starts when the warm-up ends: the run submits for warm-up + "
      "duration (0 = no limit)")(
      "warmup", po::value(&warmup)->default_value("0s"),
      "warm-up before the measured window: a length (e.g. 5s), or 'auto' = until steady (see "
      "--steady-window); its transactions are checked but left out of TPS and latency")(
      "steady-window", po::value(&steady_window)->default_value("5s"),
      "auto warm-up: it ends at the end of the second where the last two windows of this length (whole "
      "seconds) agree on completed rate and p50 latency")(
      "steady-tolerance", po::value(&o.steady_tolerance)->default_value(0.05, "0.05"),
      "auto warm-up: how close the two windows must be, relative (0.05 = 5%)")(
      "warmup-max", po::value(&warmup_max)->default_value("30s"),
      "auto warm-up: measure anyway after this long (the report then says steady: false)")(
      "pool-size", po::value(&pool_size),
      "pre-signed transactions over all peers (default: open loop, enough for rate x (warm-up bound + "
      "duration); flat out, --count if given, else 20000/s x (warm-up bound + duration), at most 4,000,000); "
      "a flat-out peer that runs out stops (pool_exhausted)")(
      "sign-inline", po::bool_switch(&o.sign_inline),
      "sign each transaction just before producing it, inside the measured window, instead of pre-signing")(
      "block-times", po::bool_switch(&o.block_times),
      "record when each block arrived (block_unix_ms in --json): the first block after a failure, "
      "to the millisecond")(
      "started-file", po::value(&o.started_file),
      "once the load starts (after pre-signing and connecting), write its start on the wall clock (ms since "
      "the Unix epoch) to FILE, so another process can act at a set time into the load")(
      "max-in-flight", po::value(&o.max_in_flight)->default_value(20000),
      "flat out: most transactions submitted but not yet delivered")(
      "drain-timeout", po::value(&drain_timeout)->default_value("30s"),
      "after submitting ends, the most the exit may take (flush, waiting for deliveries, closing the "
      "producers); what is still unacknowledged then is purged and counted as never acknowledged")(
      "cooldown", po::value(&cooldown)->default_value("0s"),
      "keep submitting this long after the measured window, unmeasured, so the window's last "
      "transactions are not left in a partial block waiting for the batch timeout")(
      "raw", po::bool_switch(&o.raw), "producer only: time submit -> broker ack, no orderer")(
      "reconnect-backoff-max", po::value(&reconnect_max)->default_value("1s"),
      "after the orderer's Deliver or Broadcast stream breaks, the longest wait between attempts to open a new one "
      "(from 100 ms, doubling); transactions unanswered on a broken Broadcast stream are counted, not resent")(
      "ack-log", po::value(&o.ack_log),
      "append one line per transaction outcome to FILE as it is answered: tx_id outcome submit_unix_ns "
      "answer_unix_ns peer END (outcome SUCCESS, BAD_REQUEST, SERVICE_UNAVAILABLE, UNANSWERED_STREAM_BROKEN, "
      "ABANDONED, ACKED, FAILED, PURGED or NOT_SENT; see docs/cli.md)")("json", po::value(&json_path),
                                                                        "write the report as JSON to FILE")(
      "metrics-listen", po::value(&metrics_listen),
      "serve Prometheus /metrics (counters and latency histograms of the whole run) and /healthz on HOST:PORT "
      "while the run lasts (port 0 picks a free port; default: off)")(
      "metrics-linger", po::value(&metrics_linger)->default_value("0s"),
      "with --metrics-listen: keep serving /metrics this long after the run, so a scraper sees the final counts")(
      "progress-interval", po::value(&progress_interval)->default_value("5s"), "progress line interval (0 = none)")(
      "quiet,q", po::bool_switch(&quiet), "no progress lines or notes on stderr")(
      "log-level", po::value(&log_level)->default_value("warn"), "trace|debug|info|warn|error");

  po::variables_map vm;
  if (auto code = cli::ParseFlags(argc, argv, "peer-sim", opts, &vm)) return *code;
  if (!cli::SetLogLevel(log_level)) return UsageError("unknown --log-level '" + log_level + "'");

  if (!ParseSubmitPath(submit, &o.submit))
    return UsageError("--submit must be kafka or broadcast, not '" + submit + "'");
  if (o.submit == SubmitPath::kKafka && o.brokers.empty())
    return UsageError("--brokers is required with --submit kafka");
  if (o.submit == SubmitPath::kBroadcast && o.raw) {
    return UsageError("--raw times the Kafka producer alone: it needs --submit kafka");
  }
  if (!o.raw && o.orderer.empty()) return UsageError("--orderer is required (or --raw to time the producer alone)");
  if (o.raw && !o.orderer.empty()) return UsageError("--raw and --orderer exclude each other");
  if (!o.raw) {
    std::vector<std::string> addresses;
    Status parsed = ParseOrdererList(o.orderer, &addresses);
    if (!parsed.ok()) return UsageError("--orderer: " + parsed.message());
  }
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
  if (o.submit == SubmitPath::kKafka) {
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
  o.duration_ms = Millis(d);
  if (vm["duration"].defaulted() && o.count > 0) o.duration_ms = 0;  // --count alone: run until the count
  if (warmup == "auto") {
    o.warmup_mode = WarmupMode::kAuto;
  } else {
    st = ParseDuration(warmup, &d, std::chrono::seconds(1));
    if (!st.ok()) return UsageError("--warmup takes a length (e.g. 5s) or 'auto': " + st.message());
    o.warmup_ms = Millis(d);
  }
  st = ParseDuration(steady_window, &d, std::chrono::seconds(1));
  if (!st.ok()) return UsageError("--steady-window: " + st.message());
  o.steady_window_ms = Millis(d);
  if (o.steady_window_ms < 1000 || o.steady_window_ms % 1000 != 0) {
    return UsageError("--steady-window must be a whole number of seconds, at least 1s (got '" + steady_window + "')");
  }
  if (!(o.steady_tolerance > 0 && o.steady_tolerance < 1)) {
    char got[32];
    std::snprintf(got, sizeof(got), "%g", o.steady_tolerance);
    return UsageError(std::string("--steady-tolerance must be between 0 and 1, e.g. 0.05 for 5% (got ") + got + ")");
  }
  st = ParseDuration(warmup_max, &d, std::chrono::seconds(1));
  if (!st.ok()) return UsageError("--warmup-max: " + st.message());
  o.warmup_max_ms = Millis(d);
  if (o.warmup_mode == WarmupMode::kAuto && o.warmup_max_ms < 2 * o.steady_window_ms) {
    return UsageError("--warmup-max (" + warmup_max + ") must be at least two --steady-window lengths (" +
                      steady_window + " each): the warm-up compares two windows");
  }
  if (vm.count("pool-size")) {
    if (pool_size.empty() || pool_size.find_first_not_of("0123456789") != std::string::npos) {
      return UsageError("--pool-size takes a positive whole number of transactions (got '" + pool_size + "')");
    }
    try {
      o.pool_size = std::stoull(pool_size);
    } catch (const std::exception&) {
      return UsageError("--pool-size '" + pool_size + "' is out of range");
    }
    if (o.pool_size == 0) return UsageError("--pool-size must be at least 1 (leave it out for the default)");
    if (o.sign_inline)
      return UsageError("--pool-size and --sign-inline exclude each other: inline signing has no pool");
  }
  st = ParseDuration(cooldown, &d, std::chrono::seconds(1));
  if (!st.ok()) return UsageError("--cooldown: " + st.message());
  o.cooldown_ms = Millis(d);
  if (o.cooldown_ms > 0 && o.duration_ms == 0)
    return UsageError("--cooldown needs a --duration (it follows the measured window)");
  st = ParseDuration(drain_timeout, &d, std::chrono::seconds(1));
  if (!st.ok()) return UsageError("--drain-timeout: " + st.message());
  o.drain_timeout_ms = Millis(d);
  st = ParseDuration(reconnect_max, &d, std::chrono::seconds(1));
  if (!st.ok()) return UsageError("--reconnect-backoff-max: " + st.message());
  o.reconnect.max_backoff_ms = Millis(d);
  if (o.reconnect.max_backoff_ms < 1) return UsageError("--reconnect-backoff-max must be at least 1ms");
  o.reconnect.initial_backoff_ms = std::min<int64_t>(o.reconnect.initial_backoff_ms, o.reconnect.max_backoff_ms);
  st = ParseDuration(progress_interval, &d, std::chrono::seconds(1));
  if (!st.ok()) return UsageError("--progress-interval: " + st.message());
  o.progress_interval_ms = quiet ? 0 : Millis(d);
  if (o.rate < 0) return UsageError("--rate must not be negative");
  if (o.count == 0 && o.duration_ms == 0) return UsageError("give --count or a non-zero --duration");
  {
    PoolPlan plan;
    st = PlanPool(o, &plan);
    if (!st.ok()) return UsageError(st.message());
  }

  if (!quiet) o.on_notice = [](const std::string& line) { std::fprintf(stderr, "peer-sim: %s\n", line.c_str()); };
  o.on_progress = [&o](const LoadProgress& p) {
    const auto n = [](uint64_t v) { return static_cast<unsigned long long>(v); };
    const std::string latency = o.raw ? IntervalLatency(p, "ack", "unacked") : IntervalLatency(p, "e2e", "undelivered");
    std::fprintf(
        stderr,
        "[%6.1fs] submitted %llu (%.0f/s)  %s %llu (%.0f/s)  failed %llu  in flight %llu (%.1f%% undelivered)  %s\n",
        p.elapsed_s, n(p.submitted), p.interval_submit_tps, o.raw ? "acked" : "delivered",
        n(o.raw ? p.acked : p.delivered), p.interval_delivered_tps, n(p.failed), n(p.in_flight),
        100.0 * p.undelivered_share, latency.c_str());
  };

  LoadMetrics live;
  std::unique_ptr<MonitoringServer> monitoring;
  std::chrono::nanoseconds linger{0};
  st = ParseDuration(metrics_linger, &linger, std::chrono::seconds(1));
  if (!st.ok()) return UsageError("--metrics-linger: " + st.message());
  if (!metrics_listen.empty()) {
    o.metrics = &live;
    MonitoringOptions mo;
    mo.listen = metrics_listen;
    Status ms = MonitoringServer::Start(
        mo,
        {std::make_shared<LoadCollector>(&live, o.channel_id, std::string(SubmitPathName(o.submit))),
         std::make_shared<ProcessCollector>()},
        &monitoring);
    if (!ms.ok()) return UsageError("--metrics-listen: " + ms.message());
    if (!quiet) std::fprintf(stderr, "peer-sim: metrics on port %d (/metrics, /healthz)\n", monitoring->port());
  }

  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  LoadReport report;
  st = RunLoad(o, &report, &g_stop, &g_abort);
  if (monitoring && linger.count() > 0 && !g_stop.load()) {
    const auto until = std::chrono::steady_clock::now() + linger;
    while (std::chrono::steady_clock::now() < until && !g_stop.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
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
  if (!report.ack_log_error.empty()) {
    std::cerr << "peer-sim: the ack log is incomplete: " << report.ack_log_error << "\n";
    return 3;
  }
  if (!report.clean()) {
    std::cerr << "peer-sim: not clean: " << report.undelivered_acked << " acknowledged but undelivered, "
              << report.never_acked << " never acknowledged, " << report.failed << " failed, " << report.duplicates
              << " doubled\n";
    return 1;
  }
  return 0;
}

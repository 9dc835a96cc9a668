// orderer: the ordering node. See --help.
#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/program_options.hpp>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>
#include <tuple>

#include "common/cli.h"
#include "common/units.h"
#include "orderer/consensus/registry.h"
#include "orderer/node.h"

namespace po = boost::program_options;
using namespace ordering;

namespace {

std::atomic<int> g_signal{0};
void OnSignal(int sig) { g_signal = sig; }

int UsageError(const std::string& msg) { return cli::UsageError("orderer", msg); }

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
  std::string config_file, max_bytes_pref, max_bytes_abs, batch_timeout, log_level, summary_interval, metrics_file,
      ready_file, ack_mode, ack_timeout, keepalive_time, keepalive_timeout;
  int64_t broadcast_window = 0;
  OrdererOptions o;
  bool no_sync = false;

  po::options_description general("General");
  general.add_options()("help,h", "show this help and exit")(
      "config", po::value(&config_file), "read options from FILE (key = value lines, same names as the flags)")(
      "consensus", po::value(&o.consensus),
      ("consensus backend: " + BackendNames() + " (default: the ledger's own; " + kDefaultConsensus +
       " for a new ledger)")
          .c_str())("channel", po::value(&o.channel.channel_id)->default_value("mychannel"), "channel id")(
      "ledger-dir", po::value(&o.ledger_dir)->default_value("orderer-ledger"),
      "RocksDB ledger directory (created if missing)")("listen", po::value(&o.listen)->default_value("127.0.0.1:7050"),
                                                       "Deliver (gRPC) address; port 0 picks a free port")(
      "no-sync", po::bool_switch(&no_sync), "do not fsync each block (unsafe on power loss; for experiments)")(
      "log-level", po::value(&log_level)->default_value("info"), "trace|debug|info|warn|error")(
      "summary-interval", po::value(&summary_interval)->default_value("10s"),
      "how often to log a counters summary (0 = never)")(
      "metrics-file", po::value(&metrics_file), "write counters as JSON to FILE (every summary interval and at exit)")(
      "metrics-listen", po::value(&o.metrics_listen),
      "serve Prometheus /metrics, /healthz and /readyz on HOST:PORT (port 0 picks a free port; default: off)")(
      "ready-file", po::value(&ready_file), "once ready, write the Deliver port to FILE (removed at start)");
  po::options_description channel("Channel batch settings (recorded in genesis; an existing ledger keeps its own)");
  channel.add_options()("max-message-count", po::value(&o.channel.batch_size.max_message_count)->default_value(500),
                        "MaxMessageCount: cut a block at this many transactions")(
      "preferred-max-bytes", po::value(&max_bytes_pref)->default_value("2MB"),
      "PreferredMaxBytes: cut before a block grows past this")("absolute-max-bytes",
                                                               po::value(&max_bytes_abs)->default_value("10MB"),
                                                               "AbsoluteMaxBytes: larger transactions are rejected")(
      "batch-timeout", po::value(&batch_timeout)->default_value("2s"),
      "BatchTimeout: cut a non-empty batch after this long");
  po::options_description broadcast("Broadcast");
  broadcast.add_options()(
      "ack", po::value(&ack_mode)->default_value("durable"),
      "what SUCCESS promises: durable (the backend's own rule: solo synced to the ledger, Raft committed by a "
      "majority, Kafka acknowledged by the brokers) or accepted (queued for ordering, as Fabric)")(
      "ack-timeout", po::value(&ack_timeout)->default_value("30s"),
      "durable: answer SERVICE_UNAVAILABLE for a transaction not durable within this long")(
      "broadcast-window", po::value(&broadcast_window)->default_value(4096),
      "envelopes each Broadcast stream reads ahead of its answers (1..1000000)")(
      "keepalive-time", po::value(&keepalive_time)->default_value("20s"),
      "ping each client connection with open streams this often (HTTP/2 keepalive)")(
      "keepalive-timeout", po::value(&keepalive_timeout)->default_value("10s"),
      "close a client connection whose ping is not answered within this long, ending its streams");
  // Every backend's flags; only the chosen backend's are checked.
  std::vector<std::unique_ptr<Backend>> backends;
  std::vector<std::unique_ptr<po::options_description>> backend_opts;
  for (const RegisteredBackend& r : Backends()) {
    backends.push_back(r.make());
    backend_opts.push_back(std::make_unique<po::options_description>("Consensus '" + backends.back()->Name() +
                                                                     "': " + backends.back()->Summary()));
    backends.back()->AddOptions(backend_opts.back().get());
  }
  po::options_description all(
      "Usage: orderer [--consensus NAME] [options]\n\n"
      "Orders the channel's transactions with the chosen backend, checks every\n"
      "transaction, cuts blocks, chains and stores them, and serves them over\n"
      "Deliver");
  all.add(general).add(channel).add(broadcast);
  for (const auto& group : backend_opts) {
    if (!group->options().empty()) all.add(*group);
  }

  po::variables_map vm;
  if (auto code = cli::ParseFlags(argc, argv, "orderer", all, &vm)) return *code;
  if (!cli::SetLogLevel(log_level)) return UsageError("unknown --log-level '" + log_level + "'");
  if (!o.consensus.empty() && !MakeBackend(o.consensus)) {
    return UsageError("unknown --consensus '" + o.consensus + "' (available: " + BackendNames() + ")");
  }
  o.sync_writes = !no_sync;
  // A named backend's flags are checked now, before anything is opened; with
  // no --consensus the ledger decides, and its backend's flags are checked then.
  std::string configured;
  // A new ledger (no RocksDB files yet) gets --consensus or the default: its
  // flags can be checked before anything is created.
  const bool new_ledger = !std::filesystem::exists(std::filesystem::path(o.ledger_dir) / "CURRENT");
  const std::string check_now = !o.consensus.empty() ? o.consensus : new_ledger ? kDefaultConsensus : "";
  if (!check_now.empty()) {
    for (auto& b : backends) {
      if (b->Name() != check_now) continue;
      Status st = b->Configure(vm);
      if (!st.ok()) return UsageError(st.message());
      configured = b->Name();
    }
  }
  o.make_consenter = [&](const std::string& type, std::unique_ptr<Consenter>* out) {
    for (auto& b : backends) {
      if (b->Name() != type) continue;
      if (configured != type) {
        Status st = b->Configure(vm);
        if (!st.ok()) return Status::InvalidArgument(st.message());
      }
      return b->MakeConsenter(out);
    }
    return Status::InvalidArgument("the ledger names consensus '" + type + "', which this orderer does not have (" +
                                   BackendNames() + ")");
  };

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
  if (!ParseAckMode(ack_mode, &o.broadcast.ack)) {
    return UsageError("--ack: '" + ack_mode + "' is neither 'durable' nor 'accepted'");
  }
  std::chrono::nanoseconds ack_wait;
  st = ParseDuration(ack_timeout, &ack_wait, std::chrono::milliseconds(1));
  if (!st.ok()) return UsageError("--ack-timeout: " + st.message());
  if (ack_wait < std::chrono::milliseconds(1)) return UsageError("--ack-timeout must be at least 1ms");
  o.broadcast.ack_timeout_ms = std::chrono::duration_cast<std::chrono::milliseconds>(ack_wait).count();
  if (broadcast_window < 1 || broadcast_window > 1'000'000) {
    return UsageError("--broadcast-window: " + std::to_string(broadcast_window) + " is not in 1..1000000");
  }
  o.broadcast.window = static_cast<uint32_t>(broadcast_window);
  for (auto [flag, text, ms] : {std::tuple{"--keepalive-time", &keepalive_time, &o.keepalive.time_ms},
                                std::tuple{"--keepalive-timeout", &keepalive_timeout, &o.keepalive.timeout_ms}}) {
    std::chrono::nanoseconds d;
    st = ParseDuration(*text, &d, std::chrono::milliseconds(1));
    if (!st.ok()) return UsageError(std::string(flag) + ": " + st.message());
    if (d < std::chrono::seconds(1) || d > std::chrono::hours(24)) {
      return UsageError(std::string(flag) + " must be between 1s and 24h");
    }
    *ms = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
  }

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

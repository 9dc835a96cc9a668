#include "peer-sim/load_report.h"

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <utility>

namespace ordering {
namespace {

// Least-squares slope of in_flight over the measured seconds; none with
// fewer than two of them.
std::optional<double> BacklogSlope(const std::vector<SeriesPoint>& series) {
  double n = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (const SeriesPoint& p : series) {
    if (p.phase != "measured") continue;
    const double x = static_cast<double>(p.t), y = static_cast<double>(p.in_flight);
    n += 1;
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
  }
  const double denom = n * sxx - sx * sx;
  if (n < 2 || denom <= 0) return std::nullopt;
  return (n * sxy - sx * sy) / denom;
}

// Per orderer address, a count ({} when none).
nlohmann::json CountsToJson(const std::map<std::string, uint64_t>& counts) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [address, n] : counts) j[address] = n;
  return j;
}

nlohmann::json DeliverToJson(const LoadReport& r) {
  double longest = 0;
  nlohmann::json outages = nlohmann::json::array();
  for (const DeliverOutage& o : r.deliver_outages) {
    const bool back = o.back_unix_ms > 0;
    if (back) longest = std::max(longest, o.seconds());
    outages.push_back({{"lost_unix_ms", o.lost_unix_ms},
                       {"back_unix_ms", back ? nlohmann::json(o.back_unix_ms) : nlohmann::json(nullptr)},
                       {"seconds", back ? nlohmann::json(o.seconds()) : nlohmann::json(nullptr)},
                       {"resumed_at_block", back ? nlohmann::json(o.resumed_at_block) : nlohmann::json(nullptr)},
                       {"orderer", back ? nlohmann::json(o.back_on) : nlohmann::json(nullptr)}});
  }
  return {{"reconnects", r.deliver_reconnects},
          {"longest_outage_seconds", longest},
          {"outages", std::move(outages)},
          {"orderer", r.deliver_orderer.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.deliver_orderer)},
          {"switches", CountsToJson(r.deliver_switches)}};
}

nlohmann::json BroadcastToJson(const StreamCounters& c) {
  return {{"broken", c.broken},
          {"reconnects", c.reconnects},
          {"unanswered", c.unanswered},
          {"switches", CountsToJson(c.switches)},
          {"orderers", CountsToJson(c.on)}};
}

// "B: 3, C: 1" of per-address counts.
std::string CountsToText(const std::map<std::string, uint64_t>& counts) {
  std::string out;
  for (const auto& [address, n] : counts) out += (out.empty() ? "" : ", ") + address + ": " + std::to_string(n);
  return out;
}

// `total` (records or bytes) per producer batch; 0 without batches.
double PerBatch(uint64_t total, uint64_t batches) {
  return batches > 0 ? static_cast<double>(total) / static_cast<double>(batches) : 0.0;
}

}  // namespace

nlohmann::json ConfigToJson(const LoadOptions& options) {
  nlohmann::json config = {{"submit", SubmitPathName(options.submit)},
                           {"brokers", options.brokers},
                           {"orderer", options.raw ? "" : options.orderer},
                           {"channel", options.channel_id},
                           {"topic", options.ResolvedTopic()},
                           {"peers", options.peers},
                           {"profile", options.profile_name},
                           {"tx_size", options.tx_size},
                           {"rate", options.rate},
                           {"count", options.count},
                           {"duration_ms", options.duration_ms},
                           {"cooldown_ms", options.cooldown_ms},
                           {"max_in_flight", options.max_in_flight},
                           {"warmup_mode", WarmupModeName(options.warmup_mode)},
                           {"warmup_ms", options.warmup_ms},
                           {"warmup_max_ms", options.warmup_max_ms},
                           {"steady_window_ms", options.steady_window_ms},
                           {"steady_tolerance", options.steady_tolerance},
                           {"sign_inline", options.sign_inline},
                           {"pool_size", options.pool_size},
                           {"drain_timeout_ms", options.drain_timeout_ms},
                           {"raw", options.raw},
                           {"block_times", options.block_times},
                           {"connect_timeout_ms", options.connect_timeout_ms},
                           {"reconnect_backoff_max_ms", options.reconnect.max_backoff_ms},
                           {"ack_log", options.ack_log}};
  nlohmann::json producer = nlohmann::json::object();
  for (const Property& p : options.producer_properties) producer[p.key] = p.value;
  config["producer"] = producer;
  nlohmann::json broker = nlohmann::json::object();
  for (const Property& p : options.profile_broker) broker[p.key] = p.value;
  config["profile_broker"] = broker;
  return config;
}

void DiagnoseRun(LoadReport* r) {
  r->backlog_growth_tps = BacklogSlope(r->series);
  // Fell behind the schedule: why? While behind, a peer never sleeps, so its
  // time is its own work plus the time held inside Submit. If its own work
  // per transaction left room for the offered rate (generator_load under
  // kGeneratorLoadLimit), the service held it back; otherwise the generator
  // was the limit.
  const bool fell_behind = r->offered_tps && r->submit_seconds > 0 && r->submit_tps < 0.95 * *r->offered_tps;
  r->held_back = fell_behind && r->generator_load && *r->generator_load < kGeneratorLoadLimit;
  r->generator_bound = r->pool_exhausted || (fell_behind && !r->held_back);
}

nlohmann::json ReportToJson(const LoadReport& r) {
  auto opt = [](const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
  nlohmann::json j;
  j["config"] = r.config;
  j["submitted"] = r.submitted;
  j["acked"] = r.acked;
  j["failed"] = r.failed;
  j["delivered"] = r.delivered;
  j["duplicates"] = r.duplicates;
  j["undelivered_acked"] = r.undelivered_acked;
  j["never_acked"] = r.never_acked;
  j["unanswered"] = r.unanswered;
  j["lost"] = r.lost();
  j["clean"] = r.clean();
  j["stopped_early"] = r.stopped_early;
  j["blocks"] = r.blocks;
  j["txs_per_block"] = r.txs_per_block();
  j["cut_reasons"] = r.cut_reasons;
  j["record_bytes"] = r.record_bytes;
  j["signing"] = r.presigned ? "presigned" : "inline";
  j["presign_seconds"] = r.presign_seconds;
  j["pool_size"] = r.pool_size;
  j["pool_exhausted"] = r.pool_exhausted;
  j["seconds"] = {{"submit", r.submit_seconds}, {"run", r.run_seconds}, {"drain", r.drain_seconds}};
  j["clock"] = {{"start_unix_ms", r.start_unix_ms},
                {"measure_from_unix_ms", r.window_from_unix_ms},
                {"measure_to_unix_ms", r.window_to_unix_ms}};
  j["warmup"] = {{"mode", r.warmup_mode},
                 {"seconds", r.warmup_seconds},
                 {"transactions", r.warmup_transactions},
                 {"steady", r.steady}};
  j["offered_tps"] = opt(r.offered_tps);
  j["tps"] = {{"submitted", r.submit_tps}, {"acked", r.ack_tps}, {"delivered", r.delivered_tps}};
  j["generator_bound"] = r.generator_bound;
  j["held_back"] = r.held_back;
  j["generator_load"] = opt(r.generator_load);
  j["submit_held_share"] = r.submit_held_share;
  j["max_submit_lag_ms"] = r.max_submit_lag_ms;
  j["backlog_growth_tps"] = opt(r.backlog_growth_tps);
  j["undelivered_share"] = r.undelivered_share;
  j["latency_ms"] = {{"e2e", ToJson(r.e2e)}, {"ack", ToJson(r.ack)}};
  if (r.batches) {
    j["producer_batches"] = {{"batches", r.batches->batches},
                             {"records", r.batches->records},
                             {"bytes", r.batches->bytes},
                             {"records_per_batch", PerBatch(r.batches->records, r.batches->batches)},
                             {"bytes_per_batch", PerBatch(r.batches->bytes, r.batches->batches)}};
  } else {
    j["producer_batches"] = nullptr;
  }
  nlohmann::json series = nlohmann::json::array();
  for (const SeriesPoint& p : r.series) {
    series.push_back({{"t", p.t},
                      {"phase", p.phase},
                      {"submitted", p.submitted},
                      {"acked", p.acked},
                      {"delivered", p.delivered},
                      {"failed", p.failed},
                      {"in_flight", p.in_flight},
                      {"oldest_undelivered_ms", p.oldest_undelivered_ms},
                      {"p50_ms", opt(p.p50_ms)},
                      {"p99_ms", opt(p.p99_ms)}});
  }
  j["series"] = std::move(series);
  if (r.config.is_object() && r.config.value("block_times", false)) j["block_unix_ms"] = r.block_unix_ms;
  const bool raw = r.config.is_object() && r.config.value("raw", false);
  j["streams"] = {{"orderers", raw ? nlohmann::json(nullptr) : nlohmann::json(r.orderers)},
                  {"deliver", raw ? nlohmann::json(nullptr) : DeliverToJson(r)},
                  {"broadcast", r.broadcast_streams ? BroadcastToJson(*r.broadcast_streams) : nlohmann::json(nullptr)}};
  if (r.ack_log_path.empty()) {
    j["ack_log"] = nullptr;
  } else {
    j["ack_log"] = {{"path", r.ack_log_path},
                    {"lines", r.ack_log_lines},
                    {"error", r.ack_log_error.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.ack_log_error)}};
  }
  return j;
}

std::string ReportToText(const LoadReport& r) {
  const bool raw = r.config.value("raw", false);
  auto u = [](uint64_t v) { return static_cast<unsigned long long>(v); };
  char buf[512];
  std::ostringstream out;
  std::snprintf(buf, sizeof(buf), "submitted %llu, acked %llu", u(r.submitted), u(r.acked));
  out << buf;
  if (!raw) {
    std::snprintf(buf, sizeof(buf), ", delivered %llu in %llu blocks (%.1f tx/block)", u(r.delivered), u(r.blocks),
                  r.txs_per_block());
    out << buf;
  }
  out << "\n";
  if (raw) {
    std::snprintf(buf, sizeof(buf), "%s: never acknowledged %llu, failed %llu\n", r.clean() ? "clean" : "NOT CLEAN",
                  u(r.never_acked), u(r.failed));
  } else {
    std::snprintf(buf, sizeof(buf),
                  "%s: acknowledged but undelivered %llu, never acknowledged %llu (lost %llu), failed %llu, "
                  "duplicates %llu\n",
                  r.clean() ? "clean" : "NOT CLEAN", u(r.undelivered_acked), u(r.never_acked), u(r.lost()), u(r.failed),
                  u(r.duplicates));
  }
  out << buf;
  // The streams, when one was lost (the JSON report always has them).
  if (!raw && !r.deliver_outages.empty()) {
    double longest = 0;
    for (const DeliverOutage& o : r.deliver_outages) longest = std::max(longest, o.seconds());
    const bool back = r.deliver_outages.back().back_unix_ms > 0;
    std::snprintf(buf, sizeof(buf), "deliver stream: lost %zu time%s, reconnected %llu (longest gap %.1f s)%s\n",
                  r.deliver_outages.size(), r.deliver_outages.size() == 1 ? "" : "s", u(r.deliver_reconnects), longest,
                  back ? "" : "; NOT back at the end");
    out << buf;
  }
  if (r.broadcast_streams && r.broadcast_streams->broken > 0) {
    std::snprintf(
        buf, sizeof(buf),
        "broadcast streams: %llu broke, %llu reconnected; %llu transactions unanswered on them (not resent)\n",
        u(r.broadcast_streams->broken), u(r.broadcast_streams->reconnects), u(r.unanswered));
    out << buf;
  }
  // Failover between orderers, when a stream moved to another one.
  if (!raw && !r.deliver_switches.empty()) {
    out << "deliver stream moved to another orderer: " << CountsToText(r.deliver_switches) << "; on "
        << r.deliver_orderer << " at the end\n";
  }
  if (r.broadcast_streams && !r.broadcast_streams->switches.empty()) {
    out << "broadcast streams moved to another orderer: " << CountsToText(r.broadcast_streams->switches)
        << "; on at the end: " << CountsToText(r.broadcast_streams->on) << "\n";
  }
  if (!r.ack_log_path.empty()) {
    out << "ack log: " << r.ack_log_path << ", " << r.ack_log_lines << " lines"
        << (r.ack_log_error.empty() ? "" : "; WRITE FAILED: " + r.ack_log_error) << "\n";
  }
  if (r.presigned) {
    std::snprintf(buf, sizeof(buf), "signing: pre-signed pool of %llu in %.2f s before the clock%s\n", u(r.pool_size),
                  r.presign_seconds, r.pool_exhausted ? "; a peer RAN OUT of its pool and stopped early" : "");
  } else {
    std::snprintf(buf, sizeof(buf), "signing: inline, inside the measured window\n");
  }
  out << buf;
  std::snprintf(buf, sizeof(buf), "warm-up: %s, %.1f s, %llu transactions left out of the figures below (%s)\n",
                r.warmup_mode.c_str(), r.warmup_seconds, u(r.warmup_transactions),
                r.steady ? "steady" : "not shown steady");
  out << buf;
  if (r.offered_tps) {
    std::snprintf(buf, sizeof(buf), "offered %.0f tx/s; ", *r.offered_tps);
    out << buf;
  } else {
    out << "flat out; ";
  }
  std::snprintf(buf, sizeof(buf), "throughput over %.1f s: submitted %.0f tx/s, acked %.0f tx/s", r.submit_seconds,
                r.submit_tps, r.ack_tps);
  out << buf;
  if (!raw) {
    std::snprintf(buf, sizeof(buf), ", delivered (end to end) %.0f tx/s", r.delivered_tps);
    out << buf;
  }
  out << "\n";
  std::snprintf(buf, sizeof(buf), "generator-bound: %s (max submit lag %.1f ms", r.generator_bound ? "YES" : "no",
                r.max_submit_lag_ms);
  out << buf;
  if (r.generator_load) {
    std::snprintf(buf, sizeof(buf), ", own work %.0f%% of the schedule", 100 * *r.generator_load);
    out << buf;
  }
  std::snprintf(buf, sizeof(buf), ", held in submit %.0f%% of the time)%s; backlog growth ", 100 * r.submit_held_share,
                r.held_back ? "; HELD BACK by the service" : "");
  out << buf;
  if (r.backlog_growth_tps) {
    std::snprintf(buf, sizeof(buf), "%+.1f tx/s\n", *r.backlog_growth_tps);
    out << buf;
  } else {
    out << "n/a (under 2 measured seconds)\n";
  }
  // Latency of completed transactions alone is survivorship: say how many
  // did not complete beside it.
  auto line = [&](const char* name, const LatencySummary& s, bool with_share) {
    std::snprintf(buf, sizeof(buf),
                  "%s latency ms: p50 %.1f  p95 %.1f  p99 %.1f  p99.9 %.1f  max %.1f  mean %.1f (n=%llu", name,
                  s.p50_ms, s.p95_ms, s.p99_ms, s.p999_ms, s.max_ms, s.mean_ms, u(s.count));
    out << buf;
    if (with_share) {
      std::snprintf(buf, sizeof(buf), "; undelivered share %.2f%%: of all submitted, never %s",
                    100.0 * r.undelivered_share, raw ? "acknowledged" : "delivered");
      out << buf;
    }
    out << ")\n";
  };
  if (!raw) line("end-to-end", r.e2e, true);
  line(raw ? "ack" : "ack       ", r.ack, raw);
  if (r.batches && r.batches->batches > 0) {
    std::snprintf(buf, sizeof(buf), "producer batches in the window: %llu, %.1f records / %.1f KB each on average\n",
                  u(r.batches->batches), PerBatch(r.batches->records, r.batches->batches),
                  PerBatch(r.batches->bytes, r.batches->batches) / 1024.0);
    out << buf;
  }
  return out.str();
}

}  // namespace ordering

// The load run's report: what it counted and measured (LoadReport, filled
// by the Tracker and RunLoad), the diagnosis of a run that fell behind its
// schedule (DiagnoseRun), and its two forms, the JSON the bench reads
// (ReportToJson) and the text summary peer-sim prints (ReportToText).
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "peer-sim/latency.h"
#include "peer-sim/load_options.h"
#include "peer-sim/streams.h"
#include "peer-sim/submitter.h"

namespace ordering {

// The most block arrival times a report keeps (--block-times).
inline constexpr size_t kMaxBlockTimes = 1'000'000;

// One elapsed second of the run (the last one may be partial).
struct SeriesPoint {
  int64_t t = 0;  // seconds since start at the end of this second (1, 2, ...)
  // "warmup" | "measured" | "cooldown" | "drain", the phase at the second's start
  std::string phase;
  uint64_t submitted = 0;                // handed to a producer in this second
  uint64_t acked = 0;                    // acknowledged by the broker in this second
  uint64_t delivered = 0;                // first deliveries in this second (0 in raw mode)
  uint64_t failed = 0;                   // delivery reports with an error in this second
  uint64_t in_flight = 0;                // submitted but not done, just after the second ended
  double oldest_undelivered_ms = 0;      // age of the oldest of those (from its due time); 0 when none
  std::optional<double> p50_ms, p99_ms;  // of latencies completed in this second (e2e; ack in raw mode)
};

// generator_load at which a run that fell behind is the generator's fault.
inline constexpr double kGeneratorLoadLimit = 0.9;

struct LoadReport {
  nlohmann::json config;
  uint64_t submitted = 0;   // handed to a producer
  uint64_t acked = 0;       // acknowledged by the broker
  uint64_t failed = 0;      // delivery report with an error (not a purge at exit)
  uint64_t delivered = 0;   // ours, seen in a delivered block (first time)
  uint64_t duplicates = 0;  // ours, seen again in a later block or position
  // Acknowledged by the broker but not delivered by the end of the drain: a
  // loss by the ordering service. Always 0 in raw mode.
  uint64_t undelivered_acked = 0;
  // Neither acknowledged, failed nor delivered at exit: given up in the
  // producer (still queued or in flight when the drain timed out), or
  // unanswered on a Broadcast stream that broke.
  uint64_t never_acked = 0;
  // Broadcast path: sent on a stream that broke before answering them, and
  // not resent. Each is in never_acked too, unless it was delivered (the
  // orderer may have ordered it before the stream broke).
  uint64_t unanswered = 0;
  uint64_t lost() const { return undelivered_acked + never_acked; }  // kept for compatibility
  uint64_t blocks = 0;                                               // blocks received after the start
  std::map<std::string, uint64_t> cut_reasons;
  uint64_t record_bytes = 0;  // size of one record on the wire

  // Signing.
  bool presigned = true;
  uint64_t pool_size = 0;       // pre-signed transactions (0 when signing inline)
  double presign_seconds = 0;   // wall time spent pre-signing, before the clock
  bool pool_exhausted = false;  // a peer ran out of pre-signed transactions and stopped early

  // Warm-up.
  std::string warmup_mode = "fixed";  // "fixed" | "auto"
  double warmup_seconds = 0;          // actual length
  uint64_t warmup_transactions = 0;   // due in the warm-up
  bool steady = false;                // the two windows before the warm-up's end agreed (SteadyDetector)

  // Rates and latencies below cover the measured window (after the warm-up).
  // submit_seconds: its length (to when submitting ended). run_seconds: the
  // window acknowledgements/deliveries are counted in; the same, or for a
  // count-limited run, up to the last one.
  double submit_seconds = 0;
  double run_seconds = 0;
  double drain_seconds = 0;  // submitting ended -> producers closed
  // The same instants on the wall clock (ms since the Unix epoch), so other
  // tools' samples (a CPU sampler) can be cut to exactly this window.
  int64_t start_unix_ms = 0;          // second 0 of the series
  int64_t window_from_unix_ms = 0;    // the measured window: warm-up end ...
  int64_t window_to_unix_ms = 0;      // ... to its close (open + run_seconds)
  std::optional<double> offered_tps;  // the rate; none when flat out
  double submit_tps = 0;              // sent inside the window / submit_seconds
  double ack_tps = 0;                 // acknowledged inside the window / its length
  double delivered_tps = 0;           // first delivered inside the window / run_seconds
  // Open loop and submit_tps < 0.95 * offered with generator_load at or over
  // kGeneratorLoadLimit (the peers' own work could not keep the schedule), or
  // a pool ran out.
  bool generator_bound = false;
  // Open loop and submit_tps < 0.95 * offered with generator_load under
  // kGeneratorLoadLimit: the peers spent the missing time inside Submit (a
  // full producer queue, Broadcast's flow control), so the service, not the
  // generator, fell behind.
  bool held_back = false;
  // The peers' own time per transaction sent in the window (Tracker's
  // OnSubmitted: not sleeping, not inside Submit) over the time the offered
  // rate allows each peer per transaction; none when flat out or nothing was
  // sent. Over 1: the generator alone could not offer the rate.
  std::optional<double> generator_load;
  // Share of the peers' time in the window spent inside Submit.
  double submit_held_share = 0;
  double max_submit_lag_ms = 0;  // largest send delay behind the due time, transactions due in the window
  // Least-squares slope of in_flight over the measured seconds (tx/s;
  // positive = the backlog grows); none with fewer than two such seconds.
  std::optional<double> backlog_growth_tps;
  // (submitted - delivered) / submitted over the whole run (acked in raw mode).
  double undelivered_share = 0;
  LatencySummary e2e;  // submit (due time) -> delivered
  LatencySummary ack;  // submit (due time) -> broker ack
  // The producers' record batches sent in the measured window (kafka path,
  // from their statistics, so each end is within one statistics interval,
  // kBatchStatsIntervalMs, of the window's); none on the broadcast path.
  std::optional<BatchCounters> batches;
  std::vector<SeriesPoint> series;
  // With block_times: the wall clock (ms since the Unix epoch) at which each
  // block after the start arrived, in order; at most kMaxBlockTimes.
  std::vector<int64_t> block_unix_ms;
  // The Deliver stream (not in raw mode): times it came back after a loss
  // (a block on a new stream), and each loss (at most kMaxDeliverOutages).
  uint64_t deliver_reconnects = 0;
  std::vector<DeliverOutage> deliver_outages;
  // With several orderers (a comma list): the addresses in failover order,
  // the one the Deliver stream was on at the end, and per address how often
  // it moved there. One address: that address, and no switches.
  std::vector<std::string> orderers;
  std::string deliver_orderer;
  std::map<std::string, uint64_t> deliver_switches;
  // The peers' Broadcast streams, summed (broadcast path; none on kafka).
  std::optional<StreamCounters> broadcast_streams;
  // The acknowledgement log (--ack-log): its file (empty: none), the lines
  // written to it and its first write error (empty: none).
  std::string ack_log_path;
  uint64_t ack_log_lines = 0;
  std::string ack_log_error;
  bool stopped_early = false;  // interrupted
  // True when nothing was lost (either way), doubled or failed.
  bool clean() const { return undelivered_acked == 0 && never_acked == 0 && duplicates == 0 && failed == 0; }
  // Our transactions per block received, duplicates included; 0 without blocks.
  double txs_per_block() const {
    return blocks > 0 ? static_cast<double>(delivered + duplicates) / static_cast<double>(blocks) : 0.0;
  }
};

// The report's "config": the options the run was given, under the names
// the JSON report uses.
nlohmann::json ConfigToJson(const LoadOptions& options);

// Judges a run from its figures: backlog_growth_tps from the series, and,
// for an open-loop run that fell behind its schedule, whether the service
// held the peers back (held_back) or the generator was the limit
// (generator_bound; also whenever a pool ran out). REQUIRES: the series,
// offered_tps, the window's rates, generator_load and pool_exhausted are
// filled in (Tracker::Fill, then offered_tps).
void DiagnoseRun(LoadReport* report);

// The JSON report (schema: see docs/cli.md, the peer-sim section).
nlohmann::json ReportToJson(const LoadReport& report);
// Human-readable multi-line summary.
std::string ReportToText(const LoadReport& report);

}  // namespace ordering

// The load generator: N simulated peers, each with its own ECDSA key and its
// own submit path (submitter.h: its own librdkafka producer with the
// profile's settings writing to the channel's topic, or its own Broadcast
// stream to the orderer), submit signed transactions; a Deliver listener on
// the orderer sees every committed block, so each transaction is timed from
// submit to delivery. "Acknowledged" below means the path's answer: the
// broker's ack (kafka) or Broadcast's SUCCESS (broadcast).
//
// Signing: by default each peer builds and signs every transaction it will
// send before the clock starts (one thread per peer), so the measured
// window only hands pre-built records to the producers; signing costs
// ~20 us of CPU per transaction and would otherwise make the generator the
// limit. `sign_inline` signs each one just before producing it instead.
// A pre-signed transaction's header timestamp is the time it was signed
// (the orderer does not check it); tx ids stay unique (TxFactory).
//
// Pacing: with a rate, sending is open-loop. Transaction k is due at
// start + k / rate and its latency is measured from that due time, so a
// stalled producer or generator shows up as latency rather than quietly
// lowering the offered load (no coordinated omission). Without a rate,
// peers send flat out, limited to `max_in_flight` transactions submitted but
// not yet delivered (acknowledged in raw mode).
//
// Phases: warm-up (fixed length, or until steady: see SteadyDetector), then
// the measured window of `duration_ms`, then an optional cool-down, then the
// drain. The cool-down keeps submitting (unmeasured) after the window, so
// the window's last transactions share their block with the traffic that
// follows them, as in a system that does not stop; without it the last,
// partial block waits for BatchTimeout and inflates the window's tail. Transactions due in
// the warm-up are checked for loss and duplicates like all others but left
// out of rates and latencies. The drain (flush, waiting for deliveries,
// closing the producers) is bounded by `drain_timeout_ms` as a whole; what
// is still unacknowledged then is purged from the producers.
//
// Raw mode measures the producer alone (the research's setting): no orderer,
// latency is submit -> broker acknowledgement.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/properties.h"
#include "common/status.h"
#include "common/histogram.h"
#include "peer-sim/latency.h"
#include "peer-sim/submitter.h"

namespace ordering {

struct LoadProgress {
  double elapsed_s = 0;
  uint64_t submitted = 0, acked = 0, delivered = 0, failed = 0;
  uint64_t in_flight = 0;               // submitted, not yet delivered (acked in raw mode) nor failed
  double undelivered_share = 0;         // in_flight / submitted, 0 before any submit
  double oldest_undelivered_ms = 0;     // age (from its due time) of the oldest in flight; 0 when none
  double interval_submit_tps = 0, interval_delivered_tps = 0;  // over the last interval
  LatencySummary interval_latency;  // e2e (ack in raw mode) completed in the last interval
};

enum class WarmupMode { kFixed, kAuto };

// Live counters for monitoring (peer-sim --metrics-listen): the whole run,
// warm-up included, written lock-free as transactions complete.
struct LoadMetrics {
  std::atomic<uint64_t> submitted{0}, acked{0}, delivered{0}, failed{0}, duplicates{0}, blocks{0};
  // Due time -> block delivered (e2e) and due time -> the submit path's
  // acknowledgement (the broker's, or the orderer's Broadcast answer).
  AtomicHistogram e2e_latency{AtomicHistogram::Exponential(0.001, 1.5, 24)};  // 1 ms .. 11 s
  AtomicHistogram ack_latency{AtomicHistogram::Exponential(0.0002, 1.5, 24)};  // 0.2 ms .. 2.2 s
};

struct LoadOptions {
  SubmitPath submit = SubmitPath::kKafka;  // Default: kafka (straight into the partition)
  std::string brokers;                // required with the kafka path
  std::string orderer;                // Broadcast/Deliver address host:port; required unless raw
  std::string channel_id = "mychannel";
  std::string topic;                  // default: channel_id
  int peers = 3;                      // Default: 3
  std::string profile_name;           // for the report
  Properties producer_properties;     // the profile, then overrides
  Properties profile_broker;          // the profile's broker part (keys without "broker."), for the report
  size_t tx_size = 1024;              // record bytes on the wire. Default: 1 KB
  double rate = 0;                    // total tx/s over all peers; 0 = flat out
  uint64_t count = 0;                 // stop after this many, warm-up included (0 = no limit)
  // Length of the measured window, which starts when the warm-up ends; the
  // run submits for warm-up + duration. 0 = no limit (then give a count).
  int64_t duration_ms = 0;
  // Submitting goes on this long after the measured window (transactions
  // due then are checked, not measured). Default: 0.
  int64_t cooldown_ms = 0;
  WarmupMode warmup_mode = WarmupMode::kFixed;  // Default: fixed
  int64_t warmup_ms = 0;              // fixed warm-up length. Default: 0
  // Auto warm-up: ends at the end of the second where the last two windows
  // of `steady_window_ms` agree within `steady_tolerance` (SteadyDetector),
  // or after `warmup_max_ms` (rounded up to a whole second) without.
  // A fixed warm-up also reports whether it had become steady.
  int64_t steady_window_ms = 5000;    // whole seconds. Default: 5 s
  double steady_tolerance = 0.05;     // Default: 0.05
  int64_t warmup_max_ms = 30000;      // Default: 30 s
  bool sign_inline = false;           // sign inside the window. Default: pre-signed pool
  // Pre-signed transactions over all peers; 0 = the default: open loop,
  // enough for ceil(rate * (warm-up bound + duration)); flat out, `count`
  // if given, else 20000/s * (warm-up bound + duration), at most 4,000,000.
  uint64_t pool_size = 0;
  uint64_t max_in_flight = 20000;     // flat-out window. Default: 20000
  // Bounds the whole exit once submitting ends: flush, waiting for
  // deliveries, closing the producers. Default: 30 s.
  int64_t drain_timeout_ms = 30000;
  int64_t connect_timeout_ms = 15000; // wait this long for the orderer's first block
  bool raw = false;
  // Record when each block arrived (block_unix_ms in the report): for
  // recovery runs, which need the first block after a failure to the
  // millisecond. Off by default (a long run at small blocks is many).
  bool block_times = false;
  // Once the clock starts (pre-signing and connecting done), write its
  // second 0 on the wall clock (ms since the Unix epoch) to this file, so
  // another process can act at a set time into the load (a recovery run's
  // kill). Removed at the start of the run. Empty: none.
  std::string started_file;
  int64_t progress_interval_ms = 5000;
  std::function<void(const LoadProgress&)> on_progress;  // every progress interval
  std::function<void(const std::string&)> on_notice;    // one-line notes (pre-signing)
  LoadMetrics* metrics = nullptr;  // live counters to keep (optional; must outlive the run)
  const Clock* clock = SystemClock::Default();
};

// The most block arrival times a report keeps (--block-times).
inline constexpr size_t kMaxBlockTimes = 1'000'000;

// Estimated bytes a pre-signed pool holds per transaction beyond the record
// itself (ids, bookkeeping), for the memory check.
inline constexpr uint64_t kPoolOverheadBytesPerTx = 320;
// The largest pool (estimated memory) RunLoad accepts.
inline constexpr uint64_t kPoolMemoryLimitBytes = uint64_t{8} << 30;

struct PoolPlan {
  std::vector<uint64_t> per_peer;  // pre-signed transactions per peer; empty when signing inline
  uint64_t total = 0;
  uint64_t estimated_bytes = 0;
};

// The pre-signed pool RunLoad would build for `options` (see
// LoadOptions::pool_size). InvalidArgument, naming --pool-size, --rate and
// --duration, when its estimated memory exceeds kPoolMemoryLimitBytes.
[[nodiscard]] Status PlanPool(const LoadOptions& options, PoolPlan* plan);

// One elapsed second of the run (the last one may be partial).
struct SeriesPoint {
  int64_t t = 0;               // seconds since start at the end of this second (1, 2, ...)
  std::string phase;           // "warmup" | "measured" | "drain", the phase at the second's start
  uint64_t submitted = 0;      // handed to a producer in this second
  uint64_t acked = 0;          // acknowledged by the broker in this second
  uint64_t delivered = 0;      // first deliveries in this second (0 in raw mode)
  uint64_t failed = 0;         // delivery reports with an error in this second
  uint64_t in_flight = 0;      // submitted but not done, just after the second ended
  double oldest_undelivered_ms = 0;  // age of the oldest of those (from its due time); 0 when none
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
  // producer (still queued or in flight when the drain timed out).
  uint64_t never_acked = 0;
  uint64_t lost() const { return undelivered_acked + never_acked; }  // kept for compatibility
  uint64_t blocks = 0;      // blocks received after the start
  std::map<std::string, uint64_t> cut_reasons;
  uint64_t record_bytes = 0;   // size of one record on the wire

  // Signing.
  bool presigned = true;
  uint64_t pool_size = 0;        // pre-signed transactions (0 when signing inline)
  double presign_seconds = 0;    // wall time spent pre-signing, before the clock
  bool pool_exhausted = false;   // a peer ran out of pre-signed transactions and stopped early

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
  double drain_seconds = 0;       // submitting ended -> producers closed
  // The same instants on the wall clock (ms since the Unix epoch), so other
  // tools' samples (a CPU sampler) can be cut to exactly this window.
  int64_t start_unix_ms = 0;          // second 0 of the series
  int64_t window_from_unix_ms = 0;    // the measured window: warm-up end ...
  int64_t window_to_unix_ms = 0;      // ... to its close (open + run_seconds)
  std::optional<double> offered_tps;  // the rate; none when flat out
  double submit_tps = 0;          // sent inside the window / submit_seconds
  double ack_tps = 0;             // acknowledged inside the window / its length
  double delivered_tps = 0;       // first delivered inside the window / run_seconds
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
  double max_submit_lag_ms = 0;   // largest send delay behind the due time, transactions due in the window
  // Least-squares slope of in_flight over the measured seconds (tx/s;
  // positive = the backlog grows); none with fewer than two such seconds.
  std::optional<double> backlog_growth_tps;
  // (submitted - delivered) / submitted over the whole run (acked in raw mode).
  double undelivered_share = 0;
  LatencySummary e2e;          // submit (due time) -> delivered
  LatencySummary ack;          // submit (due time) -> broker ack
  // The producers' record batches sent in the measured window (kafka path,
  // from their statistics, so each end is within one statistics interval,
  // kBatchStatsIntervalMs, of the window's); none on the broadcast path.
  std::optional<BatchCounters> batches;
  std::vector<SeriesPoint> series;
  // With block_times: the wall clock (ms since the Unix epoch) at which each
  // block after the start arrived, in order; at most kMaxBlockTimes.
  std::vector<int64_t> block_unix_ms;
  bool stopped_early = false;  // interrupted
  // True when nothing was lost (either way), doubled or failed.
  bool clean() const { return undelivered_acked == 0 && never_acked == 0 && duplicates == 0 && failed == 0; }
};

// Runs the load until count/duration is reached or *stop becomes true, then
// drains. Returns non-OK only when the run could not be carried out (bad
// options: InvalidArgument; broker or orderer unreachable); loss and
// duplicates are reported in *report.
[[nodiscard]] Status RunLoad(const LoadOptions& options, LoadReport* report,
                             const std::atomic<bool>* stop = nullptr);

// The JSON report (schema: see the README's peer-sim section).
nlohmann::json ReportToJson(const LoadReport& report);
// Human-readable multi-line summary.
std::string ReportToText(const LoadReport& report);

}  // namespace ordering

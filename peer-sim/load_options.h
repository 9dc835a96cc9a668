// What a load run is asked to do (LoadOptions), what it tells its caller
// while it runs (LoadProgress, every progress interval) and the live
// counters it keeps for monitoring (LoadMetrics). The run itself: load.h.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "common/clock.h"
#include "common/histogram.h"
#include "common/properties.h"
#include "peer-sim/latency.h"
#include "peer-sim/streams.h"
#include "peer-sim/submitter.h"

namespace ordering {

struct LoadProgress {
  double elapsed_s = 0;
  uint64_t submitted = 0, acked = 0, delivered = 0, failed = 0;
  uint64_t in_flight = 0;            // submitted, not yet delivered (acked in raw mode) nor failed
  double undelivered_share = 0;      // in_flight / submitted, 0 before any submit
  double oldest_undelivered_ms = 0;  // age (from its due time) of the oldest in flight; 0 when none
  double interval_submit_tps = 0, interval_delivered_tps = 0;  // over the last interval
  LatencySummary interval_latency;                             // e2e (ack in raw mode) completed in the last interval
};

enum class WarmupMode { kFixed, kAuto };
// "fixed" | "auto", as the report names them.
inline const char* WarmupModeName(WarmupMode mode) { return mode == WarmupMode::kAuto ? "auto" : "fixed"; }

// Live counters for monitoring (peer-sim --metrics-listen): the whole run,
// warm-up included, written lock-free as transactions complete.
struct LoadMetrics {
  std::atomic<uint64_t> submitted{0}, acked{0}, delivered{0}, failed{0}, duplicates{0}, blocks{0};
  // Due time -> block delivered (e2e) and due time -> the submit path's
  // acknowledgement (the broker's, or the orderer's Broadcast answer).
  AtomicHistogram e2e_latency{AtomicHistogram::Exponential(0.001, 1.5, 24)};   // 1 ms .. 11 s
  AtomicHistogram ack_latency{AtomicHistogram::Exponential(0.0002, 1.5, 24)};  // 0.2 ms .. 2.2 s
};

struct LoadOptions {
  SubmitPath submit = SubmitPath::kKafka;  // Default: kafka (straight into the partition)
  std::string brokers;                     // required with the kafka path
  std::string orderer;                     // Broadcast/Deliver address host:port; required unless raw
  std::string channel_id = "mychannel";
  std::string topic;               // default: channel_id (see ResolvedTopic)
  int peers = 3;                   // Default: 3
  std::string profile_name;        // for the report
  Properties producer_properties;  // the profile, then overrides
  Properties profile_broker;       // the profile's broker part (keys without "broker."), for the report
  size_t tx_size = 1024;           // record bytes on the wire. Default: 1 KB
  double rate = 0;                 // total tx/s over all peers; 0 = flat out
  uint64_t count = 0;              // stop after this many, warm-up included (0 = no limit)
  // Length of the measured window, which starts when the warm-up ends; the
  // run submits for warm-up + duration. 0 = no limit (then give a count).
  int64_t duration_ms = 0;
  // Submitting goes on this long after the measured window (transactions
  // due then are checked, not measured). Default: 0.
  int64_t cooldown_ms = 0;
  WarmupMode warmup_mode = WarmupMode::kFixed;  // Default: fixed
  int64_t warmup_ms = 0;                        // fixed warm-up length. Default: 0
  // Auto warm-up: ends at the end of the second where the last two windows
  // of `steady_window_ms` agree within `steady_tolerance` (SteadyDetector),
  // or after `warmup_max_ms` (rounded up to a whole second) without.
  // A fixed warm-up also reports whether it had become steady.
  int64_t steady_window_ms = 5000;  // whole seconds. Default: 5 s
  double steady_tolerance = 0.05;   // Default: 0.05
  int64_t warmup_max_ms = 30000;    // Default: 30 s
  bool sign_inline = false;         // sign inside the window. Default: pre-signed pool
  // Pre-signed transactions over all peers; 0 = the default: open loop,
  // enough for ceil(rate * (warm-up bound + duration)); flat out, `count`
  // if given, else 20000/s * (warm-up bound + duration), at most 4,000,000.
  uint64_t pool_size = 0;
  uint64_t max_in_flight = 20000;  // flat-out window. Default: 20000
  // Bounds the whole exit once submitting ends: flush, waiting for
  // deliveries, closing the producers. Default: 30 s.
  int64_t drain_timeout_ms = 30000;
  // Wait this long for the orderer's first block, and for its Broadcast
  // service; after a Broadcast stream broke, how long a peer waits for a
  // new one before failing its transactions at once (until it is back).
  int64_t connect_timeout_ms = 15000;
  // How the Deliver and Broadcast streams come back after the orderer
  // restarts: waits between attempts from 100 ms, doubling, at most
  // max_backoff_ms (orderer_channel.h). Default: at most 1 s.
  ReconnectOptions reconnect;
  // Write one line per transaction outcome to this file (ack_log.h); empty:
  // none.
  std::string ack_log;
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
  std::function<void(const std::string&)> on_notice;     // one-line notes (pre-signing)
  LoadMetrics* metrics = nullptr;                        // live counters to keep (optional; must outlive the run)
  const Clock* clock = SystemClock::Default();

  // The topic the kafka path writes to: `topic`, or the channel's.
  std::string ResolvedTopic() const { return topic.empty() ? channel_id : topic; }
};

}  // namespace ordering

// Tracker: what a load run knows about each of its transactions (submitted,
// acknowledged, failed, delivered, delivered again), and the counters,
// latency histograms and per-second series derived from it. It owns the
// phase boundaries: the warm-up's end (fixed, or decided here from the
// per-second series by a SteadyDetector), the measured window's end and the
// deadline by which submitting stops.
//
// Events arrive from every thread of the run: the peers' sending threads
// (OnSubmit, OnSubmitted, AcquireSlot, OnPeerStopped), the submitters'
// outcome threads (OnDeliveryReport), the Deliver listener's thread
// (OnBlock) and RunLoad's own thread (Tick, Progress, Finish, Fill).
// Thread-safety: every method is thread-safe (one mutex).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "common/mutex.h"
#include "peer-sim/latency.h"
#include "peer-sim/load_options.h"
#include "peer-sim/load_report.h"
#include "peer-sim/steady.h"
#include "peer-sim/submitter.h"
#include "proto/common.pb.h"

namespace ordering {

// A transaction's place: the peer that sends it and its position in that
// peer's sequence (due times ascend along it).
struct TxRef {
  uint32_t peer = 0;
  uint64_t index = 0;
};

class Tracker {
 public:
  // No deadline (yet).
  static constexpr int64_t kNever = INT64_MAX;

  struct Config {
    bool raw = false;
    int peers = 1;
    double rate = 0;  // offered tx/s; 0: flat out
    uint64_t max_in_flight = 1;
    WarmupMode warmup_mode = WarmupMode::kFixed;
    int64_t warmup_ns = 0;     // fixed
    int64_t warmup_max_s = 0;  // auto, whole seconds
    SteadyOptions steady;
    int64_t duration_ns = 0;         // 0: count-limited
    int64_t cooldown_ns = 0;         // unmeasured submitting after the window
    bool block_times = false;        // keep each block's arrival time
    LoadMetrics* metrics = nullptr;  // live counters (optional; must outlive the tracker)
  };

  // `clock` must outlive the tracker.
  Tracker(const Clock* clock, const Config& config);

  Tracker(const Tracker&) = delete;
  Tracker& operator=(const Tracker&) = delete;

  // Room for `n` transactions of `peer` (a hint).
  void Reserve(uint32_t peer, uint64_t n);

  // Starts the clock: second 0 begins at `start_ns`. A fixed warm-up ends
  // at start + warm-up.
  void Start(int64_t start_ns);

  // When submitting must stop (exclusive): the measured window's end plus
  // the cool-down; kNever while an auto warm-up is undecided or for a
  // count-limited run. Lock-free.
  int64_t deadline() const { return deadline_.load(); }

  // Flat-out mode: waits for a free slot in the window. False if stopping.
  // Peers check concurrently, so the window may overshoot by up to one
  // transaction per peer.
  bool AcquireSlot(const std::atomic<bool>& stop);

  // Registers a transaction just before it is produced. REQUIRES: a peer's
  // indexes arrive in order 0, 1, 2, ...; `tx_id` outlives the Tracker
  // (the tracker keys on it without a copy).
  void OnSubmit(TxRef ref, std::string_view tx_id, int64_t due_ns);

  // How a peer spent its time on one transaction sent at `sent_ns`: `own_ns`
  // its own work from when it was free to send (the due time, or the end of
  // its previous Submit if later) to the Submit call (taking it from the
  // pool or signing it, registering it; being descheduled counts here too),
  // `held_ns` inside Submit (the producer's full queue, the Broadcast
  // stream's flow control: the service holding it back).
  void OnSubmitted(int64_t sent_ns, int64_t own_ns, int64_t held_ns);

  // The submit path's answer (or a failed Submit call: kFailed). kAbandoned
  // and kUnanswered count the transaction as never acknowledged (unless it
  // is delivered after all); kUnanswered is also counted on its own.
  // REQUIRES: `ref` was registered by OnSubmit.
  void OnDeliveryReport(TxRef ref, SubmitOutcome outcome);

  // A block from the Deliver listener. The first one is the newest block
  // committed before the run and is skipped; so are blocks before Start.
  void OnBlock(const Block& block);

  void OnPoolExhausted();

  // A peer's submitting loop has ended, `at_deadline` if because its next
  // transaction was due at or after deadline(). When the last one stops,
  // the run enters the drain; the measured window ends then, unless every
  // peer ran to the deadline (then it ends at the deadline, as planned).
  void OnPeerStopped(bool at_deadline);

  // True when every submitted transaction is done (delivered, or acked in
  // raw mode; failed; purged).
  bool Settled() const;

  // Closes every second that has ended: one series point each, and the
  // auto warm-up's decision. Call about every 20 ms (more often is fine).
  void Tick();

  // Closes the remaining seconds, the last one partial. Call once, after
  // the producers and the listener have stopped.
  void Finish();

  // The counters now, and the rates and latencies since the previous call
  // (the first call sets the baseline).
  LoadProgress Progress();

  // Fills counts, accounting, windows, rates, latencies and the series.
  // Leaves the diagnosis (DiagnoseRun) and what RunLoad knows alone
  // (signing, drain, batches, config) to the caller.
  void Fill(LoadReport* r);

 private:
  struct TxState {
    int64_t due_ns = 0;
    bool acked = false;
    bool failed = false;
    bool delivered = false;
    bool done = false;  // no longer in flight: delivered (acked in raw mode), failed or purged
  };
  // Events in one elapsed second (by the time they happened).
  struct Bin {
    uint64_t submitted = 0, acked = 0, delivered = 0, failed = 0;
    int64_t own_ns = 0, held_ns = 0;  // OnSubmitted before the window was known
    LatencyHistogram latency;         // e2e (ack in raw mode) completed in it
  };
  // While an auto warm-up is undecided: transactions by the second of their
  // due time, to be counted as measured if the warm-up ends before it.
  struct Pending {
    uint64_t submitted = 0;
    int64_t max_lag_ns = 0;
    LatencyHistogram e2e, ack;
  };

  // Helpers, with mu_ held.
  int64_t SecondOf(int64_t ns) const REQUIRES(mu_);
  Bin& BinAt(int64_t ns) REQUIRES(mu_);
  // A completion at `now` counts toward the window's rates.
  bool InCompletionWindow(int64_t now) const REQUIRES(mu_);
  void RecordLatency(bool e2e, int64_t due_ns, int64_t now) REQUIRES(mu_);
  void MarkDone(TxState* s) REQUIRES(mu_);
  // Age of the oldest transaction in flight, from its due time; 0 when none.
  double OldestAgeMs(int64_t now) REQUIRES(mu_);
  // The warm-up ends at `open_ns`; the measured window follows.
  void EndWarmup(int64_t open_ns, bool steady) REQUIRES(mu_);
  // Closes second next_second_ at `now`.
  void CloseSecond(int64_t now) REQUIRES(mu_);

  const Clock* clock_;
  const Config c_;
  mutable Mutex mu_;
  std::condition_variable slot_cv_;
  std::atomic<int64_t> deadline_{kNever};

  // The rest is the run's state, under mu_.
  SteadyDetector detector_ GUARDED_BY(mu_);
  std::vector<std::vector<TxState>> states_ GUARDED_BY(mu_);         // per peer, by index
  std::vector<uint64_t> cursor_ GUARDED_BY(mu_);                     // per peer: no earlier transaction is in flight
  std::unordered_map<std::string_view, TxRef> ids_ GUARDED_BY(mu_);  // keys point at the callers' tx ids (OnSubmit)
  uint64_t submitted_ GUARDED_BY(mu_) = 0;
  uint64_t acked_ GUARDED_BY(mu_) = 0;
  uint64_t failed_ GUARDED_BY(mu_) = 0;
  uint64_t unanswered_ GUARDED_BY(mu_) = 0;
  uint64_t delivered_ GUARDED_BY(mu_) = 0;
  uint64_t duplicates_ GUARDED_BY(mu_) = 0;
  uint64_t blocks_ GUARDED_BY(mu_) = 0;
  uint64_t in_flight_ GUARDED_BY(mu_) = 0;
  std::map<std::string, uint64_t> cut_reasons_ GUARDED_BY(mu_);
  std::vector<int64_t> block_unix_ms_ GUARDED_BY(mu_);
  bool seen_first_block_ GUARDED_BY(mu_) = false;
  bool pool_exhausted_ GUARDED_BY(mu_) = false;
  int peers_running_ GUARDED_BY(mu_) = 0;

  // Phases.
  int64_t start_ns_ GUARDED_BY(mu_) = 0;
  int64_t wall_offset_ns_ GUARDED_BY(mu_) = 0;  // wall clock - monotonic clock, at Start
  bool open_known_ GUARDED_BY(mu_) = false;     // the warm-up has ended
  int64_t open_ns_ GUARDED_BY(mu_) = 0;         // the measured window's start
  // The measured window's end: kNever while unknown (an undecided warm-up,
  // or a count-limited run still submitting); the deadline; or when
  // submitting stopped before it.
  int64_t window_end_ GUARDED_BY(mu_) = kNever;
  bool submit_ended_ GUARDED_BY(mu_) = false;
  bool stopped_before_deadline_ GUARDED_BY(mu_) = false;
  int64_t submit_end_ns_ GUARDED_BY(mu_) = 0;
  bool steady_ GUARDED_BY(mu_) = false;

  // The measured window.
  uint64_t m_submitted_due_ GUARDED_BY(mu_) = 0;  // due in it
  // Sent, acknowledged and delivered in it.
  uint64_t m_sent_window_ GUARDED_BY(mu_) = 0;
  uint64_t m_acked_window_ GUARDED_BY(mu_) = 0;
  uint64_t m_delivered_window_ GUARDED_BY(mu_) = 0;
  int64_t last_ack_window_ns_ GUARDED_BY(mu_) = 0;
  int64_t last_delivery_window_ns_ GUARDED_BY(mu_) = 0;
  int64_t max_lag_ns_ GUARDED_BY(mu_) = 0;
  // The peers' time on transactions sent in it (OnSubmitted).
  int64_t m_own_ns_ GUARDED_BY(mu_) = 0;
  int64_t m_held_ns_ GUARDED_BY(mu_) = 0;
  LatencyHistogram m_e2e_ GUARDED_BY(mu_);
  LatencyHistogram m_ack_ GUARDED_BY(mu_);
  std::map<int64_t, Pending> pending_ GUARDED_BY(mu_);

  // The series.
  std::map<int64_t, Bin> bins_ GUARDED_BY(mu_);  // seconds not yet closed
  int64_t next_second_ GUARDED_BY(mu_) = 0;      // the first second not yet closed
  std::vector<SeriesPoint> series_ GUARDED_BY(mu_);

  // Progress lines.
  LatencyHistogram recent_ GUARDED_BY(mu_);  // completed since the last progress line
  int64_t last_progress_ns_ GUARDED_BY(mu_) = 0;
  uint64_t last_submitted_ GUARDED_BY(mu_) = 0;
  uint64_t last_done_ GUARDED_BY(mu_) = 0;
};

}  // namespace ordering

#include "peer-sim/load.h"

#include <librdkafka/rdkafka.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <fstream>
#include <mutex>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>

#include "common/crypto.h"
#include "common/envelope.h"
#include "common/kafka.h"
#include "peer-sim/deliver_listener.h"
#include "peer-sim/steady.h"
#include "peer-sim/submitter.h"
#include "peer-sim/tx_factory.h"

namespace ordering {
namespace {

constexpr int64_t kSecondNs = 1'000'000'000;
constexpr int64_t kNever = INT64_MAX;
// How long the exit waits for the delivery reports of purged records.
constexpr int kPurgePollMs = 500;

// A transaction's place: the peer that sends it and its position in that
// peer's sequence (due times ascend along it).
struct TxRef {
  uint32_t peer = 0;
  uint64_t index = 0;
};

// A built transaction, owned by its peer's pool for the whole run: the
// submitter's outcome finds it through the opaque pointer.
struct PooledTx {
  TxRef ref;
  std::string tx_id;
  std::string bytes;  // what the submit path sends; released once sent
};

enum class Outcome { kAcked, kFailed, kPurged };

uint64_t ShareOf(uint64_t total, uint64_t peers, uint64_t peer) {
  return total / peers + (peer < total % peers ? 1 : 0);
}

// What the producers sent between the last counters at or before `from_ms`
// and the last at or before `to_ms` (counters start at zero); none without
// counters or a window.
std::optional<BatchCounters> BatchesInWindow(const std::vector<std::pair<int64_t, BatchCounters>>& samples,
                                             int64_t from_ms, int64_t to_ms) {
  if (samples.empty() || to_ms <= from_ms) return std::nullopt;
  auto at = [&](int64_t t) {
    BatchCounters c;
    for (const auto& [ms, b] : samples) {
      if (ms > t) break;
      c = b;
    }
    return c;
  };
  return at(to_ms) - at(from_ms);
}

// What the run knows about each of its transactions, and the counters,
// latency histograms and per-second series derived from it. Owns the
// phase boundaries: the warm-up's end (fixed, or decided here from the
// per-second series by a SteadyDetector) and the measured window's end.
// All methods are thread-safe.
class Tracker {
 public:
  struct Config {
    bool raw = false;
    int peers = 1;
    double rate = 0;            // offered tx/s; 0: flat out
    uint64_t max_in_flight = 1;
    WarmupMode warmup_mode = WarmupMode::kFixed;
    int64_t warmup_ns = 0;      // fixed
    int64_t warmup_max_s = 0;   // auto, whole seconds
    SteadyOptions steady;
    int64_t duration_ns = 0;    // 0: count-limited
    int64_t cooldown_ns = 0;    // unmeasured submitting after the window
    bool block_times = false;   // keep each block's arrival time
    LoadMetrics* metrics = nullptr;  // live counters (optional)
  };

  explicit Tracker(const Clock* clock, const Config& config)
      : clock_(clock), c_(config), detector_(config.steady), states_(config.peers), cursor_(config.peers, 0) {
    peers_running_ = config.peers;
  }

  // Room for `n` transactions of `peer` (a hint).
  void Reserve(uint32_t peer, uint64_t n) {
    std::lock_guard<std::mutex> lock(mu_);
    states_[peer].reserve(n);
    ids_.reserve(ids_.size() + n);
  }

  // Starts the clock: second 0 begins at `start_ns`. A fixed warm-up ends
  // at start + warm-up.
  void Start(int64_t start_ns) {
    std::lock_guard<std::mutex> lock(mu_);
    start_ns_ = start_ns;
    wall_offset_ns_ = clock_->WallNanos() - clock_->NowNanos();
    if (c_.warmup_mode == WarmupMode::kFixed) EndWarmup(start_ns + c_.warmup_ns, false);
  }

  // When submitting must stop (exclusive): the measured window's end plus
  // the cool-down; kNever while an auto warm-up is undecided or for a
  // count-limited run.
  int64_t deadline() const { return deadline_.load(); }

  // Flat-out mode: waits for a free slot in the window. False if stopping.
  // Peers check concurrently, so the window may overshoot by up to one
  // transaction per peer.
  bool AcquireSlot(const std::atomic<bool>& stop) {
    std::unique_lock<std::mutex> lock(mu_);
    while (in_flight_ >= c_.max_in_flight) {
      if (stop.load()) return false;
      slot_cv_.wait_for(lock, std::chrono::milliseconds(50));
    }
    return true;
  }

  // Registers a transaction just before it is produced. REQUIRES: a peer's
  // indexes arrive in order 0, 1, 2, ...; `tx_id` outlives the Tracker.
  void OnSubmit(TxRef ref, std::string_view tx_id, int64_t due_ns) {
    std::lock_guard<std::mutex> lock(mu_);
    const int64_t now = clock_->NowNanos();
    std::vector<TxState>& peer = states_[ref.peer];
    peer.push_back(TxState{due_ns});
    ids_.emplace(tx_id, ref);
    ++submitted_;
    if (c_.metrics) c_.metrics->submitted.fetch_add(1, std::memory_order_relaxed);
    ++in_flight_;
    ++BinAt(now).submitted;
    const int64_t lag = std::max<int64_t>(0, now - due_ns);
    if (open_known_) {
      if (due_ns >= open_ns_ && due_ns < window_end_) {
        ++m_submitted_due_;
        max_lag_ns_ = std::max(max_lag_ns_, lag);
      }
      if (now >= open_ns_ && now < window_end_) ++m_sent_window_;
    } else {
      Pending& p = pending_[SecondOf(due_ns)];
      ++p.submitted;
      p.max_lag_ns = std::max(p.max_lag_ns, lag);
    }
  }

  // How a peer spent its time on one transaction sent at `sent_ns`: `own_ns`
  // its own work from when it was free to send (the due time, or the end of
  // its previous Submit if later) to the Submit call (taking it from the
  // pool or signing it, registering it; being descheduled counts here too),
  // `held_ns` inside Submit (the producer's full queue, the Broadcast
  // stream's flow control: the service holding it back).
  void OnSubmitted(int64_t sent_ns, int64_t own_ns, int64_t held_ns) {
    std::lock_guard<std::mutex> lock(mu_);
    if (open_known_) {
      if (sent_ns >= open_ns_ && sent_ns < window_end_) {
        m_own_ns_ += own_ns;
        m_held_ns_ += held_ns;
      }
    } else {
      Bin& bin = BinAt(sent_ns);
      bin.own_ns += own_ns;
      bin.held_ns += held_ns;
    }
  }

  // The producer's delivery report (or a failed Produce call: kFailed).
  void OnDeliveryReport(TxRef ref, Outcome outcome) {
    std::lock_guard<std::mutex> lock(mu_);
    const int64_t now = clock_->NowNanos();
    TxState& s = states_[ref.peer][ref.index];
    switch (outcome) {
      case Outcome::kAcked:
        ++acked_;
        if (c_.metrics) c_.metrics->acked.fetch_add(1, std::memory_order_relaxed);
        s.acked = true;
        ++BinAt(now).acked;
        if (InCompletionWindow(now)) {
          ++m_acked_window_;
          last_ack_window_ns_ = now;
        }
        RecordLatency(/*e2e=*/false, s.due_ns, now);
        if (c_.raw) MarkDone(&s);
        break;
      case Outcome::kFailed:
        ++failed_;
        if (c_.metrics) c_.metrics->failed.fetch_add(1, std::memory_order_relaxed);
        s.failed = true;
        ++BinAt(now).failed;
        MarkDone(&s);
        break;
      case Outcome::kPurged:
        MarkDone(&s);  // neither acknowledged nor failed: counted as never_acked
        break;
    }
  }

  void OnBlock(const Block& block) {
    DecodedTx tx;
    std::lock_guard<std::mutex> lock(mu_);
    const int64_t now = clock_->NowNanos();
    if (!seen_first_block_) {
      // The newest block at start: committed before this run began.
      seen_first_block_ = true;
      return;
    }
    if (start_ns_ == 0 || now < start_ns_) return;  // other clients' blocks while pre-signing
    ++blocks_;
    if (c_.metrics) c_.metrics->blocks.fetch_add(1, std::memory_order_relaxed);
    ++cut_reasons_[CutReason_Name(block.metadata().cut_reason())];
    if (c_.block_times && block_unix_ms_.size() < kMaxBlockTimes) {
      block_unix_ms_.push_back((now + wall_offset_ns_) / 1'000'000);
    }
    for (const std::string& raw : block.data().data()) {
      if (!DecodeTx(raw, &tx).ok()) continue;
      auto it = ids_.find(tx.tx_id());
      if (it == ids_.end()) continue;  // another client's transaction
      TxState& s = states_[it->second.peer][it->second.index];
      if (s.delivered) {
        ++duplicates_;
        if (c_.metrics) c_.metrics->duplicates.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      s.delivered = true;
      ++delivered_;
      if (c_.metrics) c_.metrics->delivered.fetch_add(1, std::memory_order_relaxed);
      ++BinAt(now).delivered;
      if (InCompletionWindow(now)) {
        ++m_delivered_window_;
        last_delivery_window_ns_ = now;
      }
      RecordLatency(/*e2e=*/true, s.due_ns, now);
      MarkDone(&s);
    }
  }

  void OnPoolExhausted() {
    std::lock_guard<std::mutex> lock(mu_);
    pool_exhausted_ = true;
  }

  // A peer's submitting loop has ended, `at_deadline` if because its next
  // transaction was due at or after deadline(). When the last one stops,
  // the run enters the drain; the measured window ends then, unless every
  // peer ran to the deadline (then it ends at the deadline, as planned).
  void OnPeerStopped(bool at_deadline) {
    std::lock_guard<std::mutex> lock(mu_);
    const int64_t now = clock_->NowNanos();
    stopped_before_deadline_ |= !at_deadline;
    if (--peers_running_ > 0) return;
    submit_ended_ = true;
    submit_end_ns_ = now;
    if (stopped_before_deadline_ || c_.duration_ns == 0) window_end_ = std::min(window_end_, now);
  }

  // True when every submitted transaction is done (delivered, or acked in
  // raw mode; failed; purged).
  bool Settled() const {
    std::lock_guard<std::mutex> lock(mu_);
    return in_flight_ == 0;
  }

  // Closes every second that has ended: one series point each, and the
  // auto warm-up's decision. Call about every 20 ms (more often is fine).
  void Tick() {
    std::lock_guard<std::mutex> lock(mu_);
    const int64_t now = clock_->NowNanos();
    while (start_ns_ + (next_second_ + 1) * kSecondNs <= now) CloseSecond(now);
  }

  // Closes the remaining seconds, the last one partial. Call once, after
  // the producers and the listener have stopped.
  void Finish() {
    std::lock_guard<std::mutex> lock(mu_);
    const int64_t now = clock_->NowNanos();
    while (start_ns_ + next_second_ * kSecondNs < now) CloseSecond(now);
  }

  LoadProgress Progress() {
    std::lock_guard<std::mutex> lock(mu_);
    const int64_t now = clock_->NowNanos();
    LoadProgress p;
    p.elapsed_s = static_cast<double>(now - start_ns_) / 1e9;
    p.submitted = submitted_;
    p.acked = acked_;
    p.delivered = delivered_;
    p.failed = failed_;
    p.in_flight = in_flight_;
    p.undelivered_share = submitted_ > 0 ? static_cast<double>(in_flight_) / static_cast<double>(submitted_) : 0;
    p.oldest_undelivered_ms = OldestAgeMs(now);
    const double dt = static_cast<double>(now - last_progress_ns_) / 1e9;
    const uint64_t done = c_.raw ? acked_ : delivered_;
    if (last_progress_ns_ != 0 && dt > 0) {
      p.interval_submit_tps = static_cast<double>(submitted_ - last_submitted_) / dt;
      p.interval_delivered_tps = static_cast<double>(done - last_done_) / dt;
    }
    p.interval_latency = Summarize(recent_);
    recent_.Clear();
    last_progress_ns_ = now;
    last_submitted_ = submitted_;
    last_done_ = done;
    return p;
  }

  // Fills counts, accounting, windows, rates, latencies and the series.
  void Fill(LoadReport* r) {
    std::lock_guard<std::mutex> lock(mu_);
    const int64_t now = clock_->NowNanos();
    r->submitted = submitted_;
    r->acked = acked_;
    r->failed = failed_;
    r->delivered = delivered_;
    r->duplicates = duplicates_;
    r->blocks = blocks_;
    r->cut_reasons = cut_reasons_;
    r->undelivered_acked = 0;
    r->never_acked = 0;
    for (const auto& peer : states_) {
      for (const TxState& s : peer) {
        if (s.failed || s.delivered) continue;
        if (!s.acked) {
          ++r->never_acked;
        } else if (!c_.raw) {
          ++r->undelivered_acked;
        }
      }
    }
    r->pool_exhausted = pool_exhausted_;
    r->warmup_mode = WarmupModeName(c_.warmup_mode);
    r->steady = steady_;
    const int64_t submit_end = submit_ended_ ? submit_end_ns_ : now;
    r->warmup_seconds = Seconds(start_ns_, open_known_ ? std::min(open_ns_, submit_end) : submit_end);
    r->warmup_transactions = submitted_ - m_submitted_due_;

    // The measured window opens when the warm-up ends and closes, for a
    // duration-limited run, when submitting ends (at the planned end, or
    // earlier if stopped), so the drain does not dilute a steady rate; for a
    // fixed count, when the last transaction is done.
    if (open_known_) {
      const bool count_limited = c_.duration_ns == 0;
      const int64_t submit_close = window_end_ != kNever ? window_end_ : submit_end;
      r->submit_seconds = Seconds(open_ns_, submit_close);
      auto window = [&](int64_t last_completion) {
        return count_limited ? Seconds(open_ns_, std::max(submit_close, last_completion)) : r->submit_seconds;
      };
      auto rate = [](uint64_t n, double s) { return s > 0 ? static_cast<double>(n) / s : 0.0; };
      const double ack_window = window(last_ack_window_ns_);
      const double delivered_window = window(last_delivery_window_ns_);
      r->submit_tps = rate(m_sent_window_, r->submit_seconds);
      // Summed over peers: own time per transaction against the time the
      // rate allows each peer per transaction; time inside Submit against
      // the peers' time in the window.
      const double n_peers = static_cast<double>(c_.peers);
      if (c_.rate > 0 && m_sent_window_ > 0) {
        r->generator_load = static_cast<double>(m_own_ns_) / 1e9 * c_.rate /
                            (static_cast<double>(m_sent_window_) * n_peers);
      }
      if (r->submit_seconds > 0) {
        r->submit_held_share = static_cast<double>(m_held_ns_) / 1e9 / (n_peers * r->submit_seconds);
      }
      r->ack_tps = rate(m_acked_window_, ack_window);
      r->delivered_tps = c_.raw ? 0 : rate(m_delivered_window_, delivered_window);
      r->run_seconds = c_.raw ? ack_window : delivered_window;
      r->window_from_unix_ms = (open_ns_ + wall_offset_ns_) / 1'000'000;
      r->window_to_unix_ms = r->window_from_unix_ms + static_cast<int64_t>(r->run_seconds * 1000);
    }
    r->start_unix_ms = (start_ns_ + wall_offset_ns_) / 1'000'000;
    r->max_submit_lag_ms = static_cast<double>(max_lag_ns_) / 1e6;
    const uint64_t done = c_.raw ? acked_ : delivered_;
    r->undelivered_share =
        submitted_ > 0 ? static_cast<double>(submitted_ - std::min(done, submitted_)) / static_cast<double>(submitted_) : 0;
    r->e2e = Summarize(m_e2e_);
    r->ack = Summarize(m_ack_);
    r->series = series_;
    r->block_unix_ms = block_unix_ms_;
  }

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
    LatencyHistogram latency;  // e2e (ack in raw mode) completed in it
  };
  // While an auto warm-up is undecided: transactions by the second of their
  // due time, to be counted as measured if the warm-up ends before it.
  struct Pending {
    uint64_t submitted = 0;
    int64_t max_lag_ns = 0;
    LatencyHistogram e2e, ack;
  };

  static double Seconds(int64_t from, int64_t to) {
    return to > from ? static_cast<double>(to - from) / 1e9 : 0.0;
  }
  int64_t SecondOf(int64_t ns) const { return std::max<int64_t>(0, (ns - start_ns_) / kSecondNs); }
  Bin& BinAt(int64_t ns) {  // REQUIRES mu_
    return bins_[std::max(SecondOf(ns), next_second_)];
  }

  // A completion at `now` counts toward the window's rates. REQUIRES mu_
  bool InCompletionWindow(int64_t now) const {
    if (!open_known_ || now < open_ns_) return false;
    if (c_.duration_ns == 0) return true;  // count-limited: up to the last completion
    return now < window_end_;
  }

  void RecordLatency(bool e2e, int64_t due_ns, int64_t now) {  // REQUIRES mu_
    const int64_t latency = now - due_ns;
    if (c_.metrics) (e2e ? c_.metrics->e2e_latency : c_.metrics->ack_latency).ObserveNanos(latency);
    if (e2e != c_.raw) {  // the run's own latency: e2e, or ack in raw mode
      BinAt(now).latency.Record(latency);
      recent_.Record(latency);
    }
    if (open_known_) {
      if (due_ns >= open_ns_ && due_ns < window_end_) (e2e ? m_e2e_ : m_ack_).Record(latency);
    } else {
      Pending& p = pending_[SecondOf(due_ns)];
      (e2e ? p.e2e : p.ack).Record(latency);
    }
  }

  void MarkDone(TxState* s) {  // REQUIRES mu_
    if (s->done) return;
    s->done = true;
    if (in_flight_ > 0) --in_flight_;
    slot_cv_.notify_one();
  }

  // Age of the oldest transaction in flight, from its due time; 0 when
  // none. Due times ascend along each peer's sequence, so each peer's
  // oldest is its first not done. REQUIRES mu_
  double OldestAgeMs(int64_t now) {
    int64_t oldest = kNever;
    for (size_t p = 0; p < states_.size(); ++p) {
      const std::vector<TxState>& peer = states_[p];
      uint64_t& c = cursor_[p];
      while (c < peer.size() && peer[c].done) ++c;
      if (c < peer.size()) oldest = std::min(oldest, peer[c].due_ns);
    }
    return oldest == kNever ? 0.0 : static_cast<double>(std::max<int64_t>(0, now - oldest)) / 1e6;
  }

  // The warm-up ends at `open_ns`; the measured window follows. REQUIRES mu_
  void EndWarmup(int64_t open_ns, bool steady) {
    open_known_ = true;
    open_ns_ = open_ns;
    steady_ = steady;
    window_end_ = c_.duration_ns > 0 ? open_ns + c_.duration_ns : kNever;
    deadline_.store(window_end_ == kNever ? kNever : window_end_ + c_.cooldown_ns);
    // What happened since open_ns before this decision: the open seconds'
    // events, and the pending transactions due from open_ns on.
    const int64_t first = SecondOf(open_ns);
    for (auto it = bins_.lower_bound(first); it != bins_.end(); ++it) {
      m_sent_window_ += it->second.submitted;
      m_acked_window_ += it->second.acked;
      m_delivered_window_ += it->second.delivered;
      m_own_ns_ += it->second.own_ns;
      m_held_ns_ += it->second.held_ns;
      if (it->second.acked > 0) last_ack_window_ns_ = clock_->NowNanos();
      if (it->second.delivered > 0) last_delivery_window_ns_ = clock_->NowNanos();
    }
    for (auto it = pending_.lower_bound(first); it != pending_.end(); ++it) {
      m_submitted_due_ += it->second.submitted;
      max_lag_ns_ = std::max(max_lag_ns_, it->second.max_lag_ns);
      m_e2e_.Merge(it->second.e2e);
      m_ack_.Merge(it->second.ack);
    }
    pending_.clear();
  }

  // Closes second next_second_ at `now`. REQUIRES mu_
  void CloseSecond(int64_t now) {
    const int64_t s = next_second_++;
    Bin bin;
    if (auto it = bins_.find(s); it != bins_.end()) {
      bin = std::move(it->second);
      bins_.erase(it);
    }
    const int64_t s_start = start_ns_ + s * kSecondNs;
    const int64_t s_end = s_start + kSecondNs;
    SeriesPoint point;
    point.t = s + 1;
    point.phase = s_start >= window_end_ + c_.cooldown_ns ? "drain"
                  : s_start >= window_end_                ? "cooldown"
                  : (!open_known_ || s_start < open_ns_)  ? "warmup"
                                                          : "measured";
    point.submitted = bin.submitted;
    point.acked = bin.acked;
    point.delivered = bin.delivered;
    point.failed = bin.failed;
    point.in_flight = in_flight_;
    point.oldest_undelivered_ms = OldestAgeMs(now);
    if (bin.latency.count() > 0) {
      point.p50_ms = static_cast<double>(bin.latency.Percentile(0.5)) / 1e6;
      point.p99_ms = static_cast<double>(bin.latency.Percentile(0.99)) / 1e6;
    }
    series_.push_back(std::move(point));

    // The warm-up's steadiness, from seconds wholly inside it.
    const uint64_t completed = c_.raw ? bin.acked : bin.delivered;
    if (c_.warmup_mode == WarmupMode::kFixed) {
      if (s_end <= open_ns_) steady_ = detector_.AddSecond(completed, bin.latency);
    } else if (!open_known_ && !submit_ended_) {
      if (detector_.AddSecond(completed, bin.latency)) {
        EndWarmup(s_end, true);
      } else if (s + 1 >= c_.warmup_max_s) {
        EndWarmup(s_end, false);
      }
    }
  }

  const Clock* clock_;
  const Config c_;
  mutable std::mutex mu_;
  std::condition_variable slot_cv_;
  std::atomic<int64_t> deadline_{kNever};

  // Everything below is GUARDED_BY(mu_).
  SteadyDetector detector_;
  std::vector<std::vector<TxState>> states_;  // per peer, by index
  std::vector<uint64_t> cursor_;              // per peer: no earlier transaction is in flight
  std::unordered_map<std::string_view, TxRef> ids_;
  uint64_t submitted_ = 0, acked_ = 0, failed_ = 0, delivered_ = 0, duplicates_ = 0, blocks_ = 0;
  uint64_t in_flight_ = 0;
  std::map<std::string, uint64_t> cut_reasons_;
  std::vector<int64_t> block_unix_ms_;
  bool seen_first_block_ = false;
  bool pool_exhausted_ = false;
  int peers_running_ = 0;

  // Phases.
  int64_t start_ns_ = 0;
  int64_t wall_offset_ns_ = 0;  // wall clock - monotonic clock, at Start
  bool open_known_ = false;  // the warm-up has ended
  int64_t open_ns_ = 0;      // the measured window's start
  // The measured window's end: kNever while unknown (an undecided warm-up,
  // or a count-limited run still submitting); the deadline; or when
  // submitting stopped before it.
  int64_t window_end_ = kNever;
  bool submit_ended_ = false;
  bool stopped_before_deadline_ = false;
  int64_t submit_end_ns_ = 0;
  bool steady_ = false;

  // The measured window.
  uint64_t m_submitted_due_ = 0;  // due in it
  uint64_t m_sent_window_ = 0, m_acked_window_ = 0, m_delivered_window_ = 0;  // happened in it
  int64_t last_ack_window_ns_ = 0, last_delivery_window_ns_ = 0;
  int64_t max_lag_ns_ = 0;
  int64_t m_own_ns_ = 0, m_held_ns_ = 0;  // peers' time on transactions sent in it (OnSubmitted)
  LatencyHistogram m_e2e_, m_ack_;
  std::map<int64_t, Pending> pending_;

  // The series.
  std::map<int64_t, Bin> bins_;  // seconds not yet closed
  int64_t next_second_ = 0;      // the first second not yet closed
  std::vector<SeriesPoint> series_;

  // Progress lines.
  LatencyHistogram recent_;  // completed since the last progress line
  int64_t last_progress_ns_ = 0;
  uint64_t last_submitted_ = 0, last_done_ = 0;
};

struct Peer {
  std::unique_ptr<Signer> signer;
  std::unique_ptr<TxFactory> factory;
  std::unique_ptr<Submitter> submitter;
};

Status CheckOptions(const LoadOptions& o) {
  if (o.submit == SubmitPath::kKafka && o.brokers.empty()) return Status::InvalidArgument("no brokers given");
  if (o.raw && o.submit != SubmitPath::kKafka) {
    return Status::InvalidArgument("raw mode times the Kafka producer alone: it needs the kafka submit path");
  }
  if (!o.raw && o.orderer.empty()) return Status::InvalidArgument("no orderer address given (or use raw mode)");
  if (o.peers < 1 || o.peers > 1000) return Status::InvalidArgument("peers must be between 1 and 1000");
  if (o.tx_size < 300 || o.tx_size > 64 * 1024 * 1024) {
    return Status::InvalidArgument("tx size must be between 300 bytes (a signed header) and 64 MB");
  }
  if (o.rate < 0) return Status::InvalidArgument("rate must not be negative");
  if (o.count == 0 && o.duration_ms <= 0) return Status::InvalidArgument("give a count or a duration");
  if (o.duration_ms < 0) return Status::InvalidArgument("duration must not be negative");
  if (o.max_in_flight == 0) return Status::InvalidArgument("max in flight must be at least 1");
  if (o.warmup_ms < 0) return Status::InvalidArgument("warm-up must not be negative");
  if (o.steady_window_ms < 1000 || o.steady_window_ms % 1000 != 0) {
    return Status::InvalidArgument("steady window must be a whole number of seconds, at least 1 s");
  }
  if (!(o.steady_tolerance > 0 && o.steady_tolerance < 1)) {
    return Status::InvalidArgument("steady tolerance must be between 0 and 1 (e.g. 0.05 for 5%)");
  }
  if (o.warmup_mode == WarmupMode::kAuto && o.warmup_max_ms < 2 * o.steady_window_ms) {
    return Status::InvalidArgument("warm-up max must be at least two steady windows long");
  }
  if (o.sign_inline && o.pool_size > 0) {
    return Status::InvalidArgument("a pool size is for pre-signed transactions; it has no meaning when signing inline");
  }
  if (o.drain_timeout_ms < 0) return Status::InvalidArgument("drain timeout must not be negative");
  return Status::OK();
}

// Builds each peer's pool, one thread per peer. Stops early (OK, pools
// short) if *stop becomes true.
Status PreSign(const PoolPlan& plan, std::vector<Peer>* peers, std::vector<std::deque<PooledTx>>* pools,
               const std::function<bool()>& stopping) {
  std::vector<Status> results(peers->size());
  std::vector<std::thread> threads;
  for (size_t pi = 0; pi < peers->size(); ++pi) {
    threads.emplace_back([&, pi] {
      BuiltTx tx;
      for (uint64_t k = 0; k < plan.per_peer[pi]; ++k) {
        if (k % 1024 == 0 && stopping()) return;
        Status st = (*peers)[pi].factory->Build(&tx);
        if (!st.ok()) {
          results[pi] = st.WithContext("peer " + std::to_string(pi) + ": pre-signing");
          return;
        }
        std::string id = tx.tx_id;
        (*pools)[pi].push_back(
            PooledTx{{static_cast<uint32_t>(pi), k}, std::move(id), (*peers)[pi].submitter->WireBytes(std::move(tx))});
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const Status& st : results) ORDERING_RETURN_IF_ERROR(st);
  return Status::OK();
}

std::string FormatCount(uint64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

}  // namespace

Status PlanPool(const LoadOptions& o, PoolPlan* plan) {
  *plan = PoolPlan();
  if (o.sign_inline) return Status::OK();
  const uint64_t n = static_cast<uint64_t>(std::max(o.peers, 1));
  const double warmup_bound_s = o.warmup_mode == WarmupMode::kAuto
                                    ? std::ceil(static_cast<double>(o.warmup_max_ms) / 1000.0)
                                    : static_cast<double>(o.warmup_ms) / 1000.0;
  const double run_s = warmup_bound_s + static_cast<double>(o.duration_ms + o.cooldown_ms) / 1000.0;
  uint64_t total = 0;
  if (o.pool_size > 0) {
    total = o.pool_size;
  } else if (o.rate > 0) {
    // Every due time in the run, plus one per peer for rounding.
    total = o.duration_ms > 0 ? static_cast<uint64_t>(std::ceil(o.rate * run_s)) + n : UINT64_MAX;
  } else {
    constexpr uint64_t kFlatOutPerSecond = 20000, kFlatOutCap = 4'000'000;
    total = o.count > 0 ? o.count
                        : std::min(kFlatOutCap, static_cast<uint64_t>(std::ceil(run_s)) * kFlatOutPerSecond);
  }
  if (o.count > 0) total = std::min(total, o.count);  // never more than will be sent
  plan->total = total;
  if (total > kPoolMemoryLimitBytes / (o.tx_size + kPoolOverheadBytesPerTx)) {
    char buf[160];
    const double gib = static_cast<double>(total) * static_cast<double>(o.tx_size + kPoolOverheadBytesPerTx) / (1u << 30);
    std::snprintf(buf, sizeof(buf), "%.1f GiB", gib);
    return Status::InvalidArgument("a pre-signed pool of " + FormatCount(total) + " transactions of " +
                                   std::to_string(o.tx_size) + " bytes needs about " + buf +
                                   ", over the 8 GiB limit: lower --pool-size, or --rate or --duration "
                                   "(the pool covers warm-up + duration at the rate), or sign inside the "
                                   "window with --sign-inline");
  }
  plan->estimated_bytes = total * (o.tx_size + kPoolOverheadBytesPerTx);
  for (uint64_t p = 0; p < n; ++p) plan->per_peer.push_back(ShareOf(total, n, p));
  return Status::OK();
}

Status RunLoad(const LoadOptions& options, LoadReport* report, const std::atomic<bool>* external_stop) {
  ORDERING_RETURN_IF_ERROR(CheckOptions(options));
  if (!options.started_file.empty()) std::remove(options.started_file.c_str());
  PoolPlan plan;
  ORDERING_RETURN_IF_ERROR(PlanPool(options, &plan));
  const Clock* clock = options.clock;
  const bool presigned = !options.sign_inline;
  std::atomic<bool> stop{false};
  auto stopping = [&] { return stop.load() || (external_stop != nullptr && external_stop->load()); };
  auto notice = [&](const std::string& line) {
    if (options.on_notice) options.on_notice(line);
  };

  report->config = ConfigToJson(options);

  // Declared before the tracker and the producers: the delivery reports
  // point into them and the tracker keys on their tx ids.
  std::vector<std::deque<PooledTx>> pools(static_cast<size_t>(options.peers));
  Tracker::Config tc;
  tc.raw = options.raw;
  tc.peers = options.peers;
  tc.rate = options.rate;
  tc.max_in_flight = options.max_in_flight;
  tc.warmup_mode = options.warmup_mode;
  tc.warmup_ns = options.warmup_ms * 1'000'000;
  tc.warmup_max_s = (options.warmup_max_ms + 999) / 1000;
  tc.steady = SteadyOptions{static_cast<int>(options.steady_window_ms / 1000), options.steady_tolerance};
  tc.duration_ns = options.duration_ms * 1'000'000;
  tc.cooldown_ns = options.duration_ms > 0 ? options.cooldown_ms * 1'000'000 : 0;
  tc.block_times = options.block_times;
  tc.metrics = options.metrics;
  Tracker tracker(clock, tc);

  // Peers: each its own key and submitter (its own producer, or its own
  // Broadcast stream), created and connected before the clock starts, so
  // connection set-up is not charged to the first transactions.
  std::vector<Peer> peers(static_cast<size_t>(options.peers));
  for (size_t i = 0; i < peers.size(); ++i) {
    Peer& p = peers[i];
    ORDERING_RETURN_IF_ERROR(Signer::Generate(&p.signer));
    TxFactoryOptions fo;
    fo.channel_id = options.channel_id;
    fo.target_record_bytes = options.tx_size;
    p.factory = std::make_unique<TxFactory>(p.signer.get(), fo, clock);
    SubmitterOptions so;
    so.path = options.submit;
    so.brokers = options.brokers;
    so.topic = options.ResolvedTopic();
    so.producer_properties = options.producer_properties;
    so.create_topic = options.raw;  // no orderer to create it
    so.orderer = options.orderer;
    so.connect_timeout_ms = options.connect_timeout_ms;
    so.on_outcome = [&tracker](void* opaque, SubmitOutcome outcome, const std::string& detail) {
      const auto* tx = static_cast<const PooledTx*>(opaque);
      if (outcome == SubmitOutcome::kFailed) spdlog::debug("submitting {} failed: {}", tx->tx_id, detail);
      tracker.OnDeliveryReport(tx->ref, outcome == SubmitOutcome::kAccepted ? Outcome::kAcked
                                        : outcome == SubmitOutcome::kFailed ? Outcome::kFailed
                                                                            : Outcome::kPurged);
    };
    ORDERING_RETURN_IF_ERROR(MakeSubmitter(so, &p.submitter).WithContext("peer " + std::to_string(i)));
  }

  std::unique_ptr<DeliverListener> listener;
  if (!options.raw) {
    ORDERING_RETURN_IF_ERROR(DeliverListener::Start(
        options.orderer, [&tracker](const Block& b) { tracker.OnBlock(b); }, static_cast<int>(options.connect_timeout_ms),
        &listener));
  }

  std::atomic<uint64_t> record_bytes{0};
  report->presigned = presigned;
  if (presigned) {
    notice("pre-signing " + FormatCount(plan.total) + " transactions (" + std::to_string(peers.size()) +
           " peers, a thread each)...");
    const int64_t t0 = clock->NowNanos();
    ORDERING_RETURN_IF_ERROR(PreSign(plan, &peers, &pools, stopping));
    report->presign_seconds = static_cast<double>(clock->NowNanos() - t0) / 1e9;
    for (size_t pi = 0; pi < pools.size(); ++pi) {
      report->pool_size += pools[pi].size();
      tracker.Reserve(static_cast<uint32_t>(pi), pools[pi].size());
    }
    if (!pools.empty() && !pools[0].empty()) record_bytes = pools[0][0].bytes.size();
    char buf[160];
    std::snprintf(buf, sizeof(buf), "pre-signed %s transactions in %.2f s (%.0f/s)", FormatCount(report->pool_size).c_str(),
                  report->presign_seconds,
                  report->presign_seconds > 0 ? static_cast<double>(report->pool_size) / report->presign_seconds : 0.0);
    notice(buf);
  }

  const int64_t start_ns = clock->NowNanos() + 50'000'000;  // let every thread get going
  tracker.Start(start_ns);
  if (!options.started_file.empty()) {
    const int64_t start_unix_ms = (start_ns + clock->WallNanos() - clock->NowNanos()) / 1'000'000;
    const std::string tmp = options.started_file + ".tmp";
    {
      std::ofstream f(tmp, std::ios::trunc);
      f << start_unix_ms << "\n";
    }
    if (std::rename(tmp.c_str(), options.started_file.c_str()) != 0) {
      notice("could not write --started-file " + options.started_file);
    }
  }
  const uint64_t n_peers = peers.size();

  // Sleeps until `t` or the deadline, whichever is first (the deadline can
  // move: an auto warm-up sets it when it ends).
  auto sleep_until = [&](int64_t t) {
    while (!stopping()) {
      int64_t left = std::min(t, tracker.deadline()) - clock->NowNanos();
      if (left <= 0) return;
      std::this_thread::sleep_for(std::chrono::nanoseconds(std::min<int64_t>(left, 50'000'000)));
    }
  };

  std::vector<std::thread> threads;
  for (uint64_t pi = 0; pi < n_peers; ++pi) {
    threads.emplace_back([&, pi] {
      Peer& peer = peers[pi];
      std::deque<PooledTx>& pool = pools[pi];
      const uint64_t quota = options.count > 0 ? ShareOf(options.count, n_peers, pi) : UINT64_MAX;
      BuiltTx built;
      bool at_deadline = false;
      int64_t free_ns = 0;  // when the previous Submit returned
      for (uint64_t k = 0; k < quota; ++k) {
        int64_t due;
        if (options.rate > 0) {
          const uint64_t index = k * n_peers + pi;
          due = start_ns + static_cast<int64_t>(static_cast<double>(index) * 1e9 / options.rate);
          sleep_until(due);
          if (stopping()) break;
          // Checked after the sleep: an auto warm-up may have ended meanwhile.
          if (due >= tracker.deadline()) {
            at_deadline = true;
            break;
          }
        } else {
          if (k == 0) sleep_until(start_ns);
          if (!tracker.AcquireSlot(stop) || stopping()) break;
          due = clock->NowNanos();
          if (due >= tracker.deadline()) {
            at_deadline = true;
            break;
          }
        }
        PooledTx* tx;
        if (presigned) {
          if (k >= pool.size()) {
            tracker.OnPoolExhausted();
            break;
          }
          tx = &pool[k];
        } else {
          Status st = peer.factory->Build(&built);
          if (!st.ok()) {
            spdlog::error("peer {}: building a transaction: {}", pi, st.ToString());
            stop = true;
            break;
          }
          std::string id = built.tx_id;
          pool.push_back(PooledTx{{static_cast<uint32_t>(pi), k}, std::move(id), peer.submitter->WireBytes(std::move(built))});
          tx = &pool.back();
          uint64_t none = 0;
          record_bytes.compare_exchange_strong(none, tx->bytes.size());
        }
        tracker.OnSubmit(tx->ref, tx->tx_id, due);
        const int64_t sent = clock->NowNanos();
        Status st = peer.submitter->Submit(tx->bytes, tx);
        const int64_t returned = clock->NowNanos();
        tracker.OnSubmitted(sent, sent - std::max(due, free_ns), returned - sent);
        free_ns = returned;
        if (!st.ok()) {
          tracker.OnDeliveryReport(tx->ref, Outcome::kFailed);
          spdlog::error("peer {}: submit: {}", pi, st.ToString());
        }
        std::string().swap(tx->bytes);  // sent (the producer or the stream holds its own copy)
      }
      tracker.OnPeerStopped(at_deadline);
    });
  }

  // Progress and the per-second series on this thread while peers submit.
  std::atomic<bool> submitting_done{false};
  std::thread joiner([&] {
    for (auto& t : threads) t.join();
    submitting_done = true;
  });
  const int64_t interval_ns = options.progress_interval_ms * 1'000'000;
  tracker.Progress();  // baseline for the first interval
  int64_t next_progress = start_ns + interval_ns;
  // The producers' batch counters summed over the peers, each time they
  // change (wall clock ms), to cut to the measured window at the end.
  std::vector<std::pair<int64_t, BatchCounters>> batch_samples;
  auto sample_batches = [&] {
    BatchCounters sum;
    bool any = false;
    for (const Peer& p : peers) {
      if (auto b = p.submitter->Batches()) {
        any = true;
        sum += *b;
      }
    }
    if (!any || (!batch_samples.empty() && batch_samples.back().second == sum)) return;
    batch_samples.emplace_back(clock->WallNanos() / 1'000'000, sum);
  };
  auto tick = [&] {
    tracker.Tick();
    sample_batches();
    if (interval_ns > 0 && options.on_progress && clock->NowNanos() >= next_progress) {
      options.on_progress(tracker.Progress());
      next_progress += interval_ns;
    }
  };
  while (!submitting_done.load()) {
    if (external_stop != nullptr && external_stop->load()) stop = true;
    tick();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  joiner.join();

  // Drain, bounded as a whole by drain_timeout_ms: flush (on a helper
  // thread, so the series keeps its one-second beat) while waiting for the
  // deliveries; at the deadline, abandon what the submitters still hold
  // (each counts as never acknowledged) and close them at once.
  const int64_t drain_start = clock->NowNanos();
  const int64_t drain_deadline = drain_start + options.drain_timeout_ms * 1'000'000;
  auto ms_left = [&] { return static_cast<int>(std::max<int64_t>(1, (drain_deadline - clock->NowNanos()) / 1'000'000)); };
  std::thread flusher([&] {
    for (Peer& p : peers) {
      if (clock->NowNanos() >= drain_deadline) break;
      Status st = p.submitter->Flush(ms_left());
      if (!st.ok()) spdlog::info("flush: {}", st.ToString());
    }
  });
  while (!tracker.Settled() && clock->NowNanos() < drain_deadline &&
         !(external_stop != nullptr && external_stop->load())) {
    tick();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (Peer& p : peers) {
    const int left = p.submitter->Abandon(kPurgePollMs);
    if (left > 0) spdlog::warn("{} transactions still unresolved after abandoning them", left);
  }
  flusher.join();  // returns once abandoning emptied the queues
  if (listener) listener->Stop();
  peers.clear();  // closes the submitters without waiting
  report->drain_seconds = static_cast<double>(clock->NowNanos() - drain_start) / 1e9;
  report->stopped_early = external_stop != nullptr && external_stop->load();
  tracker.Finish();
  tracker.Fill(report);
  report->batches = BatchesInWindow(batch_samples, report->window_from_unix_ms, report->window_to_unix_ms);
  report->record_bytes = record_bytes.load();
  report->config["deliver_reconnects"] = listener ? listener->reconnects() : 0;
  if (options.rate > 0) report->offered_tps = options.rate;
  DiagnoseRun(report);
  return Status::OK();
}

}  // namespace ordering

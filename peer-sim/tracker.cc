#include "peer-sim/tracker.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "common/envelope.h"

namespace ordering {
namespace {

constexpr int64_t kSecondNs = 1'000'000'000;

double Seconds(int64_t from, int64_t to) { return to > from ? static_cast<double>(to - from) / 1e9 : 0.0; }

}  // namespace

Tracker::Tracker(const Clock* clock, const Config& config)
    : clock_(clock), c_(config), detector_(config.steady), states_(config.peers), cursor_(config.peers, 0) {
  peers_running_ = config.peers;
}

void Tracker::Reserve(uint32_t peer, uint64_t n) {
  MutexLock lock(&mu_);
  states_[peer].reserve(n);
  ids_.reserve(ids_.size() + n);
}

void Tracker::Start(int64_t start_ns) {
  MutexLock lock(&mu_);
  start_ns_ = start_ns;
  wall_offset_ns_ = clock_->WallNanos() - clock_->NowNanos();
  if (c_.warmup_mode == WarmupMode::kFixed) EndWarmup(start_ns + c_.warmup_ns, false);
}

bool Tracker::AcquireSlot(const std::atomic<bool>& stop) {
  MutexLock lock(&mu_);
  while (in_flight_ >= c_.max_in_flight) {
    if (stop.load()) return false;
    slot_cv_.wait_for(lock.native(), std::chrono::milliseconds(50));
  }
  return true;
}

void Tracker::OnSubmit(TxRef ref, std::string_view tx_id, int64_t due_ns) {
  MutexLock lock(&mu_);
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

void Tracker::OnSubmitted(int64_t sent_ns, int64_t own_ns, int64_t held_ns) {
  MutexLock lock(&mu_);
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

void Tracker::OnDeliveryReport(TxRef ref, SubmitOutcome outcome) {
  MutexLock lock(&mu_);
  const int64_t now = clock_->NowNanos();
  TxState& s = states_[ref.peer][ref.index];
  switch (outcome) {
    case SubmitOutcome::kAccepted:
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
    case SubmitOutcome::kFailed:
      ++failed_;
      if (c_.metrics) c_.metrics->failed.fetch_add(1, std::memory_order_relaxed);
      s.failed = true;
      ++BinAt(now).failed;
      MarkDone(&s);
      break;
    case SubmitOutcome::kUnanswered:
      ++unanswered_;
      MarkDone(&s);  // no answer will come: never_acked, unless it is delivered
      break;
    case SubmitOutcome::kAbandoned:
      MarkDone(&s);  // neither acknowledged nor failed: counted as never_acked
      break;
  }
}

void Tracker::OnBlock(const Block& block) {
  DecodedTx tx;
  MutexLock lock(&mu_);
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
    if (!DecodeTx(raw, &tx).ok()) continue;  // not a transaction: not ours
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

void Tracker::OnPoolExhausted() {
  MutexLock lock(&mu_);
  pool_exhausted_ = true;
}

void Tracker::OnPeerStopped(bool at_deadline) {
  MutexLock lock(&mu_);
  const int64_t now = clock_->NowNanos();
  stopped_before_deadline_ |= !at_deadline;
  if (--peers_running_ > 0) return;
  submit_ended_ = true;
  submit_end_ns_ = now;
  if (stopped_before_deadline_ || c_.duration_ns == 0) window_end_ = std::min(window_end_, now);
}

bool Tracker::Settled() const {
  MutexLock lock(&mu_);
  return in_flight_ == 0;
}

void Tracker::Tick() {
  MutexLock lock(&mu_);
  const int64_t now = clock_->NowNanos();
  while (start_ns_ + (next_second_ + 1) * kSecondNs <= now) CloseSecond(now);
}

void Tracker::Finish() {
  MutexLock lock(&mu_);
  const int64_t now = clock_->NowNanos();
  while (start_ns_ + next_second_ * kSecondNs < now) CloseSecond(now);
}

LoadProgress Tracker::Progress() {
  MutexLock lock(&mu_);
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

void Tracker::Fill(LoadReport* r) {
  MutexLock lock(&mu_);
  const int64_t now = clock_->NowNanos();
  r->submitted = submitted_;
  r->acked = acked_;
  r->failed = failed_;
  r->unanswered = unanswered_;
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
    auto window = [&](int64_t last_completion) REQUIRES(mu_) {
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
      r->generator_load =
          static_cast<double>(m_own_ns_) / 1e9 * c_.rate / (static_cast<double>(m_sent_window_) * n_peers);
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
      submitted_ > 0 ? static_cast<double>(submitted_ - std::min(done, submitted_)) / static_cast<double>(submitted_)
                     : 0;
  r->e2e = Summarize(m_e2e_);
  r->ack = Summarize(m_ack_);
  r->series = series_;
  r->block_unix_ms = block_unix_ms_;
}

int64_t Tracker::SecondOf(int64_t ns) const { return std::max<int64_t>(0, (ns - start_ns_) / kSecondNs); }

// An event in a second already closed (a late report) goes to the first open one.
Tracker::Bin& Tracker::BinAt(int64_t ns) { return bins_[std::max(SecondOf(ns), next_second_)]; }

bool Tracker::InCompletionWindow(int64_t now) const {
  if (!open_known_ || now < open_ns_) return false;
  if (c_.duration_ns == 0) return true;  // count-limited: up to the last completion
  return now < window_end_;
}

void Tracker::RecordLatency(bool e2e, int64_t due_ns, int64_t now) {
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

void Tracker::MarkDone(TxState* s) {
  if (s->done) return;
  s->done = true;
  if (in_flight_ > 0) --in_flight_;
  slot_cv_.notify_one();
}

// Due times ascend along each peer's sequence, so each peer's oldest is its
// first not done; cursor_ remembers where that was.
double Tracker::OldestAgeMs(int64_t now) {
  int64_t oldest = kNever;
  for (size_t p = 0; p < states_.size(); ++p) {
    const std::vector<TxState>& peer = states_[p];
    uint64_t& c = cursor_[p];
    while (c < peer.size() && peer[c].done) ++c;
    if (c < peer.size()) oldest = std::min(oldest, peer[c].due_ns);
  }
  return oldest == kNever ? 0.0 : static_cast<double>(std::max<int64_t>(0, now - oldest)) / 1e6;
}

void Tracker::EndWarmup(int64_t open_ns, bool steady) {
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

void Tracker::CloseSecond(int64_t now) {
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
  // window_end_ is kNever while the window's end is unknown: no cool-down or
  // drain yet (and kNever + cooldown would overflow).
  const bool window_ended = window_end_ != kNever;
  point.phase = window_ended && s_start >= window_end_ + c_.cooldown_ns ? "drain"
                : window_ended && s_start >= window_end_                ? "cooldown"
                : (!open_known_ || s_start < open_ns_)                  ? "warmup"
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

}  // namespace ordering

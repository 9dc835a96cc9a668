// Rate-limited logging for events that a fault or an outsider can repeat at
// will (a forged record in a topic anyone may write, a flapping connection):
// the first occurrence is logged in full, later ones are counted, and one
// summary line reports the count at most once per interval. After a quiet
// interval the next occurrence is logged in full again.
//
//   LogLimiter limit(std::chrono::seconds(60));
//   LogLimiter::Verdict v = limit.Hit(clock->NowNanos());
//   if (v.full) spdlog::warn("... (repeats are counted, summed up at most every 60 s)");
//   else if (v.summary) spdlog::warn("... {} more in the last {:.1f} s", v.count, v.window_seconds);
//   // and, from a loop that runs anyway, the summary of a burst that ended:
//   if (LogLimiter::Verdict s = limit.Flush(now); s.summary) spdlog::warn(...);
//
// Thread-safe; times are any monotonic nanoseconds (Clock::NowNanos()).
#pragma once

#include <chrono>
#include <cstdint>

#include "common/mutex.h"

namespace ordering {

class LogLimiter {
 public:
  explicit LogLimiter(std::chrono::nanoseconds interval) : interval_(interval.count()) {}

  struct Verdict {
    bool full = false;          // log this occurrence in full
    bool summary = false;       // log a summary line instead
    uint64_t count = 0;         // summary: occurrences it sums up (this one included, for Hit)
    double window_seconds = 0;  // summary: since the last line
    bool log() const { return full || summary; }
  };

  // One occurrence at `now`.
  Verdict Hit(int64_t now) {
    MutexLock l(&mu_);
    ++total_;
    const bool due = !logged_ || now - last_line_ >= interval_;
    if (due && pending_ == 0) {  // the first, or the first after a quiet interval
      logged_ = true;
      last_line_ = now;
      return Verdict{true, false, 1, 0};
    }
    ++pending_;
    if (!due) return Verdict{};
    return TakeLocked(now);
  }

  // The summary of occurrences counted and not yet reported, once the
  // interval has passed since the last line (a burst that ended); nothing
  // to log otherwise.
  Verdict Flush(int64_t now) {
    MutexLock l(&mu_);
    if (pending_ == 0 || now - last_line_ < interval_) return Verdict{};
    return TakeLocked(now);
  }

  // Occurrences counted and not reported yet (for a final line at the end).
  uint64_t pending() const {
    MutexLock l(&mu_);
    return pending_;
  }
  // Every occurrence so far.
  uint64_t total() const {
    MutexLock l(&mu_);
    return total_;
  }
  double interval_seconds() const { return static_cast<double>(interval_) / 1e9; }

 private:
  Verdict TakeLocked(int64_t now) REQUIRES(mu_) {
    Verdict v{false, true, pending_, static_cast<double>(now - last_line_) / 1e9};
    pending_ = 0;
    last_line_ = now;
    return v;
  }

  const int64_t interval_;
  mutable Mutex mu_;
  bool logged_ GUARDED_BY(mu_) = false;
  int64_t last_line_ GUARDED_BY(mu_) = 0;
  uint64_t pending_ GUARDED_BY(mu_) = 0;
  uint64_t total_ GUARDED_BY(mu_) = 0;
};

}  // namespace ordering

// Injected clock: code that waits or times (batch timeouts, latency) takes a
// Clock so tests can drive time by hand.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

#include "common/mutex.h"

namespace ordering {

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic nanoseconds; only differences are meaningful. Thread-safe.
  virtual int64_t NowNanos() const = 0;
  // Wall clock, nanoseconds since the Unix epoch. Thread-safe.
  virtual int64_t WallNanos() const = 0;
  // The timer of every wait that must follow this clock: waits on `cv` (the
  // caller holds `lock`, its mutex) until `pred()` holds or NowNanos()
  // reaches `deadline_nanos`. Returns pred(). Thread-safe.
  virtual bool WaitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv, int64_t deadline_nanos,
                         const std::function<bool()>& pred) const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t NowNanos() const override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  int64_t WallNanos() const override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  bool WaitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv, int64_t deadline_nanos,
                 const std::function<bool()>& pred) const override {
    // NowNanos() is steady_clock's count, so the deadline maps back exactly.
    const std::chrono::steady_clock::time_point deadline{
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::nanoseconds(deadline_nanos))};
    return cv.wait_until(lock, deadline, pred);
  }
  // A process-wide instance; lives forever.
  static SystemClock* Default() {
    static SystemClock clock;
    return &clock;
  }
};

// A clock that only moves when told to. Advance() wakes every WaitUntil()
// in progress so it can see the new time; waiters also look again every
// millisecond of real time, so a wake-up lost to a race costs at most that.
// Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_nanos = 1'000'000'000) : now_(start_nanos) {}
  int64_t NowNanos() const override { return now_.load(); }
  int64_t WallNanos() const override { return now_.load(); }
  void Advance(std::chrono::nanoseconds d) {
    now_ += d.count();
    generation_++;
    MutexLock l(&waiters_mu_);
    for (std::condition_variable* cv : waiters_) cv->notify_all();
  }
  bool WaitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv, int64_t deadline_nanos,
                 const std::function<bool()>& pred) const override {
    Register(&cv, true);
    bool result = false;
    for (;;) {
      if (pred()) {
        result = true;
        break;
      }
      if (NowNanos() >= deadline_nanos) break;
      cv.wait_for(lock, std::chrono::milliseconds(1));
    }
    Register(&cv, false);
    return result;
  }
  // How many times Advance() was called (tests wait on it to sequence steps).
  uint64_t generation() const { return generation_.load(); }

 private:
  void Register(std::condition_variable* cv, bool add) const {
    MutexLock l(&waiters_mu_);
    if (add) {
      waiters_.push_back(cv);
    } else {
      auto it = std::find(waiters_.begin(), waiters_.end(), cv);
      if (it != waiters_.end()) waiters_.erase(it);
    }
  }
  std::atomic<int64_t> now_;
  std::atomic<uint64_t> generation_{0};
  mutable Mutex waiters_mu_;
  mutable std::vector<std::condition_variable*> waiters_ GUARDED_BY(waiters_mu_);
};

}  // namespace ordering

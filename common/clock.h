// Injected clock: code that waits or times (batch timeouts, latency) takes a
// Clock so tests can drive time by hand.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace ordering {

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic nanoseconds; only differences are meaningful. Thread-safe.
  virtual int64_t NowNanos() const = 0;
  // Wall clock, nanoseconds since the Unix epoch. Thread-safe.
  virtual int64_t WallNanos() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t NowNanos() const override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  int64_t WallNanos() const override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  // A process-wide instance; lives forever.
  static SystemClock* Default() {
    static SystemClock clock;
    return &clock;
  }
};

// A clock that only moves when told to. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_nanos = 1'000'000'000) : now_(start_nanos) {}
  int64_t NowNanos() const override { return now_.load(); }
  int64_t WallNanos() const override { return now_.load(); }
  void Advance(std::chrono::nanoseconds d) { now_ += d.count(); }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace ordering

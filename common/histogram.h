// A fixed-bucket histogram of durations that hot paths can write without a
// lock (prometheus-cpp's Histogram::Observe takes a mutex): one relaxed
// atomic add per observation into its bucket, one into the sum. Read as a
// cumulative snapshot for Prometheus exposition.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace ordering {

class AtomicHistogram {
 public:
  // Upper bounds in seconds, strictly increasing; +Inf is implied.
  explicit AtomicHistogram(std::vector<double> upper_bounds_seconds)
      : bounds_(std::move(upper_bounds_seconds)),
        bounds_ns_(bounds_.size()),
        counts_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {
    for (size_t i = 0; i < bounds_.size(); ++i) bounds_ns_[i] = static_cast<int64_t>(bounds_[i] * 1e9);
    for (size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
  }

  // `count` bounds: start, start*factor, ...
  static std::vector<double> Exponential(double start, double factor, size_t count) {
    std::vector<double> b;
    double v = start;
    for (size_t i = 0; i < count; ++i, v *= factor) b.push_back(v);
    return b;
  }

  void ObserveNanos(int64_t nanos) {
    if (nanos < 0) nanos = 0;
    size_t i = 0;
    while (i < bounds_ns_.size() && nanos > bounds_ns_[i]) ++i;
    counts_[i].fetch_add(1, std::memory_order_relaxed);
    sum_ns_.fetch_add(static_cast<uint64_t>(nanos), std::memory_order_relaxed);
  }

  struct Snapshot {
    std::vector<double> upper_bounds;  // seconds, without +Inf
    std::vector<uint64_t> cumulative;  // one per bound, then +Inf (= count)
    uint64_t count = 0;
    double sum_seconds = 0;
  };
  // Not atomic across buckets: a scrape racing an observation may see it in
  // the sum and not yet in a bucket, as with any lock-free exporter.
  Snapshot Read() const {
    Snapshot s;
    s.upper_bounds = bounds_;
    uint64_t running = 0;
    for (size_t i = 0; i <= bounds_.size(); ++i) {
      running += counts_[i].load(std::memory_order_relaxed);
      s.cumulative.push_back(running);
    }
    s.count = running;
    s.sum_seconds = static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9;
    return s;
  }

 private:
  std::vector<double> bounds_;
  std::vector<int64_t> bounds_ns_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<uint64_t> sum_ns_{0};
};

}  // namespace ordering

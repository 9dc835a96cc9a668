// SteadyDetector: decides whether a run has warmed up, from per-second
// completions. Pure: no clock, no threads; the caller feeds one second at a
// time, in order.
//
// After each second it compares the two most recent adjacent windows of
// `window_seconds` seconds each (the latest one ends with that second):
//
//   seconds fed so far        | previous window           | verdict
//   --------------------------+---------------------------+-----------------------------
//   < 2 * window_seconds      | -                         | not steady (too early)
//   >= 2 * window_seconds     | nothing completed in it   | not steady (no reference)
//   >= 2 * window_seconds     | rate r > 0, p50 p > 0     | steady iff the latest window's
//                             |                           | rate is within tolerance * r of r
//                             |                           | AND its p50 within tolerance * p of p
//
// (within: |latest - previous| <= tolerance * previous, inclusive). Rate is
// completions / window_seconds; p50 is the nearest-rank median of the
// window's merged latencies (see LatencyHistogram). Thread-compatible.
#pragma once

#include <cstdint>
#include <deque>

#include "peer-sim/latency.h"

namespace ordering {

struct SteadyOptions {
  int window_seconds = 5;   // Default: 5. REQUIRES: >= 1
  double tolerance = 0.05;  // Default: 0.05 (5%). REQUIRES: > 0
};

class SteadyDetector {
 public:
  explicit SteadyDetector(const SteadyOptions& options) : options_(options) {}

  // Feeds the next second: `completed` transactions finished in it, with
  // `latencies` (nanoseconds). Returns the verdict after this second, as in
  // the table above.
  bool AddSecond(uint64_t completed, const LatencyHistogram& latencies);

  // Seconds fed so far.
  int64_t seconds() const { return seconds_; }

 private:
  struct Second {
    uint64_t completed = 0;
    LatencyHistogram latencies;
  };
  SteadyOptions options_;
  std::deque<Second> recent_;  // the last 2 * window_seconds seconds, oldest first
  int64_t seconds_ = 0;
};

}  // namespace ordering

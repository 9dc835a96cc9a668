// Latency recording: an HDR-style log-linear histogram and the summary the
// report prints (percentiles by nearest rank).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

namespace ordering {

// Nearest rank of quantile q (in [0, 1]) among n values: ceil(q * n),
// clamped to [1, n]. A value a rounding error above a whole number (0.07 *
// 100 = 7.000000000000001) counts as that number. REQUIRES: n > 0.
uint64_t NearestRank(double q, uint64_t n);

// A log-linear histogram in the manner of HdrHistogram, for nanosecond
// values. Values below 128 are kept exactly; above, every power of two
// [2^e, 2^(e+1)) is split into 128 equal buckets, so a bucket is at most
// 1/128 of its lowest value wide. A percentile reports the midpoint of the
// bucket that holds the nearest-rank value, clamped to [min, max] (the
// first and last ranks report min and max exactly): it is within 1/256
// (0.4%) of the exact nearest-rank percentile of the recorded values. The count, sum (hence mean), min and max are
// exact (the sum while it stays below 2^63 ns, 292 years).
//
// Memory: 8 bytes per bucket up to the largest value seen (about 4,000
// buckets, 32 KB, for values up to 100 s). Thread-compatible.
class LatencyHistogram {
 public:
  // Records one value; a negative value (a clock step) is recorded as 0.
  void Record(int64_t value_ns);
  // Adds every value of `other`, as if each had been recorded here.
  void Merge(const LatencyHistogram& other);
  void Clear();

  uint64_t count() const { return count_; }
  int64_t sum() const { return sum_; }
  double mean() const { return count_ == 0 ? 0 : static_cast<double>(sum_) / static_cast<double>(count_); }
  int64_t min() const { return count_ == 0 ? 0 : min_; }  // 0 when empty
  int64_t max() const { return count_ == 0 ? 0 : max_; }  // 0 when empty
  // Nearest-rank percentile (q in [0, 1]) as described above; 0 when empty.
  int64_t Percentile(double q) const;

  // Bucket geometry, exposed for tests.
  static size_t BucketOf(int64_t value);
  static int64_t BucketLowest(size_t bucket);
  static int64_t BucketWidth(size_t bucket);

 private:
  std::vector<uint64_t> counts_;  // grows to the highest bucket recorded
  uint64_t count_ = 0;
  int64_t sum_ = 0;
  int64_t min_ = 0, max_ = 0;
};

struct LatencySummary {
  uint64_t count = 0;
  double mean_ms = 0, p50_ms = 0, p90_ms = 0, p95_ms = 0, p99_ms = 0, p999_ms = 0, max_ms = 0;
  // The distribution as (quantile, ms) points: the minimum at 0, every
  // percent, then the tail (99.1 .. 99.9, 99.99) and the maximum at 1;
  // enough for a CDF plot. Empty when there are no values.
  std::vector<std::pair<double, double>> cdf;
};

// The quantiles LatencySummary::cdf holds after its first (0) point,
// ascending, ending at 1.
std::vector<double> CdfQuantiles();

// Summarizes a histogram of nanosecond values in milliseconds: mean, min and
// max exact; percentiles within 0.4% (see LatencyHistogram).
LatencySummary Summarize(const LatencyHistogram& histogram);

nlohmann::json ToJson(const LatencySummary& s);

}  // namespace ordering

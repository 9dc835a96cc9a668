#include "peer-sim/latency.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace ordering {
namespace {

constexpr int kSubBucketBits = 7;  // 128 buckets per power of two
constexpr int64_t kSubBuckets = int64_t{1} << kSubBucketBits;

}  // namespace

uint64_t NearestRank(double q, uint64_t n) {
  const double exact = q * static_cast<double>(n);
  double rank = std::ceil(exact);
  // ceil() of a product that rounding pushed just above a whole number.
  if (rank - exact > 1 - 1e-9 * std::max(1.0, exact)) rank -= 1;
  return std::clamp<uint64_t>(rank < 1 ? 1 : static_cast<uint64_t>(rank), 1, n);
}

size_t LatencyHistogram::BucketOf(int64_t value) {
  if (value < kSubBuckets) return static_cast<size_t>(std::max<int64_t>(value, 0));
  const int e = std::bit_width(static_cast<uint64_t>(value)) - 1;  // >= kSubBucketBits
  const int shift = e - kSubBucketBits;
  return static_cast<size_t>(((e - kSubBucketBits + 1) << kSubBucketBits) + ((value >> shift) - kSubBuckets));
}

int64_t LatencyHistogram::BucketLowest(size_t bucket) {
  if (bucket < static_cast<size_t>(kSubBuckets)) return static_cast<int64_t>(bucket);
  const int shift = static_cast<int>(bucket >> kSubBucketBits) - 1;
  return (kSubBuckets + static_cast<int64_t>(bucket & (kSubBuckets - 1))) << shift;
}

int64_t LatencyHistogram::BucketWidth(size_t bucket) {
  if (bucket < static_cast<size_t>(kSubBuckets)) return 1;
  return int64_t{1} << (static_cast<int>(bucket >> kSubBucketBits) - 1);
}

void LatencyHistogram::Record(int64_t value_ns) {
  const int64_t v = std::max<int64_t>(value_ns, 0);
  const size_t b = BucketOf(v);
  if (b >= counts_.size()) counts_.resize(b + 1, 0);
  ++counts_[b];
  if (count_ == 0 || v < min_) min_ = v;
  if (count_ == 0 || v > max_) max_ = v;
  ++count_;
  sum_ += v;
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  if (other.count_ == 0) return;
  if (other.counts_.size() > counts_.size()) counts_.resize(other.counts_.size(), 0);
  for (size_t i = 0; i < other.counts_.size(); ++i) counts_[i] += other.counts_[i];
  min_ = count_ == 0 ? other.min_ : std::min(min_, other.min_);
  max_ = count_ == 0 ? other.max_ : std::max(max_, other.max_);
  count_ += other.count_;
  sum_ += other.sum_;
}

void LatencyHistogram::Clear() { *this = LatencyHistogram(); }

int64_t LatencyHistogram::Percentile(double q) const {
  if (count_ == 0) return 0;
  const uint64_t rank = NearestRank(q, count_);
  if (rank == count_) return max_;  // known exactly
  if (rank == 1) return min_;
  uint64_t seen = 0;
  for (size_t b = 0; b < counts_.size(); ++b) {
    seen += counts_[b];
    if (seen >= rank) {
      const int64_t mid = BucketLowest(b) + (BucketWidth(b) - 1) / 2;
      return std::clamp(mid, min_, max_);
    }
  }
  return max_;  // not reached: the counts add up to count_
}

std::vector<double> CdfQuantiles() {
  std::vector<double> q;
  for (int i = 1; i <= 99; ++i) q.push_back(i / 100.0);
  for (int i = 991; i <= 999; ++i) q.push_back(i / 1000.0);
  q.push_back(0.9999);
  q.push_back(1.0);
  return q;
}

LatencySummary Summarize(const LatencyHistogram& h) {
  LatencySummary s;
  if (h.count() == 0) return s;
  constexpr double kMs = 1e6;
  auto ms = [&](int64_t ns) { return static_cast<double>(ns) / kMs; };
  s.count = h.count();
  s.mean_ms = h.mean() / kMs;
  s.p50_ms = ms(h.Percentile(0.50));
  s.p90_ms = ms(h.Percentile(0.90));
  s.p95_ms = ms(h.Percentile(0.95));
  s.p99_ms = ms(h.Percentile(0.99));
  s.p999_ms = ms(h.Percentile(0.999));
  s.max_ms = ms(h.max());
  s.cdf.push_back({0.0, ms(h.min())});
  for (double q : CdfQuantiles()) s.cdf.push_back({q, ms(h.Percentile(q))});
  return s;
}

nlohmann::json ToJson(const LatencySummary& s) {
  return {{"count", s.count}, {"mean", s.mean_ms}, {"p50", s.p50_ms}, {"p90", s.p90_ms}, {"p95", s.p95_ms},
          {"p99", s.p99_ms},  {"p999", s.p999_ms}, {"max", s.max_ms}, {"cdf", s.cdf}};
}

}  // namespace ordering

#include "peer-sim/latency.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

namespace ordering {
namespace {

// The exact nearest-rank percentile of `values`, the reference the
// histogram is held to.
int64_t ExactPercentile(std::vector<int64_t> values, double q) {
  std::sort(values.begin(), values.end());
  return values[NearestRank(q, values.size()) - 1];
}

std::vector<double> QuantilesToCheck() {
  std::vector<double> q = CdfQuantiles();
  q.insert(q.begin(), {0.0, 0.001, 0.25});
  return q;
}

void ExpectEveryPercentileWithinOnePercent(const std::vector<int64_t>& values, const char* name) {
  LatencyHistogram h;
  for (int64_t v : values) h.Record(v);
  for (double q : QuantilesToCheck()) {
    const double exact = static_cast<double>(ExactPercentile(values, q));
    const double got = static_cast<double>(h.Percentile(q));
    EXPECT_LE(std::abs(got - exact), 0.01 * exact) << name << " q=" << q << " exact " << exact << " got " << got;
  }
  EXPECT_EQ(h.count(), values.size()) << name;
  EXPECT_EQ(h.min(), *std::min_element(values.begin(), values.end())) << name;
  EXPECT_EQ(h.max(), *std::max_element(values.begin(), values.end())) << name;
  int64_t sum = 0;
  for (int64_t v : values) sum += v;
  EXPECT_EQ(h.sum(), sum) << name;
  EXPECT_DOUBLE_EQ(h.mean(), static_cast<double>(sum) / static_cast<double>(values.size())) << name;
}

TEST(NearestRank, RoundsUpButNotOnRoundingNoise) {
  EXPECT_EQ(NearestRank(0.5, 100), 50u);
  EXPECT_EQ(NearestRank(0.07, 100), 7u);  // 0.07 * 100 = 7.000000000000001
  EXPECT_EQ(NearestRank(0.29, 100), 29u);
  EXPECT_EQ(NearestRank(0.5, 3), 2u);
  EXPECT_EQ(NearestRank(0.0, 10), 1u);
  EXPECT_EQ(NearestRank(1.0, 10), 10u);
  EXPECT_EQ(NearestRank(0.999, 100), 100u);
}

TEST(LatencyHistogram, BucketsTileTheRangeAndAreNarrow) {
  size_t bucket = 0;
  int64_t next = 0;
  for (; bucket < 128 * 40; ++bucket) {
    ASSERT_EQ(LatencyHistogram::BucketLowest(bucket), next) << bucket;  // no gap, no overlap
    const int64_t width = LatencyHistogram::BucketWidth(bucket);
    EXPECT_EQ(LatencyHistogram::BucketOf(next), bucket);
    EXPECT_EQ(LatencyHistogram::BucketOf(next + width - 1), bucket);
    if (next >= 128) {
      EXPECT_LE(width * 128, next) << bucket;
    }
    next += width;
  }
  EXPECT_LT(LatencyHistogram::BucketOf(INT64_MAX), 128u * 57);
}

TEST(LatencyHistogram, UniformPercentilesWithinOnePercent) {
  std::mt19937_64 rng(1);
  std::uniform_int_distribution<int64_t> d(1'000'000, 50'000'000);  // 1-50 ms
  std::vector<int64_t> v(20000);
  for (auto& x : v) x = d(rng);
  ExpectEveryPercentileWithinOnePercent(v, "uniform");
}

TEST(LatencyHistogram, LongTailedLogNormalPercentilesWithinOnePercent) {
  std::mt19937_64 rng(2);
  std::lognormal_distribution<double> d(std::log(5e6), 1.5);  // median 5 ms, tail to seconds
  std::vector<int64_t> v(50000);
  for (auto& x : v) x = static_cast<int64_t>(d(rng));
  ExpectEveryPercentileWithinOnePercent(v, "log-normal");
  EXPECT_GT(*std::max_element(v.begin(), v.end()), 500'000'000);  // the tail reaches past 0.5 s
}

TEST(LatencyHistogram, ConstantIsReportedExactly) {
  std::vector<int64_t> v(1000, 123'456'789);
  ExpectEveryPercentileWithinOnePercent(v, "constant");
  LatencyHistogram h;
  for (int64_t x : v) h.Record(x);
  EXPECT_EQ(h.Percentile(0.5), 123'456'789);  // clamped to [min, max]
}

TEST(LatencyHistogram, SmallValuesAreExact) {
  LatencyHistogram h;
  for (int64_t i = 0; i < 100; ++i) h.Record(i);
  EXPECT_EQ(h.Percentile(0.5), 49);
  EXPECT_EQ(h.Percentile(0.9), 89);
  h.Record(-5);  // a clock step counts as 0
  EXPECT_EQ(h.min(), 0);
}

TEST(LatencyHistogram, MergeEqualsRecordingIntoOne) {
  std::mt19937_64 rng(3);
  std::lognormal_distribution<double> d(std::log(2e6), 1.0);
  LatencyHistogram one, a, b, merged;
  for (int i = 0; i < 30000; ++i) {
    const int64_t x = static_cast<int64_t>(d(rng)) + (i % 3 == 0 ? 400'000'000 : 0);
    one.Record(x);
    (i % 3 == 0 ? a : b).Record(x);
  }
  merged.Merge(a);
  merged.Merge(b);
  merged.Merge(LatencyHistogram());
  EXPECT_EQ(merged.count(), one.count());
  EXPECT_EQ(merged.sum(), one.sum());
  EXPECT_EQ(merged.min(), one.min());
  EXPECT_EQ(merged.max(), one.max());
  for (double q : QuantilesToCheck()) EXPECT_EQ(merged.Percentile(q), one.Percentile(q)) << q;
}

TEST(Latency, SummaryInMillisecondsWithExactMeanAndMax) {
  LatencyHistogram h;
  for (int i = 100; i >= 1; --i) h.Record(i * 1'000'000LL);  // 1..100 ms
  LatencySummary s = Summarize(h);
  EXPECT_EQ(s.count, 100u);
  EXPECT_NEAR(s.p50_ms, 50, 0.5);
  EXPECT_NEAR(s.p90_ms, 90, 0.9);
  EXPECT_NEAR(s.p95_ms, 95, 0.95);
  EXPECT_NEAR(s.p99_ms, 99, 0.99);
  EXPECT_DOUBLE_EQ(s.p999_ms, 100);
  EXPECT_DOUBLE_EQ(s.max_ms, 100);
  EXPECT_DOUBLE_EQ(s.mean_ms, 50.5);
}

TEST(Latency, CdfRunsFromMinimumToMaximumInOrder) {
  LatencyHistogram h;
  for (int i = 1000; i >= 1; --i) h.Record(i * 1'000'000LL);  // 1..1000 ms
  LatencySummary s = Summarize(h);
  ASSERT_EQ(s.cdf.size(), CdfQuantiles().size() + 1);
  EXPECT_EQ(s.cdf.front(), std::make_pair(0.0, 1.0));
  EXPECT_EQ(s.cdf.back(), std::make_pair(1.0, 1000.0));
  for (size_t i = 1; i < s.cdf.size(); ++i) {
    EXPECT_LT(s.cdf[i - 1].first, s.cdf[i].first);
    EXPECT_LE(s.cdf[i - 1].second, s.cdf[i].second);
  }
  // The 50th point is p50 by the same nearest rank as the summary.
  EXPECT_DOUBLE_EQ(s.cdf[50].first, 0.5);
  EXPECT_DOUBLE_EQ(s.cdf[50].second, s.p50_ms);
  nlohmann::json j = ToJson(s);
  ASSERT_TRUE(j["cdf"].is_array());
  EXPECT_DOUBLE_EQ(j["cdf"][99][1].get<double>(), s.p99_ms);
  EXPECT_TRUE(Summarize(LatencyHistogram()).cdf.empty());
}

TEST(Latency, SingleAndEmpty) {
  LatencyHistogram one;
  one.Record(7'000'000);
  LatencySummary s = Summarize(one);
  EXPECT_DOUBLE_EQ(s.p50_ms, 7);
  EXPECT_DOUBLE_EQ(s.p99_ms, 7);
  EXPECT_EQ(Summarize(LatencyHistogram()).count, 0u);
  EXPECT_EQ(LatencyHistogram().Percentile(0.5), 0);
}

}  // namespace
}  // namespace ordering

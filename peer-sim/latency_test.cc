#include "peer-sim/latency.h"

#include <gtest/gtest.h>

#include "peer-sim/load.h"

namespace ordering {
namespace {

TEST(Latency, NearestRankPercentiles) {
  std::vector<int64_t> v;
  for (int i = 100; i >= 1; --i) v.push_back(i * 1'000'000LL);  // 1..100 ms, unsorted
  LatencySummary s = Summarize(&v);
  EXPECT_EQ(s.count, 100u);
  EXPECT_DOUBLE_EQ(s.p50_ms, 50);
  EXPECT_DOUBLE_EQ(s.p90_ms, 90);
  EXPECT_DOUBLE_EQ(s.p95_ms, 95);
  EXPECT_DOUBLE_EQ(s.p99_ms, 99);
  EXPECT_DOUBLE_EQ(s.p999_ms, 100);
  EXPECT_DOUBLE_EQ(s.max_ms, 100);
  EXPECT_DOUBLE_EQ(s.mean_ms, 50.5);
}

TEST(Latency, CdfRunsFromMinimumToMaximumInOrder) {
  std::vector<int64_t> v;
  for (int i = 1000; i >= 1; --i) v.push_back(i * 1'000'000LL);  // 1..1000 ms
  LatencySummary s = Summarize(&v);
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
  std::vector<int64_t> none;
  EXPECT_TRUE(Summarize(&none).cdf.empty());
}

TEST(Latency, SingleAndEmpty) {
  std::vector<int64_t> one = {7'000'000};
  LatencySummary s = Summarize(&one);
  EXPECT_DOUBLE_EQ(s.p50_ms, 7);
  EXPECT_DOUBLE_EQ(s.p99_ms, 7);
  std::vector<int64_t> none;
  EXPECT_EQ(Summarize(&none).count, 0u);
}

TEST(LoadOptionsCheck, BadOptionsAreRejectedBeforeAnythingStarts) {
  LoadReport r;
  LoadOptions o;
  o.duration_ms = 1000;
  EXPECT_TRUE(RunLoad(o, &r).IsInvalidArgument());  // no brokers
  o.brokers = "127.0.0.1:1";
  EXPECT_TRUE(RunLoad(o, &r).IsInvalidArgument());  // no orderer, not raw
  o.orderer = "127.0.0.1:2";
  o.peers = 0;
  EXPECT_TRUE(RunLoad(o, &r).IsInvalidArgument());
  o.peers = 1;
  o.tx_size = 10;
  EXPECT_TRUE(RunLoad(o, &r).IsInvalidArgument());
  o.tx_size = 1024;
  o.duration_ms = 0;
  EXPECT_TRUE(RunLoad(o, &r).IsInvalidArgument());  // neither count nor duration
}

}  // namespace
}  // namespace ordering

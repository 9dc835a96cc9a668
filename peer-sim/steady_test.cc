#include "peer-sim/steady.h"

#include <gtest/gtest.h>

namespace ordering {
namespace {

LatencyHistogram Constant(int64_t ns, int n) {
  LatencyHistogram h;
  for (int i = 0; i < n; ++i) h.Record(ns);
  return h;
}

TEST(SteadyDetector, TooEarlyBeforeTwoWindows) {
  SteadyDetector d({.window_seconds = 2, .tolerance = 0.05});
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(d.AddSecond(100, Constant(10'000'000, 100))) << i;
  EXPECT_TRUE(d.AddSecond(100, Constant(10'000'000, 100)));  // 4th second: two 2 s windows agree
  EXPECT_EQ(d.seconds(), 4);
}

TEST(SteadyDetector, RampingRateIsNotSteadyUntilItLevelsOff) {
  SteadyDetector d({.window_seconds = 1, .tolerance = 0.05});
  EXPECT_FALSE(d.AddSecond(100, Constant(10'000'000, 100)));
  EXPECT_FALSE(d.AddSecond(200, Constant(10'000'000, 200)));  // rate doubled
  EXPECT_FALSE(d.AddSecond(300, Constant(10'000'000, 300)));
  EXPECT_TRUE(d.AddSecond(310, Constant(10'000'000, 310)));  // +3.3%: within 5%
}

TEST(SteadyDetector, ToleranceIsInclusiveAndAppliesToRateAndMedian) {
  SteadyDetector rate({.window_seconds = 1, .tolerance = 0.10});
  EXPECT_FALSE(rate.AddSecond(100, Constant(10'000'000, 1)));
  EXPECT_TRUE(rate.AddSecond(110, Constant(10'000'000, 1)));   // exactly +10%
  EXPECT_FALSE(rate.AddSecond(122, Constant(10'000'000, 1)));  // +10.9%

  SteadyDetector median({.window_seconds = 1, .tolerance = 0.10});
  EXPECT_FALSE(median.AddSecond(100, Constant(10'000'000, 1)));
  EXPECT_FALSE(median.AddSecond(100, Constant(12'000'000, 1)));  // same rate, p50 +20%
  EXPECT_TRUE(median.AddSecond(100, Constant(12'500'000, 1)));   // p50 +4%
}

TEST(SteadyDetector, NothingCompletedIsNeverSteady) {
  SteadyDetector d({.window_seconds = 1, .tolerance = 0.5});
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(d.AddSecond(0, LatencyHistogram())) << i;
}

TEST(SteadyDetector, WindowsMergeTheirSeconds) {
  // 2 s windows: per-second counts swing by 50% but every window sums to 200.
  SteadyDetector d({.window_seconds = 2, .tolerance = 0.05});
  const uint64_t counts[] = {80, 120, 80, 120, 80, 120};
  const bool expected[] = {false, false, false, true, true, true};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(d.AddSecond(counts[i], Constant(5'000'000, 10)), expected[i]) << i;
}

}  // namespace
}  // namespace ordering

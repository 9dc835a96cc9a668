#include "common/log_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace ordering {
namespace {

constexpr int64_t kSecond = 1'000'000'000;

TEST(LogLimiterTest, TheFirstIsLoggedInFullThenRepeatsAreCountedIntoOneSummaryPerInterval) {
  LogLimiter limit(std::chrono::seconds(10));
  const int64_t t0 = 100 * kSecond;
  LogLimiter::Verdict v = limit.Hit(t0);
  EXPECT_TRUE(v.full);
  EXPECT_FALSE(v.summary);
  // A flood inside the interval: counted, nothing logged.
  for (int i = 1; i <= 1000; ++i) EXPECT_FALSE(limit.Hit(t0 + i * 1'000'000).log());
  EXPECT_EQ(limit.pending(), 1000u);
  // The interval has passed: the next one brings the summary, itself included.
  v = limit.Hit(t0 + 10 * kSecond);
  EXPECT_FALSE(v.full);
  EXPECT_TRUE(v.summary);
  EXPECT_EQ(v.count, 1001u);
  EXPECT_DOUBLE_EQ(v.window_seconds, 10.0);
  EXPECT_EQ(limit.pending(), 0u);
  EXPECT_EQ(limit.total(), 1002u);
  // The flood goes on: a summary at most every interval.
  int lines = 0;
  for (int64_t t = t0 + 10 * kSecond + 1; t < t0 + 60 * kSecond; t += kSecond / 100) lines += limit.Hit(t).log();
  EXPECT_EQ(lines, 4);  // at 20, 30, 40 and 50 s
}

TEST(LogLimiterTest, FlushSumsUpABurstThatEndedOnceTheIntervalHasPassed) {
  LogLimiter limit(std::chrono::seconds(10));
  EXPECT_FALSE(limit.Flush(0).log());  // nothing happened
  EXPECT_TRUE(limit.Hit(0).full);
  EXPECT_FALSE(limit.Hit(kSecond).log());
  EXPECT_FALSE(limit.Hit(2 * kSecond).log());
  EXPECT_FALSE(limit.Flush(9 * kSecond).log());  // too soon
  LogLimiter::Verdict v = limit.Flush(12 * kSecond);
  EXPECT_TRUE(v.summary);
  EXPECT_EQ(v.count, 2u);
  EXPECT_DOUBLE_EQ(v.window_seconds, 12.0);
  EXPECT_FALSE(limit.Flush(30 * kSecond).log());  // reported already
}

TEST(LogLimiterTest, AfterAQuietIntervalTheNextIsLoggedInFullAgain) {
  LogLimiter limit(std::chrono::seconds(10));
  EXPECT_TRUE(limit.Hit(0).full);
  EXPECT_TRUE(limit.Hit(10 * kSecond).full);  // nothing counted in between: a new fault
  EXPECT_FALSE(limit.Hit(11 * kSecond).log());
  EXPECT_TRUE(limit.Hit(25 * kSecond).summary);  // one was counted: summed up, not logged in full
}

TEST(LogLimiterTest, ConcurrentHitsAreEachCountedOnce) {
  LogLimiter limit(std::chrono::hours(1));
  std::vector<std::thread> threads;
  std::atomic<int> full{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) full += limit.Hit(kSecond).full;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(full.load(), 1);
  EXPECT_EQ(limit.total(), 4000u);
  EXPECT_EQ(limit.pending(), 3999u);
}

}  // namespace
}  // namespace ordering

// The tracker's phases on a manual clock: while an auto warm-up is still
// undecided, the seconds are warm-up, whatever the cool-down.
#include "peer-sim/tracker.h"

#include <gtest/gtest.h>

namespace ordering {
namespace {

TEST(TrackerTest, SecondsBeforeAnUndecidedWarmupEndsAreWarmupNotDrain) {
  ManualClock clock;
  Tracker::Config c;
  c.rate = 100;
  c.warmup_mode = WarmupMode::kAuto;
  c.warmup_max_s = 30;
  c.duration_ns = 5'000'000'000;
  c.cooldown_ns = 2'000'000'000;  // the window's end is unknown: end + cool-down must not wrap around
  Tracker t(&clock, c);
  t.Start(clock.NowNanos());
  for (int s = 0; s < 3; ++s) {
    clock.Advance(std::chrono::seconds(1));
    t.Tick();
  }
  EXPECT_EQ(t.deadline(), Tracker::kNever);
  t.Finish();
  LoadReport r;
  t.Fill(&r);
  ASSERT_GE(r.series.size(), 3u);
  for (const SeriesPoint& p : r.series) EXPECT_EQ(p.phase, "warmup") << "second " << p.t;
}

}  // namespace
}  // namespace ordering

// The streams' retry waits: bounded and doubling.
#include "peer-sim/orderer_channel.h"

#include <gtest/gtest.h>

#include <vector>

namespace ordering {
namespace {

TEST(Backoff, DoublesFromTheInitialWaitUpToTheMaximumAndResets) {
  Backoff b(ReconnectOptions{100, 1000});
  std::vector<int64_t> waits;
  for (int i = 0; i < 6; ++i) waits.push_back(b.NextMs());
  EXPECT_EQ(waits, (std::vector<int64_t>{100, 200, 400, 800, 1000, 1000}));
  b.Reset();
  EXPECT_EQ(b.NextMs(), 100);
  Backoff small(ReconnectOptions{100, 50});  // a maximum under the initial wait bounds it too
  EXPECT_EQ(small.NextMs(), 50);
  EXPECT_EQ(small.NextMs(), 50);
}

}  // namespace
}  // namespace ordering

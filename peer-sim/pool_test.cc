// The pre-signed pool's size (PlanPool): what each mode signs before the
// clock, the share of each peer, and the memory limit with its message.
#include "peer-sim/pool.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ordering {
namespace {

uint64_t Sum(const std::vector<uint64_t>& v) {
  uint64_t s = 0;
  for (uint64_t x : v) s += x;
  return s;
}

TEST(PoolPlan, OpenLoopCoversWarmupAndDurationAtTheRate) {
  LoadOptions o;
  o.peers = 3;
  o.rate = 1000;
  o.warmup_ms = 5000;
  o.duration_ms = 10000;
  PoolPlan plan;
  ASSERT_TRUE(PlanPool(o, &plan).ok());
  EXPECT_EQ(plan.total, 15000u + 3);  // one per peer for rounding
  ASSERT_EQ(plan.per_peer.size(), 3u);
  EXPECT_EQ(Sum(plan.per_peer), plan.total);
  EXPECT_EQ(plan.per_peer[0], 5001u);

  o.warmup_mode = WarmupMode::kAuto;  // bounded by warmup_max
  o.warmup_max_ms = 20500;
  ASSERT_TRUE(PlanPool(o, &plan).ok());
  EXPECT_EQ(plan.total, 31000u + 3);  // 21 s (rounded up) + 10 s

  o.count = 700;  // never more than will be sent
  ASSERT_TRUE(PlanPool(o, &plan).ok());
  EXPECT_EQ(plan.total, 700u);
  EXPECT_EQ(plan.per_peer, (std::vector<uint64_t>{234, 233, 233}));
}

TEST(PoolPlan, FlatOutDefaultsToCountOr20000PerSecondCapped) {
  LoadOptions o;
  o.peers = 2;
  o.rate = 0;
  o.warmup_ms = 5000;
  o.duration_ms = 20000;
  PoolPlan plan;
  ASSERT_TRUE(PlanPool(o, &plan).ok());
  EXPECT_EQ(plan.total, 500000u);
  o.duration_ms = 3600 * 1000;
  ASSERT_TRUE(PlanPool(o, &plan).ok());
  EXPECT_EQ(plan.total, 4'000'000u);
  o.count = 1234;
  ASSERT_TRUE(PlanPool(o, &plan).ok());
  EXPECT_EQ(plan.total, 1234u);
  o.count = 0;
  o.pool_size = 999;
  ASSERT_TRUE(PlanPool(o, &plan).ok());
  EXPECT_EQ(plan.per_peer, (std::vector<uint64_t>{500, 499}));
  o.pool_size = 0;
  o.sign_inline = true;
  ASSERT_TRUE(PlanPool(o, &plan).ok());
  EXPECT_TRUE(plan.per_peer.empty());
  EXPECT_EQ(plan.total, 0u);
}

TEST(PoolPlan, APoolOverEightGibIsRefusedNamingTheFlags) {
  LoadOptions o;
  o.rate = 100000;
  o.duration_ms = 3600 * 1000;  // 360 M transactions of 1 KB
  PoolPlan plan;
  Status st = PlanPool(o, &plan);
  ASSERT_TRUE(st.IsInvalidArgument());
  for (const char* flag : {"--pool-size", "--rate", "--duration", "--sign-inline"}) {
    EXPECT_NE(st.message().find(flag), std::string::npos) << flag << ": " << st.ToString();
  }
  o.sign_inline = true;  // no pool: no limit
  EXPECT_TRUE(PlanPool(o, &plan).ok());
  o.sign_inline = false;
  o.rate = 0;
  o.duration_ms = 10000;
  o.pool_size = 4'000'000;  // 4 M of 1 KB: about 5 GiB, accepted
  EXPECT_TRUE(PlanPool(o, &plan).ok());
  o.tx_size = 4096;  // 4 M of 4 KB: refused
  EXPECT_TRUE(PlanPool(o, &plan).IsInvalidArgument());
}

}  // namespace
}  // namespace ordering

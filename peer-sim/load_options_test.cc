// RunLoad's option checks: bad options are refused before anything starts
// (no broker or orderer is contacted).
#include <gtest/gtest.h>

#include "peer-sim/load.h"

namespace ordering {
namespace {

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
  o.duration_ms = 1000;

  LoadOptions bad = o;
  bad.steady_window_ms = 1500;  // not whole seconds
  EXPECT_TRUE(RunLoad(bad, &r).IsInvalidArgument());
  bad = o;
  bad.steady_tolerance = 0;
  EXPECT_TRUE(RunLoad(bad, &r).IsInvalidArgument());
  bad = o;
  bad.warmup_mode = WarmupMode::kAuto;
  bad.warmup_max_ms = 9000;  // under two 5 s windows
  EXPECT_TRUE(RunLoad(bad, &r).IsInvalidArgument());
  bad = o;
  bad.sign_inline = true;
  bad.pool_size = 100;
  EXPECT_TRUE(RunLoad(bad, &r).IsInvalidArgument());
}

}  // namespace
}  // namespace ordering

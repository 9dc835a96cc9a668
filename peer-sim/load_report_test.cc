// Unit tests of the load generator's parts that need no broker.
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
}

}  // namespace
}  // namespace ordering

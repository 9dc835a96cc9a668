// The orderer's counters as the metrics file and the summary show them.
#include "orderer/metrics.h"

#include <gtest/gtest.h>

namespace ordering {
namespace {

TEST(OrdererMetrics, BlockWritesCountTheSlowOnesAgainstEachThreshold) {
  OrdererMetrics m;
  m.blocks_written = 3;
  m.BlockWritten(5'000'000);    // 5 ms
  m.BlockWritten(120'000'000);  // 120 ms
  m.BlockWritten(700'000'000);  // 700 ms: a storage stall
  nlohmann::json j = m.ToJson()["block_write"];
  EXPECT_DOUBLE_EQ(j["max_ms"].get<double>(), 700.0);
  EXPECT_NEAR(j["mean_ms"].get<double>(), 275.0, 1e-9);
  EXPECT_EQ(j["over_ms"]["10"], 2);
  EXPECT_EQ(j["over_ms"]["100"], 2);
  EXPECT_EQ(j["over_ms"]["250"], 1);
  EXPECT_EQ(j["over_ms"]["500"], 1);
  EXPECT_EQ(j["over_ms"]["1000"], 0);
  EXPECT_NE(m.Summary().find("block_write_max_ms=700"), std::string::npos) << m.Summary();
}

TEST(OrdererMetrics, ABackendsOwnCountersAppearUnderConsenter) {
  OrdererMetrics m;
  std::atomic<int64_t>* sent = m.consenter.Add("ttc_sent");
  EXPECT_EQ(m.consenter.Add("ttc_sent"), sent);  // one counter per name
  *sent += 2;
  EXPECT_EQ(m.consenter.Get("ttc_sent"), 2);
  EXPECT_EQ(m.consenter.Get("nope"), 0);
  EXPECT_EQ(m.ToJson()["consenter"]["ttc_sent"], 2);
  EXPECT_NE(m.Summary().find("ttc_sent=2"), std::string::npos) << m.Summary();
}

}  // namespace
}  // namespace ordering

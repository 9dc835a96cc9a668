// The kafka path's batch counters, from librdkafka's statistics JSON.
#include "peer-sim/submitter.h"

#include <gtest/gtest.h>

#include <string>

namespace ordering {
namespace {

TEST(BatchStatistics, AddsOneIntervalsWindowsForTheTopicOnly) {
  const std::string json = R"({"name": "p", "topics": {
      "ch": {"topic": "ch", "batchsize": {"min": 1000, "max": 9000, "avg": 4000, "sum": 16000, "cnt": 4},
             "batchcnt": {"min": 1, "max": 9, "avg": 4, "sum": 16, "cnt": 4}},
      "other": {"batchsize": {"sum": 5, "cnt": 1}, "batchcnt": {"sum": 5, "cnt": 1}}}})";
  BatchCounters c;
  ASSERT_TRUE(AddBatchStatistics(json, "ch", &c));
  EXPECT_EQ(c.batches, 4u);
  EXPECT_EQ(c.records, 16u);
  EXPECT_EQ(c.bytes, 16000u);
  ASSERT_TRUE(AddBatchStatistics(json, "ch", &c));  // the next interval adds to it
  EXPECT_EQ(c.batches, 8u);
  EXPECT_EQ(c.records, 32u);
  // Nothing added from what is not there or not a count.
  for (const std::string& bad : {std::string("{"), std::string("[]"), std::string(R"({"topics": {}})"),
                                 std::string(R"({"topics": {"ch": {"batchcnt": {"sum": 1, "cnt": 1}}}})"),
                                 std::string(R"({"topics": {"ch": {"batchcnt": {"sum": -1, "cnt": 1},
                                                                  "batchsize": {"sum": 1, "cnt": 1}}}})"),
                                 std::string(R"({"topics": {"ch": {"batchcnt": {"sum": "1", "cnt": 1},
                                                                  "batchsize": {"sum": 1, "cnt": 1}}}})")}) {
    EXPECT_FALSE(AddBatchStatistics(bad, "ch", &c)) << bad;
  }
  EXPECT_FALSE(AddBatchStatistics(json, "missing", &c));
  EXPECT_EQ(c.batches, 8u);
  EXPECT_EQ(c.records, 32u);
  EXPECT_EQ(c.bytes, 32000u);
}

}  // namespace
}  // namespace ordering

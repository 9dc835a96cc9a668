// librdkafka's statistics document, parsed once: brokers, topics' batch
// windows, client totals, and what is absent or mistyped.
#include "common/kafka_stats.h"

#include <gtest/gtest.h>

namespace ordering::kafka {
namespace {

TEST(ParseClientStats, BrokersTopicsAndTotals) {
  const char* json = R"({"ts": 123456789, "msg_cnt": 12, "txmsgs": 5000, "rxmsgs": 7,
    "brokers": {"127.0.0.1:9092/bootstrap": {"nodeid": -1, "tx": 3},
                "127.0.0.1:9092/1": {"nodeid": 1, "nodename": "127.0.0.1:9092", "state": "UP",
                                     "stateage": 5000000, "tx": 210, "rx": 209, "txretries": 2,
                                     "rtt": {"cnt": 40, "sum": 80, "p50": 1500, "p99": 12000}},
                "GroupCoordinator": {"tx": 1}},
    "topics": {"ch": {"batchsize": {"cnt": 4, "sum": 16000, "avg": 4000, "p99": 9000},
                      "batchcnt": {"cnt": 4, "sum": 16}}}})";
  ClientStats s;
  ASSERT_TRUE(ParseClientStats(json, &s));
  EXPECT_EQ(s.ts_us, 123456789);
  EXPECT_EQ(s.msg_cnt, 12);
  EXPECT_EQ(s.txmsgs, 5000);
  EXPECT_EQ(s.rxmsgs, 7);
  ASSERT_EQ(s.brokers.size(), 3u);
  int real = 0;
  for (const BrokerStats& b : s.brokers) {
    if (b.node_id < 0) continue;  // bootstrap, and the coordinator without a node id
    ++real;
    EXPECT_EQ(b.node_id, 1);
    ASSERT_TRUE(b.rtt.has_value());
    EXPECT_EQ(b.rtt->p99, 12000);
    EXPECT_FALSE(b.int_latency.has_value());
    EXPECT_EQ(b.txretries, 2);
    EXPECT_EQ(b.nodename, "127.0.0.1:9092");
    EXPECT_EQ(b.state, "UP");
    EXPECT_EQ(b.stateage_us, 5000000);
  }
  EXPECT_EQ(real, 1);
  const TopicStats* t = s.Topic("ch");
  ASSERT_NE(t, nullptr);
  ASSERT_TRUE(t->batchsize && t->batchcnt);
  EXPECT_TRUE(t->batchcnt->counts_valid);
  EXPECT_EQ(t->batchsize->sum, 16000);
  EXPECT_EQ(s.Topic("other"), nullptr);
}

TEST(ParseClientStats, RefusesNonObjectsAndMarksUntrustworthyCounts) {
  ClientStats s;
  EXPECT_FALSE(ParseClientStats("{", &s));
  EXPECT_FALSE(ParseClientStats("[]", &s));
  ASSERT_TRUE(ParseClientStats(R"({"topics": {"ch": {"batchcnt": {"sum": -1, "cnt": 1},
                                                       "batchsize": {"sum": "1", "cnt": 1}}}})",
                               &s));
  const TopicStats* t = s.Topic("ch");
  ASSERT_NE(t, nullptr);
  EXPECT_FALSE(t->batchcnt->counts_valid);   // negative
  EXPECT_FALSE(t->batchsize->counts_valid);  // not a number
}

}  // namespace
}  // namespace ordering::kafka

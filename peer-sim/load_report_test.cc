// Unit tests of the load generator's parts that need no broker: option
// checks, the pre-signed pool's size and memory limit, and the JSON report's
// schema (the bench reads it by these names).
#include <gtest/gtest.h>

#include "peer-sim/load.h"
#include "peer-sim/pool.h"

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
  o.tx_size = 4096;         // 4 M of 4 KB: refused
  EXPECT_TRUE(PlanPool(o, &plan).IsInvalidArgument());
}

TEST(LoadReportJson, CarriesEveryFieldTheBenchReads) {
  LoadReport r;
  r.submitted = 100;
  r.acked = 98;
  r.delivered = 90;
  r.undelivered_acked = 8;
  r.never_acked = 2;
  r.pool_size = 120;
  r.undelivered_share = 0.1;
  SeriesPoint with, without;
  with.t = 1;
  with.phase = "warmup";
  with.submitted = 100;
  with.p50_ms = 3.5;
  with.p99_ms = 9.0;
  without.t = 2;
  without.phase = "drain";
  without.in_flight = 10;
  without.oldest_undelivered_ms = 1500;
  r.series = {with, without};
  nlohmann::json j = ReportToJson(r);
  for (const char* key : {"config", "submitted", "acked", "delivered", "failed", "duplicates", "undelivered_acked",
                          "never_acked", "lost", "clean", "stopped_early", "blocks", "txs_per_block", "cut_reasons",
                          "record_bytes", "seconds", "tps", "latency_ms", "series", "signing", "presign_seconds",
                          "pool_size", "pool_exhausted", "warmup", "offered_tps", "generator_bound", "held_back",
                          "generator_load", "submit_held_share",
                          "max_submit_lag_ms", "backlog_growth_tps", "undelivered_share", "clock"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["lost"], 10);  // undelivered_acked + never_acked
  EXPECT_FALSE(j["clean"].get<bool>());
  EXPECT_EQ(j["signing"], "presigned");
  EXPECT_TRUE(j["offered_tps"].is_null());         // flat out
  EXPECT_TRUE(j["backlog_growth_tps"].is_null());  // no measured seconds
  for (const char* key : {"mode", "seconds", "transactions", "steady"}) EXPECT_TRUE(j["warmup"].contains(key)) << key;
  for (const char* key : {"submitted", "acked", "delivered"}) EXPECT_TRUE(j["tps"].contains(key)) << key;
  for (const char* key : {"e2e", "ack"}) {
    for (const char* f : {"count", "mean", "p50", "p90", "p95", "p99", "p999", "max", "cdf"}) {
      EXPECT_TRUE(j["latency_ms"][key].contains(f)) << key << "." << f;
    }
  }
  ASSERT_EQ(j["series"].size(), 2u);
  for (const char* key : {"t", "phase", "submitted", "acked", "delivered", "failed", "in_flight",
                          "oldest_undelivered_ms", "p50_ms", "p99_ms"}) {
    EXPECT_TRUE(j["series"][0].contains(key)) << key;
  }
  EXPECT_EQ(j["series"][0]["p50_ms"], 3.5);
  EXPECT_TRUE(j["series"][1]["p50_ms"].is_null());  // nothing completed in that second
  EXPECT_TRUE(j["series"][1]["p99_ms"].is_null());
  EXPECT_EQ(j["series"][1]["phase"], "drain");

  EXPECT_FALSE(j.contains("block_unix_ms")) << "only with --block-times";
  r.config = {{"block_times", true}};
  r.block_unix_ms = {1700000000123, 1700000000456};
  j = ReportToJson(r);
  ASSERT_TRUE(j.contains("block_unix_ms"));
  EXPECT_EQ(j["block_unix_ms"].size(), 2u);
  EXPECT_EQ(j["block_unix_ms"][1], 1700000000456);
  r.config = nlohmann::json::object();

  r.offered_tps = 500;
  r.presigned = false;
  r.undelivered_acked = r.never_acked = 0;
  j = ReportToJson(r);
  EXPECT_EQ(j["offered_tps"], 500);
  EXPECT_EQ(j["signing"], "inline");
  EXPECT_TRUE(j["clean"].get<bool>());
}

TEST(LoadReportJson, ProducerBatchesAreNullWithoutCountersAndAveragedWith) {
  LoadReport r;
  r.config = {{"raw", false}};
  EXPECT_TRUE(ReportToJson(r)["producer_batches"].is_null());
  EXPECT_EQ(ReportToText(r).find("producer batches"), std::string::npos);
  r.batches = BatchCounters{40, 1000, 1'060'000};
  nlohmann::json j = ReportToJson(r);
  EXPECT_EQ(j["producer_batches"]["batches"], 40);
  EXPECT_EQ(j["producer_batches"]["records"], 1000);
  EXPECT_EQ(j["producer_batches"]["bytes"], 1060000);
  EXPECT_DOUBLE_EQ(j["producer_batches"]["records_per_batch"].get<double>(), 25.0);
  EXPECT_DOUBLE_EQ(j["producer_batches"]["bytes_per_batch"].get<double>(), 26500.0);
  const std::string text = ReportToText(r);
  EXPECT_NE(text.find("producer batches in the window: 40, 25.0 records / 25.9 KB each"), std::string::npos) << text;
}

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

TEST(LoadReportText, NamesEachCountAndTheUndeliveredShare) {
  LoadReport r;
  r.config = {{"raw", false}};
  r.submitted = 100;
  r.delivered = 90;
  r.undelivered_acked = 7;
  r.never_acked = 3;
  r.undelivered_share = 0.1;
  const std::string text = ReportToText(r);
  for (const char* part : {"acknowledged but undelivered 7", "never acknowledged 3", "lost 10", "failed 0",
                           "duplicates 0", "undelivered share 10.00%", "NOT CLEAN"}) {
    EXPECT_NE(text.find(part), std::string::npos) << part << "\n" << text;
  }
}

}  // namespace
}  // namespace ordering

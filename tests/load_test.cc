// The load generator against a broker (the embedded one; a real Kafka under
// the kafka label) and a real orderer: every transaction comes back exactly
// once, and the report's phases, series, rates and signing say what
// happened. The accounting of runs that go wrong (loss, duplicates, a drain
// that times out, a generator that cannot keep up): load_accounting_test.cc.
#include "peer-sim/load.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "peer-sim/ack_log.h"
#include "peer-sim/submitter.h"
#include "tests/load_test_fixture.h"

namespace ordering {
namespace {

// Sums a series field over every second.
uint64_t SeriesSum(const LoadReport& r, uint64_t SeriesPoint::*field) {
  uint64_t sum = 0;
  for (const SeriesPoint& p : r.series) sum += p.*field;
  return sum;
}

int PhaseRank(const std::string& phase) {
  if (phase == "warmup") return 0;
  if (phase == "measured") return 1;
  if (phase == "cooldown") return 2;
  if (phase == "drain") return 3;
  ADD_FAILURE() << "unknown phase '" << phase << "'";
  return -1;
}

TEST_F(LoadTest, OpenLoopPresignedEveryTransactionDeliveredOnce) {
  auto node = StartOrderer();
  ASSERT_TRUE(node);
  LoadOptions o = Options("127.0.0.1:" + std::to_string(node->deliver_port()));
  o.rate = 400;
  o.duration_ms = 2000;
  int progress_calls = 0;
  o.progress_interval_ms = 500;
  o.on_progress = [&](const LoadProgress& p) {
    ++progress_calls;
    EXPECT_GE(p.elapsed_s, 0);
    EXPECT_LE(p.undelivered_share, 1.0);
  };
  std::vector<std::string> notices;
  o.on_notice = [&](const std::string& line) { notices.push_back(line); };
  o.profile_broker = {{"num.network.threads", "8", "test.properties:4"}};
  LoadReport r;
  const int64_t wall_before_ms = SystemClock::Default()->WallNanos() / 1'000'000;
  Status st = RunLoad(o, &r);
  ASSERT_TRUE(st.ok()) << st.ToString();
  const int64_t wall_after_ms = SystemClock::Default()->WallNanos() / 1'000'000;
  // The measured window on the wall clock (a CPU sampler cuts its samples
  // to it): inside the run, as long as run_seconds, after second 0.
  EXPECT_GE(r.start_unix_ms, wall_before_ms);
  EXPECT_GE(r.window_from_unix_ms, r.start_unix_ms);
  EXPECT_LE(r.window_to_unix_ms, wall_after_ms);
  EXPECT_NEAR(static_cast<double>(r.window_to_unix_ms - r.window_from_unix_ms), r.run_seconds * 1000, 1.0);
  EXPECT_EQ(ReportToJson(r)["clock"]["measure_from_unix_ms"], r.window_from_unix_ms);
  EXPECT_EQ(r.submitted, 800u);  // 400 tx/s for 2 s: due times 0 .. 1.9975 s
  EXPECT_EQ(r.acked, r.submitted);
  EXPECT_EQ(r.delivered, r.submitted);
  EXPECT_EQ(r.undelivered_acked, 0u);
  EXPECT_EQ(r.never_acked, 0u);
  EXPECT_EQ(r.duplicates, 0u);
  EXPECT_TRUE(r.clean());
  // Signed before the clock, enough for the whole run.
  EXPECT_TRUE(r.presigned);
  EXPECT_GE(r.pool_size, r.submitted);
  EXPECT_GT(r.presign_seconds, 0);
  EXPECT_FALSE(r.pool_exhausted);
  ASSERT_FALSE(notices.empty());
  EXPECT_NE(notices[0].find("pre-signing 802 transactions"), std::string::npos) << notices[0];
  EXPECT_GE(r.blocks, 8u);
  EXPECT_EQ(r.e2e.count, r.delivered);
  EXPECT_GT(r.e2e.p50_ms, 0);
  EXPECT_GE(r.e2e.p99_ms, r.e2e.p50_ms);
  EXPECT_GE(r.e2e.p50_ms, r.ack.p50_ms);  // delivery comes after the ack
  // Offered vs achieved: an easy rate is met.
  ASSERT_TRUE(r.offered_tps.has_value());
  EXPECT_EQ(*r.offered_tps, 400);
  EXPECT_NEAR(r.submit_tps, 400, 20);
  EXPECT_FALSE(r.generator_bound);
  EXPECT_GE(r.max_submit_lag_ms, 0);
  EXPECT_LT(r.max_submit_lag_ms, 1000);
  // Committed inside the 2 s window: the rate, less what the block
  // pipeline still held when submitting stopped.
  EXPECT_GT(r.delivered_tps, 250);
  EXPECT_LT(r.delivered_tps, 420);
  EXPECT_DOUBLE_EQ(r.undelivered_share, 0);
  EXPECT_GE(progress_calls, 2);
  EXPECT_NEAR(static_cast<double>(r.record_bytes), 1024, 2);
  // The producers' batches in the window, to a statistics interval at each
  // end: some, of whole records of about record_bytes each.
  ASSERT_TRUE(r.batches.has_value());
  EXPECT_GT(r.batches->batches, 0u);
  EXPECT_GE(r.batches->records, r.batches->batches);
  EXPECT_LE(r.batches->records, r.submitted);
  EXPECT_GE(r.batches->bytes, r.batches->records * r.record_bytes);
  nlohmann::json j = ReportToJson(r);
  EXPECT_EQ(j["producer_batches"]["records"], r.batches->records);
  EXPECT_EQ(j["delivered"], r.delivered);
  EXPECT_EQ(j["config"]["peers"], 2);
  EXPECT_EQ(j["signing"], "presigned");
  EXPECT_EQ(j["offered_tps"], 400);
  EXPECT_EQ(j["config"]["profile_broker"], nlohmann::json({{"num.network.threads", "8"}}));
  EXPECT_TRUE(j["clean"].get<bool>());
  EXPECT_EQ(node->metrics().txs_ordered.load(), r.delivered);
}

// The kafka path's batch counters add up each statistics interval's
// windows: once every record is acknowledged and two more intervals have
// passed, they hold every record exactly once (a window that is not reset
// at each interval would count records again), in fewer batches than
// records when linger.ms lets records wait for each other.
TEST_F(LoadTest, KafkaSubmitterCountsEachBatchOnce) {
  SubmitterOptions so;
  so.brokers = broker_->bootstrap();
  so.topic = channel_;
  so.producer_properties = {{"linger.ms", "50", "test"}, {"acks", "all", "test"}};
  std::atomic<int> accepted{0};
  so.on_outcome = [&](void*, const SubmitAnswer& a) {
    if (a.outcome == SubmitOutcome::kAccepted) ++accepted;
  };
  std::unique_ptr<Submitter> sub;
  Status st = MakeSubmitter(so, &sub);
  ASSERT_TRUE(st.ok()) << st.ToString();
  const std::string record(1000, 'x');
  constexpr int kRecords = 500;
  for (int i = 0; i < kRecords; ++i) ASSERT_TRUE(sub->Submit(record, "", nullptr).ok());
  ASSERT_TRUE(sub->Flush(10000).ok());
  EXPECT_EQ(accepted.load(), kRecords);
  std::this_thread::sleep_for(std::chrono::milliseconds(2 * kBatchStatsIntervalMs + 500));
  std::optional<BatchCounters> b = sub->Batches();
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->records, static_cast<uint64_t>(kRecords));
  EXPECT_GE(b->batches, 1u);
  EXPECT_LT(b->batches, static_cast<uint64_t>(kRecords) / 5) << "linger.ms 50 should gather records";
  EXPECT_GE(b->bytes, b->records * record.size());
  EXPECT_LT(b->bytes, b->records * (record.size() + 200));
}

TEST_F(LoadTest, SignInlineSignsInsideTheWindowAndSaysSo) {
  auto node = StartOrderer();
  ASSERT_TRUE(node);
  LoadOptions o = Options("127.0.0.1:" + std::to_string(node->deliver_port()));
  o.rate = 200;
  o.duration_ms = 1000;
  o.sign_inline = true;
  LoadReport r;
  Status st = RunLoad(o, &r);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(r.submitted, 200u);
  EXPECT_EQ(r.delivered, 200u);
  EXPECT_TRUE(r.clean());
  EXPECT_FALSE(r.presigned);
  EXPECT_EQ(r.pool_size, 0u);
  EXPECT_EQ(r.presign_seconds, 0);
  EXPECT_NEAR(static_cast<double>(r.record_bytes), 1024, 2);
  EXPECT_EQ(ReportToJson(r)["signing"], "inline");
}

TEST_F(LoadTest, SeriesHasOneEntryPerSecondInPhaseOrder) {
  auto node = StartOrderer();
  ASSERT_TRUE(node);
  LoadOptions o = Options("127.0.0.1:" + std::to_string(node->deliver_port()));
  o.rate = 300;
  o.warmup_ms = 1000;
  o.duration_ms = 3000;
  LoadReport r;
  Status st = RunLoad(o, &r);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_TRUE(r.clean());
  EXPECT_EQ(r.submitted, 1200u);  // warm-up + duration
  // Seconds 1, 2, 3, ... without gaps, through the drain.
  ASSERT_GE(r.series.size(), 5u);
  std::map<std::string, int> seconds;
  for (size_t i = 0; i < r.series.size(); ++i) {
    EXPECT_EQ(r.series[i].t, static_cast<int64_t>(i + 1));
    ++seconds[r.series[i].phase];
    if (i > 0) {
      EXPECT_LE(PhaseRank(r.series[i - 1].phase), PhaseRank(r.series[i].phase)) << "second " << i + 1;
    }
  }
  EXPECT_EQ(seconds["warmup"], 1);
  EXPECT_EQ(seconds["measured"], 3);
  EXPECT_GE(seconds["drain"], 1);
  EXPECT_EQ(SeriesSum(r, &SeriesPoint::submitted), r.submitted);
  EXPECT_EQ(SeriesSum(r, &SeriesPoint::acked), r.acked);
  EXPECT_EQ(SeriesSum(r, &SeriesPoint::delivered), r.delivered);
  EXPECT_EQ(SeriesSum(r, &SeriesPoint::failed), 0u);
  for (const SeriesPoint& p : r.series) {
    if (p.phase != "measured") continue;
    EXPECT_NEAR(static_cast<double>(p.submitted), 300, 30) << "second " << p.t;
    ASSERT_TRUE(p.p50_ms.has_value()) << "second " << p.t;  // blocks are cut every 200 ms
    EXPECT_GE(*p.p99_ms, *p.p50_ms);
    EXPECT_LT(p.in_flight, 300u) << "second " << p.t;  // the orderer keeps up
  }
  EXPECT_EQ(r.series.back().in_flight, 0u);
  EXPECT_EQ(r.series.back().oldest_undelivered_ms, 0);
  ASSERT_TRUE(r.backlog_growth_tps.has_value());
  EXPECT_LT(std::abs(*r.backlog_growth_tps), 150);  // no backlog building up
  nlohmann::json j = ReportToJson(r);
  EXPECT_EQ(j["series"].size(), r.series.size());
  EXPECT_EQ(j["series"][1]["phase"], "measured");
}

// Blocks of 100 at 400 tx/s fill every 250 ms, and BatchTimeout is 2 s. A
// run that stops at the window's end leaves its last transactions in a
// partial block that waits the full 2 s; with a cool-down the traffic after
// the window fills that block, and only the window's transactions count.
TEST_F(LoadTest, CooldownKeepsTheWindowsLastBlockFromWaitingForTheTimeout) {
  auto node = StartOrderer(/*batch_timeout_ms=*/2000);
  ASSERT_TRUE(node);
  const std::string orderer = "127.0.0.1:" + std::to_string(node->deliver_port());
  LoadOptions o = Options(orderer);
  o.rate = 400;
  o.duration_ms = 2100;  // 840 transactions: 8 full blocks and a partial one of 40
  LoadReport without;
  ASSERT_TRUE(RunLoad(o, &without).ok());
  ASSERT_TRUE(without.clean());
  EXPECT_GT(without.e2e.max_ms, 1500);  // the last partial block waited for the timeout
  o.cooldown_ms = 1000;
  LoadReport with;
  ASSERT_TRUE(RunLoad(o, &with).ok());
  ASSERT_TRUE(with.clean());
  EXPECT_EQ(with.submitted, 1240u);  // 2.1 s measured + 1 s cool-down at 400 tx/s
  EXPECT_EQ(with.delivered, 1240u);  // all checked ...
  EXPECT_EQ(with.e2e.count, 840u);   // ... only the window's measured
  EXPECT_LT(with.e2e.max_ms, 1000);
  int cooldown_seconds = 0;
  for (const SeriesPoint& p : with.series) cooldown_seconds += p.phase == "cooldown";
  EXPECT_EQ(cooldown_seconds, 1);
  EXPECT_NEAR(with.submit_tps, 400, 20);  // the window's rate, not diluted or padded by the cool-down
}

TEST_F(LoadTest, WarmupIsCheckedButLeftOutOfTheFigures) {
  auto node = StartOrderer();
  ASSERT_TRUE(node);
  LoadOptions o = Options("127.0.0.1:" + std::to_string(node->deliver_port()));
  o.rate = 400;
  o.warmup_ms = 1000;
  o.duration_ms = 1000;  // measured after the warm-up
  LoadReport r;
  Status st = RunLoad(o, &r);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(r.submitted, 800u);
  EXPECT_EQ(r.delivered, 800u);  // every transaction is still checked
  EXPECT_TRUE(r.clean());
  EXPECT_EQ(r.warmup_transactions, 400u);
  EXPECT_EQ(r.e2e.count, 400u);
  EXPECT_EQ(r.ack.count, 400u);
  EXPECT_NEAR(r.submit_tps, 400, 20);
  EXPECT_DOUBLE_EQ(r.warmup_seconds, 1.0);
  EXPECT_DOUBLE_EQ(r.submit_seconds, 1.0);
  nlohmann::json j = ReportToJson(r);
  EXPECT_EQ(j["warmup"]["transactions"], 400);
  EXPECT_EQ(j["warmup"]["mode"], "fixed");
  EXPECT_FALSE(j["warmup"]["steady"].get<bool>());  // 1 s is too short to show two 5 s windows agree
}

TEST_F(LoadTest, AutoWarmupEndsWhenTheRunIsSteady) {
  auto node = StartOrderer();
  ASSERT_TRUE(node);
  LoadOptions o = Options("127.0.0.1:" + std::to_string(node->deliver_port()));
  o.rate = 500;
  o.warmup_mode = WarmupMode::kAuto;
  o.steady_window_ms = 2000;
  o.steady_tolerance = 0.25;
  o.warmup_max_ms = 12000;
  o.duration_ms = 1000;
  LoadReport r;
  Status st = RunLoad(o, &r);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_TRUE(r.clean());
  EXPECT_EQ(r.warmup_mode, "auto");
  EXPECT_TRUE(r.steady) << "the warm-up ran to its bound of " << o.warmup_max_ms << " ms";
  // Two 2 s windows at the earliest, whole seconds, before the bound.
  EXPECT_GE(r.warmup_seconds, 4.0);
  EXPECT_LT(r.warmup_seconds, 12.0);
  EXPECT_DOUBLE_EQ(r.warmup_seconds, std::round(r.warmup_seconds));
  // Exactly the transactions due in the warm-up are left out, and the
  // measured window is as long as asked.
  const auto warmup_due = static_cast<uint64_t>(500 * r.warmup_seconds);
  EXPECT_EQ(r.warmup_transactions, warmup_due);
  EXPECT_EQ(r.submitted, warmup_due + 500);
  EXPECT_EQ(r.e2e.count, 500u);
  EXPECT_NEAR(r.submit_tps, 500, 25);
  for (const SeriesPoint& p : r.series) {
    EXPECT_EQ(p.phase, p.t <= r.warmup_seconds       ? "warmup"
                       : p.t <= r.warmup_seconds + 1 ? "measured"
                                                     : "drain")
        << "second " << p.t;
  }
  nlohmann::json j = ReportToJson(r);
  EXPECT_EQ(j["warmup"]["mode"], "auto");
  EXPECT_TRUE(j["warmup"]["steady"].get<bool>());
}

TEST_F(LoadTest, FlatOutWithCountAndWindow) {
  auto node = StartOrderer();
  ASSERT_TRUE(node);
  LoadOptions o = Options("127.0.0.1:" + std::to_string(node->deliver_port()));
  o.rate = 0;
  o.count = 1500;
  o.max_in_flight = 150;
  o.tx_size = 600;
  LoadReport r;
  Status st = RunLoad(o, &r);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(r.submitted, 1500u);
  EXPECT_EQ(r.delivered, 1500u);
  EXPECT_TRUE(r.clean());
  EXPECT_EQ(r.pool_size, 1500u);  // the count, exactly
  EXPECT_FALSE(r.pool_exhausted);
  EXPECT_FALSE(r.generator_bound);
  EXPECT_FALSE(r.offered_tps.has_value());
  EXPECT_GT(r.delivered_tps, 0);
  EXPECT_NEAR(static_cast<double>(r.record_bytes), 600, 2);
}

// On the kafka path the ack log holds the producer's delivery report for
// every transaction (ACKED), and the report the acknowledgement latency
// beside the end-to-end one.
TEST_F(LoadTest, TheAckLogHoldsTheBrokersAnswerForEveryTransaction) {
  auto node = StartOrderer();
  ASSERT_TRUE(node);
  LoadOptions o = Options("127.0.0.1:" + std::to_string(node->deliver_port()));
  o.rate = 400;
  o.duration_ms = 1000;
  std::filesystem::create_directories(dir_);
  o.ack_log = (dir_ / "acks.log").string();
  LoadReport r;
  Status st = RunLoad(o, &r);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_TRUE(r.clean()) << ReportToText(r);
  std::ifstream in(o.ack_log);
  std::set<std::string> ids;
  uint64_t acked = 0;
  for (std::string text; std::getline(in, text);) {
    AckLine l;
    AckLineKind kind = ParseAckLine(text, &l);
    ASSERT_NE(kind, AckLineKind::kTorn) << text;
    if (kind == AckLineKind::kComment) continue;
    EXPECT_TRUE(ids.insert(l.tx_id).second) << l.tx_id;
    EXPECT_EQ(l.outcome, "ACKED");
    acked += l.outcome == "ACKED";
    EXPECT_LE(l.submit_unix_ns, l.answer_unix_ns);
    EXPECT_GE(l.submit_unix_ns, r.start_unix_ms * 1'000'000 - 100'000'000);
  }
  EXPECT_EQ(acked, r.acked);
  EXPECT_EQ(ids.size(), r.submitted);
  EXPECT_EQ(r.ack_log_lines, r.submitted);
  EXPECT_TRUE(r.ack_log_error.empty());
  // Submit -> acknowledgement, every transaction of the window.
  EXPECT_EQ(r.ack.count, r.acked);
  EXPECT_GT(r.ack.p50_ms, 0);
  EXPECT_LE(r.ack.p50_ms, r.ack.p95_ms);
  EXPECT_LE(r.ack.p95_ms, r.ack.p99_ms);
  EXPECT_LE(r.ack.p99_ms, r.ack.max_ms);
  nlohmann::json j = ReportToJson(r);
  EXPECT_DOUBLE_EQ(j["latency_ms"]["ack"]["p99"].get<double>(), r.ack.p99_ms);
  EXPECT_TRUE(j["streams"]["broadcast"].is_null());
  EXPECT_EQ(j["streams"]["deliver"]["reconnects"], 0);
  EXPECT_NE(ReportToText(r).find("ack        latency ms: p50"), std::string::npos) << ReportToText(r);
}

TEST_F(LoadTest, RawModeTimesTheProducerAlone) {
  LoadOptions o = Options("");
  o.raw = true;
  o.rate = 0;
  o.count = 1000;
  LoadReport r;
  Status st = RunLoad(o, &r);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(r.acked, 1000u);
  EXPECT_EQ(r.never_acked, 0u);
  EXPECT_EQ(r.undelivered_acked, 0u);
  EXPECT_EQ(r.delivered, 0u);
  EXPECT_EQ(r.ack.count, 1000u);
  EXPECT_GT(r.ack_tps, 0);
  EXPECT_DOUBLE_EQ(r.undelivered_share, 0);
  EXPECT_TRUE(r.clean());
}

}  // namespace
}  // namespace ordering

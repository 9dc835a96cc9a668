// The load generator against the embedded broker: with a real orderer every
// transaction must come back exactly once; with a Deliver server that drops
// and repeats transactions, the report must say exactly how many.
#include "peer-sim/load.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <thread>

#include "common/kafka.h"
#include "ledger/block_util.h"
#include "orderer/consensus/kafka/kafka_chain.h"
#include "orderer/node.h"
#include "peer-sim/submitter.h"
#include "proto/ab.grpc.pb.h"
#include "proto/kafka.pb.h"
#include "tests/test_broker.h"

namespace ordering {
namespace {

class LoadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    broker_ = testing::TestBroker::Start();
    ASSERT_TRUE(broker_);
    channel_ = broker_->NewChannelName();
    Status st = broker_->CreateChannel(channel_);
    ASSERT_TRUE(st.ok()) << st.ToString();
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("load-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<OrdererNode> StartOrderer(int64_t batch_timeout_ms = 200) {
    OrdererOptions o;
    o.ledger_dir = (dir_ / "ledger").string();
    o.listen = "127.0.0.1:0";
    o.channel.channel_id = channel_;
    o.channel.batch_size.max_message_count = 100;
    o.channel.batch_timeout_ms = batch_timeout_ms;
    KafkaChainOptions k;
    k.brokers = broker_->bootstrap();
    k.verify_workers = 2;
    o.make_consenter = OnlyKafka(k);
    o.sync_writes = false;
    std::unique_ptr<OrdererNode> node;
    Status st = OrdererNode::Start(o, SystemClock::Default(), &node);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return node;
  }

  LoadOptions Options(const std::string& orderer) {
    LoadOptions o;
    o.brokers = broker_->bootstrap();
    o.orderer = orderer;
    o.channel_id = channel_;
    o.peers = 2;
    o.producer_properties = {{"linger.ms", "5", "test"}, {"acks", "all", "test"},
                             {"enable.idempotence", "true", "test"}};
    o.drain_timeout_ms = 20000;
    o.progress_interval_ms = 0;
    return o;
  }

  std::unique_ptr<testing::TestBroker> broker_;
  std::string channel_;
  std::filesystem::path dir_;
};

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
  so.on_outcome = [&](void*, SubmitOutcome outcome, const std::string&) {
    if (outcome == SubmitOutcome::kAccepted) ++accepted;
  };
  std::unique_ptr<Submitter> sub;
  Status st = MakeSubmitter(so, &sub);
  ASSERT_TRUE(st.ok()) << st.ToString();
  const std::string record(1000, 'x');
  constexpr int kRecords = 500;
  for (int i = 0; i < kRecords; ++i) ASSERT_TRUE(sub->Submit(record, nullptr).ok());
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

TEST_F(LoadTest, AFlatOutPoolThatRunsOutMakesTheRunGeneratorBound) {
  LoadOptions o = Options("");
  o.raw = true;
  o.rate = 0;
  o.duration_ms = 2000;
  o.pool_size = 300;  // far fewer than the broker takes in 2 s
  LoadReport r;
  Status st = RunLoad(o, &r);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(r.pool_size, 300u);
  EXPECT_EQ(r.submitted, 300u);
  EXPECT_EQ(r.acked, 300u);
  EXPECT_TRUE(r.clean());
  EXPECT_TRUE(r.pool_exhausted);
  EXPECT_TRUE(r.generator_bound);
  nlohmann::json j = ReportToJson(r);
  EXPECT_TRUE(j["generator_bound"].get<bool>());
  EXPECT_TRUE(j["pool_exhausted"].get<bool>());
}

// Signing inside the window at a rate no core can sign at: the peers fell
// behind through their own work (the producer never held them), so the run
// is generator-bound, not held back.
TEST_F(LoadTest, PeersThatCannotSignFastEnoughAreGeneratorBound) {
  LoadOptions o = Options("");
  o.raw = true;
  o.sign_inline = true;
  o.rate = 300000;  // 150,000 signatures per second per peer
  o.duration_ms = 500;
  LoadReport r;
  Status st = RunLoad(o, &r);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_LT(r.submit_tps, 0.95 * o.rate);
  ASSERT_TRUE(r.generator_load.has_value());
  EXPECT_GT(*r.generator_load, 1.0) << ReportToText(r);
  EXPECT_TRUE(r.generator_bound) << ReportToText(r);
  EXPECT_FALSE(r.held_back);
  EXPECT_LT(r.submit_held_share, 0.5);
  EXPECT_TRUE(r.clean());
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

// A broker that stops answering under load: what the producers still hold
// when the drain timeout expires is purged and counted as never
// acknowledged (not failed), and the exit takes the drain timeout, not a
// flush per producer.
TEST_F(LoadTest, DrainTimeoutBoundsTheExitAndCountsTheUnacknowledged) {
  if (broker_->real()) GTEST_SKIP() << "needs the embedded broker's fault injection";
  LoadOptions o = Options("");
  o.raw = true;
  o.rate = 300;
  o.duration_ms = 3000;
  o.drain_timeout_ms = 2000;
  o.progress_interval_ms = 500;
  bool down = false;
  o.on_progress = [&](const LoadProgress&) {
    if (down) return;
    Status st = broker_->mock()->SetBrokerUp(1, false);  // 0.5 s into the run
    EXPECT_TRUE(st.ok()) << st.ToString();
    down = true;
  };
  LoadReport r;
  const auto t0 = std::chrono::steady_clock::now();
  Status st = RunLoad(o, &r);
  const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_TRUE(down);
  EXPECT_EQ(r.submitted, 900u);
  EXPECT_GT(r.acked, 0u);              // before the broker went down
  EXPECT_GT(r.never_acked, 500u);      // the 2.5 s after
  EXPECT_EQ(r.acked + r.never_acked, r.submitted);
  EXPECT_EQ(r.failed, 0u);             // purged, not failed
  EXPECT_EQ(r.undelivered_acked, 0u);  // raw mode
  EXPECT_EQ(r.lost(), r.never_acked);
  EXPECT_FALSE(r.clean());
  EXPECT_NEAR(r.undelivered_share, static_cast<double>(r.never_acked) / 900.0, 1e-9);
  // The exit: the 2 s drain timeout plus a little for the purge and close.
  EXPECT_GE(r.drain_seconds, 2.0);
  EXPECT_LT(r.drain_seconds, 3.0);
  EXPECT_LT(wall_s, 3.0 + 3.0 + 2.0);  // run + drain + set-up slack
  // The backlog grew at about the rate while the broker was down.
  ASSERT_TRUE(r.backlog_growth_tps.has_value());
  EXPECT_GT(*r.backlog_growth_tps, 150);
  double oldest = 0;
  for (const SeriesPoint& p : r.series) oldest = std::max(oldest, p.oldest_undelivered_ms);
  EXPECT_GT(oldest, 2000);  // the first unacknowledged waited through the run and the drain
  nlohmann::json j = ReportToJson(r);
  EXPECT_EQ(j["never_acked"], r.never_acked);
  EXPECT_EQ(j["lost"], r.never_acked);
}

TEST_F(LoadTest, UnreachableOrdererFailsFast) {
  LoadOptions o = Options("127.0.0.1:1");
  o.count = 10;
  o.connect_timeout_ms = 1500;
  LoadReport r;
  Status st = RunLoad(o, &r);
  EXPECT_TRUE(st.IsUnavailable()) << st.ToString();
}

// A Deliver server that orders the partition itself into 10-tx blocks but
// drops every 7th transaction and repeats every 11th in the next block.
class LossyDeliver final : public AtomicBroadcast::Service {
 public:
  LossyDeliver(std::string brokers, std::string topic) : brokers_(std::move(brokers)), topic_(std::move(topic)) {}
  grpc::Status Deliver(grpc::ServerContext* ctx, const SeekInfo*, grpc::ServerWriter<DeliverResponse>* w) override {
    kafka::PartitionConsumer::Options co;
    co.brokers = brokers_;
    co.topic = topic_;
    std::unique_ptr<kafka::PartitionConsumer> consumer;
    if (!kafka::PartitionConsumer::Create(co, &consumer).ok()) return grpc::Status(grpc::StatusCode::INTERNAL, "consumer");
    uint64_t number = 0;
    auto send = [&](std::vector<std::string> envs) {
      DeliverResponse resp;
      BlockMetadata md;
      md.set_cut_reason(CUT_REASON_MAX_MESSAGE_COUNT);
      *resp.mutable_block() = MakeBlock(BlockNumber(number++), "", std::move(envs), md);
      return w->Write(resp);
    };
    if (!send({})) return grpc::Status::OK;  // the "newest" block
    std::vector<std::string> batch, carry;
    uint64_t seen = 0;
    while (!ctx->IsCancelled()) {
      kafka::ConsumedRecord rec;
      bool got = false;
      if (!consumer->Poll(100, &rec, &got).ok()) break;
      if (!got) continue;
      KafkaMessage km;
      if (!km.ParseFromString(rec.value) || !km.has_regular()) continue;
      ++seen;
      if (seen % 7 == 0) {
        ++dropped;
        continue;
      }
      batch.push_back(km.regular().payload());
      if (seen % 11 == 0) {
        carry.push_back(km.regular().payload());
        ++repeated;
      }
      if (batch.size() >= 10) {
        batch.insert(batch.end(), carry.begin(), carry.end());
        carry.clear();
        if (!send(std::move(batch))) break;
        batch.clear();
      }
    }
    return grpc::Status::OK;
  }
  std::atomic<int> dropped{0}, repeated{0};

 private:
  std::string brokers_;
  std::string topic_;
};

TEST_F(LoadTest, LostAndDoubledTransactionsAreCountedExactly) {
  LossyDeliver service(broker_->bootstrap(), channel_);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_TRUE(server);
  LoadOptions o = Options("127.0.0.1:" + std::to_string(port));
  o.rate = 0;
  o.count = 770;  // 770 = 7 * 110: the last 10-tx block is complete
  o.drain_timeout_ms = 3000;
  LoadReport r;
  Status st = RunLoad(o, &r);
  ASSERT_TRUE(st.ok()) << st.ToString();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  EXPECT_EQ(r.submitted, 770u);
  // Dropped by the ordering service after the broker acknowledged them.
  EXPECT_EQ(r.undelivered_acked, 110u);
  EXPECT_EQ(r.never_acked, 0u);
  EXPECT_EQ(r.failed, 0u);
  EXPECT_EQ(r.lost(), 110u);
  EXPECT_EQ(ReportToJson(r)["lost"], 110);
  EXPECT_EQ(service.dropped.load(), 110);
  // Every repeat that made it into a later block is a duplicate.
  EXPECT_GT(r.duplicates, 0u);
  EXPECT_LE(r.duplicates, static_cast<uint64_t>(service.repeated.load()));
  EXPECT_EQ(r.delivered, 770u - 110u);
  EXPECT_FALSE(r.clean());
}

}  // namespace
}  // namespace ordering

// The load generator's accounting when a run goes wrong: a Deliver server
// that drops and repeats transactions, a broker that stops answering, an
// unreachable orderer, peers that cannot keep the schedule. The report must
// say exactly how many and whose fault.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>

#include "common/kafka.h"
#include "ledger/block_util.h"
#include "peer-sim/load.h"
#include "proto/ab.grpc.pb.h"
#include "proto/kafka.pb.h"
#include "tests/load_test_fixture.h"

namespace ordering {
namespace {

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
  EXPECT_GT(r.acked, 0u);          // before the broker went down
  EXPECT_GT(r.never_acked, 500u);  // the 2.5 s after
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
    if (!kafka::PartitionConsumer::Create(co, &consumer).ok())
      return grpc::Status(grpc::StatusCode::INTERNAL, "consumer");
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

// The load generator against the embedded broker: with a real orderer every
// transaction must come back exactly once; with a Deliver server that drops
// and repeats transactions, the report must say exactly how many.
#include "peer-sim/load.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "common/kafka.h"
#include "ledger/block_util.h"
#include "orderer/node.h"
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

  std::unique_ptr<OrdererNode> StartOrderer() {
    OrdererOptions o;
    o.ledger_dir = (dir_ / "ledger").string();
    o.listen = "127.0.0.1:0";
    o.channel.channel_id = channel_;
    o.channel.batch_size.max_message_count = 100;
    o.channel.batch_timeout_ms = 200;
    o.kafka.brokers = broker_->bootstrap();
    o.kafka.verify_workers = 2;
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

TEST_F(LoadTest, OpenLoopRateEveryTransactionDeliveredOnce) {
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
  };
  LoadReport r;
  Status st = RunLoad(o, &r);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(r.submitted, 800u);  // 400 tx/s for 2 s: due times 0 .. 1.9975 s
  EXPECT_EQ(r.acked, r.submitted);
  EXPECT_EQ(r.delivered, r.submitted);
  EXPECT_EQ(r.lost, 0u);
  EXPECT_EQ(r.duplicates, 0u);
  EXPECT_TRUE(r.clean());
  EXPECT_GE(r.blocks, 8u);
  EXPECT_EQ(r.e2e.count, r.delivered);
  EXPECT_GT(r.e2e.p50_ms, 0);
  EXPECT_GE(r.e2e.p99_ms, r.e2e.p50_ms);
  EXPECT_GE(r.e2e.p50_ms, r.ack.p50_ms);  // delivery comes after the ack
  EXPECT_NEAR(r.submit_tps, 400, 40);
  // Committed inside the 2 s submitting window: the rate, less what the
  // block pipeline still held when submitting stopped.
  EXPECT_GT(r.delivered_tps, 250);
  EXPECT_LT(r.delivered_tps, 420);
  EXPECT_GE(progress_calls, 2);
  EXPECT_NEAR(static_cast<double>(r.record_bytes), 1024, 2);
  nlohmann::json j = ReportToJson(r);
  EXPECT_EQ(j["delivered"], r.delivered);
  EXPECT_EQ(j["config"]["peers"], 2);
  EXPECT_TRUE(j["clean"].get<bool>());
  EXPECT_EQ(node->metrics().txs_ordered.load(), r.delivered);
}

TEST_F(LoadTest, WarmupIsCheckedButLeftOutOfTheFigures) {
  auto node = StartOrderer();
  ASSERT_TRUE(node);
  LoadOptions o = Options("127.0.0.1:" + std::to_string(node->deliver_port()));
  o.rate = 400;
  o.duration_ms = 2000;
  o.warmup_ms = 1000;
  LoadReport r;
  Status st = RunLoad(o, &r);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(r.submitted, 800u);
  EXPECT_EQ(r.delivered, 800u);  // every transaction is still checked
  EXPECT_TRUE(r.clean());
  EXPECT_EQ(r.warmup_transactions, 400u);
  EXPECT_EQ(r.e2e.count, 400u);
  EXPECT_EQ(r.ack.count, 400u);
  EXPECT_NEAR(r.submit_tps, 400, 40);
  EXPECT_EQ(ReportToJson(r)["warmup"]["transactions"], 400);
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
  EXPECT_GT(r.delivered_tps, 0);
  EXPECT_NEAR(static_cast<double>(r.record_bytes), 600, 2);
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
  EXPECT_EQ(r.lost, 0u);
  EXPECT_EQ(r.delivered, 0u);
  EXPECT_EQ(r.ack.count, 1000u);
  EXPECT_GT(r.ack_tps, 0);
  EXPECT_TRUE(r.clean());
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
  EXPECT_EQ(r.lost, 110u);
  EXPECT_EQ(service.dropped.load(), 110);
  // Every repeat that made it into a later block is a duplicate.
  EXPECT_GT(r.duplicates, 0u);
  EXPECT_LE(r.duplicates, static_cast<uint64_t>(service.repeated.load()));
  EXPECT_EQ(r.delivered, 770u - 110u);
  EXPECT_FALSE(r.clean());
}

}  // namespace
}  // namespace ordering

// peer-sim's streams across an orderer restart, against an in-process solo
// orderer stopped and started again on the same port and ledger: the
// Deliver listener is back within a bound.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <mutex>
#include <thread>

#include "orderer/consensus/solo/solo_chain.h"
#include "orderer/node.h"
#include "peer-sim/deliver_listener.h"
#include "tests/pipeline_harness.h"

namespace ordering {
namespace {

using testing::TestPeer;

using Steady = std::chrono::steady_clock;

double SecondsSince(Steady::time_point t) { return std::chrono::duration<double>(Steady::now() - t).count(); }

int64_t WallNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class ReconnectLoadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::path(::testing::TempDir()) / ("reconnect-" + std::to_string(::getpid()) + "-" +
                                                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // A solo orderer on `port` (0: any) over the test's ledger.
  std::unique_ptr<OrdererNode> StartSolo(int port = 0) {
    OrdererOptions o;
    o.ledger_dir = (dir_ / "ledger").string();
    o.listen = "127.0.0.1:" + std::to_string(port);
    o.consensus = "solo";
    o.channel.channel_id = "mychannel";
    o.channel.batch_size.max_message_count = 100;
    o.channel.batch_timeout_ms = 200;
    o.sync_writes = false;
    o.make_consenter = solo::OnlySolo();
    std::unique_ptr<OrdererNode> node;
    Status st = OrdererNode::Start(o, SystemClock::Default(), &node);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return node;
  }

  // Sends `n` transactions on one Broadcast stream and waits for the answers.
  static void Send(int port, TestPeer& peer, int n) {
    auto stub = AtomicBroadcast::NewStub(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
    grpc::ClientContext ctx;
    auto stream = stub->Broadcast(&ctx);
    for (int i = 0; i < n; ++i) {
      Envelope env;
      ASSERT_TRUE(env.ParseFromString(peer.Next().envelope));
      ASSERT_TRUE(stream->Write(env));
    }
    stream->WritesDone();
    BroadcastResponse r;
    int ok = 0;
    while (stream->Read(&r)) ok += r.status() == BROADCAST_STATUS_SUCCESS;
    EXPECT_EQ(ok, n);
  }

  std::filesystem::path dir_;
};

// Down for 10 s: long enough for gRPC's default reconnection to have backed
// off to several seconds between attempts (without the bounded backoff the
// first block came 3.5 and 4.5 s after the orderer was back, in two runs
// here); with it, within about a second. 3 s leaves room on a loaded
// machine.
TEST_F(ReconnectLoadTest, TheDeliverListenerIsBackPromptlyAfterTheOrdererRestarts) {
  auto node = StartSolo();
  ASSERT_TRUE(node);
  const int port = node->deliver_port();
  TestPeer peer("mychannel");
  Send(port, peer, 5);
  std::mutex mu;
  std::vector<uint64_t> seen;
  std::unique_ptr<DeliverListener> listener;
  Status st = DeliverListener::Start(
      "127.0.0.1:" + std::to_string(port),
      [&](const Block& b) {
        std::lock_guard<std::mutex> l(mu);
        seen.push_back(b.header().number());
      },
      5000, &listener);
  ASSERT_TRUE(st.ok()) << st.ToString();
  const uint64_t newest = node->ledger()->Info().height - 1;
  const int64_t stopped_ms = WallNs() / 1'000'000;
  node->Stop();
  node.reset();
  std::this_thread::sleep_for(std::chrono::seconds(10));

  node = StartSolo(port);
  ASSERT_TRUE(node);
  const auto ready = Steady::now();
  Send(port, peer, 5);  // one more block
  const uint64_t next = newest + 1;
  bool back = false;
  while (!back && SecondsSince(ready) < 20) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::lock_guard<std::mutex> l(mu);
    back = !seen.empty() && seen.back() >= next;
  }
  const double took = SecondsSince(ready);
  ASSERT_TRUE(back) << "no block within 20 s of the orderer being back";
  EXPECT_LT(took, 3.0) << "the first block after the restart took " << took << " s";
  {
    std::lock_guard<std::mutex> l(mu);
    // Resumed after the last block seen: nothing skipped, nothing twice.
    ASSERT_GE(seen.size(), 2u);
    EXPECT_EQ(seen.front(), newest);
    for (size_t i = 1; i < seen.size(); ++i) EXPECT_EQ(seen[i], seen[i - 1] + 1);
  }
  EXPECT_EQ(listener->reconnects(), 1u);
  std::vector<DeliverOutage> outages = listener->outages();
  ASSERT_EQ(outages.size(), 1u);
  EXPECT_GE(outages[0].lost_unix_ms, stopped_ms - 1000);
  EXPECT_GT(outages[0].back_unix_ms, outages[0].lost_unix_ms);
  EXPECT_GE(outages[0].seconds(), 9.0);  // the orderer was away 10 s
  EXPECT_EQ(outages[0].resumed_at_block, next);
  listener->Stop();
}

}  // namespace
}  // namespace ordering

// The load generator through Broadcast, against an in-process solo orderer
// (no broker): every transaction comes back exactly once, the report says
// which path was used, and a stream that breaks mid-run is reported as
// unanswered transactions (not resent), not as a clean run. Restarting a
// real orderer under load: peer_sim_reconnect_test.cc.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "common/envelope.h"
#include "orderer/consensus/solo/solo_chain.h"
#include "orderer/node.h"
#include "peer-sim/ack_log.h"
#include "peer-sim/load.h"
#include "proto/ab.grpc.pb.h"

namespace ordering {
namespace {

class BroadcastLoadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::path(::testing::TempDir()) /
        ("bload-" + std::to_string(::getpid()) + "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<OrdererNode> StartSolo() {
    OrdererOptions o;
    o.ledger_dir = (dir_ / "ledger").string();
    o.listen = "127.0.0.1:0";
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

  LoadOptions Options(int port) {
    LoadOptions o;
    o.submit = SubmitPath::kBroadcast;
    o.orderer = "127.0.0.1:" + std::to_string(port);
    o.channel_id = "mychannel";
    o.peers = 2;
    o.rate = 400;
    o.duration_ms = 2000;
    o.cooldown_ms = 300;
    o.drain_timeout_ms = 10000;
    o.progress_interval_ms = 0;
    return o;
  }

  std::filesystem::path dir_;
};

TEST_F(BroadcastLoadTest, EveryTransactionComesBackOnce) {
  auto node = StartSolo();
  ASSERT_TRUE(node);
  LoadReport r;
  LoadOptions o = Options(node->deliver_port());
  o.block_times = true;
  o.started_file = (dir_ / "started").string();
  const int64_t before_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  Status st = RunLoad(o, &r);
  ASSERT_TRUE(st.ok()) << st.ToString();
  const int64_t after_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  EXPECT_GE(r.submitted, 800u);
  // One arrival time per block, in order, on the wall clock of this run.
  ASSERT_EQ(r.block_unix_ms.size(), r.blocks);
  ASSERT_FALSE(r.block_unix_ms.empty());
  EXPECT_TRUE(std::is_sorted(r.block_unix_ms.begin(), r.block_unix_ms.end()));
  EXPECT_GE(r.block_unix_ms.front(), before_ms);
  EXPECT_LE(r.block_unix_ms.back(), after_ms);
  // The started file holds second 0 of the run on the wall clock.
  std::ifstream started(o.started_file);
  int64_t started_ms = 0;
  ASSERT_TRUE(started >> started_ms) << "no --started-file";
  EXPECT_NEAR(started_ms, r.start_unix_ms, 2);  // the wall clock read twice
  EXPECT_LE(started_ms, r.block_unix_ms.front());
  EXPECT_EQ(r.acked, r.submitted);  // every envelope answered SUCCESS
  EXPECT_FALSE(r.generator_bound);
  EXPECT_FALSE(r.held_back);
  ASSERT_TRUE(r.generator_load.has_value());
  EXPECT_GT(*r.generator_load, 0);
  EXPECT_LT(*r.generator_load, kGeneratorLoadLimit);
  EXPECT_EQ(r.delivered, r.submitted);
  EXPECT_TRUE(r.clean()) << ReportToText(r);
  EXPECT_EQ(node->metrics().txs_ordered.load(), r.delivered);
  EXPECT_EQ(node->metrics().broadcast_accepted.load(), r.submitted);
  nlohmann::json j = ReportToJson(r);
  EXPECT_EQ(j["config"]["submit"], "broadcast");
  // Broadcast sends the bare envelope: a few bytes less than a Kafka record.
  EXPECT_GT(r.record_bytes, 1000u);
  EXPECT_LE(r.record_bytes, 1024u);
}

// An orderer that takes one envelope per 10 ms from its Broadcast stream,
// with HTTP/2 flow control kept at its initial window, so a client offering
// more waits in Write; its Deliver sends one empty block, then nothing.
class SlowBroadcast final : public AtomicBroadcast::Service {
 public:
  grpc::Status Broadcast(grpc::ServerContext*, grpc::ServerReaderWriter<BroadcastResponse, Envelope>* stream) override {
    Envelope env;
    while (stream->Read(&env)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      BroadcastResponse response;
      response.set_status(BROADCAST_STATUS_SUCCESS);
      if (!stream->Write(response)) break;
    }
    return grpc::Status::OK;
  }
  grpc::Status Deliver(grpc::ServerContext* context, const SeekInfo*,
                       grpc::ServerWriter<DeliverResponse>* writer) override {
    DeliverResponse response;
    response.mutable_block()->mutable_header()->set_number(0);
    writer->Write(response);
    while (!context->IsCancelled()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return grpc::Status::CANCELLED;
  }
};

// Falling behind the offered rate because the service does not take the
// envelopes is the service's limit, not the generator's: the report says
// the peers were held back, and their own work used little of the schedule.
TEST_F(BroadcastLoadTest, AServiceThatStopsReadingHoldsTheGeneratorBackAndIsNotCalledGeneratorBound) {
  SlowBroadcast service;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 16 * 1024);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_TRUE(server);
  LoadOptions o = Options(port);
  o.peers = 1;
  // 1 KB envelopes: past what the service takes (100/s) once the ~50 the
  // flow-control window holds are sent. Transactions due in the window are
  // still sent after it (their latency counts from the due time), which
  // bounds the test: ~4 s.
  o.rate = 400;
  o.duration_ms = 1000;
  o.cooldown_ms = 0;
  o.drain_timeout_ms = 500;  // none is ever delivered
  LoadReport r;
  Status st = RunLoad(o, &r);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_LT(r.submit_tps, 0.8 * 400) << ReportToText(r);
  EXPECT_TRUE(r.held_back) << ReportToText(r);
  EXPECT_FALSE(r.generator_bound) << ReportToText(r);
  EXPECT_GT(r.submit_held_share, 0.5);
  ASSERT_TRUE(r.generator_load.has_value());
  EXPECT_LT(*r.generator_load, kGeneratorLoadLimit);
  nlohmann::json j = ReportToJson(r);
  EXPECT_TRUE(j["held_back"].get<bool>());
  EXPECT_FALSE(j["generator_bound"].get<bool>());
}

// An orderer whose every Broadcast stream answers SUCCESS to its first 50
// envelopes, reads 20 more without answering, then breaks the stream; its
// Deliver sends one empty block, then nothing.
class BreakingBroadcast final : public AtomicBroadcast::Service {
 public:
  grpc::Status Broadcast(grpc::ServerContext*, grpc::ServerReaderWriter<BroadcastResponse, Envelope>* stream) override {
    Envelope env;
    for (int n = 0; n < 70 && stream->Read(&env); ++n) {
      DecodedTx tx;
      EXPECT_TRUE(DecodePayload(env, &tx).ok());
      {
        std::lock_guard<std::mutex> l(mu);
        ++received[tx.tx_id()];
      }
      if (n >= 50) continue;
      BroadcastResponse response;
      response.set_status(BROADCAST_STATUS_SUCCESS);
      response.set_tx_id(tx.tx_id());
      if (!stream->Write(response)) break;
      ++answered;
    }
    ++streams;
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "broken on purpose");
  }
  grpc::Status Deliver(grpc::ServerContext* context, const SeekInfo*,
                       grpc::ServerWriter<DeliverResponse>* writer) override {
    DeliverResponse response;
    response.mutable_block()->mutable_header()->set_number(0);
    writer->Write(response);
    while (!context->IsCancelled()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return grpc::Status::CANCELLED;
  }
  std::mutex mu;
  std::map<std::string, int> received;  // tx id -> times received
  std::atomic<int> answered{0}, streams{0};
};

// Transactions sent on a stream that breaks before answering them are
// counted unanswered, given one ack log line each, and never resent; each
// break is followed by a new stream that carries on.
TEST_F(BroadcastLoadTest, AStreamThatBreaksOwingAnswersCountsThemUnansweredAndDoesNotResend) {
  BreakingBroadcast service;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_TRUE(server);
  std::filesystem::create_directories(dir_);
  LoadOptions o = Options(port);
  o.peers = 1;
  o.rate = 200;
  o.duration_ms = 2000;
  o.cooldown_ms = 0;
  o.drain_timeout_ms = 500;  // none is ever delivered
  o.ack_log = (dir_ / "acks.log").string();
  LoadReport r;
  Status st = RunLoad(o, &r);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
  ASSERT_TRUE(st.ok()) << st.ToString();
  const std::string text = ReportToText(r);
  ASSERT_TRUE(r.broadcast_streams.has_value());
  const StreamCounters& s = *r.broadcast_streams;
  EXPECT_GE(s.broken, 4u) << text;  // ~400 transactions, 70 a stream
  EXPECT_GE(s.reconnects + 1, s.broken) << text;
  EXPECT_LE(s.reconnects, s.broken);
  EXPECT_EQ(r.acked, static_cast<uint64_t>(service.answered.load()));
  EXPECT_GE(r.unanswered, 20 * s.broken) << text;  // at least those read and not answered
  EXPECT_EQ(s.unanswered, r.unanswered);
  EXPECT_EQ(r.delivered, 0u);
  EXPECT_EQ(r.never_acked, r.submitted - r.acked - r.failed);
  EXPECT_FALSE(r.clean());
  {
    std::lock_guard<std::mutex> l(service.mu);
    for (const auto& [id, n] : service.received) EXPECT_EQ(n, 1) << id << " was sent again";
    EXPECT_LE(service.received.size(), r.submitted);
  }
  // One line per transaction: SUCCESS for the answered, the rest lost with
  // their stream (or, for the one whose write found the stream broken, not
  // sent; or given up at exit).
  std::ifstream in(o.ack_log);
  std::string line;
  std::map<std::string, uint64_t> outcomes;
  uint64_t lines = 0;
  while (std::getline(in, line)) {
    AckLine a;
    AckLineKind kind = ParseAckLine(line, &a);
    ASSERT_NE(kind, AckLineKind::kTorn) << line;
    if (kind != AckLineKind::kLine) continue;
    ++lines;
    ++outcomes[a.outcome];
  }
  EXPECT_EQ(lines, r.submitted);
  EXPECT_EQ(outcomes["SUCCESS"], r.acked);
  EXPECT_EQ(outcomes["UNANSWERED_STREAM_BROKEN"], r.unanswered);
  EXPECT_EQ(outcomes["NOT_SENT"], r.failed);
  EXPECT_EQ(outcomes["SUCCESS"] + outcomes["UNANSWERED_STREAM_BROKEN"] + outcomes["NOT_SENT"] + outcomes["ABANDONED"],
            lines);
  nlohmann::json j = ReportToJson(r);
  EXPECT_EQ(j["streams"]["broadcast"]["broken"], s.broken);
  EXPECT_EQ(j["unanswered"], r.unanswered);
}

TEST_F(BroadcastLoadTest, AnUnreachableOrdererFailsFastNamingIt) {
  LoadOptions o = Options(1);  // nothing listens on port 1
  o.connect_timeout_ms = 500;
  LoadReport r;
  Status st = RunLoad(o, &r);
  EXPECT_TRUE(st.IsUnavailable()) << st.ToString();
  EXPECT_NE(st.message().find("127.0.0.1:1"), std::string::npos) << st.message();
}

TEST_F(BroadcastLoadTest, RawModeNeedsTheKafkaPath) {
  LoadOptions o = Options(1);
  o.raw = true;
  LoadReport r;
  EXPECT_TRUE(RunLoad(o, &r).IsInvalidArgument());
}

}  // namespace
}  // namespace ordering

// What a Broadcast client is told, on the edges: a frame that is not an
// Envelope, replays of a transaction (same stream, new stream, after a
// restart, still in flight), a transaction not durable in time, a node that
// stops with answers owed, the two acknowledgement modes, and on Kafka a
// broker that is down and an envelope larger than librdkafka's default
// limit. In-process, on loopback; the Kafka cases on the embedded broker.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/codegen/client_unary_call.h>
#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "orderer/consensus/kafka/kafka_chain.h"
#include "orderer/consensus/solo/solo_chain.h"
#include "orderer/consensus/testing/test_channel.h"
#include "orderer/node.h"
#include "orderer/server.h"
#include "proto/ab.grpc.pb.h"
#include "tests/pipeline_harness.h"
#include "tests/test_broker.h"

namespace ordering::testing {
namespace {

// A Broadcast stream that sends raw frames, so a test can send bytes that
// are not an Envelope (a generated stub can only send Envelopes).
class RawBroadcast {
 public:
  // `ack`: ask for this acknowledgement on the stream (kAckHeader).
  explicit RawBroadcast(int port, const std::string& ack = "")
      : channel_(grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials())),
        method_(kMethod.c_str(), grpc::internal::RpcMethod::BIDI_STREAMING) {
    ctx_.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    if (!ack.empty()) ctx_.AddMetadata(kAckHeader, ack);
    stream_.reset(grpc::internal::ClientReaderWriterFactory<grpc::ByteBuffer, grpc::ByteBuffer>::Create(
        channel_.get(), method_, &ctx_));
  }
  bool Send(const std::string& bytes) {
    grpc::Slice slice(bytes);
    grpc::ByteBuffer buffer(&slice, 1);
    return stream_->Write(buffer);
  }
  // The next answer; false when the stream ended.
  bool Answer(BroadcastResponse* r) {
    grpc::ByteBuffer buffer;
    if (!stream_->Read(&buffer)) return false;
    std::vector<grpc::Slice> slices;
    EXPECT_TRUE(buffer.Dump(&slices).ok());
    std::string bytes;
    for (const grpc::Slice& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
    return r->ParseFromString(bytes);
  }
  BroadcastResponse SendAndAnswer(const std::string& bytes) {
    BroadcastResponse r;
    EXPECT_TRUE(Send(bytes));
    EXPECT_TRUE(Answer(&r));
    return r;
  }
  grpc::Status Close() {
    stream_->WritesDone();
    BroadcastResponse extra;
    while (Answer(&extra)) ADD_FAILURE() << "an answer nobody asked for: " << extra.ShortDebugString();
    return stream_->Finish();
  }

 private:
  static inline const std::string kMethod = std::string("/") + AtomicBroadcast::service_full_name() + "/Broadcast";
  std::shared_ptr<grpc::Channel> channel_;
  grpc::internal::RpcMethod method_;
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>> stream_;
};

class BroadcastAckTest : public ::testing::Test {
 protected:
  OrdererOptions SoloOptions(AckMode ack = AckMode::kDurable) {
    OrdererOptions o;
    o.ledger_dir = dir_.path("ledger");
    o.listen = "127.0.0.1:0";
    o.consensus = "solo";
    o.channel.batch_size.max_message_count = 10;
    o.channel.batch_timeout_ms = 200;
    o.sync_writes = false;
    o.broadcast.ack = ack;
    o.make_consenter = solo::OnlySolo();
    return o;
  }
  std::unique_ptr<OrdererNode> Start(const OrdererOptions& o) {
    std::unique_ptr<OrdererNode> node;
    Status st = OrdererNode::Start(o, SystemClock::Default(), &node);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return node;
  }
  static uint64_t Rejected(const OrdererNode& node, RejectCause cause) {
    return node.metrics().rejected[static_cast<size_t>(cause)].load();
  }

  TempDir dir_{"broadcast-ack"};
  TestPeer peer_{"mychannel"};
};

TEST_F(BroadcastAckTest, AFrameThatIsNotAnEnvelopeIsAnsweredBadRequestAndCounted) {
  auto node = Start(SoloOptions());
  ASSERT_TRUE(node);
  RawBroadcast stream(node->deliver_port());
  // Not protobuf at all (an invalid wire type), then a good envelope: the
  // stream lives on.
  BroadcastResponse r = stream.SendAndAnswer(std::string("\xff\xff\xff\xff not an envelope", 21));
  EXPECT_EQ(r.status(), BROADCAST_STATUS_BAD_REQUEST);
  EXPECT_EQ(r.info().rfind("malformed", 0), 0u) << r.info();
  BuiltTx tx = peer_.Next();
  r = stream.SendAndAnswer(tx.envelope);
  EXPECT_EQ(r.status(), BROADCAST_STATUS_SUCCESS) << r.info();
  EXPECT_EQ(r.tx_id(), tx.tx_id);
  EXPECT_TRUE(stream.Close().ok());
  EXPECT_EQ(Rejected(*node, RejectCause::kMalformed), 1u);
  EXPECT_EQ(node->metrics().broadcast_bad_request.load(), 1u);
  EXPECT_EQ(node->metrics().broadcast_accepted.load(), 1u);
}

TEST_F(BroadcastAckTest, AReplayIsAnsweredDuplicateOnTheSameStreamANewStreamAndAfterARestart) {
  BuiltTx tx = peer_.Next();
  {
    auto node = Start(SoloOptions());
    ASSERT_TRUE(node);
    RawBroadcast stream(node->deliver_port());
    EXPECT_EQ(stream.SendAndAnswer(tx.envelope).status(), BROADCAST_STATUS_SUCCESS);
    BroadcastResponse again = stream.SendAndAnswer(tx.envelope);
    EXPECT_EQ(again.status(), BROADCAST_STATUS_BAD_REQUEST);
    EXPECT_NE(again.info().find("duplicate"), std::string::npos) << again.info();
    EXPECT_TRUE(stream.Close().ok());
    RawBroadcast other(node->deliver_port());
    EXPECT_EQ(other.SendAndAnswer(tx.envelope).status(), BROADCAST_STATUS_BAD_REQUEST);
    EXPECT_TRUE(other.Close().ok());
    EXPECT_EQ(Rejected(*node, RejectCause::kDuplicate), 2u);
  }
  auto node = Start(SoloOptions());
  ASSERT_TRUE(node);
  RawBroadcast stream(node->deliver_port());
  BroadcastResponse r = stream.SendAndAnswer(tx.envelope);
  EXPECT_EQ(r.status(), BROADCAST_STATUS_BAD_REQUEST);
  EXPECT_NE(r.info().find("already in the chain"), std::string::npos) << r.info();
  EXPECT_TRUE(stream.Close().ok());
  node->Stop();
  EXPECT_EQ(ReadLedger(dir_.path("ledger")).tx_ids, std::vector<std::string>{tx.tx_id});
}

TEST_F(BroadcastAckTest, AReplayOfATransactionStillInFlightIsAnsweredDuplicate) {
  OrdererOptions o = SoloOptions();
  o.channel.batch_timeout_ms = 1500;  // the first copy waits in the cutter meanwhile
  auto node = Start(o);
  ASSERT_TRUE(node);
  BuiltTx tx = peer_.Next();
  RawBroadcast stream(node->deliver_port());
  ASSERT_TRUE(stream.Send(tx.envelope));
  ASSERT_TRUE(stream.Send(tx.envelope));
  BroadcastResponse first, second;
  ASSERT_TRUE(stream.Answer(&first));
  ASSERT_TRUE(stream.Answer(&second));
  EXPECT_EQ(first.status(), BROADCAST_STATUS_SUCCESS) << first.info();
  EXPECT_EQ(second.status(), BROADCAST_STATUS_BAD_REQUEST);
  EXPECT_NE(second.info().find("in flight"), std::string::npos) << second.info();
  EXPECT_TRUE(stream.Close().ok());
}

TEST_F(BroadcastAckTest, DurableAnswersOnceWrittenAcceptedAnswersOnceQueued) {
  // Three transactions, far from a full block: their block is cut by the
  // batch timeout. With `accepted` they are answered before it; with
  // `durable` not before the ledger has them; a durable node's client may
  // ask for `accepted` on its stream (a Raft follower forwarding does), and
  // nobody may ask for more than the node's mode.
  struct Case {
    AckMode node;
    std::string asked;
    bool durable;
  };
  for (const Case& c : {Case{AckMode::kAccepted, "", false}, Case{AckMode::kDurable, "", true},
                        Case{AckMode::kDurable, "accepted", false}, Case{AckMode::kAccepted, "durable", false}}) {
    const AckMode mode = c.node;
    SCOPED_TRACE(std::string(AckModeName(mode)) + " asked " + c.asked);
    OrdererOptions o = SoloOptions(mode);
    o.ledger_dir = dir_.path(std::string("ledger-") + AckModeName(mode) + c.asked);
    o.channel.batch_timeout_ms = 1000;
    auto node = Start(o);
    ASSERT_TRUE(node);
    RawBroadcast stream(node->deliver_port(), c.asked);
    std::vector<std::string> ids;
    for (int i = 0; i < 3; ++i) {
      BuiltTx tx = peer_.Next();
      ids.push_back(tx.tx_id);
      ASSERT_TRUE(stream.Send(tx.envelope));
    }
    int in_ledger_when_answered = 0;
    for (int i = 0; i < 3; ++i) {
      BroadcastResponse r;
      ASSERT_TRUE(stream.Answer(&r));
      EXPECT_EQ(r.status(), BROADCAST_STATUS_SUCCESS) << r.info();
      TxLocation loc;
      if (node->ledger()->FindTx(r.tx_id(), &loc).ok()) ++in_ledger_when_answered;
    }
    EXPECT_EQ(in_ledger_when_answered, c.durable ? 3 : 0);
    EXPECT_TRUE(stream.Close().ok());
    EXPECT_GT(node->metrics().broadcast_ack_duration.Read().count, 0u);
  }
}

// A chain that takes every transaction and orders none: nothing it is
// given becomes durable.
class BlackHoleChain final : public Chain {
 public:
  Status Start() override { return Status::OK(); }
  Status Order(CutterMessage) override { return Status::OK(); }
  Status WaitReady() override { return Status::OK(); }
  Status Errored() const override { return Status::OK(); }
  void Halt() override {}
};

TEST_F(BroadcastAckTest, NotDurableInTimeIsServiceUnavailableAndAStopAnswersWhatIsOwed) {
  ManualClock clock;
  TestChannel channel(ChannelOptions{}, &clock);
  BlackHoleChain chain;
  BroadcastOptions bo;
  bo.ack_timeout_ms = 300;
  OrdererMetrics metrics;
  BroadcastHandler handler(bo, channel.support()->ingress_options(), &metrics);
  handler.SetChain(&chain, channel.support());
  std::unique_ptr<AtomicBroadcastServer> server;
  DeliverService deliver(channel.ledger(), 0);
  ASSERT_TRUE(AtomicBroadcastServer::Start("127.0.0.1:0", &handler, &deliver, 4 << 20, &server).ok());

  RawBroadcast stream(server->port());
  BroadcastResponse r = stream.SendAndAnswer(peer_.Next().envelope);
  EXPECT_EQ(r.status(), BROADCAST_STATUS_SERVICE_UNAVAILABLE);
  EXPECT_NE(r.info().find("not durable within 300 ms"), std::string::npos) << r.info();
  EXPECT_EQ(metrics.broadcast_ack_timeouts.load(), 1u);
  EXPECT_EQ(channel.support()->acks()->size(), 0u) << "a timed-out waiter stays registered";

  // The waiter a stopping node resolves is answered at once.
  BuiltTx owed = peer_.Next();
  ASSERT_TRUE(stream.Send(owed.envelope));
  ASSERT_TRUE(PollUntil([&] { return channel.support()->acks()->size() == 1; }));
  channel.support()->acks()->ResolveAll(Status::Unavailable("the orderer is stopping"));
  ASSERT_TRUE(stream.Answer(&r));
  EXPECT_EQ(r.status(), BROADCAST_STATUS_SERVICE_UNAVAILABLE);
  EXPECT_EQ(r.tx_id(), owed.tx_id);
  EXPECT_NE(r.info().find("stopping"), std::string::npos) << r.info();
  EXPECT_EQ(metrics.broadcast_ack_timeouts.load(), 1u);
  EXPECT_TRUE(stream.Close().ok());
  server->Stop();
}

class KafkaAckTest : public BroadcastAckTest {
 protected:
  void SetUp() override {
    broker_ = TestBroker::Start();
    ASSERT_TRUE(broker_);
    channel_ = broker_->NewChannelName();
    ASSERT_TRUE(broker_->CreateChannel(channel_).ok());
  }
  OrdererOptions KafkaOptions() {
    OrdererOptions o;
    o.ledger_dir = dir_.path("ledger");
    o.listen = "127.0.0.1:0";
    o.channel.channel_id = channel_;
    o.channel.batch_size.max_message_count = 10;
    o.channel.batch_size.absolute_max_bytes = 4 << 20;
    o.channel.batch_size.preferred_max_bytes = 4 << 20;
    o.channel.batch_timeout_ms = 200;
    o.sync_writes = false;
    KafkaChainOptions k;
    k.brokers = broker_->bootstrap();
    k.verify_workers = 1;
    o.make_consenter = OnlyKafka(k);
    return o;
  }
  std::unique_ptr<TestBroker> broker_;
  std::string channel_;
};

TEST_F(KafkaAckTest, WhileTheBrokerIsDownNothingIsAnsweredSuccess) {
  if (broker_->real()) GTEST_SKIP() << "takes the embedded broker down";
  OrdererOptions o = KafkaOptions();
  o.broadcast.ack_timeout_ms = 1500;
  auto node = Start(o);
  ASSERT_TRUE(node);
  TestPeer peer(channel_);
  RawBroadcast stream(node->deliver_port());
  BuiltTx before = peer.Next();
  EXPECT_EQ(stream.SendAndAnswer(before.envelope).status(), BROADCAST_STATUS_SUCCESS);

  ASSERT_TRUE(broker_->mock()->SetBrokerUp(1, false).ok());
  std::vector<std::string> during;
  for (int i = 0; i < 3; ++i) {
    BuiltTx tx = peer.Next();
    during.push_back(tx.tx_id);
    BroadcastResponse r = stream.SendAndAnswer(tx.envelope);
    EXPECT_EQ(r.status(), BROADCAST_STATUS_SERVICE_UNAVAILABLE) << r.info();
  }
  ASSERT_TRUE(broker_->mock()->SetBrokerUp(1, true).ok());
  BuiltTx after = peer.Next();
  BroadcastResponse r;
  // The producer may still be reconnecting: a SERVICE_UNAVAILABLE answer is
  // allowed for a moment, a SUCCESS must come.
  for (int attempt = 0; attempt < 20; ++attempt) {
    r = stream.SendAndAnswer(after.envelope);
    if (r.status() != BROADCAST_STATUS_SERVICE_UNAVAILABLE) break;
  }
  EXPECT_TRUE(r.status() == BROADCAST_STATUS_SUCCESS ||
              (r.status() == BROADCAST_STATUS_BAD_REQUEST && r.info().find("duplicate") != std::string::npos))
      << r.ShortDebugString();
  EXPECT_TRUE(stream.Close().ok());
  // What was answered SUCCESS is ordered; what was not may be, at most once.
  ASSERT_TRUE(WaitFor([&] {
    TxLocation loc;
    return node->ledger()->FindTx(before.tx_id, &loc).ok() && node->ledger()->FindTx(after.tx_id, &loc).ok();
  })) << node->metrics().Summary();
  node->Stop();
  LedgerContents ledger = ReadLedger(o.ledger_dir);
  std::set<std::string> seen;
  for (const std::string& id : ledger.tx_ids) EXPECT_TRUE(seen.insert(id).second) << id << " twice";
}

TEST_F(KafkaAckTest, AnEnvelopeOverAMegabyteWithinAbsoluteMaxBytesIsOrdered) {
  auto node = Start(KafkaOptions());
  ASSERT_TRUE(node);
  TestPeer big(channel_, 2 << 20);  // 2 MiB: librdkafka's default limit is 1,000,000 bytes
  BuiltTx tx = big.Next();
  RawBroadcast stream(node->deliver_port());
  BroadcastResponse r = stream.SendAndAnswer(tx.envelope);
  EXPECT_EQ(r.status(), BROADCAST_STATUS_SUCCESS) << r.info();
  EXPECT_TRUE(stream.Close().ok());
  ASSERT_TRUE(WaitFor([&] {
    TxLocation loc;
    return node->ledger()->FindTx(tx.tx_id, &loc).ok();
  })) << node->metrics().Summary();
}

}  // namespace
}  // namespace ordering::testing

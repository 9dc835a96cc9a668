// The orderer's AtomicBroadcast server end to end, in-process, on the solo
// backend (no broker): Broadcast answers every envelope in order, rejects
// and counts bad ones (a replay as a duplicate), the chain holds each good
// one once; Deliver ends its
// streams instead of spinning when the chain fails or a block is unreadable.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <set>
#include <thread>

#include "common/bytes.h"
#include "orderer/consensus/solo/solo_chain.h"
#include "orderer/node.h"
#include "orderer/server.h"
#include "proto/ab.grpc.pb.h"
#include "tests/pipeline_harness.h"

namespace ordering::testing {
namespace {

class BroadcastTest : public ::testing::Test {
 protected:
  OrdererOptions Options(const std::string& ledger) {
    OrdererOptions o;
    o.ledger_dir = ledger;
    o.listen = "127.0.0.1:0";
    o.consensus = "solo";
    o.channel.channel_id = "mychannel";
    o.channel.batch_size.max_message_count = 25;
    o.channel.batch_size.absolute_max_bytes = 64 * 1024;
    o.channel.batch_size.preferred_max_bytes = 32 * 1024;
    o.channel.batch_timeout_ms = 200;
    o.sync_writes = false;
    o.make_consenter = solo::OnlySolo();
    return o;
  }
  std::unique_ptr<OrdererNode> Start(const OrdererOptions& o) {
    std::unique_ptr<OrdererNode> node;
    Status st = OrdererNode::Start(o, SystemClock::Default(), &node);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return node;
  }
  std::unique_ptr<AtomicBroadcast::Stub> Stub(int port) {
    return AtomicBroadcast::NewStub(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  }
  static Envelope Parse(const std::string& bytes) {
    Envelope env;
    EXPECT_TRUE(env.ParseFromString(bytes));
    return env;
  }

  TempDir dir_{"broadcast"};
};

TEST_F(BroadcastTest, EveryEnvelopeIsAnsweredInOrderAndGoodOnesAreOrderedOnce) {
  auto node = Start(Options(dir_.path("ledger")));
  ASSERT_TRUE(node);
  EXPECT_EQ(node->consensus(), "solo");
  TestPeer peer("mychannel"), other_channel("otherchannel");

  // 200 good envelopes with bad ones mixed in: a bad signature, another
  // channel, garbage and a duplicate of an earlier good one.
  std::vector<Envelope> sent;
  std::vector<std::string> expect;  // "" for SUCCESS, else the cause
  std::vector<std::string> good_ids;
  for (int i = 0; i < 200; ++i) {
    BuiltTx tx = peer.Next();
    sent.push_back(Parse(tx.envelope));
    expect.push_back("");
    good_ids.push_back(tx.tx_id);
    if (i == 50) {
      Envelope bad = Parse(peer.Next().envelope);
      bad.set_signature(bad.signature().substr(2));
      sent.push_back(bad);
      expect.push_back("bad_signature");
    } else if (i == 90) {
      sent.push_back(Parse(other_channel.Next().envelope));
      expect.push_back("wrong_channel");
    } else if (i == 120) {
      Envelope junk;
      junk.set_payload("not a payload");
      sent.push_back(junk);
      expect.push_back("malformed");
    } else if (i == 150) {
      Envelope twin = sent.front();
      sent.push_back(twin);  // its first copy is in the chain (or in flight)
      expect.push_back("duplicate");
    }
  }

  auto stub = Stub(node->deliver_port());
  grpc::ClientContext ctx;
  auto stream = stub->Broadcast(&ctx);
  std::thread writer([&] {
    for (const Envelope& e : sent) ASSERT_TRUE(stream->Write(e));
    stream->WritesDone();
  });
  std::vector<BroadcastResponse> answers;
  BroadcastResponse r;
  while (stream->Read(&r)) answers.push_back(r);
  writer.join();
  ASSERT_TRUE(stream->Finish().ok());
  ASSERT_EQ(answers.size(), sent.size());
  for (size_t i = 0; i < answers.size(); ++i) {
    if (expect[i].empty()) {
      EXPECT_EQ(answers[i].status(), BROADCAST_STATUS_SUCCESS) << i << ": " << answers[i].info();
    } else {
      EXPECT_EQ(answers[i].status(), BROADCAST_STATUS_BAD_REQUEST) << i;
      EXPECT_EQ(answers[i].info().rfind(expect[i], 0), 0u) << i << ": " << answers[i].info();
    }
  }

  ASSERT_TRUE(WaitFor([&] { return node->metrics().txs_ordered.load() >= 200; })) << node->metrics().Summary();
  const OrdererMetrics& m = node->metrics();
  EXPECT_EQ(m.broadcast_received.load(), sent.size());
  EXPECT_EQ(m.broadcast_accepted.load(), 200u);
  EXPECT_EQ(m.broadcast_bad_request.load(), 4u);
  EXPECT_EQ(m.rejected[static_cast<size_t>(RejectCause::kBadSignature)].load(), 1u);
  EXPECT_EQ(m.rejected[static_cast<size_t>(RejectCause::kWrongChannel)].load(), 1u);
  EXPECT_EQ(m.rejected[static_cast<size_t>(RejectCause::kMalformed)].load(), 1u);
  EXPECT_EQ(m.rejected[static_cast<size_t>(RejectCause::kDuplicate)].load(), 1u);
  node->Stop();

  LedgerContents ledger = ReadLedger(dir_.path("ledger"));
  EXPECT_EQ(ledger.tx_ids, good_ids);  // one stream: arrival order is the chain's order
  for (size_t n = 1; n < ledger.blocks.size(); ++n) EXPECT_TRUE(ledger.blocks[n].metadata().consenter().empty());
}

TEST_F(BroadcastTest, AStartThatFailsLeavesNoLedgerFolderBehind) {
  // Refused settings: nothing is created at all.
  OrdererOptions bad = Options(dir_.path("bad-settings"));
  bad.channel.batch_size.preferred_max_bytes = bad.channel.batch_size.absolute_max_bytes + 1;
  std::unique_ptr<OrdererNode> node;
  Status st = OrdererNode::Start(bad, SystemClock::Default(), &node);
  EXPECT_NE(st.message().find("PreferredMaxBytes"), std::string::npos) << st.ToString();
  EXPECT_FALSE(std::filesystem::exists(dir_.path("bad-settings")));
  // A failure after the ledger was created (its port is taken): the folder
  // this start created goes again.
  auto running = Start(Options(dir_.path("running")));
  ASSERT_TRUE(running);
  OrdererOptions taken = Options(dir_.path("port-taken"));
  taken.listen = "127.0.0.1:" + std::to_string(running->deliver_port());
  st = OrdererNode::Start(taken, SystemClock::Default(), &node);
  EXPECT_FALSE(st.ok());
  EXPECT_FALSE(std::filesystem::exists(dir_.path("port-taken"))) << st.ToString();
  // An existing ledger is never removed by a failed start.
  running->Stop();
  auto again = Start(Options(dir_.path("running")));
  ASSERT_TRUE(again);
  OrdererOptions second = Options(dir_.path("running-2"));
  ASSERT_TRUE(Start(second));  // creates running-2 and stops at scope end
  second.listen = "127.0.0.1:" + std::to_string(again->deliver_port());
  EXPECT_FALSE(OrdererNode::Start(second, SystemClock::Default(), &node).ok());
  EXPECT_TRUE(std::filesystem::exists(dir_.path("running-2")));
}

TEST_F(BroadcastTest, ARestartedSoloOrdererContinuesTheChainAndTheLedgerNamesItsBackend) {
  TestPeer peer("mychannel");
  auto send = [&](OrdererNode* node, int n) {
    auto stub = Stub(node->deliver_port());
    grpc::ClientContext ctx;
    auto stream = stub->Broadcast(&ctx);
    for (int i = 0; i < n; ++i) ASSERT_TRUE(stream->Write(Parse(peer.Next().envelope)));
    stream->WritesDone();
    BroadcastResponse r;
    int ok = 0;
    while (stream->Read(&r)) ok += r.status() == BROADCAST_STATUS_SUCCESS;
    EXPECT_EQ(ok, n);
  };
  OrdererOptions o = Options(dir_.path("ledger"));
  {
    auto node = Start(o);
    ASSERT_TRUE(node);
    send(node.get(), 60);
    ASSERT_TRUE(WaitFor([&] { return node->metrics().txs_ordered.load() >= 60; }));
  }
  // No --consensus: the ledger's genesis decides.
  o.consensus.clear();
  auto node = Start(o);
  ASSERT_TRUE(node);
  EXPECT_EQ(node->consensus(), "solo");
  send(node.get(), 40);
  ASSERT_TRUE(WaitFor([&] { return node->metrics().txs_ordered.load() >= 40; }));
  node->Stop();
  LedgerContents ledger = ReadLedger(dir_.path("ledger"));
  EXPECT_EQ(ledger.tx_ids.size(), 100u);
  EXPECT_EQ(std::set<std::string>(ledger.tx_ids.begin(), ledger.tx_ids.end()).size(), 100u);

  // Naming another backend for this ledger is refused by name.
  o.consensus = "kafka";
  std::unique_ptr<OrdererNode> wrong;
  Status st = OrdererNode::Start(o, SystemClock::Default(), &wrong);
  EXPECT_TRUE(st.IsInvalidArgument()) << st.ToString();
  EXPECT_NE(st.message().find("ordered by 'solo'"), std::string::npos) << st.message();
}

TEST_F(BroadcastTest, DeliverEndsTheStreamWhenACommittedBlockCannotBeRead) {
  // A ledger of three blocks, opened read-only: its view is fixed at open.
  {
    std::unique_ptr<BlockStore> w;
    LedgerOptions lo;
    lo.path = dir_.path("ledger");
    ASSERT_TRUE(BlockStore::Open(lo, &w).ok());
    ChannelConfig c;
    c.set_channel_id("mychannel");
    c.set_consensus_type("solo");
    ASSERT_TRUE(w->Append(MakeGenesisBlock(c)).ok());
    TestPeer peer("mychannel");
    for (int n = 1; n <= 2; ++n) {
      BlockMetadata md;
      md.set_cut_reason(CUT_REASON_TIMEOUT);
      ASSERT_TRUE(w->Append(MakeBlock(BlockNumber(n), w->Info().last_hash, {peer.Next().envelope}, md)).ok());
    }
  }
  std::unique_ptr<BlockStore> ledger;
  LedgerOptions lo;
  lo.path = dir_.path("ledger");
  lo.read_only = true;
  ASSERT_TRUE(BlockStore::Open(lo, &ledger).ok());
  // Keep nothing in memory, so every block is read from the ledger; then
  // announce a block 3 that the ledger does not have.
  DeliverService deliver(ledger.get(), 0);
  Block ghost;
  ghost.mutable_header()->set_number(3);
  deliver.Publish(std::make_shared<Block>(ghost));
  OrdererMetrics metrics;
  BroadcastHandler broadcast(BroadcastOptions{}, IngressOptions{"mychannel", 1024 * 1024}, &metrics);
  std::unique_ptr<AtomicBroadcastServer> server;
  ASSERT_TRUE(AtomicBroadcastServer::Start("127.0.0.1:0", &broadcast, &deliver, 4 << 20, &server).ok());

  auto stub = Stub(server->port());
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  SeekInfo seek;
  seek.set_start(SeekInfo::OLDEST);
  auto reader = stub->Deliver(&ctx, seek);
  DeliverResponse resp;
  std::vector<uint64_t> blocks;
  DeliverStatus status = DELIVER_STATUS_UNSPECIFIED;
  while (reader->Read(&resp)) {
    if (resp.has_block())
      blocks.push_back(resp.block().header().number());
    else
      status = resp.status();
  }
  grpc::Status end = reader->Finish();
  EXPECT_NE(end.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << "the stream spun instead of ending";
  EXPECT_EQ(blocks, (std::vector<uint64_t>{0, 1, 2}));
  EXPECT_EQ(status, DELIVER_STATUS_SERVICE_UNAVAILABLE);
  server->Stop();
}

TEST_F(BroadcastTest, DeliverEndsWaitingStreamsOnceTheChainHasFailed) {
  std::unique_ptr<BlockStore> ledger;
  LedgerOptions lo;
  lo.path = dir_.path("ledger");
  ASSERT_TRUE(BlockStore::Open(lo, &ledger).ok());
  ChannelConfig c;
  c.set_channel_id("mychannel");
  c.set_consensus_type("solo");
  ASSERT_TRUE(ledger->Append(MakeGenesisBlock(c)).ok());
  std::mutex mu;
  Status chain_error;
  DeliverService deliver(ledger.get(), 64, [&] {
    std::lock_guard<std::mutex> l(mu);
    return chain_error;
  });
  OrdererMetrics metrics;
  BroadcastHandler broadcast(BroadcastOptions{}, IngressOptions{"mychannel", 1024 * 1024}, &metrics);
  std::unique_ptr<AtomicBroadcastServer> server;
  ASSERT_TRUE(AtomicBroadcastServer::Start("127.0.0.1:0", &broadcast, &deliver, 4 << 20, &server).ok());

  auto stub = Stub(server->port());
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  SeekInfo seek;
  seek.set_start(SeekInfo::OLDEST);
  auto reader = stub->Deliver(&ctx, seek);
  DeliverResponse resp;
  ASSERT_TRUE(reader->Read(&resp));  // genesis; the stream now waits at the tail
  ASSERT_TRUE(resp.has_block());
  {
    std::lock_guard<std::mutex> l(mu);
    chain_error = Status::IOError("ledger disk failed");
  }
  ASSERT_TRUE(reader->Read(&resp));
  EXPECT_EQ(resp.status(), DELIVER_STATUS_SERVICE_UNAVAILABLE);
  EXPECT_FALSE(reader->Read(&resp));
  EXPECT_NE(reader->Finish().error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);

  // Broadcast without a chain answers SERVICE_UNAVAILABLE, not silence.
  grpc::ClientContext bctx;
  auto stream = stub->Broadcast(&bctx);
  TestPeer peer("mychannel");
  Envelope env;
  ASSERT_TRUE(env.ParseFromString(peer.Next().envelope));
  ASSERT_TRUE(stream->Write(env));
  BroadcastResponse answer;
  ASSERT_TRUE(stream->Read(&answer));
  EXPECT_EQ(answer.status(), BROADCAST_STATUS_SERVICE_UNAVAILABLE);
  stream->WritesDone();
  stream->Finish();
  server->Stop();
}

}  // namespace
}  // namespace ordering::testing

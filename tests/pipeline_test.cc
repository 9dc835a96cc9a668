// End to end on the embedded broker, in-process: peers' signed transactions
// go through Kafka into an OrdererNode; the ledger must hold each exactly
// once, in partition order, in a chain that verifies.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <sstream>

#include "common/cli.h"
#include "common/monitoring_server.h"
#include "orderer/consensus/kafka/kafka_chain.h"
#include "orderer/node.h"
#include "proto/ab.grpc.pb.h"
#include "proto/kafka.pb.h"
#include "tests/pipeline_fixture.h"

namespace ordering::testing {
namespace {

TEST_F(PipelineTest, EveryTransactionOrderedExactlyOnceInPartitionOrder) {
  auto node = StartNode(NodeOptions(dir_.path("ledger")));
  ASSERT_TRUE(node);
  Submitter sub(broker_->bootstrap(), channel_);
  std::vector<TestPeer> peers = Peers(3);
  constexpr int kTxs = 600;
  for (int i = 0; i < kTxs; ++i) {
    BuiltTx tx = peers[i % 3].Next();
    sub.Send(tx.record, tx.tx_id);
  }
  sub.Flush();
  ASSERT_EQ(sub.failed(), 0);
  ASSERT_TRUE(WaitFor([&] { return node->metrics().txs_ordered.load() >= kTxs; })) << node->metrics().Summary();
  EXPECT_EQ(node->metrics().rejected_total(), 0u) << node->metrics().Summary();
  EXPECT_TRUE(node->Errored().ok());
  node->Stop();

  LedgerContents ledger = ReadLedger(dir_.path("ledger"));
  ExpectExactlyOnceInOffsetOrder(ledger, sub.offsets());
  ASSERT_GE(ledger.blocks.size(), 1u + kTxs / 50);
  // Every block is cut either by count (then it holds exactly 50) or by the
  // 300 ms batch timeout (a gap in the stream: a slow or shared machine can
  // pause the submitter that long, so how many timeout cuts there are is not
  // fixed). Nothing else may cut a block here, and genesis records the config.
  EXPECT_EQ(ledger.blocks[0].metadata().cut_reason(), CUT_REASON_GENESIS);
  int count_cuts = 0;
  for (size_t n = 1; n < ledger.blocks.size(); ++n) {
    const auto& b = ledger.blocks[n];
    EXPECT_LE(b.data().data_size(), 50) << "block " << n;
    EXPECT_GE(b.data().data_size(), 1) << "block " << n;
    if (b.metadata().cut_reason() == CUT_REASON_MAX_MESSAGE_COUNT) {
      EXPECT_EQ(b.data().data_size(), 50) << "block " << n;
      ++count_cuts;
    } else {
      EXPECT_EQ(b.metadata().cut_reason(), CUT_REASON_TIMEOUT) << "block " << n;
    }
  }
  // Timeout cuts are the exception: most of the 600 arrive in full blocks.
  EXPECT_GE(count_cuts, kTxs / 50 / 2);
}

TEST_F(PipelineTest, BatchTimeoutCutsAPartialBlockThroughTimeToCut) {
  auto node = StartNode(NodeOptions(dir_.path("ledger")));
  ASSERT_TRUE(node);
  Submitter sub(broker_->bootstrap(), channel_);
  TestPeer peer(channel_);
  SendTxs(&sub, &peer, 7);
  ASSERT_TRUE(WaitFor([&] { return node->metrics().txs_ordered.load() >= 7; }, std::chrono::seconds(10)))
      << node->metrics().Summary();
  EXPECT_GE(node->metrics().consenter.Get("ttc_sent"), 1);
  node->Stop();
  LedgerContents ledger = ReadLedger(dir_.path("ledger"));
  ASSERT_EQ(ledger.blocks.size(), 2u);
  EXPECT_EQ(ledger.blocks[1].data().data_size(), 7);
  EXPECT_EQ(ledger.blocks[1].metadata().cut_reason(), CUT_REASON_TIMEOUT);
  ExpectExactlyOnceInOffsetOrder(ledger, sub.offsets());
}

// /metrics while ordering, and at the end: the counters agree with what the
// ledger holds; /readyz answers 200 once the node serves.
TEST_F(PipelineTest, StaleAndFutureTimeToCutAreIgnored) {
  OrdererOptions o = NodeOptions(dir_.path("ledger"));
  o.channel.batch_size.max_message_count = 20;
  o.channel.batch_timeout_ms = 60'000;  // no timer cut during the test
  auto node = StartNode(o);
  ASSERT_TRUE(node);
  Submitter sub(broker_->bootstrap(), channel_);
  TestPeer peer(channel_);
  auto send_txs = [&](int n) {
    for (int i = 0; i < n; ++i) {
      BuiltTx tx = peer.Next();
      sub.Send(tx.record, tx.tx_id);
    }
  };
  auto ttc = [](uint64_t block) {
    KafkaMessage m;
    m.mutable_time_to_cut()->set_block_number(block);
    return m.SerializeAsString();
  };
  send_txs(20);  // block 1, by count
  sub.Flush();
  ASSERT_TRUE(WaitFor([&] { return node->metrics().height.load() >= 2; })) << node->metrics().Summary();
  send_txs(5);
  sub.Send(ttc(1), "ttc-stale");
  sub.Send(ttc(9), "ttc-future");
  send_txs(15);  // completes block 2 by count: 5 + 15
  sub.Flush();
  ASSERT_TRUE(WaitFor([&] { return node->metrics().txs_ordered.load() >= 40; })) << node->metrics().Summary();
  EXPECT_EQ(node->metrics().consenter.Get("ttc_stale"), 1);
  EXPECT_EQ(node->metrics().consenter.Get("ttc_future"), 1);
  node->Stop();
  LedgerContents ledger = ReadLedger(dir_.path("ledger"));
  ASSERT_EQ(ledger.blocks.size(), 3u);
  EXPECT_EQ(ledger.blocks[2].data().data_size(), 20);
  EXPECT_EQ(ledger.blocks[2].metadata().cut_reason(), CUT_REASON_MAX_MESSAGE_COUNT);
}

// SetUp created the channel (kafka::EnsureTopic on a real broker): every
// broker must list it at once. A broker still catching up with the cluster's
// metadata would tell an orderer the topic does not exist, and librdkafka
// then stops fetching it (seen as a hung three-broker test).
TEST_F(PipelineTest, EveryBrokerKnowsACreatedChannelAtOnce) {
  std::vector<std::string> addresses;
  Status st = kafka::BrokerAddresses(broker_->bootstrap(), {}, 10000, &addresses);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_FALSE(addresses.empty());
  for (const std::string& address : addresses) {
    bool known = false;
    st = kafka::BrokerKnowsTopic(address, {}, channel_, 10000, &known);
    ASSERT_TRUE(st.ok()) << st.ToString();
    EXPECT_TRUE(known) << "broker " << address << " does not list " << channel_;
  }
}

TEST_F(PipelineTest, StopAndRestartMidStreamLosesAndDoublesNothing) {
  const std::string ledger_dir = dir_.path("ledger");
  Submitter sub(broker_->bootstrap(), channel_);
  std::vector<TestPeer> peers = Peers(2);
  int sent = 0;
  auto send = [&](int n) {
    for (int i = 0; i < n; ++i, ++sent) {
      BuiltTx tx = peers[sent % 2].Next();
      sub.Send(tx.record, tx.tx_id);
    }
    sub.Flush();
  };

  auto node = StartNode(NodeOptions(ledger_dir));
  ASSERT_TRUE(node);
  send(230);  // 4 full blocks + 30 pending when we stop
  ASSERT_TRUE(WaitFor([&] { return node->metrics().txs_ordered.load() >= 200; }));
  node->Stop();  // may stop with a partial batch pending: it must be re-read
  LedgerContents before = ReadLedger(ledger_dir);
  const uint64_t height_before = before.blocks.size();
  const uint64_t ordered_before = before.tx_ids.size();
  EXPECT_GE(ordered_before, 200u);

  send(170);  // produced while no orderer runs
  node = StartNode(NodeOptions(ledger_dir));
  ASSERT_TRUE(node);
  send(100);
  ASSERT_TRUE(WaitFor([&] { return ordered_before + node->metrics().txs_ordered.load() >= 500; }))
      << node->metrics().Summary();
  // Give a wrongly replayed record the chance to show up as a duplicate.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(node->metrics().rejected_total(), 0u) << node->metrics().Summary();
  node->Stop();

  LedgerContents ledger = ReadLedger(ledger_dir);
  EXPECT_GT(ledger.blocks.size(), height_before);
  ExpectExactlyOnceInOffsetOrder(ledger, sub.offsets());
  EXPECT_EQ(ledger.tx_ids.size(), 500u);
}

TEST_F(PipelineTest, BadInputIsRejectedAndCountedWhileGoodTransactionsAreOrdered) {
  OrdererOptions o = NodeOptions(dir_.path("ledger"));
  o.channel.batch_size.absolute_max_bytes = 8 * 1024;
  o.channel.batch_size.preferred_max_bytes = 8 * 1024;
  auto node = StartNode(o);
  ASSERT_TRUE(node);
  Submitter sub(broker_->bootstrap(), channel_);
  TestPeer alice(channel_), mallory(channel_);
  TestPeer stranger("otherchannel");
  TestPeer big(channel_, 10 * 1024);
  std::map<std::string, std::vector<int64_t>> good;
  std::vector<std::string> good_ids;

  auto send_good = [&](int n) {
    for (int i = 0; i < n; ++i) {
      BuiltTx tx = alice.Next();
      sub.Send(tx.record, tx.tx_id);
      good_ids.push_back(tx.tx_id);
    }
  };
  send_good(10);
  sub.Send("\x01\x02 definitely not a protobuf \xff\xff", "garbage");  // malformed
  sub.Send(TamperedRecord(alice), "bad-signature");                    // valid shape, payload altered after signing
  {
    // Signed by mallory but claiming alice as creator.
    Payload p;
    *p.mutable_header() = alice.factory().NewHeader();
    std::string sig;
    ASSERT_TRUE(mallory.signer().Sign(p.SerializeAsString(), &sig).ok());
    Envelope env;
    env.set_payload(p.SerializeAsString());
    env.set_signature(sig);
    sub.Send(TxFactory::WrapRegular(env.SerializeAsString()), "wrong-key");
  }
  send_good(10);
  BuiltTx oversized = big.Next();
  sub.Send(oversized.record, "oversized");
  BuiltTx foreign = stranger.Next();
  sub.Send(foreign.record, "wrong-channel");
  BuiltTx twice = alice.Next();
  sub.Send(twice.record, twice.tx_id);
  good_ids.push_back(twice.tx_id);
  send_good(5);
  sub.Send(twice.record, "duplicate");  // same tx again, after others
  send_good(10);
  sub.Flush();

  ASSERT_TRUE(WaitFor([&] { return node->metrics().txs_ordered.load() >= good_ids.size(); }))
      << node->metrics().Summary();
  ASSERT_TRUE(WaitFor([&] { return node->metrics().rejected_total() >= 6; })) << node->metrics().Summary();
  EXPECT_TRUE(node->Errored().ok());
  const OrdererMetrics& m = node->metrics();
  auto rejected = [&](RejectCause c) { return m.rejected[static_cast<size_t>(c)].load(); };
  EXPECT_EQ(rejected(RejectCause::kMalformed), 1u);
  EXPECT_EQ(rejected(RejectCause::kBadSignature), 2u);
  EXPECT_EQ(rejected(RejectCause::kOversized), 1u);
  EXPECT_EQ(rejected(RejectCause::kWrongChannel), 1u);
  EXPECT_EQ(rejected(RejectCause::kDuplicate), 1u);
  EXPECT_EQ(m.rejected_total(), 6u);
  node->Stop();

  LedgerContents ledger = ReadLedger(dir_.path("ledger"));
  EXPECT_EQ(ledger.tx_ids, good_ids);
}

TEST_F(PipelineTest, TwoOrderersOnOnePartitionWriteIdenticalChains) {
  OrdererOptions a = NodeOptions(dir_.path("a"));
  OrdererOptions b = NodeOptions(dir_.path("b"));
  auto node_a = StartNode(a);
  auto node_b = StartNode(b);
  ASSERT_TRUE(node_a && node_b);
  Submitter sub(broker_->bootstrap(), channel_);
  TestPeer peer(channel_);
  // Bursts separated by pauses longer than the batch timeout, so both
  // orderers post time-to-cut messages and must agree on which one counts.
  for (int burst = 0; burst < 4; ++burst) {
    for (int i = 0; i < 35; ++i) {
      BuiltTx tx = peer.Next();
      sub.Send(tx.record, tx.tx_id);
    }
    sub.Flush();
    std::this_thread::sleep_for(std::chrono::milliseconds(450));
  }
  ASSERT_TRUE(WaitFor([&] {
    return node_a->metrics().txs_ordered.load() >= 140 && node_b->metrics().txs_ordered.load() >= 140;
  })) << node_a->metrics().Summary()
      << " / " << node_b->metrics().Summary();
  EXPECT_GE(node_a->metrics().consenter.Get("ttc_sent") + node_b->metrics().consenter.Get("ttc_sent"), 1);
  node_a->Stop();
  node_b->Stop();
  LedgerContents la = ReadLedger(dir_.path("a")), lb = ReadLedger(dir_.path("b"));
  ASSERT_EQ(la.blocks.size(), lb.blocks.size());
  bool saw_timeout_cut = false;
  for (size_t n = 0; n < la.blocks.size(); ++n) {
    EXPECT_EQ(la.blocks[n].SerializeAsString(), lb.blocks[n].SerializeAsString()) << "block " << n;
    saw_timeout_cut |= la.blocks[n].metadata().cut_reason() == CUT_REASON_TIMEOUT;
  }
  EXPECT_TRUE(saw_timeout_cut);
  ExpectExactlyOnceInOffsetOrder(la, sub.offsets());
}

TEST_F(PipelineTest, DeliverStreamsCommittedBlocksFromOldestAndFollowsTheTail) {
  auto node = StartNode(NodeOptions(dir_.path("ledger")));
  ASSERT_TRUE(node);
  auto channel =
      grpc::CreateChannel("127.0.0.1:" + std::to_string(node->deliver_port()), grpc::InsecureChannelCredentials());
  auto stub = AtomicBroadcast::NewStub(channel);
  grpc::ClientContext ctx;
  SeekInfo seek;
  seek.set_start(SeekInfo::OLDEST);
  auto reader = stub->Deliver(&ctx, seek);

  Submitter sub(broker_->bootstrap(), channel_);
  TestPeer peer(channel_);
  SendTxs(&sub, &peer, 120);
  std::vector<std::string> delivered_ids;
  uint64_t expect_number = 0;
  DeliverResponse resp;
  while (delivered_ids.size() < 120 && reader->Read(&resp)) {
    ASSERT_TRUE(resp.has_block());
    EXPECT_EQ(resp.block().header().number(), expect_number++);
    if (resp.block().header().number() == 0) continue;
    std::vector<std::string> ids;
    ASSERT_TRUE(ExtractTxIds(resp.block(), &ids).ok());
    delivered_ids.insert(delivered_ids.end(), ids.begin(), ids.end());
  }
  ctx.TryCancel();
  node->Stop();
  LedgerContents ledger = ReadLedger(dir_.path("ledger"));
  EXPECT_EQ(delivered_ids, ledger.tx_ids);
  EXPECT_EQ(delivered_ids.size(), 120u);
}

TEST_F(PipelineTest, LedgerOfAnotherChannelIsRefused) {
  auto node = StartNode(NodeOptions(dir_.path("ledger")));
  ASSERT_TRUE(node);
  node->Stop();
  OrdererOptions o = NodeOptions(dir_.path("ledger"));
  o.channel.channel_id = "otherchannel";
  std::unique_ptr<OrdererNode> other;
  Status st = OrdererNode::Start(o, SystemClock::Default(), &other);
  EXPECT_TRUE(st.IsInvalidArgument()) << st.ToString();
  EXPECT_NE(st.message().find(channel_), std::string::npos) << st.ToString();
}

// A ledger ahead of its topic (the brokers lost the records it was ordered
// from, or it was copied beside other brokers) fails the start: it is never
// announced ready and then stopped.
TEST_F(PipelineTest, ALedgerAheadOfItsTopicFailsTheStart) {
  if (broker_->real()) GTEST_SKIP() << "needs a second, empty cluster (the mock's)";
  auto node = StartNode(NodeOptions(dir_.path("ledger")));
  ASSERT_TRUE(node);
  Submitter sub(broker_->bootstrap(), channel_);
  TestPeer peer(channel_);
  SendTxs(&sub, &peer, 20);
  ASSERT_TRUE(WaitFor([&] { return node->metrics().txs_ordered.load() >= 20; })) << node->metrics().Summary();
  node->Stop();

  std::unique_ptr<TestBroker> empty = TestBroker::Start();
  ASSERT_TRUE(empty);
  ASSERT_TRUE(empty->CreateChannel(channel_).ok());
  OrdererOptions o = NodeOptions(dir_.path("ledger"));
  KafkaChainOptions k;
  k.brokers = empty->bootstrap();
  k.verify_workers = 2;
  o.make_consenter = OnlyKafka(k);
  std::unique_ptr<OrdererNode> again;
  Status st = OrdererNode::Start(o, SystemClock::Default(), &again);
  EXPECT_TRUE(st.IsNotFound()) << st.ToString();
  EXPECT_NE(st.message().find("before the ledger's last offset"), std::string::npos) << st.ToString();
}

// A deleted topic is not "transient": after a bounded wait the chain fails,
// Deliver ends its streams with SERVICE_UNAVAILABLE and Broadcast refuses.
TEST_F(PipelineTest, ADeletedTopicFailsTheChainAndEndsDeliverStreams) {
  if (!broker_->real()) GTEST_SKIP() << "librdkafka's mock cluster cannot delete topics (DeleteTopics times out)";
  OrdererOptions o = NodeOptions(dir_.path("ledger"));
  KafkaChainOptions k;
  k.brokers = broker_->bootstrap();
  k.verify_workers = 2;
  k.partition_check_interval_ms = 200;
  k.missing_partition_fatal_ms = 1000;
  k.create_topic = false;
  o.make_consenter = OnlyKafka(k);
  auto node = StartNode(o);
  ASSERT_TRUE(node);
  Submitter sub(broker_->bootstrap(), channel_);
  TestPeer peer(channel_);
  SendTxs(&sub, &peer, 20);
  ASSERT_TRUE(WaitFor([&] { return node->metrics().txs_ordered.load() >= 20; })) << node->metrics().Summary();

  auto stub = AtomicBroadcast::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(node->deliver_port()), grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  SeekInfo seek;
  seek.set_start(SeekInfo::NEWEST);
  auto reader = stub->Deliver(&ctx, seek);
  DeliverResponse resp;
  ASSERT_TRUE(reader->Read(&resp));  // the newest block; the stream now waits at the tail

  Status st = kafka::DeleteTopics(broker_->bootstrap(), {}, {channel_}, 15000);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_TRUE(WaitFor([&] { return !node->Errored().ok(); }, std::chrono::seconds(45)))
      << "the chain kept waiting for a deleted topic";
  EXPECT_NE(node->Errored().message().find("deleted"), std::string::npos) << node->Errored().ToString();
  DeliverStatus status = DELIVER_STATUS_UNSPECIFIED;
  while (reader->Read(&resp)) {
    if (!resp.has_block()) status = resp.status();
  }
  EXPECT_EQ(status, DELIVER_STATUS_SERVICE_UNAVAILABLE);
  EXPECT_NE(reader->Finish().error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  node->Stop();
  // What was ordered before stays, and verifies.
  EXPECT_EQ(ReadLedger(dir_.path("ledger")).tx_ids.size(), 20u);
}

}  // namespace
}  // namespace ordering::testing

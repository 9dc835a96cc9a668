// The Kafka backend on the real ordering step over an in-memory ledger
// and the in-process mock cluster, with a manual clock: the batch timer,
// time-to-cut, resume from the block metadata and a broker outage, without
// sleeps standing in for events.
#include "orderer/consensus/kafka/kafka_chain.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "common/kafka_log_capture.h"
#include "common/tx_factory.h"
#include "orderer/consensus/kafka/kafka_record.h"
#include "orderer/consensus/testing/test_channel.h"
#include "proto/kafka.pb.h"

namespace ordering {
namespace {

using testing::PollUntil;
using testing::TestChannel;

class KafkaChainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(kafka::MockCluster::Start(1, &mock_).ok());
    ASSERT_TRUE(mock_->CreateTopic("ch", 1, 1).ok());
    ASSERT_TRUE(Signer::Generate(&signer_).ok());
    factory_ = std::make_unique<TxFactory>(signer_.get(), TxFactoryOptions{"ch", 1024}, SystemClock::Default());
  }

  static ChannelOptions Channel(uint32_t max_count) {
    ChannelOptions o;
    o.channel_id = "ch";
    o.batch_size.max_message_count = max_count;
    o.batch_timeout_ms = 2000;
    return o;
  }

  std::unique_ptr<KafkaChain> StartChain(ConsenterSupport* support, kafka::MockCluster* cluster = nullptr,
                                         int64_t partition_check_interval_ms = 5000) {
    KafkaChainOptions k;
    k.brokers = (cluster ? cluster : mock_.get())->bootstrap();
    k.partition_check_interval_ms = partition_check_interval_ms;
    k.verify_workers = 1;
    k.create_topic = false;
    k.producer_properties = client_properties_;
    k.consumer_properties = client_properties_;
    auto chain = std::make_unique<KafkaChain>(support, k);
    Status st = chain->Start();
    EXPECT_TRUE(st.ok()) << st.ToString();
    st = chain->WaitReady();
    EXPECT_TRUE(st.ok()) << st.ToString();
    return chain;
  }

  // Orders `n` fresh transactions through the Broadcast path (Order).
  std::vector<std::string> Order(KafkaChain* chain, int n) {
    std::vector<std::string> ids;
    for (int i = 0; i < n; ++i) {
      BuiltTx tx;
      EXPECT_TRUE(factory_->Build(&tx).ok());
      ids.push_back(tx.tx_id);
      Envelope env;
      EXPECT_TRUE(env.ParseFromString(tx.envelope));
      const uint64_t size = env.payload().size() + env.signature().size();
      EXPECT_TRUE(chain->Order(CutterMessage{tx.envelope, size, tx.tx_id}).ok());
    }
    return ids;
  }

  static Offset LastOffsetOf(const Block& b) {
    Offset off;
    EXPECT_TRUE(kafka_backend::DecodeMetadata(b.metadata().consenter(), &off).ok());
    return off;
  }

  Properties client_properties_;  // for the chain's producer and consumer
  std::unique_ptr<kafka::MockCluster> mock_;
  std::unique_ptr<Signer> signer_;
  std::unique_ptr<TxFactory> factory_;
};

TEST_F(KafkaChainTest, TheBatchTimerFollowsTheInjectedClockAndCutsAtTheTimeToCut) {
  ManualClock clock;
  TestChannel channel(Channel(100), &clock, "kafka");
  auto chain = StartChain(channel.support());
  Order(chain.get(), 3);
  // connect (offset 0) and three transactions read; real time passes, the
  // clock does not: no time-to-cut, no block.
  ASSERT_TRUE(PollUntil([&] { return channel.metrics()->received.load() >= 4; }));
  EXPECT_FALSE(channel.WaitForHeight(2, std::chrono::milliseconds(300)));
  EXPECT_EQ(channel.metrics()->consenter.Get("ttc_sent"), 0);
  clock.Advance(std::chrono::milliseconds(2000));
  ASSERT_TRUE(channel.WaitForHeight(2));
  Block b = channel.blocks()[1];
  EXPECT_EQ(b.data().data_size(), 3);
  EXPECT_EQ(b.metadata().cut_reason(), CUT_REASON_TIMEOUT);
  EXPECT_EQ(LastOffsetOf(b), Offset(4));  // the time-to-cut record's offset
  EXPECT_EQ(channel.metrics()->consenter.Get("ttc_sent"), 1);
  chain->Halt();
}

TEST_F(KafkaChainTest, AChainResumesAfterTheOffsetItsLastBlockRecorded) {
  TestChannel channel(Channel(5), SystemClock::Default(), "kafka");
  {
    auto chain = StartChain(channel.support());
    Order(chain.get(), 5);
    ASSERT_TRUE(channel.WaitForHeight(2));
  }
  EXPECT_EQ(LastOffsetOf(channel.blocks()[1]), Offset(5));  // connect 0, transactions 1..5
  channel.Reopen();
  auto chain = StartChain(channel.support());  // a restart on the same ledger
  Order(chain.get(), 5);
  ASSERT_TRUE(channel.WaitForHeight(3));
  chain->Halt();
  // Nothing before offset 6 was read again (it would be a duplicate).
  EXPECT_EQ(channel.metrics()->rejected_total(), 0u);
  std::vector<Block> blocks = channel.blocks();
  EXPECT_EQ(blocks[2].data().data_size(), 5);
  EXPECT_GT(LastOffsetOf(blocks[2]), LastOffsetOf(blocks[1]));
  for (size_t n = 1; n < blocks.size(); ++n) {
    EXPECT_EQ(kafka_backend::CheckMetadata(n, blocks[n - 1].metadata().consenter(), blocks[n].metadata().consenter()),
              "");
  }
}

TEST_F(KafkaChainTest, ABrokerOutageDelaysOrderingButLosesNothing) {
  TestChannel channel(Channel(10), SystemClock::Default(), "kafka");
  auto chain = StartChain(channel.support());
  std::vector<std::string> ids = Order(chain.get(), 10);
  ASSERT_TRUE(channel.WaitForHeight(2));
  ASSERT_TRUE(mock_->SetBrokerUp(1, false).ok());
  std::vector<std::string> more = Order(chain.get(), 10);  // queued in the chain's producer
  EXPECT_FALSE(channel.WaitForHeight(3, std::chrono::milliseconds(500)));
  ASSERT_TRUE(mock_->SetBrokerUp(1, true).ok());
  ASSERT_TRUE(channel.WaitForHeight(3, std::chrono::seconds(30)));
  chain->Halt();
  EXPECT_TRUE(chain->Errored().ok()) << chain->Errored().ToString();
  std::vector<Block> blocks = channel.blocks();
  std::vector<std::string> got;
  for (size_t n = 1; n < blocks.size(); ++n) {
    std::vector<std::string> block_ids;
    ASSERT_TRUE(ExtractTxIds(blocks[n], &block_ids).ok());
    got.insert(got.end(), block_ids.begin(), block_ids.end());
  }
  ids.insert(ids.end(), more.begin(), more.end());
  EXPECT_EQ(got, ids);  // once each, in the order sent
}

// A broker outage as an operator reads it: one line when the chain loses
// every broker, one when a broker answers again (with what became of the
// records that waited), and librdkafka's connection failures once, not once
// per client and reconnection, without its misleading hints and without
// its count of connections passed off as brokers.
TEST_F(KafkaChainTest, ABrokerOutageIsOneLineWhenLostAndOneWhenBack) {
  kafka::ResetLogLimits();
  // Reconnect within a second of the broker's return (librdkafka backs off
  // up to 10 s), so the records that waited are acknowledged well within
  // the 10 s the line waits for them.
  client_properties_ = {{"reconnect.backoff.max.ms", "1000", "test"}};
  TestChannel channel(Channel(10), SystemClock::Default(), "kafka");
  auto chain = StartChain(channel.support(), nullptr, /*partition_check_interval_ms=*/200);
  kafka::CapturedLog log;
  Order(chain.get(), 10);
  ASSERT_TRUE(channel.WaitForHeight(2));
  ASSERT_TRUE(mock_->SetBrokerUp(1, false).ok());
  ASSERT_TRUE(PollUntil([&] { return channel.metrics()->consenter.Get("broker_outages") >= 1; }));
  Order(chain.get(), 10);                                // they wait in the producer
  std::this_thread::sleep_for(std::chrono::seconds(2));  // reconnections fail meanwhile
  ASSERT_TRUE(mock_->SetBrokerUp(1, true).ok());
  ASSERT_TRUE(channel.WaitForHeight(3, std::chrono::seconds(30)));
  const std::string broker = mock_->bootstrap();
  ASSERT_TRUE(PollUntil([&] { return log.Count("brokers reachable again") >= 1; })) << log.text();
  // The broker's own end line comes with the clients' next statistics (every 5 s).
  ASSERT_TRUE(PollUntil([&] { return log.Count("librdkafka: broker " + broker + " reachable again after") >= 1; },
                        std::chrono::seconds(15)))
      << log.text();
  chain->Halt();
  const std::string text = log.text();
  EXPECT_EQ(log.Count("lost every broker: none of its "), 1u) << text;  // producer's or consumer's, whichever first
  EXPECT_EQ(log.Count("connections to the cluster's one broker (" + broker + ") is up"), 1u) << text;
  EXPECT_EQ(log.Count("brokers reachable again after"), 1u) << text;
  EXPECT_EQ(log.Count("(10 records waited in the producer: 10 acknowledged, 0 failed"), 1u) << text;
  EXPECT_EQ(log.Count(" FAIL: "), 1u) << text;   // the first connection failure of the broker
  EXPECT_EQ(log.Count(" ERROR: "), 0u) << text;  // librdkafka's second copy of each
  EXPECT_EQ(log.Count("SSL listener"), 0u) << text;
  EXPECT_EQ(log.Count("might require SASL"), 0u) << text;
  EXPECT_EQ(channel.metrics()->consenter.Get("broker_outages"), 1);
  EXPECT_EQ(channel.metrics()->txs_ordered.load(), 20u);
}

// librdkafka gives up on the chain's idempotent producer for good when a
// broker answers a produce with OUT_OF_ORDER_SEQUENCE_NUMBER (Debian's
// librdkafka 2.0.2 did so once after a leader change on three real
// brokers): nothing the chain produces would be delivered again, time-to-cut
// included. The chain stops and says why, once, rather than linger.
TEST_F(KafkaChainTest, AFatalProducerErrorStopsTheChainAndSaysWhy) {
  TestChannel channel(Channel(10), SystemClock::Default(), "kafka");
  auto chain = StartChain(channel.support());
  kafka::CapturedLog log;
  mock_->PushRequestErrors(0 /* Produce */, {RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER});
  Order(chain.get(), 1);
  ASSERT_TRUE(PollUntil([&] { return !chain->Errored().ok(); })) << log.text();
  const std::string error = chain->Errored().ToString();
  EXPECT_NE(error.find("the orderer's Kafka producer hit a fatal error and cannot go on"), std::string::npos) << error;
  EXPECT_NE(error.find("restart the orderer"), std::string::npos) << error;
  chain->Halt();
  EXPECT_EQ(log.Count("Fatal error: "), 1u) << log.text();  // the chain's line, not librdkafka's too
  EXPECT_EQ(log.Count("kafka chain stopped: "), 1u) << log.text();
}

// Anyone who may write the topic can post time-to-cut records for blocks
// that are not next: each is ignored (every orderer ignores it alike) and
// counted; only the first is logged.
TEST_F(KafkaChainTest, ForgedTimeToCutRecordsAreCountedAndLoggedOnce) {
  TestChannel channel(Channel(100), SystemClock::Default(), "kafka");
  auto chain = StartChain(channel.support());
  kafka::CapturedLog log;
  {
    kafka::Producer::Options po;
    po.brokers = mock_->bootstrap();
    std::unique_ptr<kafka::Producer> producer;
    ASSERT_TRUE(kafka::Producer::Create(po, &producer).ok());
    auto ttc = [](uint64_t block) {
      KafkaMessage m;
      m.mutable_time_to_cut()->set_block_number(block);
      return m.SerializeAsString();
    };
    for (int i = 0; i < 500; ++i) ASSERT_TRUE(producer->Produce("ch", 0, ttc(7 + i)).ok());  // not reachable
    for (int i = 0; i < 50; ++i) ASSERT_TRUE(producer->Produce("ch", 0, ttc(1)).ok());       // nothing pending
    ASSERT_TRUE(producer->Flush(10000).ok());
  }
  ASSERT_TRUE(PollUntil([&] { return channel.metrics()->received.load() >= 551; }));  // connect too
  chain->Halt();
  EXPECT_EQ(channel.metrics()->consenter.Get("ttc_future"), 500);
  EXPECT_EQ(channel.metrics()->consenter.Get("ttc_empty"), 50);
  EXPECT_EQ(channel.metrics()->consenter.Get("ttc_stale"), 0);
  EXPECT_EQ(channel.blocks().size(), 1u);  // nothing cut
  const std::string text = log.text();
  EXPECT_EQ(log.Count("ignored a time-to-cut for block 7 at offset 1 while block 1 is next"), 1u) << text;
  EXPECT_EQ(log.Count("ignored a time-to-cut for block 1 at offset 501 with nothing pending"), 1u) << text;
  EXPECT_EQ(log.Count("time-to-cut"), 2u) << text;
}

// Who may write the topic decides whether a consumed envelope's signature
// is verified again. Anyone (the default: peers may produce straight into
// it): a record a peer produced with an altered payload is rejected. Only
// orderers (Fabric's deployment, broker ACLs; Broadcast verified every
// envelope before producing it): the consumer does not verify it again, so
// the same record is ordered. The setting states a trust, it checks nothing.
TEST_F(KafkaChainTest, ConsumedSignaturesAreVerifiedAgainOnlyWhenAnyoneMayWriteTheTopic) {
  for (bool only_orderers : {false, true}) {
    SCOPED_TRACE(only_orderers ? "only orderers write the topic" : "anyone may write the topic");
    const std::string topic = only_orderers ? "ch-orderers" : "ch-anyone";
    ASSERT_TRUE(mock_->CreateTopic(topic, 1, 1).ok());
    TestChannel channel(Channel(3), SystemClock::Default(), "kafka");
    KafkaChainOptions k;
    k.brokers = mock_->bootstrap();
    k.topic = topic;
    k.verify_workers = 1;
    k.create_topic = false;
    k.only_orderers_write_topic = only_orderers;
    KafkaChain chain(channel.support(), k);
    ASSERT_TRUE(chain.Start().ok());
    ASSERT_TRUE(chain.WaitReady().ok());
    // A peer produces straight into the topic: signed, then altered.
    Payload p;
    *p.mutable_header() = factory_->NewHeader();
    p.set_data("pay 10");
    Envelope env;
    ASSERT_TRUE(factory_->Seal(p, &env).ok());
    p.set_data("pay 99");
    env.set_payload(p.SerializeAsString());
    {
      kafka::Producer::Options po;
      po.brokers = mock_->bootstrap();
      std::unique_ptr<kafka::Producer> producer;
      ASSERT_TRUE(kafka::Producer::Create(po, &producer).ok());
      ASSERT_TRUE(producer->Produce(topic, 0, TxFactory::WrapRegular(env.SerializeAsString())).ok());
      ASSERT_TRUE(producer->Flush(10000).ok());
    }
    Order(&chain, 3);  // Broadcast's path: the orderer produces them
    ASSERT_TRUE(channel.WaitForHeight(2));
    chain.Halt();
    std::vector<std::string> ids;
    ASSERT_TRUE(ExtractTxIds(channel.blocks()[1], &ids).ok());
    const bool tampered_ordered = std::find(ids.begin(), ids.end(), p.header().tx_id()) != ids.end();
    EXPECT_EQ(tampered_ordered, only_orderers);
    EXPECT_EQ(channel.metrics()->rejected[static_cast<size_t>(RejectCause::kBadSignature)].load(),
              only_orderers ? 0u : 1u);
  }
}

// A chain stopped while its broker is down (its records queued in the
// producer, its consumer's coordinator gone) still stops, within the bound
// of the producer's flush and the consumer's close, not after the
// producer's message timeout or never.
TEST_F(KafkaChainTest, AChainStopsWhileItsBrokerIsDown) {
  TestChannel channel(Channel(10), SystemClock::Default(), "kafka");
  auto chain = StartChain(channel.support());
  Order(chain.get(), 10);
  ASSERT_TRUE(channel.WaitForHeight(2));
  ASSERT_TRUE(mock_->SetBrokerUp(1, false).ok());
  Order(chain.get(), 10);  // queued in the chain's producer, never delivered
  const auto t0 = std::chrono::steady_clock::now();
  chain->Halt();
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(took, std::chrono::seconds(30))
      << "Halt took " << std::chrono::duration_cast<std::chrono::seconds>(took).count() << " s";
  EXPECT_EQ(channel.blocks().size(), 2u);  // nothing ordered while the broker was down
  ASSERT_TRUE(mock_->SetBrokerUp(1, true).ok());
}

// The broker leading the channel's partition dies; while the cluster still
// names it leader the chain's partition check runs, then another replica is
// elected. The chain goes on from where it was: the check must not wait on
// the dead leader (librdkafka 2.0.2's query_watermark_offsets does, past its
// timeout, and the consumer thread never came back).
TEST_F(KafkaChainTest, AChainGoesOnAfterItsPartitionLeaderDies) {
  std::unique_ptr<kafka::MockCluster> cluster;
  ASSERT_TRUE(kafka::MockCluster::Start(3, &cluster).ok());
  ASSERT_TRUE(cluster->CreateTopic("ch", 1, 3).ok());
  ASSERT_TRUE(cluster->SetPartitionLeader("ch", 0, 1).ok());
  TestChannel channel(Channel(10), SystemClock::Default(), "kafka");
  auto chain = StartChain(channel.support(), cluster.get(), /*partition_check_interval_ms=*/100);
  std::vector<std::string> ids = Order(chain.get(), 10);
  ASSERT_TRUE(channel.WaitForHeight(2));
  ASSERT_TRUE(cluster->SetBrokerUp(1, false).ok());
  // Several partition checks run while the dead broker is still the leader.
  EXPECT_FALSE(channel.WaitForHeight(3, std::chrono::seconds(1)));
  ASSERT_TRUE(cluster->SetPartitionLeader("ch", 0, 2).ok());
  std::vector<std::string> more = Order(chain.get(), 10);
  ASSERT_TRUE(channel.WaitForHeight(3, std::chrono::seconds(30)))
      << "no block after the new leader took over; received " << channel.metrics()->received.load();
  chain->Halt();
  EXPECT_TRUE(chain->Errored().ok()) << chain->Errored().ToString();
  std::vector<std::string> got;
  for (const Block& b : channel.blocks()) {
    if (b.header().number() == 0) continue;
    std::vector<std::string> block_ids;
    ASSERT_TRUE(ExtractTxIds(b, &block_ids).ok());
    got.insert(got.end(), block_ids.begin(), block_ids.end());
  }
  ids.insert(ids.end(), more.begin(), more.end());
  EXPECT_EQ(got, ids);  // once each, in the order sent
}

}  // namespace
}  // namespace ordering

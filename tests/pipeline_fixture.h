// PipelineTest: an OrdererNode on the Kafka backend over the test broker
// (the embedded one, or a real one from ORDERING_TEST_KAFKA), with a fresh
// channel per test, for the end-to-end pipeline tests.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "orderer/consensus/kafka/kafka_chain.h"
#include "orderer/node.h"
#include "tests/pipeline_harness.h"
#include "tests/test_broker.h"

namespace ordering::testing {

class PipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    broker_ = TestBroker::Start();
    ASSERT_TRUE(broker_);
    channel_ = broker_->NewChannelName();
    Status st = broker_->CreateChannel(channel_);
    ASSERT_TRUE(st.ok()) << st.ToString();
  }

  OrdererOptions NodeOptions(const std::string& ledger_dir) {
    OrdererOptions o;
    o.ledger_dir = ledger_dir;
    o.listen = "127.0.0.1:0";
    o.channel.channel_id = channel_;
    o.channel.batch_size.max_message_count = 50;
    o.channel.batch_timeout_ms = 300;
    KafkaChainOptions k;
    k.brokers = broker_->bootstrap();
    k.verify_workers = 2;
    o.make_consenter = OnlyKafka(k);
    return o;
  }

  std::unique_ptr<OrdererNode> StartNode(const OrdererOptions& o) {
    std::unique_ptr<OrdererNode> node;
    Status st = OrdererNode::Start(o, SystemClock::Default(), &node);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return node;
  }

  // The peer's next n transactions, produced straight into the topic.
  static void SendTxs(Submitter* sub, TestPeer* peer, int n) {
    for (int i = 0; i < n; ++i) {
      BuiltTx tx = peer->Next();
      sub->Send(tx.record, tx.tx_id);
    }
    sub->Flush();
  }

  std::vector<TestPeer> Peers(int n) {
    std::vector<TestPeer> peers;
    for (int i = 0; i < n; ++i) peers.emplace_back(channel_);
    return peers;
  }

  std::unique_ptr<TestBroker> broker_;
  std::string channel_;
  TempDir dir_{"pipeline"};
};

}  // namespace ordering::testing

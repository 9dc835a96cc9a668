// The LoadTest fixture of the end-to-end load tests (load_test.cc,
// load_accounting_test.cc): a broker (the embedded one, or a real one with
// ORDERING_TEST_KAFKA), a fresh channel on it, a Kafka-backed orderer on
// that channel when a test asks for one, and the load options that point
// at them.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "orderer/consensus/kafka/kafka_chain.h"
#include "orderer/node.h"
#include "peer-sim/load.h"
#include "tests/test_broker.h"

namespace ordering {

class LoadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    broker_ = testing::TestBroker::Start();
    ASSERT_TRUE(broker_);
    channel_ = broker_->NewChannelName();
    Status st = broker_->CreateChannel(channel_);
    ASSERT_TRUE(st.ok()) << st.ToString();
    dir_ =
        std::filesystem::path(::testing::TempDir()) /
        ("load-" + std::to_string(::getpid()) + "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
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
    o.producer_properties = {
        {"linger.ms", "5", "test"}, {"acks", "all", "test"}, {"enable.idempotence", "true", "test"}};
    o.drain_timeout_ms = 20000;
    o.progress_interval_ms = 0;
    return o;
  }

  std::unique_ptr<testing::TestBroker> broker_;
  std::string channel_;
  std::filesystem::path dir_;
};

}  // namespace ordering

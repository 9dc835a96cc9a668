// The broker integration tests run against: the embedded mock cluster by
// default, or a real Kafka when ORDERING_TEST_KAFKA holds its bootstrap
// servers (ctest's `kafka` tests set it after `scripts/kafka start`).
//
// On a real broker the topics outlive the test, so every test gets a channel
// (= topic) of its own.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>

#include "common/kafka.h"

namespace ordering::testing {

class TestBroker {
 public:
  // Starts the mock cluster, or connects to the real broker.
  static std::unique_ptr<TestBroker> Start() {
    std::unique_ptr<TestBroker> b(new TestBroker());
    const char* real = std::getenv("ORDERING_TEST_KAFKA");
    if (real != nullptr && *real != '\0') {
      b->bootstrap_ = real;
    } else {
      Status st = kafka::MockCluster::Start(1, &b->mock_);
      EXPECT_TRUE(st.ok()) << st.ToString();
      if (!st.ok()) return nullptr;
      b->bootstrap_ = b->mock_->bootstrap();
    }
    return b;
  }

  const std::string& bootstrap() const { return bootstrap_; }
  bool real() const { return mock_ == nullptr; }
  kafka::MockCluster* mock() const { return mock_.get(); }

  // A channel name for the running test: "mychannel" on the mock, unique
  // on a real broker.
  std::string NewChannelName() const {
    if (!real()) return "mychannel";
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    // Parameterized tests are named "Test/param": topics allow [A-Za-z0-9._-].
    for (char& c : name) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') c = '-';
    }
    std::random_device rd;
    return "t-" + name.substr(0, 60) + "-" + std::to_string(::getpid()) + "-" + std::to_string(rd() % 100000);
  }

  // Creates the channel's topic: one partition, the broker's default
  // replication.
  [[nodiscard]] Status CreateChannel(const std::string& channel) const {
    if (!real()) return mock_->CreateTopic(channel, 1, 1);
    return kafka::EnsureTopic(bootstrap_, {}, channel, 1, 0, 30000);
  }

 private:
  TestBroker() = default;
  std::string bootstrap_;
  std::unique_ptr<kafka::MockCluster> mock_;
};

}  // namespace ordering::testing

#include "common/kafka.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace ordering::kafka {
namespace {

TEST(KafkaConfig, UnknownPropertyNamesItsOrigin) {
  RdKafkaConfPtr conf;
  Properties props = {{"batch.size", "131072", "p:1"}, {"buffer.memory", "1", "p:2"}};
  Status st = BuildConfig("127.0.0.1:1", props, &conf);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("p:2"), std::string::npos) << st.ToString();
  EXPECT_NE(st.message().find("buffer.memory"), std::string::npos) << st.ToString();
}

TEST(KafkaConfig, BadValueRejected) {
  RdKafkaConfPtr conf;
  Properties props = {{"linger.ms", "soon", "p:1"}};
  EXPECT_FALSE(BuildConfig("127.0.0.1:1", props, &conf).ok());
}

TEST(MockCluster, ProduceThenConsumeFromExactOffset) {
  std::unique_ptr<MockCluster> cluster;
  ASSERT_TRUE(MockCluster::Start(1, &cluster).ok());
  ASSERT_TRUE(cluster->CreateTopic("t", 1, 1).ok());

  std::atomic<int> delivered{0}, failed{0};
  std::unique_ptr<Producer> producer;
  Producer::Options po;
  po.brokers = cluster->bootstrap();
  po.on_delivery = [&](const DeliveryReport& r) { (r.status.ok() ? delivered : failed)++; };
  ASSERT_TRUE(Producer::Create(po, &producer).ok());
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(producer->Produce("t", 0, "m" + std::to_string(i)).ok());
  }
  ASSERT_TRUE(producer->Flush(10000).ok());
  EXPECT_EQ(delivered.load(), 10);
  EXPECT_EQ(failed.load(), 0);

  std::unique_ptr<PartitionConsumer> consumer;
  PartitionConsumer::Options co;
  co.brokers = cluster->bootstrap();
  co.topic = "t";
  co.start_offset = Offset(4);
  ASSERT_TRUE(PartitionConsumer::Create(co, &consumer).ok());
  std::vector<std::string> got;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (got.size() < 6 && std::chrono::steady_clock::now() < deadline) {
    ConsumedRecord rec;
    bool have = false;
    ASSERT_TRUE(consumer->Poll(100, &rec, &have).ok());
    if (have) {
      EXPECT_EQ(rec.offset.value(), 4 + static_cast<int64_t>(got.size()));
      got.push_back(rec.value);
    }
  }
  ASSERT_EQ(got.size(), 6u);
  EXPECT_EQ(got.front(), "m4");
  EXPECT_EQ(got.back(), "m9");
  Offset lo, hi;
  ASSERT_TRUE(consumer->QueryWatermarks(&lo, &hi, 5000).ok());
  EXPECT_EQ(hi.value(), 10);
}

}  // namespace
}  // namespace ordering::kafka

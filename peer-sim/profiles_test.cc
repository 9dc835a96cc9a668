#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/kafka.h"
#include "common/properties.h"
#include "peer-sim/profile.h"

namespace ordering {
namespace {

struct Expected {
  const char* name;
  const char* batch_size;
  const char* linger_ms;
};

// The research's profiles, as the files must define them.
TEST(Profiles, EachProfileLoadsIntoLibrdkafkaWithItsSettings) {
  const Expected expected[] = {{"baseline", "16384", "0"},
                               {"high-throughput", "131072", "25"},
                               {"low-latency", "16384", "0"},
                               {"balanced", "65536", "10"}};
  for (const Expected& e : expected) {
    std::string path = std::string(PROFILES_DIR) + "/" + e.name + ".properties";
    ProducerProfile profile;
    Status st = LoadProducerProfile(path, &profile);
    ASSERT_TRUE(st.ok()) << st.ToString();
    const Properties& props = profile.producer;
    EXPECT_EQ(GetProperty(props, "batch.size"), e.batch_size) << e.name;
    EXPECT_EQ(GetProperty(props, "linger.ms"), e.linger_ms) << e.name;
    EXPECT_EQ(GetProperty(props, "compression.type"), "none") << e.name;
    EXPECT_EQ(GetProperty(props, "acks"), "all") << e.name;
    EXPECT_EQ(GetProperty(props, "enable.idempotence"), "true") << e.name;
    kafka::RdKafkaConfPtr conf;
    st = kafka::BuildConfig("127.0.0.1:9092", props, &conf);
    EXPECT_TRUE(st.ok()) << e.name << ": " << st.ToString();
  }
}

// The producer part of every shipped profile loads into librdkafka; its
// broker part (if any) is kept apart.
TEST(Profiles, EveryShippedProfileIsValid) {
  int n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(PROFILES_DIR)) {
    if (entry.path().extension() != ".properties") continue;
    ++n;
    ProducerProfile profile;
    ASSERT_TRUE(LoadProducerProfile(entry.path().string(), &profile).ok()) << entry.path();
    for (const Property& p : profile.producer) EXPECT_FALSE(p.key.starts_with("broker.")) << entry.path();
    kafka::RdKafkaConfPtr conf;
    Status st = kafka::BuildConfig("127.0.0.1:9092", profile.producer, &conf);
    EXPECT_TRUE(st.ok()) << entry.path() << ": " << st.ToString();
  }
  EXPECT_GE(n, 4);
}

TEST(Profiles, BrokerKeysAreNotPassedToLibrdkafka) {
  const std::string path =
      (std::filesystem::path(::testing::TempDir()) / ("broker-part-" + std::to_string(::getpid()) + ".properties"))
          .string();
  {
    std::ofstream out(path);
    out << "linger.ms=5\nbroker.num.network.threads=8\nacks=all\nbroker.log.flush.interval.messages=1\n";
  }
  ProducerProfile profile;
  Status st = LoadProducerProfile(path, &profile);
  std::filesystem::remove(path);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(profile.producer.size(), 2u);
  EXPECT_EQ(profile.producer[0].key, "linger.ms");
  EXPECT_EQ(profile.producer[1].key, "acks");
  ASSERT_EQ(profile.broker.size(), 2u);
  EXPECT_EQ(profile.broker[0].key, "num.network.threads");
  EXPECT_EQ(profile.broker[0].value, "8");
  EXPECT_EQ(profile.broker[1].key, "log.flush.interval.messages");
  kafka::RdKafkaConfPtr conf;
  st = kafka::BuildConfig("127.0.0.1:9092", profile.producer, &conf);
  EXPECT_TRUE(st.ok()) << st.ToString();
  // Handed to librdkafka as is, the broker key would be refused.
  Properties unsplit = {{"broker.num.network.threads", "8", "test"}};
  EXPECT_TRUE(kafka::BuildConfig("127.0.0.1:9092", unsplit, &conf).IsInvalidArgument());
}

TEST(Profiles, ABareBrokerPrefixIsRejected) {
  ProducerProfile profile;
  Status st = SplitProfile({{"broker.", "1", "x.properties:3"}}, &profile);
  EXPECT_TRUE(st.IsInvalidArgument());
  EXPECT_NE(st.message().find("x.properties:3"), std::string::npos) << st.ToString();
}

}  // namespace
}  // namespace ordering

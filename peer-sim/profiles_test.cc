#include <gtest/gtest.h>

#include <filesystem>

#include "common/kafka.h"
#include "common/properties.h"

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
    Properties props;
    Status st = LoadPropertiesFile(path, &props);
    ASSERT_TRUE(st.ok()) << st.ToString();
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

TEST(Profiles, EveryShippedProfileIsValid) {
  int n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(PROFILES_DIR)) {
    if (entry.path().extension() != ".properties") continue;
    ++n;
    Properties props;
    ASSERT_TRUE(LoadPropertiesFile(entry.path().string(), &props).ok()) << entry.path();
    kafka::RdKafkaConfPtr conf;
    Status st = kafka::BuildConfig("127.0.0.1:9092", props, &conf);
    EXPECT_TRUE(st.ok()) << entry.path() << ": " << st.ToString();
  }
  EXPECT_GE(n, 4);
}

}  // namespace
}  // namespace ordering

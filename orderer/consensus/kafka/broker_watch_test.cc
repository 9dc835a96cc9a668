#include "orderer/consensus/kafka/broker_watch.h"

#include <gtest/gtest.h>

#include "common/kafka_log_capture.h"

namespace ordering::kafka_backend {
namespace {

using Client = BrokerWatch::Client;
constexpr int64_t kSecond = 1'000'000'000;

TEST(BrokerWatchTest, AnOutageIsOneLineWhenLostAndOneWhenBackWithTheRecordsThatWaited) {
  kafka::CapturedLog log;
  BrokerWatch watch("ch", "127.0.0.1:9092");
  watch.SetBrokers({"127.0.0.1:9092"});
  for (int i = 0; i < 5; ++i) watch.Produced();
  for (int i = 0; i < 3; ++i) watch.Delivered(true, 0);  // two records in flight
  const int64_t t0 = 100 * kSecond;
  // Both clients say it, again at every failed reconnection.
  watch.AllDown(Client::kProducer, "1/1 brokers are down", t0);
  watch.AllDown(Client::kConsumer, "2/2 brokers are down", t0 + 1'000'000);
  for (int i = 1; i <= 10; ++i) watch.AllDown(Client::kProducer, "1/1 brokers are down", t0 + i * kSecond);
  EXPECT_TRUE(watch.lost());
  EXPECT_EQ(watch.outages(), 1u);
  EXPECT_EQ(log.Count("lost every broker"), 1u) << log.text();
  EXPECT_EQ(log.Count("none of its producer's connections to the cluster's one broker (127.0.0.1:9092) is up"), 1u)
      << log.text();
  EXPECT_EQ(log.Count("2 records wait in the producer"), 1u) << log.text();
  EXPECT_EQ(log.Count("brokers are down"), 0u) << log.text();  // librdkafka's count of its connections
  // Records keep coming in meanwhile; one fails after message.timeout.ms.
  for (int i = 0; i < 4; ++i) watch.Produced();
  watch.Delivered(false, t0 + 5 * kSecond);
  EXPECT_TRUE(watch.lost());  // a failure is no sign of a broker
  // The producer hears an acknowledgement: back. The line waits for the
  // records of the outage (2 in flight + 4 produced meanwhile: 1 failed, 5 to go).
  watch.Delivered(true, t0 + 12'400'000'000);
  EXPECT_FALSE(watch.lost());
  EXPECT_EQ(log.Count("reachable again"), 0u) << log.text();
  for (int i = 0; i < 4; ++i) watch.Delivered(true, t0 + 12'500'000'000);
  EXPECT_EQ(log.Count("brokers reachable again after 12.4 s (6 records waited in the producer: 5 acknowledged, 1 "
                      "failed"),
            1u)
      << log.text();
  // Later deliveries belong to no outage.
  watch.Delivered(true, t0 + 13 * kSecond);
  watch.Tick(t0 + 60 * kSecond);
  EXPECT_EQ(log.Count("reachable again"), 1u) << log.text();
}

TEST(BrokerWatchTest, OnlySignsThatPostdateTheLossEndIt) {
  kafka::CapturedLog log;
  BrokerWatch watch("ch", "b:1");
  watch.Produced();
  watch.AllDown(Client::kConsumer, "2/2 brokers are down", 10 * kSecond);
  // The producer's poll thread may still serve acknowledgements it heard
  // before the consumer noticed the loss: not a sign.
  watch.Delivered(true, 10 * kSecond + 1000);
  // A metadata answer to a request sent before the loss: not a sign either.
  watch.Answered(10 * kSecond - 1000, 10 * kSecond + 2000);
  EXPECT_TRUE(watch.lost());
  // One sent after it is.
  watch.Answered(12 * kSecond, 13 * kSecond);
  EXPECT_FALSE(watch.lost());
  EXPECT_EQ(
      log.Count("brokers reachable again after 3.0 s (1 record waited in the producer: 1 acknowledged, 0 failed)"), 1u)
      << log.text();
  // Unknown cluster: the line names the bootstrap servers instead.
  EXPECT_EQ(log.Count("none of its consumer's connections to the brokers (bootstrap b:1) is up"), 1u) << log.text();
}

TEST(BrokerWatchTest, TheBackLineSaysWhatIsNotResolvedAfterItHasWaitedLongEnough) {
  kafka::CapturedLog log;
  BrokerWatch watch("ch", "b:1");
  watch.SetBrokers({"c:1", "b:1", "a:1"});
  watch.SetBrokers({"a:1", "c:1"});  // metadata lists the brokers that are up
  for (int i = 0; i < 3; ++i) watch.Produced();
  watch.AllDown(Client::kProducer, "3/3 brokers are down", 0);
  EXPECT_EQ(log.Count("to the cluster's 3 brokers (a:1, b:1, c:1) is up"), 1u) << log.text();
  watch.Delivered(true, 2 * kSecond);
  watch.Tick(2 * kSecond + BrokerWatch::kSettleNanos - 1);
  EXPECT_EQ(log.Count("reachable again"), 0u);
  watch.Tick(2 * kSecond + BrokerWatch::kSettleNanos);
  EXPECT_EQ(log.Count("reachable again after 2.0 s (3 records waited in the producer: 1 acknowledged, 0 failed, 2 "
                      "not yet resolved by 10.0 s after a broker answered)"),
            1u)
      << log.text();
}

TEST(BrokerWatchTest, AFlappingClusterIsSummedUpNotLoggedEachTime) {
  kafka::CapturedLog log;
  BrokerWatch watch("ch", "b:1");
  int64_t t = 0;
  for (int i = 0; i < 20; ++i) {
    watch.AllDown(Client::kProducer, "1/1 brokers are down", t);
    watch.Produced();
    watch.Delivered(true, t + kSecond);  // back
    t += 2 * kSecond;
  }
  EXPECT_EQ(watch.outages(), 20u);
  EXPECT_EQ(log.Count("lost every broker"), 1u) << log.text();
  EXPECT_EQ(log.Count("reachable again"), 1u) << log.text();
  watch.AllDown(Client::kProducer, "1/1 brokers are down", t + 60 * kSecond);
  EXPECT_EQ(log.Count("lost every broker again: 20 outages in the last"), 1u) << log.text();
}

}  // namespace
}  // namespace ordering::kafka_backend

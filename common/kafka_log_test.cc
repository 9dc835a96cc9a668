#include "common/kafka_log.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <thread>

#include "common/kafka.h"
#include "common/kafka_log_capture.h"

namespace ordering::kafka {
namespace {

constexpr int64_t kSecond = 1'000'000'000;

// librdkafka 2.0.2's words for a connection closed while it asks for the
// broker's API versions (right after connecting), as a broker restart gives.
const char* kApiVersionHint =
    "127.0.0.1:19092/1: Disconnected while requesting ApiVersion: might be caused by incorrect security.protocol "
    "configuration (connecting to a SSL listener?) or broker version is < 0.10 (see api.version.request) (after "
    "0ms in state APIVERSION_QUERY)";
const char* kSaslHint =
    "127.0.0.1:19092/1: Disconnected: verify that security.protocol is correctly configured, broker might require "
    "SASL authentication (after 12ms in state UP)";

TEST(KafkaLog, ThePlaintextClientsSslHintSaysTheBrokerMayBeDownOrRestarting) {
  const std::string out = RewriteLogMessage(kApiVersionHint, "plaintext");
  EXPECT_EQ(out.find("SSL listener"), std::string::npos) << out;
  EXPECT_EQ(out.find("< 0.10"), std::string::npos) << out;
  EXPECT_NE(out.find("the broker may be down or restarting"), std::string::npos) << out;
  EXPECT_NE(out.find("(after 0ms in state APIVERSION_QUERY)"), std::string::npos) << out;  // the rest is kept
  EXPECT_EQ(out.rfind("127.0.0.1:19092/1: Disconnected while requesting ApiVersion: ", 0), 0u) << out;
  // Another wording of the same hint (another librdkafka version).
  const std::string other = RewriteLogMessage("b: Disconnected (connecting to a SSL listener?)", "plaintext");
  EXPECT_EQ(other, "b: Disconnected (the broker may be down or restarting)");
  const std::string sasl = RewriteLogMessage(kSaslHint, "plaintext");
  EXPECT_EQ(sasl.find("verify that security.protocol"), std::string::npos) << sasl;
  EXPECT_NE(sasl.find("the broker may be down or restarting"), std::string::npos) << sasl;
}

TEST(KafkaLog, OtherProtocolsKeepLibrdkafkasWords) {
  // There the hint may be the truth (librdkafka only gives it to clients
  // that do not speak SSL).
  EXPECT_EQ(RewriteLogMessage(kApiVersionHint, "sasl_plaintext"), kApiVersionHint);
  EXPECT_EQ(RewriteLogMessage(kApiVersionHint, ""), kApiVersionHint);
  EXPECT_EQ(RewriteLogMessage("nothing to see", "plaintext"), "nothing to see");
}

TEST(KafkaLog, ConnectionFailuresAreWarningsAtMost) {
  EXPECT_EQ(LogLevelFor(3, "FAIL"), spdlog::level::warn);
  EXPECT_EQ(LogLevelFor(6, "FAIL"), spdlog::level::warn);
  EXPECT_EQ(LogLevelFor(7, "FAIL"), spdlog::level::debug);
  EXPECT_EQ(LogLevelFor(3, "ERROR"), spdlog::level::err);
  EXPECT_EQ(LogLevelFor(4, "GETPID"), spdlog::level::warn);
  EXPECT_EQ(LogLevelFor(6, "CONFWARN"), spdlog::level::info);
  EXPECT_EQ(LogLevelFor(0, "FATAL"), spdlog::level::debug);  // the error event says it
}

TEST(KafkaLog, TheBrokerOfAConnectionFailure) {
  EXPECT_EQ(BrokerOfFailLine("127.0.0.1:9092/1: Disconnected (after 5ms in state UP)"), "127.0.0.1:9092");
  EXPECT_EQ(BrokerOfFailLine("127.0.0.1:9092/bootstrap: Connect to ipv4#127.0.0.1:9092 failed: Connection refused"),
            "127.0.0.1:9092");
  EXPECT_EQ(BrokerOfFailLine("GroupCoordinator: 127.0.0.1:9092: Disconnected (after 4764ms in state UP)"),
            "127.0.0.1:9092");
  EXPECT_EQ(BrokerOfFailLine("sasl_ssl://kafka-1:9093/2: SSL handshake failed"), "kafka-1:9093");
  EXPECT_EQ(BrokerOfFailLine("no broker named here"), "");
  // As librdkafka hands them to the log callback: its thread first.
  EXPECT_EQ(BrokerOfFailLine("[thrd:127.0.0.1:9092/bootstrap]: 127.0.0.1:9092/1: Disconnected (after 5ms in state UP)"),
            "127.0.0.1:9092");
  EXPECT_EQ(BrokerOfFailLine("[thrd:GroupCoordinator]: GroupCoordinator: 127.0.0.1:9092: Disconnected"),
            "127.0.0.1:9092");
}

TEST(KafkaLog, OneLinePerBrokerFromEveryClientThenASummaryAtMostOnceAMinute) {
  ResetLogLimits();
  const int64_t t0 = 1000 * kSecond;
  LogDecision d =
      DecideLogLine(4, "FAIL", "127.0.0.1:9092/1: Disconnected (after 5793ms in state UP)", "plaintext", t0);
  EXPECT_TRUE(d.log);
  EXPECT_EQ(d.level, spdlog::level::warn);
  EXPECT_NE(d.text.find("reconnects by itself"), std::string::npos) << d.text;
  // The consumer's connection, its group coordinator's, the reconnections:
  // the same fault.
  for (const char* m : {"127.0.0.1:9092/1: Disconnected (after 5792ms in state UP)",
                        "GroupCoordinator: 127.0.0.1:9092: Disconnected (after 4764ms in state UP)",
                        "127.0.0.1:9092/1: Connect to ipv4#127.0.0.1:9092 failed: Connection refused (after 0ms in "
                        "state CONNECT)"}) {
    d = DecideLogLine(3, "FAIL", m, "plaintext", t0 + kSecond);
    EXPECT_FALSE(d.log) << m;
  }
  // Requests it did not answer in time: the same fault.
  EXPECT_FALSE(DecideLogLine(4, "REQTMOUT", "[thrd:127.0.0.1:9092/bootstrap]: 127.0.0.1:9092/1: Timed out 1 in-flight",
                             "plaintext", t0 + kSecond)
                   .log);
  // Another broker is another fault.
  EXPECT_TRUE(DecideLogLine(3, "FAIL", "127.0.0.1:9093/2: Disconnected", "plaintext", t0 + kSecond).log);
  // A minute on, still failing: one summary with the count and the last words.
  d = DecideLogLine(3, "FAIL", kApiVersionHint + std::string(), "plaintext", t0 + 61 * kSecond);
  EXPECT_EQ(d.text.find("127.0.0.1:19092"), 0u) << d.text;  // kApiVersionHint names another broker: a first line
  d = DecideLogLine(3, "FAIL", "127.0.0.1:9092/1: Connect to ipv4#127.0.0.1:9092 failed: Connection refused",
                    "plaintext", t0 + 61 * kSecond);
  EXPECT_TRUE(d.log);
  EXPECT_NE(d.text.find("127.0.0.1:9092: 5 more connection failures in the last 61.0 s"), std::string::npos) << d.text;
  EXPECT_NE(d.text.find("Connection refused"), std::string::npos) << d.text;
  // Other facilities are not limited.
  EXPECT_TRUE(DecideLogLine(4, "GETPID", "127.0.0.1:9092/1: retrying", "plaintext", t0 + 62 * kSecond).log);
  ResetLogLimits();
}

TEST(KafkaLog, ABrokerWhoseFailuresWereLoggedIsSaidBackOnceAClientIsConnectedToItAgain) {
  ResetLogLimits();
  CapturedLog log;
  const int64_t t0 = 100 * kSecond;
  EXPECT_TRUE(DecideLogLine(4, "FAIL", "127.0.0.1:9092/1: Disconnected", "plaintext", t0).log);
  EXPECT_FALSE(DecideLogLine(3, "FAIL", "127.0.0.1:9092/1: Connection refused", "plaintext", t0 + kSecond).log);
  auto stats = [](int64_t at, int64_t up_for) {
    ClientStats s;
    s.ts_us = at / 1000;
    for (int id : {1, 2}) {
      BrokerStats b;
      b.node_id = id;
      b.nodename = "127.0.0.1:909" + std::to_string(1 + id);
      b.state = "UP";
      b.stateage_us = up_for / 1000;
      s.brokers.push_back(b);
    }
    return s;
  };
  // Another client's connection that has been up since before the failure
  // says nothing about it; neither does a broker that never failed.
  NoteBrokerStates(stats(t0 + 5 * kSecond, 6 * kSecond));
  EXPECT_EQ(log.Count("reachable again"), 0u) << log.text();
  // Up since 18 s after the failure began: back, once.
  NoteBrokerStates(stats(t0 + 20 * kSecond, 2 * kSecond));
  NoteBrokerStates(stats(t0 + 25 * kSecond, 7 * kSecond));
  EXPECT_EQ(log.Count("librdkafka: broker 127.0.0.1:9092 reachable again after 18.0 s (2 connection failures "
                      "meanwhile"),
            1u)
      << log.text();
  EXPECT_EQ(log.Count("reachable again"), 1u) << log.text();
  // A new fault is logged in full again, within the minute.
  const LogDecision d = DecideLogLine(4, "FAIL", "127.0.0.1:9092/1: Disconnected", "plaintext", t0 + 30 * kSecond);
  EXPECT_TRUE(d.log);
  EXPECT_NE(d.text.find("reconnects by itself"), std::string::npos) << d.text;
  ResetLogLimits();
}

// A broker no client needs again (it leads nothing any more) is never
// reconnected to: the cluster's metadata tells when it is back.
TEST(KafkaLog, ABrokerTheClusterListsAgainIsSaidBack) {
  ResetLogLimits();
  CapturedLog log;
  const int64_t t0 = 100 * kSecond;
  EXPECT_TRUE(DecideLogLine(4, "FAIL", "127.0.0.1:9092/1: Disconnected", "plaintext", t0).log);
  // Listed still (the controller has not noticed yet), then not, then again.
  NoteBrokersListed({"127.0.0.1:9092", "127.0.0.1:9093"}, t0 + kSecond);
  NoteBrokersListed({"127.0.0.1:9093"}, t0 + 10 * kSecond);
  EXPECT_EQ(log.Count("listed by the cluster again"), 0u) << log.text();
  NoteBrokersListed({"127.0.0.1:9092", "127.0.0.1:9093"}, t0 + 25 * kSecond);
  NoteBrokersListed({"127.0.0.1:9092", "127.0.0.1:9093"}, t0 + 30 * kSecond);
  EXPECT_EQ(log.Count("librdkafka: broker 127.0.0.1:9092 is listed by the cluster again, 25.0 s after its "
                      "connections began to fail (1 connection failure meanwhile"),
            1u)
      << log.text();
  EXPECT_EQ(log.Count("again"), 1u) << log.text();
  ResetLogLimits();
}

TEST(KafkaLog, ClientErrorsThatRepeatAFailLineAreNotLoggedAgain) {
  ResetLogLimits();
  CapturedLog log;
  LogClientError("rdkafka#producer-1", MakeClientError(RD_KAFKA_RESP_ERR__TRANSPORT,
                                                       "127.0.0.1:9092/1: Disconnected (after 5ms in state UP)"));
  LogClientError("rdkafka#producer-1", MakeClientError(RD_KAFKA_RESP_ERR__RESOLVE, "nohost:9092/bootstrap: resolve"));
  EXPECT_EQ(log.text(), "");
  const ClientError down = MakeClientError(RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, "2/2 brokers are down");
  EXPECT_TRUE(down.all_brokers_down);
  LogClientError("rdkafka#consumer-2", down);
  LogClientError("rdkafka#consumer-2", down);  // every failed reconnection says it again
  const std::string text = log.text();
  EXPECT_EQ(log.Count("no broker reachable"), 1u) << text;
  EXPECT_NE(text.find("not brokers"), std::string::npos) << text;  // what librdkafka's count counts
  ResetLogLimits();
}

// A real client whose only broker is not there: librdkafka's connection
// failure shows once, explained, and is not repeated by the error event;
// its "N/N brokers are down" comes out once, with what it counts.
TEST(KafkaLog, AClientWithoutBrokersLogsEachFactOnce) {
  ResetLogLimits();
  CapturedLog log;
  {
    Producer::Options po;
    po.brokers = "127.0.0.1:1";  // nothing listens there
    po.properties = {{"reconnect.backoff.ms", "10", "test"}, {"reconnect.backoff.max.ms", "50", "test"}};
    po.close_flush_timeout_ms = 0;
    std::unique_ptr<Producer> producer;
    ASSERT_TRUE(Producer::Create(po, &producer).ok());
    ASSERT_TRUE(producer->Produce("t", 0, "x").ok());
    std::this_thread::sleep_for(std::chrono::seconds(2));  // dozens of reconnections
  }
  const std::string text = log.text();
  EXPECT_EQ(log.Count("Connection refused"), 1u) << text;
  EXPECT_EQ(log.Count(" ERROR: "), 0u) << text;  // librdkafka's second copy of each failure
  EXPECT_LE(log.Count("no broker reachable"), 1u) << text;
  EXPECT_EQ(text.find("brokers are down\n"), std::string::npos) << text;  // never unexplained
  ResetLogLimits();
}

}  // namespace
}  // namespace ordering::kafka

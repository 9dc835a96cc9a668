// peer-sim failing over between two Kafka orderers of one channel: two real
// `orderer` processes on the embedded broker's partition, each with its own
// ledger; peer-sim submits through Broadcast and follows Deliver with
// `--orderer A,B`. A is killed (SIGKILL) under load: every stream moves to
// B, B's chain holds every transaction answered SUCCESS exactly once,
// nothing is delivered twice or skipped, and A's chain, as far as it got,
// is B's block for block.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <thread>

#include "peer-sim/ack_log.h"
#include "peer-sim/load.h"
#include "tests/child_process.h"
#include "tests/pipeline_harness.h"
#include "tests/test_broker.h"

namespace ordering::testing {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

class PeerSimFailoverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    broker_ = TestBroker::Start();
    ASSERT_TRUE(broker_);
    channel_ = broker_->NewChannelName();
    Status st = broker_->CreateChannel(channel_);
    ASSERT_TRUE(st.ok()) << st.ToString();
  }

  // Starts orderer `name` on the channel, with a ledger of its own; its
  // address once ready ("" if it did not get ready in 60 s).
  std::string StartOrderer(ChildProcess* p, const std::string& name) {
    const std::string ready = dir_.path(name + ".port");
    const std::vector<std::string> args = {ORDERER_BIN,
                                           "--brokers",
                                           broker_->bootstrap(),
                                           "--channel",
                                           channel_,
                                           "--ledger-dir",
                                           dir_.path(name),
                                           "--listen",
                                           "127.0.0.1:0",
                                           "--max-message-count",
                                           "50",
                                           "--batch-timeout",
                                           "200ms",
                                           "--log-level",
                                           "warn",
                                           "--summary-interval",
                                           "0",
                                           "--verify-workers",
                                           "1",
                                           "--ready-file",
                                           ready};
    if (!p->Start(args, dir_.path(name + ".log"))) return "";
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      // Written whole (a rename), as "PORT\n".
      const std::string port = ReadFile(ready);
      if (!port.empty()) return "127.0.0.1:" + port.substr(0, port.find('\n'));
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return "";
  }

  std::unique_ptr<TestBroker> broker_;
  std::string channel_;
  TempDir dir_{"failover"};
};

TEST_F(PeerSimFailoverTest, StreamsMoveToTheSecondOrdererWhenTheFirstIsKilled) {
  ChildProcess a, b;
  const std::string addr_a = StartOrderer(&a, "a");
  const std::string addr_b = StartOrderer(&b, "b");
  ASSERT_FALSE(addr_a.empty()) << ReadFile(dir_.path("a.log"));
  ASSERT_FALSE(addr_b.empty()) << ReadFile(dir_.path("b.log"));

  LoadOptions o;
  o.submit = SubmitPath::kBroadcast;
  o.orderer = addr_a + "," + addr_b;
  o.channel_id = channel_;
  o.peers = 2;
  o.rate = 300;
  o.duration_ms = 6000;
  o.cooldown_ms = 500;
  o.drain_timeout_ms = 10000;
  o.progress_interval_ms = 0;
  o.block_times = true;
  o.started_file = dir_.path("started");
  o.ack_log = dir_.path("acks.log");
  std::atomic<int64_t> killed_unix_ms{0};
  std::thread killer([&] {
    while (!std::filesystem::exists(o.started_file)) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::this_thread::sleep_for(std::chrono::seconds(2));
    a.Signal(SIGKILL);
    killed_unix_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
  });
  LoadReport r;
  Status st = RunLoad(o, &r);
  killer.join();
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(a.Wait(), 128 + SIGKILL) << "A exited before it was killed:\n" << ReadFile(dir_.path("a.log"));
  const std::string text = ReportToText(r);

  // Every stream moved to B once, and stayed there.
  ASSERT_TRUE(r.broadcast_streams.has_value());
  EXPECT_EQ(r.broadcast_streams->broken, 2u) << text;
  EXPECT_EQ(r.broadcast_streams->switches, (std::map<std::string, uint64_t>{{addr_b, 2}})) << text;
  EXPECT_EQ(r.broadcast_streams->on, (std::map<std::string, uint64_t>{{addr_b, 2}})) << text;
  EXPECT_EQ(r.deliver_switches, (std::map<std::string, uint64_t>{{addr_b, 1}})) << text;
  EXPECT_EQ(r.deliver_orderer, addr_b);
  ASSERT_EQ(r.deliver_outages.size(), 1u);
  EXPECT_EQ(r.deliver_outages[0].back_on, addr_b);
  EXPECT_LT(r.deliver_outages[0].back_unix_ms - killed_unix_ms.load(), 3000) << "blocks came back late: " << text;
  EXPECT_EQ(r.orderers, (std::vector<std::string>{addr_a, addr_b}));
  nlohmann::json j = ReportToJson(r);
  EXPECT_EQ(j["streams"]["deliver"]["switches"][addr_b], 1);
  EXPECT_EQ(j["streams"]["broadcast"]["orderers"][addr_b], 2);

  // Nothing doubled, nothing acknowledged left undelivered.
  EXPECT_EQ(r.duplicates, 0u) << text;
  EXPECT_EQ(r.undelivered_acked, 0u) << text;
  EXPECT_GT(r.acked, 1000u) << text;

  b.Signal(SIGTERM);
  ASSERT_EQ(b.Wait(), 0) << ReadFile(dir_.path("b.log"));
  LedgerContents chain_a = ReadLedger(dir_.path("a"));
  LedgerContents chain_b = ReadLedger(dir_.path("b"));
  // A's chain, as far as it got, is B's, block for block.
  ASSERT_LE(chain_a.blocks.size(), chain_b.blocks.size());
  ASSERT_GT(chain_a.blocks.size(), 1u) << "A ordered nothing before it was killed";
  for (size_t n = 0; n < chain_a.blocks.size(); ++n) {
    EXPECT_EQ(chain_a.blocks[n].SerializeAsString(), chain_b.blocks[n].SerializeAsString()) << "block " << n;
  }
  // Every SUCCESS is in B's chain exactly once; nothing is in it twice.
  std::map<std::string, int> in_chain;
  for (const std::string& id : chain_b.tx_ids) ++in_chain[id];
  for (const auto& [id, n] : in_chain) EXPECT_EQ(n, 1) << id;
  std::ifstream log(o.ack_log);
  std::string line;
  uint64_t success = 0, success_after_kill = 0;
  while (std::getline(log, line)) {
    AckLine l;
    if (ParseAckLine(line, &l) != AckLineKind::kLine || l.outcome != "SUCCESS") continue;
    ++success;
    success_after_kill += l.answer_unix_ns / 1'000'000 > killed_unix_ms.load() + 500;
    EXPECT_EQ(in_chain[l.tx_id], 1) << l.tx_id << " was answered SUCCESS";
  }
  EXPECT_EQ(success, r.acked);
  EXPECT_GT(success_after_kill, 500u) << "B took the load after the kill";
}

}  // namespace
}  // namespace ordering::testing

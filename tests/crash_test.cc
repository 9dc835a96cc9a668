// Crash resume with the real `orderer` binary: it is SIGKILLed repeatedly
// while peers keep submitting, then restarted. No transaction may be lost or
// ordered twice, and the chain must verify.
#include <fcntl.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>

#include "tests/child_process.h"
#include "tests/pipeline_harness.h"
#include "tests/test_broker.h"

namespace ordering::testing {
namespace {

class CrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    broker_ = TestBroker::Start();
    ASSERT_TRUE(broker_);
    channel_ = broker_->NewChannelName();
    Status st = broker_->CreateChannel(channel_);
    ASSERT_TRUE(st.ok()) << st.ToString();
  }

  std::vector<std::string> OrdererArgs() {
    return {ORDERER_BIN,
            "--brokers",
            broker_->bootstrap(),
            "--channel",
            channel_,
            "--ledger-dir",
            dir_.path("ledger"),
            "--listen",
            "127.0.0.1:0",
            "--max-message-count",
            "20",
            "--batch-timeout",
            "150ms",
            "--summary-interval",
            "0",
            "--log-level",
            "warn",
            "--verify-workers",
            "1",
            "--ready-file",
            dir_.path("ready")};
  }

  // Waits (at most 60 s) until the orderer started last is ready: on a
  // loaded machine a start can take longer than the pause before a kill.
  bool WaitReady() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      if (std::filesystem::exists(dir_.path("ready"))) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  std::unique_ptr<TestBroker> broker_;
  std::string channel_;
  TempDir dir_{"crash"};
};

// The end of a log, for failure messages (the test's folder is removed).
std::string LogTail(const std::string& path, size_t bytes = 3000) {
  std::ifstream in(path);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return all.size() > bytes ? all.substr(all.size() - bytes) : all;
}

TEST_F(CrashTest, KilledOrdererResumesWithoutLossOrDuplicates) {
  const std::string log = dir_.path("orderer.log");
  Submitter sub(broker_->bootstrap(), channel_);
  std::atomic<bool> done{false};
  constexpr int kTxs = 1500;
  std::thread producer([&] {
    std::vector<TestPeer> peers;
    for (int i = 0; i < 3; ++i) peers.emplace_back(channel_);
    for (int i = 0; i < kTxs; ++i) {
      BuiltTx tx = peers[i % 3].Next();
      sub.Send(tx.record, tx.tx_id);
      if (i % 25 == 24) std::this_thread::sleep_for(std::chrono::milliseconds(100));  // ~250 tx/s, ~6 s
    }
    sub.Flush();
    done = true;
  });

  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> pause_ms(300, 900);
  int kills = 0;
  int kills_after_progress = 0;  // kills after which the ledger had grown
  size_t last_txs = 0;
  while (!done.load() || kills < 4) {
    ChildProcess orderer;
    std::filesystem::remove(dir_.path("ready"));  // the killed one's
    ASSERT_TRUE(orderer.Start(OrdererArgs(), log));
    // Killed at a random moment once it orders.
    EXPECT_TRUE(WaitReady()) << "orderer not ready in 60 s; its log ends:\n" << LogTail(log);
    std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(rng)));
    orderer.Signal(SIGKILL);
    EXPECT_EQ(orderer.Wait(), 128 + SIGKILL) << "orderer exited before it was killed; its log ends:\n" << LogTail(log);
    ++kills;
    size_t txs = ReadLedger(dir_.path("ledger")).tx_ids.size();
    if (txs > last_txs) ++kills_after_progress;
    last_txs = txs;
  }
  producer.join();
  ASSERT_EQ(sub.failed(), 0);

  // A last run, stopped cleanly once everything is ordered.
  LedgerContents ledger;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (ledger.tx_ids.size() < static_cast<size_t>(kTxs) && std::chrono::steady_clock::now() < deadline) {
    ChildProcess orderer;
    ASSERT_TRUE(orderer.Start(OrdererArgs(), log));
    std::this_thread::sleep_for(std::chrono::seconds(2));
    orderer.Signal(SIGTERM);
    ASSERT_EQ(orderer.Wait(), 0) << "orderer failed; its log ends:\n" << LogTail(log);
    ledger = ReadLedger(dir_.path("ledger"));
  }
  EXPECT_GE(kills, 4);
  // The kills landed while the orderer was ordering, not before it started.
  EXPECT_GE(kills_after_progress, 3);
  ExpectExactlyOnceInOffsetOrder(ledger, sub.offsets());
  EXPECT_EQ(ledger.tx_ids.size(), static_cast<size_t>(kTxs));
}

}  // namespace
}  // namespace ordering::testing

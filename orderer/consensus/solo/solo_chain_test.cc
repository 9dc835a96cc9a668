// The solo backend's logic on a fake support and a manual clock: no disk,
// no sockets, and the batch timer fires only when the test moves time.
#include "orderer/consensus/solo/solo_chain.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "common/bytes.h"
#include "orderer/consensus/testing/fake_support.h"

namespace ordering::solo {
namespace {

using ordering::testing::FakeConsenterSupport;

CutterMessage Tx(const std::string& id, uint64_t size = 100) { return CutterMessage{"env-" + id, size, id}; }

std::vector<std::string> Entries(const Block& b) { return {b.data().data().begin(), b.data().data().end()}; }

class SoloChainTest : public ::testing::Test {
 protected:
  void Start(uint32_t max_count = 3, size_t queue = 100) {
    ChannelOptions o;
    o.channel_id = "ch";
    o.batch_size.max_message_count = max_count;
    o.batch_timeout_ms = 2000;
    support_ = std::make_unique<FakeConsenterSupport>(o, &clock_);
    SoloOptions so;
    so.queue_capacity = queue;
    chain_ = std::make_unique<SoloChain>(support_.get(), so);
    ASSERT_TRUE(chain_->Start().ok());
    ASSERT_TRUE(chain_->WaitReady().ok());
  }
  void TearDown() override {
    if (chain_) chain_->Halt();
  }

  ManualClock clock_;
  std::unique_ptr<FakeConsenterSupport> support_;
  std::unique_ptr<SoloChain> chain_;
};

TEST_F(SoloChainTest, OrdersByArrivalAndCutsAtMaxMessageCount) {
  Start(3);
  for (const char* id : {"a", "b", "c", "d", "e", "f"}) ASSERT_TRUE(chain_->Order(Tx(id)).ok());
  ASSERT_TRUE(support_->WaitForHeight(3));
  std::vector<Block> blocks = support_->blocks();
  ASSERT_EQ(blocks.size(), 3u);
  EXPECT_EQ(Entries(blocks[1]), (std::vector<std::string>{"env-a", "env-b", "env-c"}));
  EXPECT_EQ(Entries(blocks[2]), (std::vector<std::string>{"env-d", "env-e", "env-f"}));
  for (size_t n = 1; n < blocks.size(); ++n) {
    EXPECT_EQ(blocks[n].header().previous_hash(), DigestBytes(BlockHash(blocks[n - 1])));
    EXPECT_EQ(blocks[n].metadata().cut_reason(), CUT_REASON_MAX_MESSAGE_COUNT);
    EXPECT_TRUE(blocks[n].metadata().consenter().empty());  // solo keeps no state in blocks
  }
  EXPECT_EQ(support_->metrics()->received.load(), 6u);
}

TEST_F(SoloChainTest, TheBatchTimerRunsOnTheInjectedClock) {
  Start(10);
  ASSERT_TRUE(chain_->Order(Tx("a")).ok());
  ASSERT_TRUE(chain_->Order(Tx("b")).ok());
  // Real time passes, the clock does not: nothing is cut.
  EXPECT_FALSE(support_->WaitForHeight(2, std::chrono::milliseconds(200)));
  clock_.Advance(std::chrono::milliseconds(1999));
  EXPECT_FALSE(support_->WaitForHeight(2, std::chrono::milliseconds(100)));
  clock_.Advance(std::chrono::milliseconds(1));
  ASSERT_TRUE(support_->WaitForHeight(2));
  std::vector<Block> blocks = support_->blocks();
  EXPECT_EQ(Entries(blocks[1]), (std::vector<std::string>{"env-a", "env-b"}));
  EXPECT_EQ(blocks[1].metadata().cut_reason(), CUT_REASON_TIMEOUT);
  // Nothing pending: moving time on cuts nothing more.
  clock_.Advance(std::chrono::seconds(10));
  EXPECT_FALSE(support_->WaitForHeight(3, std::chrono::milliseconds(100)));
}

TEST_F(SoloChainTest, TheTimerStartsWithTheBatchsFirstTransaction) {
  Start(10);
  ASSERT_TRUE(chain_->Order(Tx("a")).ok());
  ASSERT_TRUE(ordering::testing::PollUntil([&] { return support_->metrics()->received.load() == 1; }));
  clock_.Advance(std::chrono::milliseconds(1500));
  ASSERT_TRUE(chain_->Order(Tx("b")).ok());  // does not restart the timer
  ASSERT_TRUE(ordering::testing::PollUntil([&] { return support_->metrics()->received.load() == 2; }));
  clock_.Advance(std::chrono::milliseconds(500));
  ASSERT_TRUE(support_->WaitForHeight(2));
  EXPECT_EQ(support_->blocks()[1].data().data_size(), 2);
}

TEST_F(SoloChainTest, DuplicatesAreRejectedAndCounted) {
  Start(2);
  ASSERT_TRUE(chain_->Order(Tx("a")).ok());
  ASSERT_TRUE(chain_->Order(Tx("a")).ok());  // pending twin
  ASSERT_TRUE(chain_->Order(Tx("b")).ok());
  ASSERT_TRUE(support_->WaitForHeight(2));
  ASSERT_TRUE(chain_->Order(Tx("b")).ok());  // already in a block
  ASSERT_TRUE(chain_->Order(Tx("c")).ok());
  ASSERT_TRUE(chain_->Order(Tx("d")).ok());
  ASSERT_TRUE(support_->WaitForHeight(3));
  std::vector<Block> blocks = support_->blocks();
  EXPECT_EQ(Entries(blocks[1]), (std::vector<std::string>{"env-a", "env-b"}));
  EXPECT_EQ(Entries(blocks[2]), (std::vector<std::string>{"env-c", "env-d"}));
  EXPECT_EQ(support_->metrics()->rejected[static_cast<size_t>(RejectCause::kDuplicate)].load(), 2u);
}

TEST_F(SoloChainTest, AFailedWriteStopsTheChainAndBroadcastHearsOfIt) {
  Start(1);
  support_->FailWritesWith(Status::IOError("disk full"));
  ASSERT_TRUE(chain_->Order(Tx("a")).ok());
  ASSERT_TRUE(ordering::testing::PollUntil([&] { return !chain_->Errored().ok(); }));
  EXPECT_NE(chain_->Errored().ToString().find("disk full"), std::string::npos);
  Status st = chain_->Order(Tx("b"));
  EXPECT_TRUE(st.IsUnavailable()) << st.ToString();
}

TEST_F(SoloChainTest, OrderWaitsWhileTheQueueIsFullAndHaltReleasesIt) {
  Start(1, 1);
  support_->HoldWrites(true);
  ASSERT_TRUE(chain_->Order(Tx("a")).ok());  // taken by the loop, whose write is held
  ASSERT_TRUE(support_->WaitForHeldWrite());
  ASSERT_TRUE(chain_->Order(Tx("b")).ok());  // fills the queue of one
  std::atomic<int> third{-1};
  std::thread waiting([&] { third = chain_->Order(Tx("c")).ok() ? 1 : 0; });
  EXPECT_FALSE(ordering::testing::PollUntil([&] { return third.load() != -1; }, std::chrono::milliseconds(100)));
  // Halt wakes the waiting Order at once (it refuses it), then waits for the
  // loop, which finishes once the write is let go.
  std::thread halting([&] { chain_->Halt(); });
  ASSERT_TRUE(ordering::testing::PollUntil([&] { return third.load() != -1; }));
  EXPECT_EQ(third.load(), 0);
  support_->HoldWrites(false);
  halting.join();
  waiting.join();
  EXPECT_TRUE(chain_->Order(Tx("d")).IsUnavailable());
  chain_->Halt();  // idempotent
}

TEST_F(SoloChainTest, AFullQueueDrainsWhenWritesResume) {
  Start(1, 1);
  support_->HoldWrites(true);
  ASSERT_TRUE(chain_->Order(Tx("a")).ok());
  ASSERT_TRUE(support_->WaitForHeldWrite());
  ASSERT_TRUE(chain_->Order(Tx("b")).ok());
  std::atomic<int> third{-1};
  std::thread waiting([&] { third = chain_->Order(Tx("c")).ok() ? 1 : 0; });
  support_->HoldWrites(false);
  waiting.join();
  EXPECT_EQ(third.load(), 1);
  ASSERT_TRUE(support_->WaitForHeight(4));
  std::vector<Block> blocks = support_->blocks();
  EXPECT_EQ(Entries(blocks[3]), (std::vector<std::string>{"env-c"}));
}

}  // namespace
}  // namespace ordering::solo

// The solo backend on the real ordering step over an in-memory ledger and a
// manual clock: no disk, no sockets, and the batch timer fires only when the
// test moves time.
#include "orderer/consensus/solo/solo_chain.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "common/bytes.h"
#include "orderer/consensus/testing/test_channel.h"

namespace ordering::solo {
namespace {

using ordering::testing::TestChannel;

using ordering::testing::TxIds;
CutterMessage Tx(const std::string& id) { return ordering::testing::TestTx(id); }

class SoloChainTest : public ::testing::Test {
 protected:
  void Start(uint32_t max_count = 3, size_t queue = 100) {
    ChannelOptions o;
    o.channel_id = "ch";
    o.batch_size.max_message_count = max_count;
    o.batch_timeout_ms = 2000;
    channel_ = std::make_unique<TestChannel>(o, &clock_, "solo");
    SoloOptions so;
    so.queue_capacity = queue;
    chain_ = std::make_unique<SoloChain>(channel_->support(), so);
    ASSERT_TRUE(chain_->Start().ok());
    ASSERT_TRUE(chain_->WaitReady().ok());
  }
  void TearDown() override {
    if (chain_) chain_->Halt();
  }

  ManualClock clock_;
  std::unique_ptr<TestChannel> channel_;
  std::unique_ptr<SoloChain> chain_;
};

TEST_F(SoloChainTest, OrdersByArrivalAndCutsAtMaxMessageCount) {
  Start(3);
  for (const char* id : {"a", "b", "c", "d", "e", "f"}) ASSERT_TRUE(chain_->Order(Tx(id)).ok());
  ASSERT_TRUE(channel_->WaitForHeight(3));
  std::vector<Block> blocks = channel_->blocks();
  ASSERT_EQ(blocks.size(), 3u);
  EXPECT_EQ(TxIds(blocks[1]), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(TxIds(blocks[2]), (std::vector<std::string>{"d", "e", "f"}));
  for (size_t n = 1; n < blocks.size(); ++n) {
    EXPECT_EQ(blocks[n].header().previous_hash(), DigestBytes(BlockHash(blocks[n - 1])));
    EXPECT_EQ(blocks[n].metadata().cut_reason(), CUT_REASON_MAX_MESSAGE_COUNT);
    EXPECT_TRUE(blocks[n].metadata().consenter().empty());  // solo keeps no state in blocks
  }
  EXPECT_EQ(channel_->metrics()->received.load(), 6u);
}

TEST_F(SoloChainTest, TheBatchTimerRunsOnTheInjectedClock) {
  Start(10);
  ASSERT_TRUE(chain_->Order(Tx("a")).ok());
  ASSERT_TRUE(chain_->Order(Tx("b")).ok());
  // Real time passes, the clock does not: nothing is cut.
  EXPECT_FALSE(channel_->WaitForHeight(2, std::chrono::milliseconds(200)));
  clock_.Advance(std::chrono::milliseconds(1999));
  EXPECT_FALSE(channel_->WaitForHeight(2, std::chrono::milliseconds(100)));
  clock_.Advance(std::chrono::milliseconds(1));
  ASSERT_TRUE(channel_->WaitForHeight(2));
  std::vector<Block> blocks = channel_->blocks();
  EXPECT_EQ(TxIds(blocks[1]), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(blocks[1].metadata().cut_reason(), CUT_REASON_TIMEOUT);
  // Nothing pending: moving time on cuts nothing more.
  clock_.Advance(std::chrono::seconds(10));
  EXPECT_FALSE(channel_->WaitForHeight(3, std::chrono::milliseconds(100)));
}

TEST_F(SoloChainTest, TheTimerStartsWithTheBatchsFirstTransaction) {
  Start(10);
  ASSERT_TRUE(chain_->Order(Tx("a")).ok());
  ASSERT_TRUE(ordering::testing::PollUntil([&] { return channel_->metrics()->received.load() == 1; }));
  clock_.Advance(std::chrono::milliseconds(1500));
  ASSERT_TRUE(chain_->Order(Tx("b")).ok());  // does not restart the timer
  ASSERT_TRUE(ordering::testing::PollUntil([&] { return channel_->metrics()->received.load() == 2; }));
  clock_.Advance(std::chrono::milliseconds(500));
  ASSERT_TRUE(channel_->WaitForHeight(2));
  EXPECT_EQ(channel_->blocks()[1].data().data_size(), 2);
}

TEST_F(SoloChainTest, DuplicatesAreRejectedAndCounted) {
  Start(2);
  ASSERT_TRUE(chain_->Order(Tx("a")).ok());
  ASSERT_TRUE(chain_->Order(Tx("a")).ok());  // pending twin
  ASSERT_TRUE(chain_->Order(Tx("b")).ok());
  ASSERT_TRUE(channel_->WaitForHeight(2));
  ASSERT_TRUE(chain_->Order(Tx("b")).ok());  // already in a block
  ASSERT_TRUE(chain_->Order(Tx("c")).ok());
  ASSERT_TRUE(chain_->Order(Tx("d")).ok());
  ASSERT_TRUE(channel_->WaitForHeight(3));
  std::vector<Block> blocks = channel_->blocks();
  EXPECT_EQ(TxIds(blocks[1]), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(TxIds(blocks[2]), (std::vector<std::string>{"c", "d"}));
  EXPECT_EQ(channel_->metrics()->rejected[static_cast<size_t>(RejectCause::kDuplicate)].load(), 2u);
}

TEST_F(SoloChainTest, AFailedWriteStopsTheChainAndBroadcastHearsOfIt) {
  Start(1);
  channel_->faults()->FailAppendsWith(Status::IOError("disk full"));
  ASSERT_TRUE(chain_->Order(Tx("a")).ok());
  ASSERT_TRUE(ordering::testing::PollUntil([&] { return !chain_->Errored().ok(); }));
  EXPECT_NE(chain_->Errored().ToString().find("disk full"), std::string::npos);
  Status st = chain_->Order(Tx("b"));
  EXPECT_TRUE(st.IsUnavailable()) << st.ToString();
}

TEST_F(SoloChainTest, OrderWaitsWhileTheQueueIsFullAndHaltReleasesIt) {
  Start(1, 1);
  channel_->faults()->HoldAppends(true);
  ASSERT_TRUE(chain_->Order(Tx("a")).ok());  // taken by the loop, whose write is held
  ASSERT_TRUE(channel_->faults()->WaitForHeldAppend());
  ASSERT_TRUE(chain_->Order(Tx("b")).ok());  // fills the queue of one
  std::atomic<int> third{-1};
  std::thread waiting([&] { third = chain_->Order(Tx("c")).ok() ? 1 : 0; });
  EXPECT_FALSE(ordering::testing::PollUntil([&] { return third.load() != -1; }, std::chrono::milliseconds(100)));
  // Halt wakes the waiting Order at once (it refuses it), then waits for the
  // loop, which finishes once the write is let go.
  std::thread halting([&] { chain_->Halt(); });
  ASSERT_TRUE(ordering::testing::PollUntil([&] { return third.load() != -1; }));
  EXPECT_EQ(third.load(), 0);
  channel_->faults()->HoldAppends(false);
  halting.join();
  waiting.join();
  EXPECT_TRUE(chain_->Order(Tx("d")).IsUnavailable());
  chain_->Halt();  // idempotent
}

TEST_F(SoloChainTest, AFullQueueDrainsWhenWritesResume) {
  Start(1, 1);
  channel_->faults()->HoldAppends(true);
  ASSERT_TRUE(chain_->Order(Tx("a")).ok());
  ASSERT_TRUE(channel_->faults()->WaitForHeldAppend());
  ASSERT_TRUE(chain_->Order(Tx("b")).ok());
  std::atomic<int> third{-1};
  std::thread waiting([&] { third = chain_->Order(Tx("c")).ok() ? 1 : 0; });
  channel_->faults()->HoldAppends(false);
  waiting.join();
  EXPECT_EQ(third.load(), 1);
  ASSERT_TRUE(channel_->WaitForHeight(4));
  std::vector<Block> blocks = channel_->blocks();
  EXPECT_EQ(TxIds(blocks[3]), (std::vector<std::string>{"c"}));
}

}  // namespace
}  // namespace ordering::solo

// The raft state machine's callbacks called directly, as libraft calls them,
// on a node over the real ordering step and an in-memory ledger, with node 2
// of the fake peer network serving blocks to catch up from.
#include "orderer/consensus/raft/block_fsm.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>

#include "common/clock.h"
#include "ledger/block_util.h"
#include "orderer/consensus/raft/raft_format.h"
#include "orderer/consensus/raft/raft_parts.h"
#include "orderer/consensus/raft/testing/fake_raft_peers.h"
#include "orderer/consensus/testing/test_channel.h"

namespace ordering::raft_backend {
namespace {

using ordering::testing::TestChannel;
using ordering::testing::TestTx;

RaftOptions Options() {
  RaftOptions o;
  o.id = 1;
  for (uint64_t id = 1; id <= 2; ++id) o.cluster.push_back(RaftNodeAddress{id, "127.0.0.1:1", "fake"});
  return o;
}

std::string EntryOf(const Block& block) {
  const std::string bytes = block.SerializeAsString();
  std::string entry(EntrySize(bytes.size()), '\0');
  EncodeEntry(bytes, entry.data());
  return entry;
}

class BlockFsmTest : public ::testing::Test {
 protected:
  BlockFsmTest() : source_(ChannelOptions(), &clock_, "raft"), node_(ChannelOptions(), &clock_, "raft") {
    // Node 2 holds genesis and blocks 1..3.
    for (int b = 1; b <= 3; ++b) {
      Batch batch;
      batch.messages.push_back(TestTx("tx" + std::to_string(b)));
      EXPECT_TRUE(
          source_.support()->WriteBlock(source_.support()->CreateNextBlock(batch, EncodeMetadata({1, 2}))).ok());
    }
    network_.Add(2, {nullptr, source_.ledger()});
    parts_ = std::make_unique<RaftParts>(node_.support(), Options(), network_.PeersOf(1));
  }

  int Apply(const std::string& entry) {
    std::string copy = entry;
    raft_buffer buf{copy.data(), copy.size()};
    void* result = nullptr;
    return parts_->fsm.fsm()->apply(parts_->fsm.fsm(), &buf, &result);
  }
  // Restores the snapshot of node 2's chain at `height`.
  int Restore(uint64_t height) {
    Block last;
    EXPECT_TRUE(source_.ledger()->GetBlock(BlockNumber(height - 1), &last).ok());
    const std::string bytes = EncodeSnapshot({height, DigestBytes(BlockHash(last))});
    raft_buffer buf{raft_malloc(bytes.size()), bytes.size()};
    std::memcpy(buf.base, bytes.data(), bytes.size());
    const int rv = parts_->fsm.fsm()->restore(parts_->fsm.fsm(), &buf);
    if (rv != 0) raft_free(buf.base);  // libraft takes it only on success
    return rv;
  }
  uint64_t Height() { return node_.ledger()->Info().height; }

  ManualClock clock_;
  TestChannel source_, node_;
  testing::FakeRaftNetwork network_;
  std::unique_ptr<RaftParts> parts_;
};

TEST_F(BlockFsmTest, ASnapshotBeyondTheLedgerIsCaughtUpFromAnotherNode) {
  EXPECT_EQ(Restore(4), 0);
  EXPECT_EQ(Height(), 4u);
  EXPECT_TRUE(parts_->shared.error().ok());
  EXPECT_EQ(network_.fetches_served(2), 1u);
}

// fuzz_raft's regression raft/restore-after-failure: a node stopped by an
// entry it could not apply went on to restore a snapshot, fetching and
// writing blocks onto the ledger it had stopped on.
TEST_F(BlockFsmTest, AFailedNodeRestoresNothing) {
  Block hole;
  ASSERT_TRUE(source_.ledger()->GetBlock(BlockNumber(3), &hole).ok());
  EXPECT_EQ(Apply(EntryOf(hole)), 0);
  ASSERT_FALSE(parts_->shared.error().ok()) << "an entry beyond the height must stop the node";
  EXPECT_NE(Restore(4), 0);
  EXPECT_EQ(Height(), 1u);
  EXPECT_EQ(network_.fetches_served(2), 0u);
}

}  // namespace
}  // namespace ordering::raft_backend

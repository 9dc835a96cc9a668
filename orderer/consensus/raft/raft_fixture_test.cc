// The raft backend's logic, deterministically: three nodes of the real state
// machine, replicator and ordering on libraft's in-memory fixture (simulated
// disks, network and time), forwarding and catch-up over the fake peer
// network, each over the real ordering step and an in-memory ledger. One
// thread steps everything: no sockets, no threads, no sleeps, and the same
// run every time.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/crypto.h"
#include "ledger/block_util.h"
#include "orderer/consensus/raft/raft_format.h"
#include "orderer/consensus/raft/testing/fixture_cluster.h"

namespace ordering::raft_backend {
namespace {

using Cluster = testing::FixtureCluster;
using ordering::testing::TestTx;
using ordering::testing::TxIds;

ChannelOptions Channel() {
  ChannelOptions c;
  c.channel_id = "ch";
  c.batch_size.max_message_count = 10;
  c.batch_timeout_ms = 200;
  return c;
}

RaftOptions Options() {
  RaftOptions o;
  o.heartbeat_ms = 50;
  o.election_timeout_ms = 1000;
  return o;
}

std::vector<std::string> Submit(Cluster::Node& node, const std::string& prefix, int n) {
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) {
    ids.push_back(prefix + std::to_string(i));
    EXPECT_TRUE(node.queue.Push(TestTx(ids.back())).ok());
  }
  return ids;
}

// Every transaction in node's chain, in chain order.
std::vector<std::string> Ordered(Cluster::Node& node) {
  std::vector<std::string> all;
  for (const Block& b : node.ledger.blocks()) {
    if (b.header().number() == 0) continue;
    for (const std::string& id : TxIds(b)) all.push_back(id);
  }
  return all;
}

size_t Count(Cluster::Node& node) { return Ordered(node).size(); }

std::vector<std::string> BlockHashes(Cluster::Node& node) {
  std::vector<std::string> hashes;
  for (const Block& b : node.ledger.blocks()) hashes.push_back(ToHex(BlockHash(b)));
  return hashes;
}

RaftMetadata MetadataOf(const Block& b) {
  RaftMetadata m;
  EXPECT_TRUE(DecodeMetadata(b.metadata().consenter(), &m));
  return m;
}

void ExpectEachOnce(const std::vector<std::string>& ordered, const std::vector<std::vector<std::string>>& wanted) {
  std::map<std::string, int> seen;
  for (const std::string& id : ordered) ++seen[id];
  for (const auto& group : wanted) {
    for (const std::string& id : group) EXPECT_EQ(seen[id], 1) << id;
  }
  for (const auto& [id, n] : seen) EXPECT_EQ(n, 1) << id << " ordered " << n << " times";
}

// Followers forward what Broadcast gives them; the leader orders its own and
// the forwarded, cuts by count and by the batch timer on the injected clock;
// every node writes the same chain. Transactions a follower took while there
// was no leader wait for one.
TEST(RaftFixtureTest, TheLeaderOrdersItsOwnAndForwardedTransactionsOnEveryNode) {
  Cluster c(3, Channel(), Options());
  const std::vector<std::string> early = Submit(c.node(1), "early-", 5);  // no leader yet
  for (int i = 0; i < 20; ++i) c.Step();
  EXPECT_EQ(c.node(1).counters.forwarded->load(), 0);
  EXPECT_EQ(c.node(1).queue.size(), 5u);
  ASSERT_TRUE(c.Elect(0));
  const std::vector<std::string> own = Submit(c.node(0), "own-", 20);
  const std::vector<std::string> fwd = Submit(c.node(2), "fwd-", 18);
  const size_t total = early.size() + own.size() + fwd.size();  // 43: four full blocks and a timeout cut
  ASSERT_TRUE(c.StepUntil([&] {
    return Count(c.node(0)) == total && Count(c.node(1)) == total && Count(c.node(2)) == total;
  })) << Count(c.node(0))
      << " " << Count(c.node(1)) << " " << Count(c.node(2));
  ExpectEachOnce(Ordered(c.node(0)), {early, own, fwd});
  EXPECT_EQ(BlockHashes(c.node(1)), BlockHashes(c.node(0)));
  EXPECT_EQ(BlockHashes(c.node(2)), BlockHashes(c.node(0)));
  EXPECT_EQ(c.node(1).counters.forwarded->load(), 5);
  EXPECT_EQ(c.node(2).counters.forwarded->load(), 18);
  const std::vector<Block> blocks = c.node(0).ledger.blocks();
  int timeout_cuts = 0;
  for (size_t n = 1; n < blocks.size(); ++n) {
    EXPECT_EQ(MetadataOf(blocks[n]).leader, 1u);
    EXPECT_EQ(CheckMetadata(n, blocks[n - 1].metadata().consenter(), blocks[n].metadata().consenter()), "");
    timeout_cuts += blocks[n].metadata().cut_reason() == CUT_REASON_TIMEOUT;
  }
  EXPECT_EQ(timeout_cuts, 1);
}

// The leader is cut off with a block proposed and not committed. Raft elects
// another node; the old leader's proposal fails and its transactions go back
// to its queue, and once it hears of the new leader it forwards them there.
// Nothing committed is lost, nothing is ordered twice, and the chain goes on
// in the new term.
TEST(RaftFixtureTest, AFailedProposalIsForwardedToTheNextLeaderAndOrderedOnce) {
  Cluster c(3, Channel(), Options());
  ASSERT_TRUE(c.Elect(0));
  const std::vector<std::string> first = Submit(c.node(0), "a-", 10);
  ASSERT_TRUE(c.StepUntil([&] { return Count(c.node(1)) == 10 && Count(c.node(2)) == 10; }));
  const uint64_t first_term = MetadataOf(c.node(0).ledger.blocks()[1]).term;

  c.Isolate(0, true);
  const std::vector<std::string> second = Submit(c.node(0), "b-", 10);
  ASSERT_TRUE(c.StepUntil([&] {
    return c.node(0).counters.proposals_failed->load() >= 1 &&
           (c.node(1).ordering.building() || c.node(2).ordering.building());
  })) << "no hand-over";
  EXPECT_EQ(Count(c.node(0)), 10u) << "the cut-off leader committed nothing more";
  c.Isolate(0, false);
  ASSERT_TRUE(c.StepUntil([&] { return Count(c.node(0)) == 20 && Count(c.node(1)) == 20 && Count(c.node(2)) == 20; }))
      << Count(c.node(0)) << " " << Count(c.node(1)) << " " << Count(c.node(2));
  ExpectEachOnce(Ordered(c.node(1)), {first, second});
  EXPECT_EQ(BlockHashes(c.node(0)), BlockHashes(c.node(1)));
  EXPECT_EQ(BlockHashes(c.node(2)), BlockHashes(c.node(1)));
  EXPECT_GE(c.node(0).counters.forwarded->load(), 10);
  const std::vector<Block> blocks = c.node(1).ledger.blocks();
  EXPECT_GT(MetadataOf(blocks.back()).term, first_term);
  EXPECT_NE(MetadataOf(blocks.back()).leader, 1u);

  // The old leader leads again: it builds on the committed chain, not on the
  // block of its that failed.
  c.Depose();
  ASSERT_TRUE(c.Elect(0));
  const std::vector<std::string> third = Submit(c.node(0), "c-", 10);
  ASSERT_TRUE(c.StepUntil([&] { return Count(c.node(0)) == 30 && Count(c.node(1)) == 30 && Count(c.node(2)) == 30; }));
  EXPECT_TRUE(c.node(0).shared.error().ok()) << c.node(0).shared.error().ToString();
  ExpectEachOnce(Ordered(c.node(0)), {first, second, third});
  EXPECT_EQ(BlockHashes(c.node(1)), BlockHashes(c.node(0)));
  EXPECT_EQ(BlockHashes(c.node(2)), BlockHashes(c.node(0)));
}

// The leader dies with transactions in its cutter. The survivors elect a
// leader that continues the chain from the last committed block; a follower's
// new transactions are ordered by it; what was committed is intact and
// nothing is doubled. (What the dead leader held uncut is lost with it, as in
// Fabric's etcdraft: at most once.)
TEST(RaftFixtureTest, TheSurvivorsOfALostLeaderContinueTheChain) {
  Cluster c(3, Channel(), Options());
  ASSERT_TRUE(c.Elect(0));
  const std::vector<std::string> first = Submit(c.node(0), "a-", 10);
  ASSERT_TRUE(c.StepUntil([&] { return Count(c.node(1)) == 10 && Count(c.node(2)) == 10; }));
  const std::vector<std::string> held = Submit(c.node(0), "held-", 3);
  ASSERT_TRUE(c.StepUntil([&] { return c.node(0).queue.size() == 0; }));  // in its cutter
  c.Kill(0);
  const std::vector<std::string> later = Submit(c.node(1), "c-", 10);
  ASSERT_TRUE(c.StepUntil([&] { return Count(c.node(1)) == 20 && Count(c.node(2)) == 20; }))
      << Count(c.node(1)) << " " << Count(c.node(2));
  EXPECT_EQ(BlockHashes(c.node(2)), BlockHashes(c.node(1)));
  const std::vector<std::string> ordered = Ordered(c.node(1));
  ExpectEachOnce(ordered, {first, later});
  for (const std::string& id : held) EXPECT_EQ(std::count(ordered.begin(), ordered.end(), id), 0) << id;
  EXPECT_EQ(c.node(0).ledger.blocks().size(), 2u);
}

// A follower's Broadcast streams wait for their forwarded transactions to be
// written (--ack durable). The leader dies holding some in its cutter: no
// block will ever bring them. Once the follower writes a block of the next
// term, it answers them SERVICE_UNAVAILABLE at once (not at --ack-timeout,
// which would hold every later answer of their streams); those the new
// leader orders are answered SUCCESS.
TEST(RaftFixtureTest, AFollowerAnswersAtOnceWhatADeadLeaderTookAndNeverOrdered) {
  Cluster c(3, Channel(), Options());
  ASSERT_TRUE(c.Elect(0));
  std::map<std::string, Status> answers;
  auto wait_for = [&](const std::vector<std::string>& ids) {
    for (const std::string& id : ids) {
      ASSERT_NE(c.node(1).ledger.support()->acks()->Add(id, [&answers, id](const Status& st) { answers[id] = st; }),
                0u);
    }
  };
  std::vector<std::string> first;
  for (int i = 0; i < 10; ++i) first.push_back("a-" + std::to_string(i));
  wait_for(first);
  Submit(c.node(1), "a-", 10);
  ASSERT_TRUE(c.StepUntil([&] { return answers.size() == 10; }));
  for (const std::string& id : first) EXPECT_TRUE(answers[id].ok()) << id << " " << answers[id].ToString();

  const std::vector<std::string> held = {"held-0", "held-1", "held-2"};
  wait_for(held);
  Submit(c.node(1), "held-", 3);
  ASSERT_TRUE(c.StepUntil([&] { return c.node(1).counters.forwarded->load() == 13; }));  // in the leader's cutter
  c.Kill(0);
  const std::vector<std::string> later = {"c-0", "c-1", "c-2", "c-3", "c-4", "c-5", "c-6", "c-7", "c-8", "c-9"};
  wait_for(later);
  Submit(c.node(1), "c-", 10);
  ASSERT_TRUE(c.StepUntil([&] { return answers.size() == 23; })) << answers.size() << " answers";
  for (const std::string& id : held) {
    EXPECT_TRUE(answers[id].IsUnavailable()) << id << " " << answers[id].ToString();
    EXPECT_NE(answers[id].message().find("send it again"), std::string::npos) << answers[id].ToString();
  }
  for (const std::string& id : later) EXPECT_TRUE(answers[id].ok()) << id << " " << answers[id].ToString();
  EXPECT_EQ(c.node(1).counters.forward_lost->load(), 3);
  const std::vector<std::string> ordered = Ordered(c.node(1));
  ExpectEachOnce(ordered, {first, later});
  for (const std::string& id : held) EXPECT_EQ(std::count(ordered.begin(), ordered.end(), id), 0) << id;
}

// A follower down while the others went on finds their logs compacted: the
// leader sends a snapshot (height, last hash); the follower fetches the
// missing blocks from another node (the leader refuses here, so from the
// other follower), checks them against the snapshot and ends identical.
TEST(RaftFixtureTest, AFollowerBehindASnapshotFetchesTheMissingBlocks) {
  RaftOptions o = Options();
  o.snapshot_interval = 4;
  o.snapshot_trailing = 1;
  Cluster c(3, Channel(), o);
  ASSERT_TRUE(c.Elect(0));
  c.Kill(2);
  const std::vector<std::string> ids = Submit(c.node(0), "x-", 100);
  ASSERT_TRUE(c.StepUntil([&] { return Count(c.node(0)) == 100 && Count(c.node(1)) == 100; }));
  EXPECT_GT(c.node(0).counters.snapshots->load(), 0);
  c.network().RefuseFetches(c.node(0).options.id, true);
  c.Revive(2);
  ASSERT_TRUE(c.StepUntil([&] { return Count(c.node(2)) == 100; })) << Count(c.node(2));
  EXPECT_GE(c.node(2).counters.restores->load(), 1);
  EXPECT_GT(c.node(2).counters.caught_up->load(), 0);
  EXPECT_EQ(c.network().fetches_served(c.node(0).options.id), 0u);
  EXPECT_GE(c.network().fetches_served(c.node(1).options.id), 1u);
  EXPECT_EQ(BlockHashes(c.node(2)), BlockHashes(c.node(0)));
  EXPECT_TRUE(c.node(2).shared.error().ok()) << c.node(2).shared.error().ToString();
}

// Entries in node i's in-memory Raft log.
size_t EntriesInMemory(Cluster& c, int i) {
  const struct raft_log& log = raft_fixture_get(c.fixture(), static_cast<unsigned>(i))->log;
  return log.back >= log.front ? log.back - log.front : log.size - log.front + log.back;
}

// Snapshots come after about --raft-snapshot-bytes of log, not after a fixed
// count of entries: 30 blocks, far fewer than --raft-snapshot-interval, still
// snapshot on every node, and each node holds only about that many bytes of
// log in memory.
TEST(RaftFixtureTest, SnapshotsComeBySizeAndBoundTheLogInMemory) {
  RaftOptions o = Options();
  o.snapshot_bytes = 8 * 1024;
  Cluster c(3, Channel(), o);
  ASSERT_TRUE(c.Elect(0));
  Submit(c.node(0), "s-", 300);
  ASSERT_TRUE(c.StepUntil([&] {
    for (int i = 0; i < 3; ++i) {
      if (Count(c.node(i)) != 300) return false;
    }
    return true;
  }));
  for (int i = 0; i < 3; ++i) {
    const SnapshotPacer& pacer = c.node(i).fsm.pacer();
    EXPECT_LT(pacer.threshold(), 30u) << "node " << i << ": blocks of " << pacer.mean_entry_bytes() << " bytes";
    EXPECT_GT(c.node(i).counters.snapshots->load(), 0) << "node " << i;
    EXPECT_LE(EntriesInMemory(c, i), pacer.threshold() + pacer.trailing() + 1) << "node " << i;
  }
  // The same cluster counting entries only (a byte bound no block reaches) takes no snapshot.
  o.snapshot_bytes = uint64_t{1} << 40;
  Cluster d(3, Channel(), o);
  ASSERT_TRUE(d.Elect(0));
  Submit(d.node(0), "s-", 300);
  ASSERT_TRUE(d.StepUntil([&] { return Count(d.node(1)) == 300; }));
  EXPECT_EQ(d.node(1).counters.snapshots->load(), 0);
  EXPECT_GE(EntriesInMemory(d, 1), 30u);
}

// A node whose ledger holds another block where Raft commits one has
// diverged: it stops with an error that says so, and the others go on.
TEST(RaftFixtureTest, ANodeWhoseLedgerDivergedStops) {
  Cluster c(3, Channel(), Options(), [](int i, Cluster::Node* node) {
    if (i != 2) return;
    ChainSupport* s = node->ledger.support();
    Batch other{{TestTx("elsewhere")}, CUT_REASON_TIMEOUT};
    ASSERT_TRUE(s->WriteBlock(s->CreateNextBlock(std::move(other), EncodeMetadata({1, 3}))).ok());
  });
  ASSERT_TRUE(c.Elect(0));
  Submit(c.node(0), "a-", 10);
  ASSERT_TRUE(c.StepUntil([&] { return !c.node(2).shared.error().ok() && Count(c.node(1)) == 10; }));
  EXPECT_NE(c.node(2).shared.error().message().find("divergence"), std::string::npos)
      << c.node(2).shared.error().ToString();
  EXPECT_TRUE(c.node(2).queue.Push(TestTx("late")).IsUnavailable());  // Broadcast hears of it
  Submit(c.node(0), "b-", 10);
  ASSERT_TRUE(c.StepUntil([&] { return Count(c.node(0)) == 20 && Count(c.node(1)) == 20; }));
  EXPECT_EQ(BlockHashes(c.node(1)), BlockHashes(c.node(0)));
}

// The leader proposes at most max_inflight_blocks ahead of their commit;
// beyond that it takes nothing more from its queue (Broadcast waits).
TEST(RaftFixtureTest, TheLeaderBoundsTheBlocksInFlight) {
  RaftOptions o = Options();
  o.max_inflight_blocks = 2;
  Cluster c(3, Channel(), o);
  ASSERT_TRUE(c.Elect(0));
  Submit(c.node(0), "x-", 100);
  size_t most = 0;
  ASSERT_TRUE(c.StepUntil([&] {
    most = std::max(most, c.node(0).shared.role().inflight);
    return Count(c.node(2)) == 100;
  }));
  EXPECT_EQ(most, 2u);
}

// The same work with each node's ordering on a thread of its own, as in
// production, beside the thread that runs Raft and writes blocks: what the
// two share (the submit queue, RaftShared, the support's block creator)
// under the thread sanitizer in the test command.
TEST(RaftFixtureTest, OrderingThreadsBesideTheLoopThread) {
  Cluster c(3, Channel(), Options());
  ASSERT_TRUE(c.Elect(0));
  c.StartOrderingThreads();
  const std::vector<std::string> own = Submit(c.node(0), "own-", 200);
  const std::vector<std::string> fwd = Submit(c.node(1), "fwd-", 200);
  // Real time passes between steps here (the threads run in it): bounded
  // by steps, generously.
  ASSERT_TRUE(c.StepUntil([&] { return Count(c.node(0)) == 400 && Count(c.node(1)) == 400 && Count(c.node(2)) == 400; },
                          2'000'000))
      << Count(c.node(0)) << " " << Count(c.node(1)) << " " << Count(c.node(2));
  ExpectEachOnce(Ordered(c.node(2)), {own, fwd});
  EXPECT_EQ(BlockHashes(c.node(1)), BlockHashes(c.node(0)));
  EXPECT_EQ(BlockHashes(c.node(2)), BlockHashes(c.node(0)));
}

}  // namespace
}  // namespace ordering::raft_backend

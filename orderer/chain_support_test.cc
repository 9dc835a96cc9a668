// The ordering step every backend shares (ChainSupport over an in-memory
// ledger): the duplicate check's three places (ledger, cutter, blocks
// created and not written), acknowledging written blocks' transactions, the
// block creator's head, the batch timer, and opening a channel on an
// existing ledger.
#include "orderer/chain_support.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <map>

#include "ledger/block_util.h"
#include "orderer/consensus/testing/test_channel.h"

namespace ordering {
namespace {

using testing::TestChannel;
using testing::TestTx;
using testing::TxIds;

ChannelOptions Options(uint32_t max_count = 2) {
  ChannelOptions o;
  o.channel_id = "ch";
  o.batch_size.max_message_count = max_count;
  o.batch_timeout_ms = 1000;
  return o;
}

uint64_t Duplicates(TestChannel& c) { return c.metrics()->rejected[static_cast<size_t>(RejectCause::kDuplicate)]; }

TEST(ChainSupportTest, ADuplicateIsCaughtInTheCutterInABlockInFlightAndInTheLedger) {
  ManualClock clock;
  TestChannel c(Options(2), &clock);
  ChainSupport* s = c.support();
  EXPECT_TRUE(s->Order(TestTx("a")).batches.empty());
  EXPECT_TRUE(s->Order(TestTx("a")).duplicate);  // pending in the cutter
  OrderOutcome cut = s->Order(TestTx("b"));
  ASSERT_EQ(cut.batches.size(), 1u);
  EXPECT_TRUE(cut.batches[0].holds_ordered_tx);
  auto block = s->CreateNextBlock(std::move(cut.batches[0].batch), "");
  EXPECT_TRUE(s->Order(TestTx("b")).duplicate);  // created, not yet written
  ASSERT_TRUE(s->WriteBlock(block).ok());
  EXPECT_TRUE(s->Order(TestTx("a")).duplicate);  // in the ledger
  EXPECT_EQ(Duplicates(c), 3u);
  EXPECT_EQ(TxIds(c.blocks()[1]), (std::vector<std::string>{"a", "b"}));
}

TEST(ChainSupportTest, BlocksChainOnTheLastCreatedAndAResetGoesBackToTheLedger) {
  ManualClock clock;
  TestChannel c(Options(1), &clock);
  ChainSupport* s = c.support();
  auto b1 = s->CreateNextBlock(std::move(s->Order(TestTx("a")).batches[0].batch), "m1");
  auto b2 = s->CreateNextBlock(std::move(s->Order(TestTx("b")).batches[0].batch), "m2");
  EXPECT_EQ(b1->header().number(), 1u);
  EXPECT_EQ(b2->header().number(), 2u);
  EXPECT_EQ(b2->header().previous_hash(), DigestBytes(BlockHash(*b1)));  // built ahead of the ledger
  // Neither is written (a Raft leader whose proposals failed): a reset
  // forgets them; their transactions are no longer duplicates.
  s->ResetBlockCreator();
  EXPECT_FALSE(s->Order(TestTx("b")).duplicate);
  // Another node's block 1 is written; the next block builds on it.
  Block theirs = MakeBlock(BlockNumber(1), c.ledger()->Info().last_hash, {TestTx("x").envelope}, BlockMetadata());
  theirs.mutable_metadata()->set_cut_reason(CUT_REASON_MAX_MESSAGE_COUNT);
  ASSERT_TRUE(s->WriteBlock(std::make_shared<Block>(theirs)).ok());
  auto next = s->CreateNextBlock(std::move(s->Order(TestTx("c")).batches[0].batch), "");
  EXPECT_EQ(next->header().number(), 2u);
  EXPECT_EQ(next->header().previous_hash(), DigestBytes(BlockHash(theirs)));
  // A block that does not follow the ledger is refused and nothing is written.
  EXPECT_TRUE(s->WriteBlock(b2).IsInvalidArgument());
  EXPECT_EQ(s->Height().value(), 2u);
}

TEST(ChainSupportTest, WritingABlockAcknowledgesTheTransactionsWaitingForIt) {
  ManualClock clock;
  TestChannel c(Options(2), &clock);
  ChainSupport* s = c.support();
  std::map<std::string, int> acked;
  for (const char* id : {"a", "b", "x", "late"}) {
    s->acks()->Add(id, [&acked, id](const Status& st) { acked[id] += st.ok() ? 1 : 100; });
  }
  s->Order(TestTx("a"));
  auto mine = s->CreateNextBlock(std::move(s->Order(TestTx("b")).batches[0].batch), "");
  EXPECT_TRUE(acked.empty()) << "acknowledged before its block was written";
  ASSERT_TRUE(s->WriteBlock(mine).ok());
  EXPECT_EQ(acked, (std::map<std::string, int>{{"a", 1}, {"b", 1}}));
  // A block this node did not build (a Raft follower applies the leader's).
  Block theirs = MakeBlock(BlockNumber(2), c.ledger()->Info().last_hash, {TestTx("x").envelope}, BlockMetadata());
  ASSERT_TRUE(s->WriteBlock(std::make_shared<Block>(theirs)).ok());
  EXPECT_EQ(acked["x"], 1);
  // A waiting transaction the ordering step finds in the ledger already
  // (it came in another way too) is durable: acknowledged.
  s->acks()->Add("a", [&acked](const Status& st) { acked["a again"] += st.ok() ? 1 : 100; });
  EXPECT_TRUE(s->Order(TestTx("a")).duplicate);
  EXPECT_EQ(acked["a again"], 1);
  // A Raft leader's proposal superseded by another leader's block with the
  // same number: only the block written is acknowledged.
  for (const char* id : {"p", "q", "y"}) {
    s->acks()->Add(id, [&acked, id](const Status& st) { acked[id] += st.ok() ? 1 : 100; });
  }
  EXPECT_TRUE(s->Order(TestTx("p")).batches.empty());
  auto proposed = s->CreateNextBlock(std::move(s->Order(TestTx("q")).batches[0].batch), "");
  ASSERT_EQ(proposed->header().number(), 3u);
  Block other = MakeBlock(BlockNumber(3), c.ledger()->Info().last_hash, {TestTx("y").envelope}, BlockMetadata());
  ASSERT_TRUE(s->WriteBlock(std::make_shared<Block>(other)).ok());
  EXPECT_EQ(acked.count("p") + acked.count("q"), 0u) << "a superseded proposal's transactions were acknowledged";
  EXPECT_EQ(acked["y"], 1);
  s->acks()->ResolveAll(Status::Unavailable("done"));
  EXPECT_EQ(acked["p"], 100);
  // A backend's own rule (Kafka: the brokers' ack).
  s->Acknowledge("late", Status::Unavailable("brokers down"));
  EXPECT_EQ(acked["late"], 100);
  EXPECT_TRUE(s->acks()->empty());
}

TEST(ChainSupportTest, TheBatchTimerStartsWithTheFirstPendingTransaction) {
  ManualClock clock;
  TestChannel c(Options(10), &clock);
  ChainSupport* s = c.support();
  EXPECT_EQ(s->BatchDeadline(), 0);
  const int64_t t0 = clock.NowNanos();
  (void)s->Order(TestTx("a"));
  EXPECT_EQ(s->BatchDeadline(), t0 + 1'000'000'000);
  clock.Advance(std::chrono::milliseconds(300));
  (void)s->Order(TestTx("b"));
  EXPECT_EQ(s->BatchDeadline(), t0 + 1'000'000'000);  // a second transaction does not move it
  OrderedBatch b = s->CutPending();
  EXPECT_EQ(b.batch.messages.size(), 2u);
  EXPECT_EQ(b.batch.reason, CUT_REASON_TIMEOUT);
  EXPECT_EQ(b.first_seen_nanos, t0);
  EXPECT_EQ(s->BatchDeadline(), 0);
  // Rearmed a full timeout from now (a time-to-cut may be lost).
  s->RearmBatchTimer();
  EXPECT_EQ(s->BatchDeadline(), clock.NowNanos() + 1'000'000'000);
  // TakePending gives back what is pending, uncut, and stops the timer.
  (void)s->Order(TestTx("c"));
  std::vector<CutterMessage> back = s->TakePending();
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].tx_id, "c");
  EXPECT_EQ(s->BatchDeadline(), 0);
  EXPECT_FALSE(s->Order(TestTx("c")).duplicate);  // no longer pending
}

TEST(ChainSupportTest, AnExistingLedgerKeepsItsChannelAndBackend) {
  ManualClock clock;
  MemoryLedger ledger;
  OrdererMetrics metrics;
  std::unique_ptr<ChainSupport> s;
  ASSERT_TRUE(ChainSupport::Create(Options(5), "solo", &ledger, &metrics, &clock, &s).ok());
  std::string note;
  ASSERT_TRUE(ChainSupport::Create(Options(9), "solo", &ledger, &metrics, &clock, &s, &note).ok());
  EXPECT_EQ(s->options().batch_size.max_message_count, 5u);  // genesis wins
  EXPECT_NE(note.find("ignored"), std::string::npos);
  EXPECT_NE(ChainSupport::Create(Options(5), "kafka", &ledger, &metrics, &clock, &s).message().find("'solo'"),
            std::string::npos);
  ChannelOptions other = Options(5);
  other.channel_id = "other";
  EXPECT_TRUE(ChainSupport::Create(other, "solo", &ledger, &metrics, &clock, &s).IsInvalidArgument());
  ChannelOptions bad = Options(0);
  EXPECT_NE(ChainSupport::Create(bad, "solo", &ledger, &metrics, &clock, &s).message().find("MaxMessageCount"),
            std::string::npos);
}

// Found by fuzz_genesis (fuzz/regressions/genesis/batch-timeout-overflow):
// a genesis block's batch settings were used unchecked, and a BatchTimeout
// of 2^51 ms overflowed the batch timer's nanoseconds (undefined behaviour).
// An AbsoluteMaxBytes near 2^64 (fuzz/regressions/genesis/
// absolute-max-bytes-wraps, requested or from genesis) wrapped ingress's
// limit (+ framing) to a few bytes: every transaction was "oversized".
TEST(ChainSupportTest, SettingsOutOfRangeAreRefusedRequestedOrFromGenesis) {
  ManualClock clock;
  OrdererMetrics metrics;
  std::unique_ptr<ChainSupport> s;
  MemoryLedger empty;
  ChannelOptions too_long = Options(5);
  too_long.batch_timeout_ms = kMaxBatchTimeoutMs + 1;
  EXPECT_TRUE(ChainSupport::Create(too_long, "solo", &empty, &metrics, &clock, &s).IsInvalidArgument());
  ChannelOptions too_large = Options(5);
  too_large.batch_size.absolute_max_bytes = UINT64_MAX;  // every limit derived from it wrapped
  EXPECT_TRUE(ChainSupport::Create(too_large, "solo", &empty, &metrics, &clock, &s).IsInvalidArgument());
  EXPECT_EQ(empty.Info().height, 0u);

  const std::vector<std::function<void(ChannelConfig*)>> bad_genesis = {
      [](ChannelConfig* c) { c->set_batch_timeout_ms(uint64_t{1} << 51); },
      [](ChannelConfig* c) { c->set_batch_timeout_ms(0); },
      [](ChannelConfig* c) { c->mutable_batch_size()->set_max_message_count(0); },
      [](ChannelConfig* c) { c->mutable_batch_size()->set_absolute_max_bytes(UINT64_MAX); },
      [](ChannelConfig* c) { c->mutable_batch_size()->set_preferred_max_bytes(0); },
      [](ChannelConfig* c) {
        c->mutable_batch_size()->set_preferred_max_bytes(c->batch_size().absolute_max_bytes() + 1);
      },
  };
  for (const auto& spoil : bad_genesis) {
    ChannelConfig config;
    config.set_channel_id("ch");
    config.set_consensus_type("solo");
    config.mutable_batch_size()->set_max_message_count(5);
    config.mutable_batch_size()->set_absolute_max_bytes(1000);
    config.mutable_batch_size()->set_preferred_max_bytes(500);
    config.set_batch_timeout_ms(1000);
    spoil(&config);
    MemoryLedger ledger;
    ASSERT_TRUE(ledger.Append(MakeGenesisBlock(config)).ok());
    const Status st = ChainSupport::Create(Options(5), "solo", &ledger, &metrics, &clock, &s);
    EXPECT_TRUE(st.IsInvalidArgument()) << config.ShortDebugString();
    EXPECT_NE(st.message().find("genesis"), std::string::npos) << st.ToString();
  }
}

}  // namespace
}  // namespace ordering

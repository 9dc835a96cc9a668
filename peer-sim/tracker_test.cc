// The tracker on a manual clock: while an auto warm-up is still undecided,
// the seconds are warm-up, whatever the cool-down; transactions unanswered
// on a broken stream.
#include "peer-sim/tracker.h"

#include <gtest/gtest.h>

#include "common/crypto.h"
#include "common/tx_factory.h"

namespace ordering {
namespace {

TEST(TrackerTest, SecondsBeforeAnUndecidedWarmupEndsAreWarmupNotDrain) {
  ManualClock clock;
  Tracker::Config c;
  c.rate = 100;
  c.warmup_mode = WarmupMode::kAuto;
  c.warmup_max_s = 30;
  c.duration_ns = 5'000'000'000;
  c.cooldown_ns = 2'000'000'000;  // the window's end is unknown: end + cool-down must not wrap around
  Tracker t(&clock, c);
  t.Start(clock.NowNanos());
  for (int s = 0; s < 3; ++s) {
    clock.Advance(std::chrono::seconds(1));
    t.Tick();
  }
  EXPECT_EQ(t.deadline(), Tracker::kNever);
  t.Finish();
  LoadReport r;
  t.Fill(&r);
  ASSERT_GE(r.series.size(), 3u);
  for (const SeriesPoint& p : r.series) EXPECT_EQ(p.phase, "warmup") << "second " << p.t;
}

// Unanswered on a broken stream: no longer in flight, not failed, never
// acknowledged; but a transaction the orderer ordered before the stream
// broke is delivered, and then not lost.
TEST(TrackerTest, UnansweredTransactionsAreNeverAcknowledgedUnlessDelivered) {
  ManualClock clock;
  Tracker::Config c;
  c.max_in_flight = 10;
  Tracker t(&clock, c);
  std::unique_ptr<Signer> signer;
  ASSERT_TRUE(Signer::Generate(&signer).ok());
  TxFactory factory(signer.get(), TxFactoryOptions{}, &clock);
  std::vector<BuiltTx> txs(3);
  for (BuiltTx& tx : txs) ASSERT_TRUE(factory.Build(&tx).ok());
  t.OnBlock(Block());  // the newest block before the run
  t.Start(clock.NowNanos());
  for (uint64_t i = 0; i < txs.size(); ++i) t.OnSubmit(TxRef{0, i}, txs[i].tx_id, clock.NowNanos());
  clock.Advance(std::chrono::milliseconds(10));
  t.OnDeliveryReport(TxRef{0, 0}, SubmitOutcome::kAccepted);
  t.OnDeliveryReport(TxRef{0, 1}, SubmitOutcome::kUnanswered);
  t.OnDeliveryReport(TxRef{0, 2}, SubmitOutcome::kUnanswered);
  EXPECT_EQ(t.Progress().in_flight, 1u);  // the acknowledged one awaits its block
  Block b;
  b.mutable_data()->add_data(txs[0].envelope);
  b.mutable_data()->add_data(txs[1].envelope);  // ordered before its stream broke
  t.OnBlock(b);
  EXPECT_TRUE(t.Settled());
  t.OnPeerStopped(false);
  t.Finish();
  LoadReport r;
  t.Fill(&r);
  EXPECT_EQ(r.submitted, 3u);
  EXPECT_EQ(r.acked, 1u);
  EXPECT_EQ(r.unanswered, 2u);
  EXPECT_EQ(r.failed, 0u);
  EXPECT_EQ(r.delivered, 2u);
  EXPECT_EQ(r.never_acked, 1u);  // the unanswered one never delivered
  EXPECT_EQ(r.undelivered_acked, 0u);
  EXPECT_EQ(r.ack.count, 1u);
}

}  // namespace
}  // namespace ordering

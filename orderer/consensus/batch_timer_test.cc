#include "orderer/consensus/batch_timer.h"

#include <gtest/gtest.h>

namespace ordering {
namespace {

OrderedResult Result(size_t batches, bool pending, bool message_in_batches) {
  OrderedResult r;
  r.batches.resize(batches);
  r.pending = pending;
  r.message_in_batches = message_in_batches;
  return r;
}

TEST(BatchTimerTest, TheFirstMessageArmsItAndACutWithNothingLeftStopsIt) {
  BatchTimer t(2000);  // 2 s
  EXPECT_FALSE(t.Armed());
  t.Arrived(100, true);
  EXPECT_TRUE(t.Ordered(Result(0, true, false), 100).empty());
  EXPECT_EQ(t.deadline(), 100 + 2'000'000'000);
  t.Arrived(500, false);  // a second message does not move the deadline
  EXPECT_TRUE(t.Ordered(Result(0, true, false), 500).empty());
  EXPECT_EQ(t.deadline(), 100 + 2'000'000'000);
  EXPECT_FALSE(t.Expired(100 + 1'999'999'999));
  EXPECT_TRUE(t.Expired(100 + 2'000'000'000));
  // MaxMessageCount reached with this message: one batch, begun at 100, nothing left.
  t.Arrived(900, false);
  std::vector<int64_t> first = t.Ordered(Result(1, false, true), 900);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0], 100);
  EXPECT_FALSE(t.Armed());
}

TEST(BatchTimerTest, APendingMessageThatOverflowedStartsANewBatchAndTimer) {
  BatchTimer t(1000);
  t.Arrived(10, true);
  t.Ordered(Result(0, true, false), 10);
  // The message would overflow PreferredMaxBytes: the old batch is cut, it starts a new one.
  t.Arrived(50, false);
  std::vector<int64_t> first = t.Ordered(Result(1, true, false), 50);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0], 10);
  EXPECT_EQ(t.first_seen(), 50);
  EXPECT_EQ(t.deadline(), 50 + 1'000'000'000);
}

TEST(BatchTimerTest, AnOversizedMessageIsItsOwnBatchBegunWhenItArrived) {
  BatchTimer t(1000);
  t.Arrived(10, true);
  t.Ordered(Result(0, true, false), 10);
  t.Arrived(70, false);
  std::vector<int64_t> first = t.Ordered(Result(2, false, true), 70);  // [pending], [message]
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0], 10);
  EXPECT_EQ(first[1], 70);
  EXPECT_FALSE(t.Armed());
  t.Rearm(80);
  EXPECT_EQ(t.deadline(), 80 + 1'000'000'000);
  t.Clear();
  EXPECT_FALSE(t.Armed());
}

}  // namespace
}  // namespace ordering

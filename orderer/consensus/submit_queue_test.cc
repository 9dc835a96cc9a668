// SubmitQueue between Broadcast's threads and an ordering thread: bounded
// with backpressure, released at once by Halt or Fail, transactions given
// back to the front in order, and waits that follow the injected clock.
#include "orderer/consensus/submit_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "orderer/consensus/testing/test_channel.h"

namespace ordering {
namespace {

using testing::PollUntil;

CutterMessage Tx(const std::string& id) { return CutterMessage{"env", 1, id}; }

std::vector<std::string> Ids(const std::deque<CutterMessage>& q) {
  std::vector<std::string> ids;
  for (const CutterMessage& m : q) ids.push_back(m.tx_id);
  return ids;
}

TEST(SubmitQueueTest, PushWaitsWhileFullAndATakeLetsItIn) {
  SubmitQueue q(2, "test chain");
  ASSERT_TRUE(q.Push(Tx("a")).ok());
  ASSERT_TRUE(q.Push(Tx("b")).ok());
  EXPECT_TRUE(q.TryPush(Tx("x")).IsUnavailable());
  std::atomic<bool> pushed{false};
  std::thread producer([&] {
    EXPECT_TRUE(q.Push(Tx("c")).ok());
    pushed = true;
  });
  EXPECT_FALSE(PollUntil([&] { return pushed.load(); }, std::chrono::milliseconds(100)));
  std::deque<CutterMessage> got;
  EXPECT_EQ(q.TakeAll(&got), 2u);
  producer.join();
  EXPECT_TRUE(pushed.load());
  EXPECT_EQ(q.TakeAll(&got), 1u);
  EXPECT_EQ(Ids(got), (std::vector<std::string>{"a", "b", "c"}));
}

TEST(SubmitQueueTest, HaltAndFailReleaseEveryWaiterAndRefuseLaterPushes) {
  for (bool fail : {false, true}) {
    SubmitQueue q(1, "test chain");
    ASSERT_TRUE(q.Push(Tx("a")).ok());
    std::atomic<int> refused{0};
    std::thread producer([&] { refused += q.Push(Tx("b")).IsUnavailable(); });
    std::thread waiter([&] { refused += !q.Wait(SystemClock::Default(), 0, /*for_items=*/false); });
    if (fail) {
      q.Fail(Status::IOError("disk full"));
    } else {
      q.Halt();
    }
    producer.join();
    waiter.join();
    EXPECT_EQ(refused.load(), 2);
    Status st = q.Push(Tx("c"));
    EXPECT_TRUE(st.IsUnavailable());
    EXPECT_NE(st.message().find(fail ? "disk full" : "halted"), std::string::npos) << st.ToString();
    EXPECT_EQ(q.error().ok(), !fail);
    q.Halt();  // idempotent
  }
}

TEST(SubmitQueueTest, GivenBackGoesToTheFrontAfterWhatWasGivenBackBefore) {
  SubmitQueue q(10, "test chain");
  ASSERT_TRUE(q.Push(Tx("new1")).ok());
  q.GiveBack({Tx("old1"), Tx("old2")});
  q.GiveBack({Tx("old3")});
  ASSERT_TRUE(q.Push(Tx("new2")).ok());
  std::deque<CutterMessage> got;
  q.TakeAll(&got);
  EXPECT_EQ(Ids(got), (std::vector<std::string>{"old1", "old2", "old3", "new1", "new2"}));
  q.GiveBack({Tx("again")});  // a take starts a new front
  ASSERT_TRUE(q.Push(Tx("new3")).ok());
  got.clear();
  q.TakeAll(&got);
  EXPECT_EQ(Ids(got), (std::vector<std::string>{"again", "new3"}));
}

TEST(SubmitQueueTest, WaitEndsOnWorkANotificationOrTheClocksDeadline) {
  SubmitQueue q(10, "test chain");
  ManualClock clock;
  std::atomic<int> woke{0};
  const int64_t deadline = clock.NowNanos() + 1'000'000'000;
  std::thread waiter([&] {
    for (int i = 0; i < 3; ++i) {
      EXPECT_TRUE(q.Wait(&clock, deadline, /*for_items=*/true));
      ++woke;
      std::deque<CutterMessage> drop;
      q.TakeAll(&drop);
    }
  });
  ASSERT_TRUE(q.Push(Tx("a")).ok());
  ASSERT_TRUE(PollUntil([&] { return woke.load() == 1; }));
  q.Notify();
  ASSERT_TRUE(PollUntil([&] { return woke.load() == 2; }));
  EXPECT_FALSE(
      PollUntil([&] { return woke.load() == 3; }, std::chrono::milliseconds(50)));  // real time is not its time
  clock.Advance(std::chrono::seconds(1));
  ASSERT_TRUE(PollUntil([&] { return woke.load() == 3; }));
  waiter.join();
}

}  // namespace
}  // namespace ordering

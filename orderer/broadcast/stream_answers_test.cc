// The pieces behind Broadcast's durable acknowledgement: the waiters by tx
// id and a stream's answers in order (also run under TSan: answers are
// resolved from other threads while the writer takes them).
#include "orderer/broadcast/stream_answers.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <random>
#include <thread>
#include <vector>

#include "orderer/ack/ack_waiters.h"

namespace ordering {
namespace {

using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

TEST(AckWaitersTest, OneWaiterPerTxIdAndATicketRemovesOnlyItsOwn) {
  AckWaiters w;
  int called = 0;
  Status got = Status::Internal("not called");
  const uint64_t t1 = w.Add("a", [&](const Status& st) {
    ++called;
    got = st;
  });
  EXPECT_NE(t1, 0u);
  EXPECT_EQ(w.Add("a", [&](const Status&) { ++called; }), 0u);  // in flight already
  w.Remove("a", t1 + 1);                                        // someone else's ticket: stays
  EXPECT_EQ(w.size(), 1u);
  w.ResolveDurable({"x", "a", "y"});
  EXPECT_EQ(called, 1);
  EXPECT_TRUE(got.ok());
  EXPECT_TRUE(w.empty());
  w.Resolve("a", Status::OK());  // nobody waits any more
  EXPECT_EQ(called, 1);

  const uint64_t t2 = w.Add("b", [&](const Status&) { ++called; });
  w.Remove("b", t2);
  w.ResolveAll(Status::Unavailable("stopping"));
  EXPECT_EQ(called, 1);
  w.Add("c", [&](const Status& st) { got = st; });
  w.ResolveAll(Status::Unavailable("stopping"));
  EXPECT_TRUE(got.IsUnavailable());
}

TEST(StreamAnswersTest, AnswersLeaveInReadOrderWhateverOrderTheyAreResolvedIn) {
  StreamAnswers a(10);
  const auto now = SteadyClock::now(), later = now + std::chrono::hours(1);
  const uint64_t s0 = a.PushWaiting("t0", now, later);
  const uint64_t s1 = a.PushWaiting("t1", now, later);
  BroadcastResponse bad;
  bad.set_status(BROADCAST_STATUS_BAD_REQUEST);
  a.PushReady(bad, now);
  a.Resolve(s1, BROADCAST_STATUS_SUCCESS, "");
  a.Resolve(s0, BROADCAST_STATUS_SERVICE_UNAVAILABLE, "down");
  a.Resolve(s0, BROADCAST_STATUS_SUCCESS, "");  // answered already: ignored
  a.DoneReading();
  std::vector<std::pair<std::string, BroadcastStatus>> out;
  StreamAnswers::Answer x;
  while (a.Next(&x)) out.emplace_back(x.response.tx_id(), x.response.status());
  EXPECT_EQ(out, (std::vector<std::pair<std::string, BroadcastStatus>>{{"t0", BROADCAST_STATUS_SERVICE_UNAVAILABLE},
                                                                       {"t1", BROADCAST_STATUS_SUCCESS},
                                                                       {"", BROADCAST_STATUS_BAD_REQUEST}}));
}

TEST(StreamAnswersTest, AWaitingAnswerPastItsDeadlineIsTakenAsTimedOut) {
  StreamAnswers a(10);
  const auto now = SteadyClock::now();
  const uint64_t s0 = a.PushWaiting("t0", now, now + milliseconds(20));
  EXPECT_TRUE(a.SetTicket(s0, 42));
  StreamAnswers::Answer x;
  ASSERT_TRUE(a.Next(&x));
  EXPECT_TRUE(x.timed_out);
  EXPECT_EQ(x.ticket, 42u);
  EXPECT_GE(SteadyClock::now() - now, milliseconds(20));
  a.Resolve(s0, BROADCAST_STATUS_SUCCESS, "");  // too late: ignored
  EXPECT_FALSE(a.SetTicket(s0, 43));            // answered: the caller drops its waiter
  a.DoneReading();
  EXPECT_FALSE(a.Next(&x));
}

TEST(StreamAnswersTest, TheWindowHoldsTheReaderAndABreakReleasesItWithTheWaiters) {
  StreamAnswers a(2);
  const auto now = SteadyClock::now(), later = now + std::chrono::hours(1);
  EXPECT_TRUE(a.SetTicket(a.PushWaiting("t0", now, later), 7));
  a.PushWaiting("t1", now, later);  // no ticket: nothing to drop
  std::atomic<bool> returned{false};
  bool room = true;
  std::thread reader([&] {
    room = a.WaitForRoom();
    returned = true;
  });
  std::this_thread::sleep_for(milliseconds(20));
  EXPECT_FALSE(returned.load()) << "the reader went past a full window";
  auto waiting = a.Break();
  reader.join();
  EXPECT_FALSE(room);
  EXPECT_EQ(waiting, (std::vector<std::pair<std::string, uint64_t>>{{"t0", 7}}));
  StreamAnswers::Answer x;
  EXPECT_FALSE(a.Next(&x));
}

// The client goes away while the reader is between PushWaiting and
// SetTicket, or while a resolve is on its way (fuzz_broadcast's
// regression broadcast/client-gone-mid-take): Break() answers every entry,
// so the late ticket is refused (the reader drops that waiter, which no one
// else would) and the late resolve is ignored (it used to write into an
// entry Break had destroyed).
TEST(StreamAnswersTest, AfterABreakLateTicketsAndResolvesAreRefused) {
  StreamAnswers a(4);
  const auto now = SteadyClock::now(), later = now + std::chrono::hours(1);
  a.PushReady(BroadcastResponse(), now);
  const uint64_t s1 = a.PushWaiting("t1", now, later);
  EXPECT_TRUE(a.Break().empty());
  EXPECT_FALSE(a.SetTicket(s1, 7));
  a.Resolve(s1, BROADCAST_STATUS_SUCCESS, "late");
  const uint64_t s2 = a.PushWaiting("t2", now, later);  // read before the reader saw the break
  EXPECT_FALSE(a.SetTicket(s2, 8));
  a.Resolve(s2, BROADCAST_STATUS_SUCCESS, "late");
  EXPECT_FALSE(a.WaitForRoom());
  StreamAnswers::Answer x;
  EXPECT_FALSE(a.Next(&x));
}

TEST(StreamAnswersTest, ManyThreadsResolvingWhileTheWriterTakesKeepTheOrder) {
  constexpr int kAnswers = 2000;
  StreamAnswers a(64);
  AckWaiters waiters;
  std::vector<std::string> ids;
  for (int i = 0; i < kAnswers; ++i) ids.push_back("tx" + std::to_string(i));
  std::thread reader([&] {
    const auto later = SteadyClock::now() + std::chrono::hours(1);
    for (const std::string& id : ids) {
      ASSERT_TRUE(a.WaitForRoom());
      const uint64_t seq = a.PushWaiting(id, SteadyClock::now(), later);
      const uint64_t ticket = waiters.Add(id, [&a, seq](const Status& st) {
        a.Resolve(seq, st.ok() ? BROADCAST_STATUS_SUCCESS : BROADCAST_STATUS_SERVICE_UNAVAILABLE, "");
      });
      if (!a.SetTicket(seq, ticket)) waiters.Remove(id, ticket);  // resolved and taken already
    }
    a.DoneReading();
  });
  // Three threads resolve their share of whatever is registered, in a
  // shuffled order each round, until the writer has taken every answer.
  std::atomic<int> taken{0};
  std::vector<std::thread> resolvers;
  for (int r = 0; r < 3; ++r) {
    resolvers.emplace_back([&, r] {
      std::mt19937 rng(r);
      std::vector<std::string> mine;
      for (int i = r; i < kAnswers; i += 3) mine.push_back(ids[i]);
      while (taken.load() < kAnswers) {
        std::shuffle(mine.begin(), mine.end(), rng);
        waiters.ResolveDurable(mine);
        std::this_thread::yield();
      }
    });
  }
  std::vector<std::string> seen;
  StreamAnswers::Answer x;
  while (a.Next(&x)) {
    EXPECT_EQ(x.response.status(), BROADCAST_STATUS_SUCCESS);
    seen.push_back(x.response.tx_id());
    ++taken;
  }
  reader.join();
  for (auto& t : resolvers) t.join();
  EXPECT_EQ(seen, ids);
}

}  // namespace
}  // namespace ordering

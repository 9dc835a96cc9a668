// StreamAnswers: the answers of one Broadcast stream, in the order its
// envelopes were read.
//
// Broadcast answers each envelope in order, but an envelope's answer may be
// ready long after it was read (with `--ack durable`, when its block is
// written or the brokers acknowledge it). The stream's reader pushes one
// entry per envelope, ready (a rejection, or SUCCESS with `--ack accepted`)
// or waiting; whoever makes a waiting one durable resolves it from any
// thread; the stream's writer takes the front entry once it is ready, or
// once its deadline has passed (then answered SERVICE_UNAVAILABLE), and
// writes it. At most `window` entries wait: the reader stops reading beyond
// that, so gRPC's flow control slows the client.
//
// Held by shared_ptr: resolving callbacks may outlive the stream, and a
// resolve that comes after the entry was answered (timed out) is ignored.
// Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "common/mutex.h"
#include "proto/ab.pb.h"

namespace ordering {

class StreamAnswers {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  struct Answer {
    BroadcastResponse response;
    TimePoint read_at;
    // Waiting entries: when to give up, and the AckWaiters ticket to drop
    // then (0: none).
    TimePoint deadline;
    uint64_t ticket = 0;
    bool timed_out = false;  // set by Next(): the deadline passed first
  };

  explicit StreamAnswers(size_t window) : window_(window) {}

  // --- The reader.
  // Waits while `window` entries are unanswered; false once the stream broke.
  bool WaitForRoom();
  // Appends a ready answer.
  void PushReady(BroadcastResponse response, TimePoint read_at);
  // Appends a waiting answer for `tx_id`; returns its sequence number.
  uint64_t PushWaiting(const std::string& tx_id, TimePoint read_at, TimePoint deadline);
  // Records the ticket of the waiter registered for entry `seq`; false if
  // the entry no longer waits (it was answered, or the stream broke): then
  // nobody else will drop that waiter, and the caller must.
  [[nodiscard]] bool SetTicket(uint64_t seq, uint64_t ticket);
  // No more entries will come.
  void DoneReading();

  // --- Anyone: entry `seq` is answered (ignored if it was answered already).
  void Resolve(uint64_t seq, BroadcastStatus status, const std::string& info);

  // --- The writer.
  // Waits for the front entry to be ready or to pass its deadline, and takes
  // it; false once nothing more will come (reading is done and every entry
  // was taken) or the stream broke.
  bool Next(Answer* out);
  // Writing failed (the client went away): wakes the reader and returns the
  // waiting entries' tx ids and tickets, so their waiters can be dropped.
  // Every entry counts as answered from then on: later resolves are
  // ignored and SetTicket() refuses.
  std::vector<std::pair<std::string, uint64_t>> Break();

 private:
  struct Entry {
    Answer answer;
    bool ready = false;
  };

  const size_t window_;
  mutable Mutex mu_;
  std::condition_variable changed_;  // an entry is ready, or reading done, or broken
  std::condition_variable room_;     // the writer took an entry, or broken
  std::deque<Entry> entries_ GUARDED_BY(mu_);
  uint64_t first_seq_ GUARDED_BY(mu_) = 0;  // sequence number of entries_.front()
  bool done_reading_ GUARDED_BY(mu_) = false;
  bool broken_ GUARDED_BY(mu_) = false;
};

}  // namespace ordering

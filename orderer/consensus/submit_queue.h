// SubmitQueue: the bounded queue between Broadcast (Chain::Order, on gRPC's
// threads) and a backend's ordering thread, shared by the backends that
// order transactions handed to them (solo, raft).
//
// Push() blocks while the queue is full, so a slow chain stops Broadcast's
// reads and gRPC's flow control slows the client: nothing is dropped. Halt()
// and Fail() release every waiter at once and refuse later pushes.
// GiveBack() returns transactions the ordering thread took but could not
// order (a Raft leader that lost its leadership) to the front, in order,
// even past the capacity (they were admitted already).
//
// Thread-safety: every method from any thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/mutex.h"
#include "common/status.h"
#include "orderer/cutter/block_cutter.h"

namespace ordering {

class SubmitQueue {
 public:
  // `name` goes into refusals ("the solo chain is halted").
  SubmitQueue(size_t capacity, std::string name) : capacity_(capacity == 0 ? 1 : capacity), name_(std::move(name)) {}

  // Queues `tx`, waiting while the queue is full. Unavailable once halted
  // or failed.
  [[nodiscard]] Status Push(CutterMessage tx);
  // As Push, but Unavailable at once when the queue is full.
  [[nodiscard]] Status TryPush(CutterMessage tx);

  // Waits until a transaction is queued (when `for_items`), Notify() is
  // called, `deadline` (clock nanos; 0 = none) passes, or the queue is
  // halted or failed. Returns false once halted or failed.
  bool Wait(const Clock* clock, int64_t deadline, bool for_items);
  // Moves every queued transaction to the end of *out; how many.
  size_t TakeAll(std::deque<CutterMessage>* out);
  // Wakes a Wait() without queuing anything (its owner's state changed).
  void Notify();

  // To the front, after what was given back before and not yet taken.
  void GiveBack(std::vector<CutterMessage> txs);

  // Refuses every later Push and releases every waiter. Idempotent.
  void Halt();
  // As Halt, and later pushes are refused with `error`'s message. The first
  // error is kept.
  void Fail(const Status& error);

  size_t size() const;
  // The error given to Fail(); OK while it has not failed (halted or not).
  Status error() const;

 private:
  Status RefusalLocked() const REQUIRES(mu_);

  const size_t capacity_;
  const std::string name_;
  mutable Mutex mu_;
  std::condition_variable ready_cv_;  // Wait(): work, a notification, or stop
  std::condition_variable space_cv_;  // Push(): room, or stop
  std::deque<CutterMessage> queue_ GUARDED_BY(mu_);
  size_t given_back_ GUARDED_BY(mu_) = 0;       // at the front, given back since the last take
  uint64_t notified_ GUARDED_BY(mu_) = 0;       // Notify() calls
  uint64_t seen_notified_ GUARDED_BY(mu_) = 0;  // notifications a Wait() has returned for
  bool halted_ GUARDED_BY(mu_) = false;
  Status error_ GUARDED_BY(mu_);
};

}  // namespace ordering

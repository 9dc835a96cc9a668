// AckWaiters: who waits for which transaction to become durable.
//
// With `--ack durable` Broadcast answers SUCCESS only once the backend has
// made the transaction durable by its own rule. The stream registers a
// callback per transaction id here before handing it to the chain; the
// callback runs once, with OK when the transaction is durable or with the
// error that means it will not be acknowledged:
//   * ChainSupport::WriteBlock resolves every waiter whose transaction is in
//     the block it has just appended and synced (solo; Raft, whose nodes
//     write only blocks a majority committed, a follower included);
//   * a backend may resolve earlier by its own rule through
//     ConsenterSupport::Acknowledge (Kafka: the broker's ack of the produce,
//     acks=all);
//   * the node resolves what is left with SERVICE_UNAVAILABLE when it stops.
// A transaction whose ordering is lost without a trace (a Raft leader that
// fails holding it) is never resolved: the stream answers it when its ack
// timeout passes, and removes the waiter.
//
// One waiter per transaction id: Add() refuses a second, which is how
// Broadcast tells a replay of a transaction still in flight here.
//
// Thread-safe. Callbacks run on the resolving thread, outside the lock, and
// must not block.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/mutex.h"
#include "common/status.h"

namespace ordering {

class AckWaiters {
 public:
  using Callback = std::function<void(const Status&)>;

  // Registers `done` for `tx_id` and returns its ticket (never 0); 0 (and
  // `done` dropped) if the id already has a waiter.
  uint64_t Add(const std::string& tx_id, Callback done);
  // Drops the waiter `ticket` for `tx_id`, if it is still there, without
  // calling it (its stream gave up). A newer waiter for the id stays.
  void Remove(const std::string& tx_id, uint64_t ticket);
  // Calls and drops the waiter for `tx_id`, if there is one.
  void Resolve(const std::string& tx_id, const Status& status);
  // Resolve(id, OK) for each id.
  void ResolveDurable(const std::vector<std::string>& tx_ids);
  // Whether `tx_id` has a waiter now.
  bool Has(const std::string& tx_id) const;
  // Calls and drops every waiter with `status` (the node stops).
  void ResolveAll(const Status& status);
  // No waiter at all (cheap; lets writers skip looking up a block's ids).
  bool empty() const { return size_.load(std::memory_order_relaxed) == 0; }
  size_t size() const { return size_.load(std::memory_order_relaxed); }

 private:
  mutable Mutex mu_;
  struct Waiter {
    uint64_t ticket;
    Callback done;
  };
  std::unordered_map<std::string, Waiter> waiters_ GUARDED_BY(mu_);
  uint64_t last_ticket_ GUARDED_BY(mu_) = 0;
  std::atomic<size_t> size_{0};
};

}  // namespace ordering

// RaftShared: the little the raft chain's two threads share, behind one
// mutex. The loop thread (every raft_* call) writes what Raft says
// (leader, whether this node may build, settled proposals, errors); the
// ordering thread posts proposals and reads its role. Everything else each
// thread owns alone: Replicator and BlockStateMachine are the loop thread's,
// RaftOrdering the ordering thread's.
//
// Every change the ordering thread waits for also wakes the submit queue's
// Wait() (SubmitQueue::Notify), so that thread needs only one place to wait.
#pragma once

#include <spdlog/spdlog.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>

#include "common/mutex.h"
#include "common/status.h"
#include "orderer/consensus/submit_queue.h"
#include "proto/common.pb.h"

namespace ordering::raft_backend {

// A block the leader asks Raft to commit.
struct Proposal {
  uint64_t term = 0;  // the term it was built in; proposed only while still leading it
  std::shared_ptr<const Block> block;
  int64_t first_seen = 0;  // when its first transaction reached the ordering step
};

// What the ordering thread needs to know of Raft.
struct RaftRole {
  uint64_t leader = 0;        // the leader this node knows of; 0: none
  uint64_t term = 0;          // the term this node is in, as the loop last saw it
  uint64_t written_term = 0;  // the highest term of a block this node has written
  uint64_t ready_term = 0;    // this node leads this term with everything before it applied; 0: it does not
  size_t inflight = 0;        // proposals posted and not yet settled (committed or failed)
};

class RaftShared {
 public:
  // `queue` must outlive this object.
  explicit RaftShared(SubmitQueue* queue) : queue_(queue) {}

  RaftRole role() const {
    MutexLock l(&mu_);
    return role_;
  }

  // --- The loop thread.

  // Records the leader Raft names and the term; true if either changed.
  bool SetLeader(uint64_t leader, uint64_t term) {
    return Change([&]() REQUIRES(mu_) {
      if (role_.leader == leader && role_.term == term) return false;
      role_.leader = leader;
      role_.term = term;
      return true;
    });
  }
  // A block built in `term` was written here.
  void Written(uint64_t term) {
    Change([&]() REQUIRES(mu_) {
      if (term <= role_.written_term) return false;
      role_.written_term = term;
      return true;
    });
  }
  // This node may build blocks in `term` (0: it may not).
  void SetReadyTerm(uint64_t term) {
    Change([&]() REQUIRES(mu_) {
      if (role_.ready_term == term) return false;
      role_.ready_term = term;
      return true;
    });
  }
  // It may no longer build in `term` (a proposal of that term failed).
  void RevokeTerm(uint64_t term) {
    Change([&]() REQUIRES(mu_) {
      if (role_.ready_term != term) return false;
      role_.ready_term = 0;
      return true;
    });
  }
  // Proposals posted since the last call, in order.
  std::deque<Proposal> TakePosted() {
    MutexLock l(&mu_);
    return std::exchange(posted_, {});
  }
  // A posted proposal was committed or failed.
  void Settled() {
    Change([&]() REQUIRES(mu_) {
      --role_.inflight;
      return true;
    });
  }
  // The loop's wake-up (uv_async_send), set while the loop may be woken;
  // cleared (empty function) before its handles close.
  void SetWake(std::function<void()> wake) {
    MutexLock l(&mu_);
    wake_ = std::move(wake);
  }

  // --- The ordering thread.

  void Post(Proposal p) {
    MutexLock l(&mu_);
    ++role_.inflight;
    posted_.push_back(std::move(p));
    if (wake_) wake_();
  }

  // --- Any thread.

  // The chain has failed: Broadcast is refused, the loop closes Raft. The
  // first error is kept.
  void Fail(const Status& st) {
    {
      MutexLock l(&mu_);
      if (!error_.ok()) return;
      error_ = st;
      role_.ready_term = 0;
      if (wake_) wake_();
    }
    spdlog::error("raft chain stopped: {}", st.ToString());
    queue_->Fail(st);
  }
  // The chain is halting: the same, without an error.
  void Stop() {
    {
      MutexLock l(&mu_);
      stop_ = true;
      if (wake_) wake_();
    }
    queue_->Halt();
  }
  bool closing() const {
    MutexLock l(&mu_);
    return stop_ || !error_.ok();
  }
  Status error() const {
    MutexLock l(&mu_);
    return error_;
  }

 private:
  // Applies `change` under the lock; when it changed something, wakes the
  // ordering thread. Returns whether it did.
  template <typename F>
  bool Change(F change) {
    bool changed;
    {
      MutexLock l(&mu_);
      changed = change();
    }
    if (changed) queue_->Notify();
    return changed;
  }

  SubmitQueue* const queue_;
  mutable Mutex mu_;
  RaftRole role_ GUARDED_BY(mu_);
  std::deque<Proposal> posted_ GUARDED_BY(mu_);
  std::function<void()> wake_ GUARDED_BY(mu_);
  bool stop_ GUARDED_BY(mu_) = false;
  Status error_ GUARDED_BY(mu_);
};

}  // namespace ordering::raft_backend

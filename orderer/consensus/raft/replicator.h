// Replicator: the loop thread's side of the raft chain, on a `struct raft`
// whatever its I/O (libuv and TCP in production, libraft's in-memory
// fixture in tests). It turns Raft's state into the ordering thread's role
// (RaftShared) and the ordering thread's proposals into Raft entries.
//
//   Poll()           after Raft has run: who leads; a new leader first
//                    commits a barrier, and may build (ready_term) only once
//                    every entry before it is applied, so it builds on the
//                    last committed block.
//   ProposePosted()  raft_apply for each posted proposal still of the term
//                    this node leads; the others fail at once.
// A proposal that fails (leadership lost, I/O) hands its transactions back
// to the submit queue (to be forwarded to the next leader; the duplicate
// check drops any that were committed after all) and revokes the term, so
// the node builds again only after a new barrier.
//
// Thread-safety: the loop thread's only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "orderer/consensus/consenter_support.h"
#include "orderer/consensus/raft/block_fsm.h"
#include "orderer/consensus/raft/libraft.h"
#include "orderer/consensus/raft/raft_counters.h"
#include "orderer/consensus/raft/raft_options.h"
#include "orderer/consensus/raft/raft_shared.h"
#include "orderer/consensus/submit_queue.h"

namespace ordering::raft_backend {

class Replicator {
 public:
  // Every pointer must outlive the replicator.
  Replicator(ConsenterSupport* support, const RaftOptions* options, RaftShared* shared, SubmitQueue* queue,
             BlockStateMachine* fsm, RaftCounters* counters)
      : support_(support), options_(options), shared_(shared), queue_(queue), fsm_(fsm), counters_(counters) {}

  // Applies the options' timings to a raft instance (before raft_start).
  static void Configure(struct raft* raft, const RaftOptions& options);

  // The raft instance this replicator drives. REQUIRES: before Poll.
  void Attach(struct raft* raft) { raft_ = raft; }

  void Poll();
  void ProposePosted();
  // Fails every posted proposal (the loop is closing).
  void FailPosted(const std::string& why);

 private:
  struct ApplyRequest;
  static void OnBarrier(struct raft_barrier* req, int status);
  static void OnApplied(struct raft_apply* req, int status, void* result);
  void Propose(Proposal p);
  void ProposalFailed(Proposal p, const std::string& why);

  ConsenterSupport* const support_;
  const RaftOptions* const options_;
  RaftShared* const shared_;
  SubmitQueue* const queue_;
  BlockStateMachine* const fsm_;
  RaftCounters* const counters_;
  struct raft* raft_ = nullptr;

  struct raft_barrier barrier_req_ {};
  bool barrier_pending_ = false;
  uint64_t barrier_term_ = 0;
  uint64_t ready_term_ = 0;  // the loop's view of RaftShared's ready_term
  uint64_t logged_term_ = 0, logged_leader_ = 0;
  bool logged_leading_ = false;
};

}  // namespace ordering::raft_backend

// RaftOrdering: the ordering thread's side of the raft chain. Transactions
// Broadcast hands this node wait in the submit queue; what happens to them
// depends on the node's role (RaftShared):
//   * leading, with everything before its term applied: they go through the
//     shared ordering step (ConsenterSupport::Order); each batch cut becomes
//     the next block (metadata: term, leader id), posted to the loop thread
//     for Raft, at most max_inflight_blocks ahead of their commit (beyond
//     that the node takes nothing more from the queue: Broadcast waits);
//   * another node leads: they are forwarded to it (RaftPeers::Forward);
//     what it does not take goes back to the queue and is sent again after
//     forward_retry_ms (on the injected clock);
//   * no leader: they wait.
// When leadership goes while building, what was cut but not posted, what
// the cutter holds and what was taken but not ordered go back to the queue
// (in that order) for the next leader.
//
// A forwarded transaction whose Broadcast stream waits for it to be durable
// (--ack durable) is answered when its block is written here. If the leader
// it went to dies holding it, no block ever brings it: once this node has
// written a block built in a later term, everything the earlier leaders
// would ever commit is written (Raft's log order), so what was forwarded in
// an earlier term and is still awaited is answered SERVICE_UNAVAILABLE at
// once (a resend is safe: a copy already ordered is refused as a duplicate),
// instead of holding its stream's later answers until --ack-timeout.
// Forwards go in rounds of at most kMaxForward, so one round's answers are
// read before the leader's stream window fills.
//
// Step() does what can be done now without waiting, so tests drive it on
// their own thread; Run() is the thread: wait (queue, role change, timer),
// Step, until the chain stops.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>

#include "orderer/consensus/consenter_support.h"
#include "orderer/consensus/raft/raft_counters.h"
#include "orderer/consensus/raft/raft_options.h"
#include "orderer/consensus/raft/raft_peers.h"
#include "orderer/consensus/raft/raft_shared.h"
#include "orderer/consensus/submit_queue.h"

namespace ordering::raft_backend {

class RaftOrdering {
 public:
  // Every pointer must outlive this object.
  RaftOrdering(ConsenterSupport* support, const RaftOptions* options, RaftShared* shared, SubmitQueue* queue,
               RaftPeers* peers, RaftCounters* counters)
      : support_(support), options_(options), shared_(shared), queue_(queue), peers_(peers), counters_(counters) {}

  // One round. A non-OK status stops the chain.
  [[nodiscard]] Status Step();
  // Until the queue is halted or failed; a failed Step fails the chain.
  void Run();

  // This node builds blocks now (tests).
  bool building() const { return building_term_ != 0; }

 private:
  Status Build(const RaftRole& role);
  Status Propose(OrderedBatch batch, size_t* inflight);
  void PostWaiting(size_t* inflight);
  void Forward(const RaftRole& role);
  // Answers what earlier terms' leaders never wrote (see above).
  void SettleForwarded(const RaftRole& role);
  void Abandon();
  // Whether Step would take transactions now, and until when it has nothing
  // to do without new input (clock nanos; 0: none).
  bool WantsTransactions(const RaftRole& role) const;
  int64_t NextDeadline() const;

  ConsenterSupport* const support_;
  const RaftOptions* const options_;
  RaftShared* const shared_;
  SubmitQueue* const queue_;
  RaftPeers* const peers_;
  RaftCounters* const counters_;

  uint64_t building_term_ = 0;      // the term this node builds blocks in; 0: not building
  std::deque<CutterMessage> work_;  // taken from the queue, not yet ordered
  std::deque<Proposal> waiting_;    // built, waiting for room in flight
  int64_t forward_again_at_ = 0;    // clock nanos; 0: forward when there is work
  struct Forwarded {
    uint64_t term;  // this node's term when the leader took it
    std::string tx_id;
  };
  std::deque<Forwarded> forwarded_;  // taken by a leader, still awaited by a stream here (oldest first)

 public:
  static constexpr size_t kMaxForward = 1024;
};

}  // namespace ordering::raft_backend

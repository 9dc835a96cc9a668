// RaftParts: one raft node's logic, wired once: the submit queue, what the
// two threads share, the state machine and replicator (loop thread) and the
// ordering (ordering thread), over a ConsenterSupport and a RaftPeers.
// RaftChain adds the libuv loop and threads; the fixture tests drive the
// same parts on libraft's in-memory fixture.
#pragma once

#include <memory>
#include <utility>

#include "orderer/consensus/consenter_support.h"
#include "orderer/consensus/raft/block_fsm.h"
#include "orderer/consensus/raft/raft_counters.h"
#include "orderer/consensus/raft/raft_options.h"
#include "orderer/consensus/raft/raft_ordering.h"
#include "orderer/consensus/raft/raft_peers.h"
#include "orderer/consensus/raft/raft_shared.h"
#include "orderer/consensus/raft/replicator.h"
#include "orderer/consensus/submit_queue.h"

namespace ordering::raft_backend {

// Members in dependency order (destroyed in reverse). Not movable: the
// parts point at each other.
struct RaftParts {
  // `support` must outlive the parts.
  RaftParts(ConsenterSupport* support, RaftOptions o, std::unique_ptr<RaftPeers> p)
      : options(std::move(o)),
        peers(std::move(p)),
        counters(&support->metrics()->consenter, options.heartbeat_ms),
        queue(options.queue_capacity, "raft chain"),
        shared(&queue),
        fsm(support, &options, &shared, peers.get(), &counters),
        replicator(support, &options, &shared, &queue, &fsm, &counters),
        ordering(support, &options, &shared, &queue, peers.get(), &counters) {}
  RaftParts(const RaftParts&) = delete;
  RaftParts& operator=(const RaftParts&) = delete;

  const RaftOptions options;
  std::unique_ptr<RaftPeers> peers;
  RaftCounters counters;
  SubmitQueue queue;
  RaftShared shared;
  BlockStateMachine fsm;
  Replicator replicator;
  RaftOrdering ordering;
};

}  // namespace ordering::raft_backend

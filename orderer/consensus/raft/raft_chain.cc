#include "orderer/consensus/raft/raft_chain.h"

#include <spdlog/spdlog.h>

#include <csignal>

#include "orderer/consensus/raft/block_fsm.h"
#include "orderer/consensus/raft/grpc_raft_peers.h"
#include "orderer/consensus/raft/raft_counters.h"
#include "orderer/consensus/raft/raft_ordering.h"
#include "orderer/consensus/raft/raft_shared.h"
#include "orderer/consensus/raft/replicator.h"
#include "orderer/consensus/raft/uv_raft_loop.h"
#include "orderer/consensus/submit_queue.h"

namespace ordering::raft_backend {

// The chain's parts, built in dependency order (and destroyed in reverse).
struct RaftChain::Parts {
  Parts(ConsenterSupport* s, RaftOptions o, std::unique_ptr<RaftPeers> p)
      : support(s),
        options(std::move(o)),
        peers(p ? std::move(p) : std::make_unique<GrpcRaftPeers>(options)),
        counters(&s->metrics()->consenter, options.heartbeat_ms),
        queue(options.queue_capacity, "raft chain"),
        shared(&queue),
        fsm(s, &options, &shared, peers.get(), &counters),
        replicator(s, &options, &shared, &queue, &fsm, &counters),
        loop(&options, fsm.fsm(), &replicator, &shared),
        ordering(s, &options, &shared, &queue, peers.get(), &counters) {}

  ConsenterSupport* const support;
  const RaftOptions options;
  std::unique_ptr<RaftPeers> peers;
  RaftCounters counters;
  SubmitQueue queue;
  RaftShared shared;
  BlockStateMachine fsm;
  Replicator replicator;
  UvRaftLoop loop;
  RaftOrdering ordering;
};

RaftChain::RaftChain(ConsenterSupport* support, RaftOptions options, std::unique_ptr<RaftPeers> peers)
    : parts_(std::make_unique<Parts>(support, std::move(options), std::move(peers))) {}

RaftChain::~RaftChain() { Halt(); }

Status RaftChain::Start() {
  Parts* p = parts_.get();
  ORDERING_RETURN_IF_ERROR(p->options.Check());
  // libuv writes to Raft peers' sockets; one that closed its end would raise
  // SIGPIPE and end the process (libraft's own example ignores it too).
  std::signal(SIGPIPE, SIG_IGN);
  spdlog::info("raft chain: channel {} node {} of {} resumes at block {} (heartbeat {} ms, election timeout {} ms)",
               p->support->options().channel_id, p->options.id, p->options.cluster.size(), p->support->Height().value(),
               p->options.heartbeat_ms, p->options.election_timeout_ms);
  Status st = p->loop.Start();
  if (!st.ok()) {
    p->shared.Fail(st);
    return st;
  }
  ordering_thread_ = std::thread([p] { p->ordering.Run(); });
  return Status::OK();
}

Status RaftChain::Order(CutterMessage tx) { return parts_->queue.Push(std::move(tx)); }

Status RaftChain::Errored() const { return parts_->shared.error(); }

bool RaftChain::IsLeader() const { return parts_->shared.role().ready_term != 0; }

uint64_t RaftChain::LeaderId() const { return parts_->shared.role().leader; }

void RaftChain::Halt() {
  std::call_once(halt_once_, [this] {
    parts_->shared.Stop();      // refuses Broadcast, wakes both threads
    parts_->peers->Shutdown();  // ends a forward or a catch-up in progress
    if (ordering_thread_.joinable()) ordering_thread_.join();
    parts_->loop.Join();
  });
}

}  // namespace ordering::raft_backend

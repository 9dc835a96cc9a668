#include "orderer/consensus/raft/raft_chain.h"

#include <spdlog/spdlog.h>

#include <csignal>

#include "orderer/consensus/raft/grpc_raft_peers.h"
#include "orderer/consensus/raft/raft_format.h"
#include "orderer/consensus/raft/raft_parts.h"
#include "orderer/consensus/raft/uv_raft_loop.h"

namespace ordering::raft_backend {

// The node's parts and, for production, the libuv loop that drives them.
struct RaftChain::Parts {
  Parts(ConsenterSupport* s, RaftOptions o, std::unique_ptr<RaftPeers> p)
      : support(s),
        node(s, o, p ? std::move(p) : std::make_unique<GrpcRaftPeers>(o)),
        loop(&node.options, node.fsm.fsm(), &node.replicator, &node.shared) {}

  ConsenterSupport* const support;
  RaftParts node;
  UvRaftLoop loop;
};

RaftChain::RaftChain(ConsenterSupport* support, RaftOptions options, std::unique_ptr<RaftPeers> peers)
    : parts_(std::make_unique<Parts>(support, std::move(options), std::move(peers))) {}

RaftChain::~RaftChain() { Halt(); }

Status RaftChain::Start() {
  Parts* p = parts_.get();
  ORDERING_RETURN_IF_ERROR(p->node.options.Check());
  // libuv writes to Raft peers' sockets; one that closed its end would raise
  // SIGPIPE and end the process (libraft's own example ignores it too).
  std::signal(SIGPIPE, SIG_IGN);
  spdlog::info("raft chain: channel {} node {} of {} resumes at block {} (heartbeat {} ms, election timeout {} ms)",
               p->support->options().channel_id, p->node.options.id, p->node.options.cluster.size(),
               p->support->Height().value(), p->node.options.heartbeat_ms, p->node.options.election_timeout_ms);
  RaftMetadata last;  // the term the ledger's last block was built in (none for genesis)
  if (!DecodeMetadata(p->support->LastConsenterMetadata(), &last)) last = RaftMetadata{};
  Status st = p->loop.Start(last.term);
  if (!st.ok()) {
    p->node.shared.Fail(st);
    return st;
  }
  ordering_thread_ = std::thread([p] { p->node.ordering.Run(); });
  return Status::OK();
}

Status RaftChain::Order(CutterMessage tx) { return parts_->node.queue.Push(std::move(tx)); }

Status RaftChain::Errored() const { return parts_->node.shared.error(); }

bool RaftChain::IsLeader() const { return parts_->node.shared.role().ready_term != 0; }

uint64_t RaftChain::LeaderId() const { return parts_->node.shared.role().leader; }

void RaftChain::Halt() {
  std::call_once(halt_once_, [this] {
    parts_->node.shared.Stop();      // refuses Broadcast, wakes both threads
    parts_->node.peers->Shutdown();  // ends a forward or a catch-up in progress
    if (ordering_thread_.joinable()) ordering_thread_.join();
    parts_->loop.Join();
  });
}

}  // namespace ordering::raft_backend

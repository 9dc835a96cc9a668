// FakeRaftNetwork: RaftPeers between raft nodes in one process, for tests
// on libraft's in-memory fixture (after NuRaft's fake_network): a forward
// lands in the leader's submit queue at once (or is answered "retry" when
// the leader is down or its queue is full); a fetch reads the node's ledger.
// Deterministic: nothing runs on a thread of its own. Faults are per node:
// down (every call to or from it fails) and, separately, refusing fetches.
// Thread-compatible: the test's thread only.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <utility>
#include <vector>

#include "ledger/ledger.h"
#include "orderer/consensus/raft/raft_peers.h"
#include "orderer/consensus/submit_queue.h"

namespace ordering::raft_backend::testing {

class FakeRaftNetwork {
 public:
  struct Node {
    SubmitQueue* queue = nullptr;  // where Broadcast would hand a forwarded transaction
    const Ledger* ledger = nullptr;
  };

  void Add(uint64_t id, Node node) { nodes_[id] = node; }
  void SetDown(uint64_t id, bool down) { Mark(&down_, id, down); }
  void RefuseFetches(uint64_t id, bool refuse) { Mark(&no_fetch_, id, refuse); }
  // Fetches served by node `id` so far.
  uint64_t fetches_served(uint64_t id) const {
    auto it = fetches_.find(id);
    return it == fetches_.end() ? 0 : it->second;
  }

  // The view node `self` has of the others.
  std::unique_ptr<RaftPeers> PeersOf(uint64_t self);

 private:
  class Peers;
  static void Mark(std::set<uint64_t>* set, uint64_t id, bool in) {
    if (in) {
      set->insert(id);
    } else {
      set->erase(id);
    }
  }
  std::map<uint64_t, Node> nodes_;
  std::set<uint64_t> down_;
  std::set<uint64_t> no_fetch_;
  std::map<uint64_t, uint64_t> fetches_;
};

class FakeRaftNetwork::Peers final : public RaftPeers {
 public:
  Peers(FakeRaftNetwork* net, uint64_t self) : net_(net), self_(self) {}

  std::vector<ForwardReply> Forward(uint64_t leader, const std::vector<CutterMessage>& txs) override {
    std::vector<ForwardReply> replies(txs.size());  // kRetry unless taken
    auto it = net_->nodes_.find(leader);
    if (shutdown_ || it == net_->nodes_.end() || net_->down_.count(leader) || net_->down_.count(self_)) {
      return replies;
    }
    for (size_t i = 0; i < txs.size(); ++i) {
      if (it->second.queue->TryPush(txs[i]).ok()) replies[i].outcome = ForwardOutcome::kAccepted;
    }
    return replies;
  }

  Status FetchBlocks(uint64_t node, uint64_t from, uint64_t to,
                     const std::function<Status(std::shared_ptr<const Block>)>& sink) override {
    auto it = net_->nodes_.find(node);
    if (shutdown_) return Status::Aborted("shut down");
    if (it == net_->nodes_.end() || net_->down_.count(node) || net_->no_fetch_.count(node)) {
      return Status::Unavailable("node " + std::to_string(node) + " does not answer");
    }
    ++net_->fetches_[node];
    for (uint64_t n = from; n < to; ++n) {
      auto block = std::make_shared<Block>();
      ORDERING_RETURN_IF_ERROR(it->second.ledger->GetBlock(BlockNumber(n), block.get()));
      ORDERING_RETURN_IF_ERROR(sink(std::move(block)));
    }
    return Status::OK();
  }

  void Shutdown() override { shutdown_ = true; }

 private:
  FakeRaftNetwork* const net_;
  const uint64_t self_;
  bool shutdown_ = false;
};

inline std::unique_ptr<RaftPeers> FakeRaftNetwork::PeersOf(uint64_t self) {
  return std::make_unique<Peers>(this, self);
}

}  // namespace ordering::raft_backend::testing

// The raft backend: 3 or 5 ordering nodes replicate the channel's blocks with
// Raft (libraft 0.15, C, libuv I/O: a durable segment log and snapshots in
// its own folder).
//
// The leader orders: Broadcast on the leader feeds the shared ordering step;
// on a follower it is forwarded to the leader. The leader assembles each
// block (number, previous hash, transactions, metadata {term, leader id})
// and proposes it as one Raft entry; every node, the leader included,
// writes an entry's block to its ledger once Raft has committed it, so all
// ledgers hold the same bytes. Followers learn that an entry is committed
// with the leader's next heartbeat: --raft-heartbeat bounds how far behind a
// follower's ledger is.
//
// A node that becomes leader first commits a Raft barrier and builds only
// once everything before it is in its ledger, so a new leader continues from
// the last committed block. Transactions the old leader had accepted but not
// proposed are lost with it, as in Fabric's etcdraft (Broadcast answered
// SUCCESS; clients resubmit); those a node had forwarded or proposed and
// then saw fail are forwarded again (the duplicate check drops any copy that
// was committed after all). A restart replays the Raft log idempotently
// (BlockStateMachine); a snapshot beyond the ledger is caught up from
// another node.
//
// Rooms (each thread's data owned by one):
//   raft_options   flags and their checks       raft_format   metadata, entries, snapshots
//   raft_shared    what the two threads share   block_fsm     the state machine (loop thread)
//   replicator     Raft state <-> roles, proposals (loop thread)
//   uv_raft_loop   libuv + raft_uv, the loop thread
//   raft_ordering  build on the leader, forward on followers (ordering thread)
//   raft_peers     forward / fetch blocks: gRPC in production, a fake in tests
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "orderer/consensus/consensus.h"
#include "orderer/consensus/consenter_support.h"
#include "orderer/consensus/raft/raft_options.h"
#include "orderer/consensus/raft/raft_peers.h"

namespace ordering::raft_backend {

class RaftChain final : public Chain {
 public:
  // `peers` nullptr: gRPC to the cluster's Broadcast addresses.
  RaftChain(ConsenterSupport* support, RaftOptions options, std::unique_ptr<RaftPeers> peers = nullptr);
  ~RaftChain() override;

  Status Start() override;
  Status Order(CutterMessage tx) override;
  // Ready at once: transactions wait in the queue for a leader.
  Status WaitReady() override { return Errored(); }
  Status Errored() const override;
  void Halt() override;

  // This node leads and may build blocks now.
  bool IsLeader() const;
  // The leader this node knows of (0: none).
  uint64_t LeaderId() const;

 private:
  struct Parts;
  std::unique_ptr<Parts> parts_;
  std::thread ordering_thread_;
  std::once_flag halt_once_;
};

class RaftConsenter final : public Consenter {
 public:
  explicit RaftConsenter(RaftOptions options) : options_(std::move(options)) {}
  std::string Type() const override { return "raft"; }
  Status HandleChain(ConsenterSupport* support, std::unique_ptr<Chain>* chain) override {
    *chain = std::make_unique<RaftChain>(support, options_);
    return Status::OK();
  }

 private:
  RaftOptions options_;
};

// A consenter factory that makes only this backend (tests, embedding).
inline ConsenterFactory OnlyRaft(RaftOptions options) {
  return OnlyConsenter<RaftConsenter>("raft", std::move(options));
}

}  // namespace ordering::raft_backend

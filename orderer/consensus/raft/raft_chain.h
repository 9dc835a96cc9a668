// The raft backend: 3 or 5 ordering nodes replicate the channel's blocks with
// Raft (libraft 0.15, C, libuv I/O: a durable segment log and snapshots in
// its own folder).
//
// The leader orders: Broadcast on the leader feeds its cutter; on a
// follower it is forwarded to the leader over the leader's own Broadcast.
// The leader assembles each block (number, previous hash, transactions,
// metadata {term, leader id}) and proposes it as one Raft entry; every node,
// the leader included, appends an entry's block to its ledger once Raft has
// committed it, so all ledgers hold the same bytes. Followers learn that an
// entry is committed with the leader's next heartbeat: --raft-heartbeat
// bounds how far behind a follower's ledger is (and is reported).
//
// A node that becomes leader first appends a Raft barrier and builds only
// once everything before it is in its ledger, so a new leader continues from
// the last committed block. Transactions the old leader had accepted but not
// proposed are lost with it, as in Fabric's etcdraft (Broadcast answered
// SUCCESS; clients resubmit); those a node had forwarded or proposed and
// then saw fail are forwarded again (the duplicate check drops any copy that
// was committed after all).
//
// Restart replays the Raft log idempotently: an entry whose block is at or
// below the ledger's height must match the stored block by hash; a mismatch
// is divergence and stops the node. Snapshots are tiny (height, last block
// hash); a node that is sent a snapshot beyond its ledger fetches the
// missing blocks over Deliver from another node and checks them against the
// snapshot's hash.
//
// Threads: one libuv loop runs every raft_* call (the ordering thread hands
// proposals over with uv_async_send); the ordering thread cuts on the
// leader; a forwarder streams to the leader on followers.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "orderer/consensus/consensus.h"
#include "orderer/consensus/consenter_support.h"
#include "orderer/consensus/registry.h"

namespace ordering::raft_backend {

struct RaftNodeAddress {
  uint64_t id = 0;
  std::string raft_address;       // IPv4:PORT the Raft transport listens on (libraft 0.15: no names)
  std::string broadcast_address;  // HOST:PORT of the node's Broadcast and Deliver
};

// "ID,RAFT_IP:PORT,BROADCAST_HOST:PORT".
[[nodiscard]] Status ParseNodeAddress(const std::string& text, RaftNodeAddress* out);

struct RaftOptions {
  uint64_t id = 0;                        // this node's id (required, one of `cluster`)
  std::vector<RaftNodeAddress> cluster;   // every voter, this node included (required)
  std::string dir;                        // Raft log and snapshots (required)
  unsigned heartbeat_ms = 20;             // Default: 20 ms (followers learn commits this late)
  unsigned election_timeout_ms = 1000;    // Default: 1 s
  unsigned snapshot_interval = 1024;      // Default: a snapshot every 1,024 entries
  unsigned snapshot_trailing = 256;       // Default: entries kept behind a snapshot
  size_t queue_capacity = 10000;          // Default: transactions waiting before Broadcast waits
  size_t max_inflight_blocks = 8;         // Default: blocks proposed and not yet applied
  unsigned catch_up_timeout_ms = 30000;   // Default: 30 s to fetch missing blocks from one node

  [[nodiscard]] Status Check() const;
  const RaftNodeAddress* Self() const;
};

// Block metadata.consenter of a raft block: the leader's term and id.
struct RaftMetadata {
  uint64_t term = 0;
  uint64_t leader = 0;
};
std::string EncodeMetadata(const RaftMetadata& m);
[[nodiscard]] bool DecodeMetadata(const std::string& bytes, RaftMetadata* m);
// `ledger verify`'s rule: 16 bytes; terms never decrease along the chain.
std::string CheckMetadata(uint64_t number, const std::string& previous, const std::string& current);
nlohmann::json DescribeMetadata(const std::string& metadata);

class RaftChain final : public Chain {
 public:
  RaftChain(ConsenterSupport* support, RaftOptions options);
  ~RaftChain() override;

  Status Start() override;
  Status Order(CutterMessage tx) override;
  // Ready once the node has a leader to order through (itself or another).
  Status WaitReady() override;
  Status Errored() const override;
  void Halt() override;

  // This node leads and builds blocks now.
  bool IsLeader() const;
  // The leader this node knows of (0: none).
  uint64_t LeaderId() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
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

std::unique_ptr<Backend> MakeBackend();

// A consenter factory that makes only this backend (tests, embedding).
inline ConsenterFactory OnlyRaft(RaftOptions options) {
  return OnlyConsenter<RaftConsenter>("raft", std::move(options));
}

}  // namespace ordering::raft_backend

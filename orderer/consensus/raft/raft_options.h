// The raft backend's settings: the cluster's addresses, this node's place in
// it and the Raft timings, with the checks that name the flag at fault.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace ordering::raft_backend {

struct RaftNodeAddress {
  uint64_t id = 0;
  std::string raft_address;       // IPv4:PORT the Raft transport listens on (libraft 0.15: no names)
  std::string broadcast_address;  // HOST:PORT of the node's Broadcast and Deliver
};

// "ID,RAFT_IP:PORT,BROADCAST_HOST:PORT".
[[nodiscard]] Status ParseNodeAddress(const std::string& text, RaftNodeAddress* out);

struct RaftOptions {
  uint64_t id = 0;                       // this node's id (required, one of `cluster`)
  std::vector<RaftNodeAddress> cluster;  // every voter, this node included (required)
  std::string dir;                       // Raft log and snapshots (required)
  // IPv4:PORT the Raft transport listens on, when not this node's own
  // --raft-node address (which the others dial: a proxy or NAT in between).
  // Default: "" (listen on the --raft-node address).
  std::string bind_address;
  unsigned heartbeat_ms = 20;           // Default: 20 ms (followers learn commits this late)
  unsigned election_timeout_ms = 1000;  // Default: 1 s
  // A snapshot after about this many bytes of log (SnapshotPacer), and
  // after at most `snapshot_interval` entries. Default: 16 MiB (Fabric's
  // SnapshotIntervalSize), 1,024 entries.
  uint64_t snapshot_bytes = uint64_t{16} << 20;
  unsigned snapshot_interval = 1024;
  unsigned snapshot_trailing = 256;      // Default: at most 256 entries kept behind a snapshot
  size_t queue_capacity = 10000;         // Default: transactions waiting before Broadcast waits
  size_t max_inflight_blocks = 8;        // Default: blocks proposed and not yet applied
  unsigned catch_up_timeout_ms = 30000;  // Default: 30 s to fetch missing blocks from one node
  // How long a follower waits before forwarding again to a leader that did
  // not take what it was sent. Default: 20 ms.
  unsigned forward_retry_ms = 20;

  // InvalidArgument naming the flag at fault.
  [[nodiscard]] Status Check() const;
  // This node's entry in `cluster`; nullptr if absent.
  const RaftNodeAddress* Self() const;
  // The Broadcast address of node `id`; "" if absent.
  std::string BroadcastAddressOf(uint64_t id) const;
};

}  // namespace ordering::raft_backend

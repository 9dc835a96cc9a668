#include "orderer/consensus/raft/raft_options.h"

#include <arpa/inet.h>

#include <set>

namespace ordering::raft_backend {

namespace {

// libraft 0.15 parses its addresses with uv_ip4_addr: no host names.
bool IsIpv4HostPort(const std::string& addr) {
  const size_t colon = addr.rfind(':');
  if (colon == std::string::npos || colon + 1 == addr.size() ||
      addr.find_first_not_of("0123456789", colon + 1) != std::string::npos) {
    return false;
  }
  in_addr ip{};
  return inet_pton(AF_INET, addr.substr(0, colon).c_str(), &ip) == 1;
}

}  // namespace

Status ParseNodeAddress(const std::string& text, RaftNodeAddress* out) {
  const size_t a = text.find(',');
  const size_t b = a == std::string::npos ? std::string::npos : text.find(',', a + 1);
  if (a == std::string::npos || b == std::string::npos || text.find(',', b + 1) != std::string::npos) {
    return Status::InvalidArgument("--raft-node '" + text + "': expected ID,RAFT_IP:PORT,BROADCAST_HOST:PORT");
  }
  const std::string id = text.substr(0, a);
  if (id.empty() || id.find_first_not_of("0123456789") != std::string::npos || id.size() > 9 || std::stoull(id) == 0) {
    return Status::InvalidArgument("--raft-node '" + text + "': the id must be a positive number");
  }
  out->id = std::stoull(id);
  out->raft_address = text.substr(a + 1, b - a - 1);
  out->broadcast_address = text.substr(b + 1);
  for (const std::string* addr : {&out->raft_address, &out->broadcast_address}) {
    const size_t colon = addr->rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == addr->size() ||
        addr->find_first_not_of("0123456789", colon + 1) != std::string::npos) {
      return Status::InvalidArgument("--raft-node '" + text + "': '" + *addr + "' is not HOST:PORT");
    }
  }
  // libraft 0.15 parses its addresses with uv_ip4_addr: no host names.
  in_addr ip{};
  const std::string host = out->raft_address.substr(0, out->raft_address.rfind(':'));
  if (inet_pton(AF_INET, host.c_str(), &ip) != 1) {
    return Status::InvalidArgument("--raft-node '" + text + "': the Raft address must be a numeric IPv4 address (" +
                                   host + " is not; libraft 0.15 does not resolve names)");
  }
  return Status::OK();
}

const RaftNodeAddress* RaftOptions::Self() const {
  for (const RaftNodeAddress& n : cluster) {
    if (n.id == id) return &n;
  }
  return nullptr;
}

std::string RaftOptions::BroadcastAddressOf(uint64_t node) const {
  for (const RaftNodeAddress& n : cluster) {
    if (n.id == node) return n.broadcast_address;
  }
  return "";
}

Status RaftOptions::Check() const {
  if (id == 0) return Status::InvalidArgument("--raft-id is required by the raft backend (this node's id, e.g. 1)");
  if (cluster.empty()) {
    return Status::InvalidArgument(
        "--raft-node is required by the raft backend, once per node (ID,RAFT_IP:PORT,BROADCAST_HOST:PORT)");
  }
  std::set<uint64_t> ids;
  std::set<std::string> addresses;
  for (const RaftNodeAddress& n : cluster) {
    if (!ids.insert(n.id).second) return Status::InvalidArgument("--raft-node: id " + std::to_string(n.id) + " twice");
    if (!addresses.insert(n.raft_address).second) {
      return Status::InvalidArgument("--raft-node: raft address " + n.raft_address + " twice");
    }
  }
  if (cluster.size() == 2) {
    // Two nodes tolerate no failure (every commit needs both) and split
    // their votes easily: worse than one node on both counts.
    return Status::InvalidArgument(
        "--raft-node: a cluster of 2 tolerates no node's loss (a majority of 2 is both); use 3 or 5 nodes (or 1, "
        "which replicates nothing)");
  }
  if (Self() == nullptr) {
    return Status::InvalidArgument("--raft-id " + std::to_string(id) + " is not one of the --raft-node ids");
  }
  if (!bind_address.empty() && !IsIpv4HostPort(bind_address)) {
    return Status::InvalidArgument("--raft-bind '" + bind_address +
                                   "' is not a numeric IPv4 address and port (libraft 0.15 does not resolve names)");
  }
  if (dir.empty()) return Status::InvalidArgument("the raft backend needs a folder for its log (--raft-dir)");
  if (heartbeat_ms == 0 || election_timeout_ms <= heartbeat_ms) {
    return Status::InvalidArgument("--raft-election-timeout must be longer than --raft-heartbeat (and both > 0)");
  }
  if (snapshot_interval == 0) return Status::InvalidArgument("--raft-snapshot-interval must be at least 1");
  if (snapshot_bytes == 0) return Status::InvalidArgument("--raft-snapshot-bytes must be at least 1");
  if (snapshot_trailing == 0) return Status::InvalidArgument("raft: snapshot_trailing must be at least 1");
  if (queue_capacity == 0) return Status::InvalidArgument("--raft-queue must be at least 1");
  if (max_inflight_blocks == 0) return Status::InvalidArgument("--raft-inflight-blocks must be at least 1");
  return Status::OK();
}

}  // namespace ordering::raft_backend

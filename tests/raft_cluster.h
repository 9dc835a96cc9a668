// RaftCluster: N raft orderer nodes in this process, on loopback ports
// chosen once (a node restarts on the same addresses), each with its own
// ledger and Raft log under one folder. For the conformance suite and the
// raft tests.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "orderer/consensus/raft/raft_chain.h"
#include "orderer/node.h"
#include "tests/pipeline_harness.h"

namespace ordering::testing {

// A TCP port on 127.0.0.1 that was free a moment ago.
inline int PickFreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof(a);
  int port = 0;
  if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  if (fd >= 0) ::close(fd);
  return port;
}

class RaftCluster {
 public:
  // `base`: the options every node shares (channel, sync); ledger_dir,
  // listen, consensus and make_consenter are set per node.
  RaftCluster(std::string dir, int nodes, OrdererOptions base, raft_backend::RaftOptions raft = {})
      : dir_(std::move(dir)), base_(std::move(base)), raft_(std::move(raft)), nodes_(nodes) {
    raft_.cluster.clear();
    for (int i = 0; i < nodes; ++i) {
      raft_backend::RaftNodeAddress a;
      a.id = static_cast<uint64_t>(i + 1);
      a.raft_address = "127.0.0.1:" + std::to_string(PickFreePort());
      a.broadcast_address = "127.0.0.1:" + std::to_string(PickFreePort());
      raft_.cluster.push_back(a);
    }
  }
  ~RaftCluster() { StopAll(); }

  int size() const { return static_cast<int>(nodes_.size()); }
  std::string ledger(int i) const { return dir_ + "/node" + std::to_string(i + 1); }
  OrdererNode* node(int i) const { return nodes_[i].get(); }
  raft_backend::RaftChain* chain(int i) const {
    return nodes_[i] ? dynamic_cast<raft_backend::RaftChain*>(nodes_[i]->chain()) : nullptr;
  }
  int port(int i) const { return std::stoi(raft_.cluster[i].broadcast_address.substr(10)); }

  Status StartNode(int i) {
    OrdererOptions o = base_;
    o.ledger_dir = ledger(i);
    o.listen = raft_.cluster[i].broadcast_address;
    o.consensus = "raft";
    raft_backend::RaftOptions r = raft_;
    r.id = static_cast<uint64_t>(i + 1);
    r.dir = ledger(i) + ".raft";
    o.make_consenter = raft_backend::OnlyRaft(r);
    return OrdererNode::Start(o, SystemClock::Default(), &nodes_[i]);
  }
  Status StartAll() {
    for (int i = 0; i < size(); ++i) ORDERING_RETURN_IF_ERROR(StartNode(i));
    return Status::OK();
  }
  void StopNode(int i) { nodes_[i].reset(); }
  void StopAll() {
    for (auto& n : nodes_) n.reset();
  }
  // Deletes a stopped node's ledger and Raft log.
  void WipeNode(int i) {
    std::filesystem::remove_all(ledger(i));
    std::filesystem::remove_all(ledger(i) + ".raft");
  }

  // The index of the running node that leads (and builds blocks), or -1.
  int Leader() const {
    for (int i = 0; i < size(); ++i) {
      if (nodes_[i] && chain(i) && chain(i)->IsLeader()) return i;
    }
    return -1;
  }
  bool WaitForLeader(std::chrono::milliseconds timeout = std::chrono::seconds(30)) const {
    return WaitFor([&] { return Leader() >= 0; }, timeout);
  }
  // Waits until every running node has the same height and no height has
  // changed for `quiet`: forwarded envelopes still being retried, a batch
  // cut on its timeout, or a commit a follower learns with the next
  // heartbeat all move a height after the clients have stopped, so equal
  // heights at one instant are not yet the end of the chain.
  bool WaitUntilSettled(std::chrono::milliseconds quiet = std::chrono::milliseconds(1000),
                        std::chrono::milliseconds timeout = std::chrono::seconds(30)) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::vector<uint64_t> last = Heights();
    auto since = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      std::vector<uint64_t> now = Heights();
      if (now != last) {
        last = std::move(now);
        since = std::chrono::steady_clock::now();
        continue;
      }
      const bool same = std::adjacent_find(last.begin(), last.end(), std::not_equal_to<>()) == last.end();
      if (same && std::chrono::steady_clock::now() - since >= quiet) return true;
    }
    return false;
  }
  // The heights of the running nodes, in node order.
  std::vector<uint64_t> Heights() const {
    std::vector<uint64_t> h;
    for (const auto& n : nodes_) {
      if (n) h.push_back(n->ledger()->Info().height);
    }
    return h;
  }
  // The least txs_ordered over the running nodes.
  uint64_t MinOrdered() const {
    uint64_t m = UINT64_MAX;
    for (const auto& n : nodes_) {
      if (n) m = std::min<uint64_t>(m, n->metrics().txs_ordered.load());
    }
    return m == UINT64_MAX ? 0 : m;
  }

 private:
  std::string dir_;
  OrdererOptions base_;
  raft_backend::RaftOptions raft_;
  std::vector<std::unique_ptr<OrdererNode>> nodes_;
};

}  // namespace ordering::testing

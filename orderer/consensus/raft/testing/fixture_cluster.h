// FixtureCluster: N raft nodes of the real backend (state machine,
// replicator, ordering) on libraft's in-memory fixture (raft/fixture.h:
// simulated disks, network and time) and the fake peer network, each over
// the real ChainSupport with an in-memory ledger. One test thread drives
// everything: Step() advances the fixture by one event, moves the injected
// clock to the fixture's time and lets every live node poll Raft, propose
// and order. Deterministic: no sockets, no threads, no sleeps.
#pragma once

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern "C" {
#include <raft/fixture.h>
}

#include "orderer/consensus/raft/raft_parts.h"
#include "orderer/consensus/raft/testing/fake_raft_peers.h"
#include "orderer/consensus/testing/test_channel.h"

namespace ordering::raft_backend::testing {

class FixtureCluster {
 public:
  // A node: its ledger and channel, and the raft backend's parts over them.
  struct Node {
    Node(const ChannelOptions& channel, const Clock* clock, RaftOptions o, std::unique_ptr<RaftPeers> p)
        : ledger(channel, clock, "raft"), parts(ledger.support(), std::move(o), std::move(p)) {}
    ordering::testing::TestChannel ledger;
    RaftParts parts;
    const RaftOptions& options = parts.options;
    RaftCounters& counters = parts.counters;
    SubmitQueue& queue = parts.queue;
    RaftShared& shared = parts.shared;
    BlockStateMachine& fsm = parts.fsm;
    Replicator& replicator = parts.replicator;
    RaftOrdering& ordering = parts.ordering;
    bool alive = true;
  };

  // `prepare(i, node)`, if given, runs before Raft starts (e.g. to write a
  // block into node i's ledger).
  FixtureCluster(int n, const ChannelOptions& channel, RaftOptions base,
                 const std::function<void(int, Node*)>& prepare = {}) {
    if (raft_fixture_initialize(&fixture_) != 0) throw std::runtime_error("raft_fixture_initialize");
    for (int i = 0; i < n; ++i) {
      RaftOptions o = base;
      o.id = static_cast<uint64_t>(i + 1);  // the fixture names server i "i+1"
      o.cluster.clear();
      for (int j = 0; j < n; ++j) {
        o.cluster.push_back(RaftNodeAddress{static_cast<uint64_t>(j + 1), "127.0.0.1:1", "fake"});
      }
      o.dir = "unused";
      nodes_.push_back(std::make_unique<Node>(channel, &clock_, o, network_.PeersOf(o.id)));
      Node* node = nodes_.back().get();
      network_.Add(o.id, {&node->queue, node->ledger.ledger()});
      if (prepare) prepare(i, node);
      if (raft_fixture_grow(&fixture_, node->fsm.fsm()) != 0) throw std::runtime_error("raft_fixture_grow");
      struct raft* r = raft_fixture_get(&fixture_, static_cast<unsigned>(i));
      Replicator::Configure(r, o);
      node->replicator.Attach(r);
    }
    struct raft_configuration conf;
    if (raft_fixture_configuration(&fixture_, static_cast<unsigned>(n), &conf) != 0 ||
        raft_fixture_bootstrap(&fixture_, &conf) != 0) {
      throw std::runtime_error("bootstrapping the fixture");
    }
    raft_configuration_close(&conf);
    if (raft_fixture_start(&fixture_) != 0) throw std::runtime_error("raft_fixture_start");
  }
  ~FixtureCluster() {
    for (auto& n : nodes_) n->shared.Stop();
    for (std::thread& t : threads_) t.join();
    raft_fixture_close(&fixture_);
  }

  // From now on each node's ordering runs on a thread of its own
  // (RaftOrdering::Run, as in production) beside the test's thread, which
  // stays Raft's loop thread: for the thread sanitizer.
  void StartOrderingThreads() {
    for (auto& n : nodes_) {
      Node* node = n.get();
      threads_.emplace_back([node] { node->ordering.Run(); });
    }
  }

  Node& node(int i) { return *nodes_[static_cast<size_t>(i)]; }
  int size() const { return static_cast<int>(nodes_.size()); }
  FakeRaftNetwork& network() { return network_; }
  struct raft_fixture* fixture() {
    return &fixture_;
  }
  const Clock* clock() const { return &clock_; }

  // One fixture event, then every live node's turn.
  void Step() {
    raft_fixture_step(&fixture_);
    SyncClock();
    for (auto& n : nodes_) {
      if (!n->alive || n->shared.closing()) continue;
      n->replicator.Poll();
      n->replicator.ProposePosted();
      if (!threads_.empty()) continue;
      Status st = n->ordering.Step();
      if (!st.ok()) n->shared.Fail(st);
    }
  }
  // Steps until `done` holds; false after `max_steps`.
  bool StepUntil(const std::function<bool()>& done, int max_steps = 20000) {
    for (int i = 0; i < max_steps; ++i) {
      if (done()) return true;
      Step();
    }
    return done();
  }

  // Elects node i (fixture's raft_fixture_elect), then steps until it builds.
  bool Elect(int i) {
    raft_fixture_elect(&fixture_, static_cast<unsigned>(i));
    return StepUntil([&] { return node(i).ordering.building(); });
  }
  // The leader steps down (the fixture drops its followers' answers until it
  // does).
  void Depose() { raft_fixture_depose(&fixture_); }
  // Node i dies: no Raft messages, no ticks, no forwards; its objects stay.
  void Kill(int i) {
    raft_fixture_kill(&fixture_, static_cast<unsigned>(i));
    node(i).alive = false;
    network_.SetDown(node(i).options.id, true);
  }
  void Revive(int i) {
    raft_fixture_revive(&fixture_, static_cast<unsigned>(i));
    node(i).alive = true;
    network_.SetDown(node(i).options.id, false);
  }
  // Cuts node i off from every other node in Raft (the fake network, used
  // for forwarding, stays up).
  void Isolate(int i, bool isolated) {
    for (int j = 0; j < size(); ++j) {
      if (j == i) continue;
      if (isolated) {
        raft_fixture_disconnect(&fixture_, static_cast<unsigned>(i), static_cast<unsigned>(j));
        raft_fixture_disconnect(&fixture_, static_cast<unsigned>(j), static_cast<unsigned>(i));
      } else {
        raft_fixture_reconnect(&fixture_, static_cast<unsigned>(i), static_cast<unsigned>(j));
        raft_fixture_reconnect(&fixture_, static_cast<unsigned>(j), static_cast<unsigned>(i));
      }
    }
  }

 private:
  void SyncClock() {
    const int64_t now = kClockStart + static_cast<int64_t>(raft_fixture_time(&fixture_)) * 1'000'000;
    if (now > clock_.NowNanos()) clock_.Advance(std::chrono::nanoseconds(now - clock_.NowNanos()));
  }

  static constexpr int64_t kClockStart = 1'000'000'000;
  ManualClock clock_{kClockStart};
  FakeRaftNetwork network_;
  struct raft_fixture fixture_ {};
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<std::thread> threads_;
};

}  // namespace ordering::raft_backend::testing

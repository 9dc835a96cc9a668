// RaftPeers: what a raft node asks of the other nodes beyond Raft itself:
// forwarding Broadcast's transactions to the leader, and fetching blocks a
// snapshot skipped. GrpcRaftPeers speaks to their AtomicBroadcast servers;
// FakeRaftPeers (testing/fake_raft_peers.h) hands calls to nodes in the same
// process, deterministically, with faults on demand.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "orderer/cutter/block_cutter.h"
#include "proto/common.pb.h"

namespace ordering::raft_backend {

enum class ForwardOutcome {
  kAccepted,  // the leader took it for ordering
  kRejected,  // the leader refused it (a bad request): dropped
  kRetry,     // unavailable, or never answered: to be sent again
};

struct ForwardReply {
  ForwardOutcome outcome = ForwardOutcome::kRetry;
  std::string info;  // the leader's reason, for kRejected
};

class RaftPeers {
 public:
  virtual ~RaftPeers() = default;

  // Hands `txs` to node `leader`'s Broadcast in order and returns once each
  // is answered or cannot be: one reply per transaction, in order.
  // REQUIRES: one caller at a time.
  virtual std::vector<ForwardReply> Forward(uint64_t leader, const std::vector<CutterMessage>& txs) = 0;

  // Fetches node `node`'s blocks from number `from` (inclusive) to `to`
  // (exclusive), in order, handing each to `sink`; stops at the first error
  // (sink's or the fetch's). OK once `to` is reached.
  [[nodiscard]] virtual Status FetchBlocks(uint64_t node, uint64_t from, uint64_t to,
                                           const std::function<Status(std::shared_ptr<const Block>)>& sink) = 0;

  // Ends any call in progress (Forward: what is unanswered is kRetry) and
  // makes later calls return at once. Idempotent; any thread.
  virtual void Shutdown() = 0;
};

}  // namespace ordering::raft_backend

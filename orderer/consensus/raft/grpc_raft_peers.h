// GrpcRaftPeers: RaftPeers over the other nodes' AtomicBroadcast servers.
// Forward keeps one Broadcast stream open to the current leader (reopened
// when the leader changes or the stream breaks) with a reader thread taking
// its answers, so writes never wait on unread answers. FetchBlocks reads
// the node's Deliver from the first missing block.
//
// Thread-safety: Forward from one thread, FetchBlocks from one (another)
// thread, Shutdown from any.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <mutex>

#include "common/mutex.h"
#include "orderer/consensus/raft/raft_options.h"
#include "orderer/consensus/raft/raft_peers.h"

namespace ordering::raft_backend {

class GrpcRaftPeers final : public RaftPeers {
 public:
  explicit GrpcRaftPeers(const RaftOptions& options);
  ~GrpcRaftPeers() override;

  std::vector<ForwardReply> Forward(uint64_t leader, const std::vector<CutterMessage>& txs) override;
  Status FetchBlocks(uint64_t node, uint64_t from, uint64_t to,
                     const std::function<Status(std::shared_ptr<const Block>)>& sink) override;
  void Shutdown() override;

 private:
  class Stream;
  void CloseStream();

  const RaftOptions options_;
  std::unique_ptr<Stream> stream_;  // the Forward caller's
  Mutex mu_;
  bool shutdown_ GUARDED_BY(mu_) = false;
  Stream* open_stream_ GUARDED_BY(mu_) = nullptr;             // to cancel on Shutdown
  grpc::ClientContext* fetch_ctx_ GUARDED_BY(mu_) = nullptr;  // to cancel on Shutdown
};

}  // namespace ordering::raft_backend

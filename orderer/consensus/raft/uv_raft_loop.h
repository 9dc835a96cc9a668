// UvRaftLoop: the raft chain's loop thread in production: a libuv loop with
// libraft's own I/O (raft_uv: a durable segment log and snapshots in
// RaftOptions::dir, TCP between nodes). Every raft_* call runs on it:
// a timer polls Raft's state (Replicator::Poll) every half heartbeat, and
// an async handle wakes it for posted proposals (Replicator::ProposePosted)
// and for the chain closing (RaftShared::Stop or Fail), which closes Raft
// and ends the thread.
//
// Thread-safety: Start and Join from the chain's owner thread.
#pragma once

#include <uv.h>

#include <thread>

#include "orderer/consensus/raft/libraft.h"

extern "C" {
#include <raft/uv.h>
}
#include "orderer/consensus/raft/raft_options.h"
#include "orderer/consensus/raft/raft_shared.h"
#include "orderer/consensus/raft/replicator.h"

namespace ordering::raft_backend {

// Refuses a Raft folder that libraft 0.15 would load without its entries or
// without saying which file is wrong: a segment set aside as corrupt-* (by
// libraft's auto-recovery at an earlier start), log segments with no usable
// metadata file, a metadata file that is not libraft's format 1, a term below
// `ledger_term` (libraft keeps no checksum of its metadata). A metadata file
// cut short beside a good one is what a crash mid-write leaves, and libraft
// uses the other: a warning. Corruption naming the file; OK for a missing or
// empty folder.
[[nodiscard]] Status CheckRaftDir(const std::string& dir, uint64_t ledger_term);

class UvRaftLoop {
 public:
  // Every pointer must outlive the loop.
  UvRaftLoop(const RaftOptions* options, raft_fsm* fsm, Replicator* replicator, RaftShared* shared)
      : options_(options), fsm_(fsm), replicator_(replicator), shared_(shared) {}
  ~UvRaftLoop() { Join(); }

  // Opens the Raft log (bootstrapping the cluster's configuration on an
  // empty one), replays it through the state machine on this thread, and
  // starts the loop thread. On failure nothing is left running.
  // `ledger_term`: the term of the ledger's last block (0: none), which the
  // log's own term cannot be below. A damaged log is refused naming the file
  // (CheckRaftDir); libraft's auto-recovery, which sets a corrupt last
  // segment aside and starts without its entries, is off.
  [[nodiscard]] Status Start(uint64_t ledger_term = 0);
  // Waits for the loop thread to end (after RaftShared::Stop or Fail).
  void Join();

 private:
  Status Open(uint64_t ledger_term);
  void TearDownUnstarted();
  void Main();
  void BeginClose();
  static void OnWake(uv_async_t* handle);
  static void OnPoll(uv_timer_t* handle);

  const RaftOptions* const options_;
  raft_fsm* const fsm_;
  Replicator* const replicator_;
  RaftShared* const shared_;

  // The loop thread's (and Start's, before it runs).
  uv_loop_t loop_{};
  uv_async_t wake_{};
  uv_timer_t poll_{};
  struct raft_uv_transport transport_ {};
  struct raft_io io_ {};
  struct raft raft_ {};
  bool loop_inited_ = false, transport_inited_ = false, io_inited_ = false, raft_inited_ = false;
  bool raft_start_failed_ = false;  // raft_close must not follow a failed raft_start
  bool closing_ = false;
  std::thread thread_;
};

}  // namespace ordering::raft_backend

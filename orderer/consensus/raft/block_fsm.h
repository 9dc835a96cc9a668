// BlockStateMachine: the raft backend's state machine (libraft's raft_fsm).
// Each committed Raft entry carries one block; applying it writes the block
// to the ledger, once:
//   * number == height: the next block, written (durably) through the
//     ConsenterSupport, which hands it to Deliver;
//   * number <  height: a replay after a restart; it must match the stored
//     block by hash, or the node has diverged and stops;
//   * number >  height: a hole; the node stops.
// Snapshots hold only the height and the last block's hash (RaftSnapshot);
// restoring one beyond the ledger fetches the missing blocks from another
// node (RaftPeers::FetchBlocks, the leader first) and checks they end in the
// snapshot's hash. Once the node has failed (RaftShared::Fail) it applies
// and restores nothing: it is closing.
//
// Thread-safety: the loop thread's (libraft calls it there); during
// raft_start the thread that starts Raft.
#pragma once

#include <cstdint>
#include <map>

#include "orderer/consensus/consenter_support.h"
#include "orderer/consensus/raft/libraft.h"
#include "orderer/consensus/raft/raft_counters.h"
#include "orderer/consensus/raft/raft_options.h"
#include "orderer/consensus/raft/raft_peers.h"
#include "orderer/consensus/raft/raft_shared.h"
#include "orderer/consensus/raft/snapshot_pacer.h"

namespace ordering::raft_backend {

class BlockStateMachine {
 public:
  // Every pointer must outlive the state machine.
  BlockStateMachine(ConsenterSupport* support, const RaftOptions* options, RaftShared* shared, RaftPeers* peers,
                    RaftCounters* counters);

  // The raft_fsm to hand to raft_init.
  raft_fsm* fsm() { return &fsm_; }

  // This node proposed block `number` whose first transaction was ordered at
  // `first_seen` (for the block-fill latency when it is applied here).
  void Proposed(uint64_t number, int64_t first_seen) { first_seen_[number] = first_seen; }
  void Withdrawn(uint64_t number) { first_seen_.erase(number); }

  // Snapshot spacing from the sizes of the entries applied so far.
  const SnapshotPacer& pacer() const { return pacer_; }

 private:
  static int ApplyCb(raft_fsm* fsm, const raft_buffer* buf, void** result);
  static int SnapshotCb(raft_fsm* fsm, raft_buffer* bufs[], unsigned* n);
  static int RestoreCb(raft_fsm* fsm, raft_buffer* buf);

  // Each returns 0 or a RAFT_* error; a node-stopping fault also goes to
  // RaftShared::Fail.
  int Apply(const raft_buffer* buf);
  int Snapshot(raft_buffer* bufs[], unsigned* n);
  int Restore(const raft_buffer* buf);
  Status CatchUp(uint64_t height, const std::string& last_hash);

  ConsenterSupport* const support_;
  const RaftOptions* const options_;
  RaftShared* const shared_;
  RaftPeers* const peers_;
  RaftCounters* const counters_;
  raft_fsm fsm_{};
  std::map<uint64_t, int64_t> first_seen_;  // proposed here, not yet applied
  SnapshotPacer pacer_;
};

}  // namespace ordering::raft_backend

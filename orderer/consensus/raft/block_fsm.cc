#include "orderer/consensus/raft/block_fsm.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "ledger/block_util.h"
#include "orderer/consensus/raft/raft_format.h"

namespace ordering::raft_backend {

BlockStateMachine::BlockStateMachine(ConsenterSupport* support, const RaftOptions* options, RaftShared* shared,
                                     RaftPeers* peers, RaftCounters* counters)
    : support_(support),
      options_(options),
      shared_(shared),
      peers_(peers),
      counters_(counters),
      pacer_(options->snapshot_bytes, options->snapshot_interval, options->snapshot_trailing) {
  fsm_.version = 1;
  fsm_.data = this;
  fsm_.apply = &ApplyCb;
  fsm_.snapshot = &SnapshotCb;
  fsm_.restore = &RestoreCb;
}

int BlockStateMachine::ApplyCb(raft_fsm* fsm, const raft_buffer* buf, void** result) {
  *result = nullptr;
  return static_cast<BlockStateMachine*>(fsm->data)->Apply(buf);
}

int BlockStateMachine::SnapshotCb(raft_fsm* fsm, raft_buffer* bufs[], unsigned* n) {
  return static_cast<BlockStateMachine*>(fsm->data)->Snapshot(bufs, n);
}

int BlockStateMachine::RestoreCb(raft_fsm* fsm, raft_buffer* buf) {
  const int rv = static_cast<BlockStateMachine*>(fsm->data)->Restore(buf);
  if (rv == 0) raft_free(buf->base);  // libraft hands the buffer over only on success
  return rv;
}

int BlockStateMachine::Apply(const raft_buffer* buf) {
  if (!shared_->error().ok()) return 0;  // a failed node writes nothing more; it is closing
  pacer_.Observe(buf->len);
  auto block = std::make_shared<Block>();
  std::string_view bytes;
  if (!DecodeEntry(buf->base, buf->len, &bytes) ||
      !block->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    shared_->Fail(Status::Corruption("a committed raft entry is not a block"));
    return 0;
  }
  const uint64_t number = block->header().number();
  const uint64_t height = support_->Height().value();
  if (number < height) {
    // Replay after a restart: the entry must be the block we already have.
    std::string stored;
    Status st = support_->BlockHashAt(BlockNumber(number), &stored);
    if (!st.ok()) {
      shared_->Fail(st.WithContext("replaying raft entry for block " + std::to_string(number)));
    } else if (stored != DigestBytes(BlockHash(*block))) {
      shared_->Fail(Status::Corruption("divergence: the committed raft entry for block " + std::to_string(number) +
                                       " differs from the block in the ledger"));
    } else {
      ++*counters_->replayed;
    }
    return 0;
  }
  if (number > height) {
    shared_->Fail(Status::Corruption("a committed raft entry holds block " + std::to_string(number) +
                                     " but the ledger's height is " + std::to_string(height)));
    return 0;
  }
  int64_t first_seen = 0;
  if (auto it = first_seen_.find(number); it != first_seen_.end()) {
    first_seen = it->second;
    first_seen_.erase(it);
  }
  RaftMetadata built;  // who built it, in which term
  const bool has_metadata = DecodeMetadata(block->metadata().consenter(), &built);
  Status st = support_->WriteBlock(std::move(block), first_seen);
  if (!st.ok()) {
    shared_->Fail(st.WithContext("applying a committed raft entry"));
  } else if (has_metadata) {
    shared_->Written(built.term);  // settles what was forwarded to the leaders of earlier terms
  }
  return 0;
}

int BlockStateMachine::Snapshot(raft_buffer* bufs[], unsigned* n) {
  RaftSnapshot snap;
  snap.height = support_->Height().value();
  if (snap.height > 0 && !support_->BlockHashAt(BlockNumber(snap.height - 1), &snap.last_hash).ok()) {
    return RAFT_IOERR;
  }
  const std::string bytes = EncodeSnapshot(snap);
  *bufs = static_cast<raft_buffer*>(raft_malloc(sizeof(raft_buffer)));
  if (*bufs == nullptr) return RAFT_NOMEM;
  (*bufs)[0].len = bytes.size();
  (*bufs)[0].base = raft_malloc(bytes.size());
  if ((*bufs)[0].base == nullptr) {
    raft_free(*bufs);
    return RAFT_NOMEM;
  }
  std::memcpy((*bufs)[0].base, bytes.data(), bytes.size());
  *n = 1;
  ++*counters_->snapshots;
  return 0;
}

int BlockStateMachine::Restore(const raft_buffer* buf) {
  // A failed node restores nothing, as it applies nothing: it is closing
  // (catching up would write blocks to the ledger it stopped on).
  if (!shared_->error().ok()) return RAFT_SHUTDOWN;
  RaftSnapshot snap;
  Status st = DecodeSnapshot(std::string_view(static_cast<const char*>(buf->base), buf->len), &snap);
  if (!st.ok()) {
    shared_->Fail(st);
    return RAFT_MALFORMED;
  }
  ++*counters_->restores;
  const uint64_t have = support_->Height().value();
  if (have < snap.height) {
    spdlog::info("raft: snapshot at height {}, ledger at {}: fetching the missing blocks from another node",
                 snap.height, have);
    st = CatchUp(snap.height, snap.last_hash);
    if (!st.ok()) {
      shared_->Fail(st);
      return RAFT_IOERR;
    }
    return 0;
  }
  if (snap.height == 0) return 0;
  std::string stored;
  st = support_->BlockHashAt(BlockNumber(snap.height - 1), &stored);
  if (!st.ok() || stored != snap.last_hash) {
    shared_->Fail(Status::Corruption("divergence: the raft snapshot's block " + std::to_string(snap.height - 1) +
                                     " differs from the ledger's"));
    return RAFT_CORRUPT;
  }
  return 0;
}

Status BlockStateMachine::CatchUp(uint64_t height, const std::string& last_hash) {
  // The leader first: it has every committed block.
  std::vector<uint64_t> order;
  const uint64_t leader = shared_->role().leader;
  if (leader != 0 && leader != options_->id) order.push_back(leader);
  for (const RaftNodeAddress& n : options_->cluster) {
    if (n.id != options_->id && std::find(order.begin(), order.end(), n.id) == order.end()) order.push_back(n.id);
  }
  Status last = Status::Unavailable("no other node to fetch blocks from");
  for (uint64_t id : order) {
    Status written;  // the ledger's answer: a failed write is this node's fault, not the peer's
    last = peers_->FetchBlocks(id, support_->Height().value(), height, [&](std::shared_ptr<const Block> block) {
      written = support_->WriteBlock(std::move(block));
      if (written.ok()) ++*counters_->caught_up;
      return written;
    });
    if (!written.ok()) return written.WithContext("catching up from node " + std::to_string(id));
    if (support_->Height().value() < height) {
      spdlog::warn("raft: catching up from node {}: {}", id, last.ToString());
      continue;
    }
    std::string stored;
    ORDERING_RETURN_IF_ERROR(support_->BlockHashAt(BlockNumber(height - 1), &stored));
    if (stored != last_hash) {
      return Status::Corruption("divergence: blocks fetched from node " + std::to_string(id) +
                                " do not end in the raft snapshot's hash at block " + std::to_string(height - 1));
    }
    spdlog::info("raft: caught up to height {} from node {}", height, id);
    return Status::OK();
  }
  return last;
}

}  // namespace ordering::raft_backend

// SnapshotPacer: how many Raft entries go between snapshots, and how many
// stay behind one, so that the log a node holds in memory is bounded in
// bytes whatever the block size. libraft counts entries only (a snapshot
// every `threshold` applied entries, `trailing` kept behind it, all of them
// in memory); an entry here is a whole block, from a few KiB to several
// MiB, so a fixed count bounds nothing: 1,024 + 256 blocks of 500
// transactions of 1 KiB held ~700 MiB per node. Fabric's etcdraft snapshots
// by size for this reason (SnapshotIntervalSize, 16 MB by default).
//
// The pacer keeps a moving mean of the applied entries' sizes and derives
//   threshold = bytes / mean entry, in [1, max_entries]
//   trailing  = threshold / 4,      in [1, max_trailing]
// so a node holds at most about 1.25 x `bytes` of log. A follower further
// behind than `trailing` entries gets a snapshot and fetches the blocks it
// misses from another node's ledger (BlockStateMachine::Restore).
//
// Thread-safety: the loop thread's only.
#pragma once

#include <algorithm>
#include <cstddef>

namespace ordering::raft_backend {

class SnapshotPacer {
 public:
  // `bytes` > 0; `max_entries`, `max_trailing` >= 1.
  SnapshotPacer(size_t bytes, unsigned max_entries, unsigned max_trailing)
      : bytes_(bytes), max_entries_(max_entries), max_trailing_(max_trailing) {}

  // An entry of `len` bytes was applied.
  void Observe(size_t len) {
    const double x = static_cast<double>(std::max<size_t>(len, 1));
    mean_ = mean_ == 0 ? x : mean_ + (x - mean_) / kWindow;
  }

  // Entries between snapshots: max_entries until an entry has been seen.
  unsigned threshold() const {
    if (mean_ == 0) return max_entries_;
    const double n = static_cast<double>(bytes_) / mean_;
    return n >= max_entries_ ? max_entries_ : std::max(1u, static_cast<unsigned>(n));
  }

  // Entries kept behind a snapshot.
  unsigned trailing() const { return std::clamp(threshold() / 4, 1u, max_trailing_); }

  double mean_entry_bytes() const { return mean_; }

 private:
  static constexpr double kWindow = 16;  // entries the moving mean spans, about
  const size_t bytes_;
  const unsigned max_entries_;
  const unsigned max_trailing_;
  double mean_ = 0;
};

}  // namespace ordering::raft_backend

// MemoryLedger: a Ledger in memory, for tests of the ordering logic without
// disks. It keeps Ledger's invariants as BlockStore does (AppendCheck, the
// tx-id index) and lets a test wait for a height instead of sleeping.
// Thread-safety: as Ledger.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/mutex.h"
#include "ledger/ledger.h"

namespace ordering {

class MemoryLedger final : public Ledger {
 public:
  LedgerInfo Info() const override;
  Status Append(const Block& block) override;
  Status GetBlock(BlockNumber number, Block* block) const override;
  Status FindTx(std::string_view tx_id, TxLocation* location) const override;

  // Every block so far, genesis first.
  std::vector<Block> blocks() const;
  // Waits (real time, bounded) until the ledger holds `height` blocks.
  bool WaitForHeight(uint64_t height, std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;

 private:
  mutable Mutex mu_;
  mutable std::condition_variable grew_;
  std::vector<Block> blocks_ GUARDED_BY(mu_);
  std::unordered_map<std::string, TxLocation> tx_index_ GUARDED_BY(mu_);
  LedgerInfo info_ GUARDED_BY(mu_);
};

}  // namespace ordering

// Ledger: what the orderer needs of a block store, as an interface
// (LevelDB's DB / DBImpl split). BlockStore (RocksDB) is the real one;
// MemoryLedger keeps blocks in memory for tests of the ordering logic, and
// tests decorate either to inject faults.
//
// Invariants every implementation keeps (checked by AppendCheck):
//   * blocks 0..height-1 are stored, contiguous, each linked to the one
//     before by BlockHash; genesis (block 0) has no previous hash;
//   * Info() describes the last stored block;
//   * Append is atomic: a block, its tx-id index entries and the info
//     change together or not at all.
//
// Thread-safety: Append() from one thread at a time; the const methods may
// be called concurrently with Append() and with each other.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"
#include "common/types.h"
#include "proto/common.pb.h"

namespace ordering {

struct LedgerInfo {
  uint64_t height = 0;         // number of blocks; 0 = empty ledger
  std::string last_hash;       // BlockHash of block height-1 (raw 32 bytes); empty if height 0
  std::string last_consenter;  // metadata.consenter of block height-1 (empty for genesis)
};

struct TxLocation {
  BlockNumber block{0};
  uint32_t index = 0;  // position in block.data
};

class Ledger {
 public:
  virtual ~Ledger() = default;

  virtual LedgerInfo Info() const = 0;

  // REQUIRES: block.header().number() == Info().height and
  //           block.header().previous_hash() == Info().last_hash.
  // Stores the block, its tx-id index entries (not for genesis) and the new
  // info atomically (durably, where the implementation is durable); returns
  // InvalidArgument (and stores nothing) if the requirements do not hold.
  [[nodiscard]] virtual Status Append(const Block& block) = 0;

  // NotFound above the height.
  [[nodiscard]] virtual Status GetBlock(BlockNumber number, Block* block) const = 0;
  // NotFound if the tx id is not in any stored block.
  [[nodiscard]] virtual Status FindTx(std::string_view tx_id, TxLocation* location) const = 0;
};

// Append's requirements, for implementations: OK if `block` may follow `info`.
[[nodiscard]] Status AppendCheck(const LedgerInfo& info, const Block& block);

}  // namespace ordering

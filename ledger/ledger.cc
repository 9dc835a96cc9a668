#include "ledger/ledger.h"

namespace ordering {

Status AppendCheck(const LedgerInfo& info, const Block& block) {
  const BlockHeader& h = block.header();
  if (h.number() != info.height) {
    return Status::InvalidArgument("block number " + std::to_string(h.number()) + " but ledger height is " +
                                   std::to_string(info.height));
  }
  if (h.previous_hash() != info.last_hash) {
    return Status::InvalidArgument("block " + std::to_string(h.number()) +
                                   " does not link to the last block (previous_hash mismatch)");
  }
  return Status::OK();
}

}  // namespace ordering

#include "ledger/memory_ledger.h"

#include "ledger/block_util.h"

namespace ordering {

LedgerInfo MemoryLedger::Info() const {
  MutexLock l(&mu_);
  return info_;
}

Status MemoryLedger::Append(const Block& block) {
  std::vector<std::string> ids;
  {
    MutexLock l(&mu_);
    ORDERING_RETURN_IF_ERROR(AppendCheck(info_, block));
    if (block.header().number() != 0) ORDERING_RETURN_IF_ERROR(ExtractTxIds(block, &ids));
    for (size_t i = 0; i < ids.size(); ++i) {
      tx_index_[ids[i]] = TxLocation{BlockNumber(block.header().number()), static_cast<uint32_t>(i)};
    }
    blocks_.push_back(block);
    info_.height = blocks_.size();
    info_.last_hash = DigestBytes(BlockHash(block));
    info_.last_consenter = block.metadata().consenter();
  }
  grew_.notify_all();
  return Status::OK();
}

Status MemoryLedger::GetBlock(BlockNumber number, Block* block) const {
  MutexLock l(&mu_);
  if (number.value() >= blocks_.size()) {
    return Status::NotFound("block " + std::to_string(number.value()) + " is not in the ledger");
  }
  *block = blocks_[number.value()];
  return Status::OK();
}

Status MemoryLedger::FindTx(std::string_view tx_id, TxLocation* location) const {
  MutexLock l(&mu_);
  auto it = tx_index_.find(std::string(tx_id));
  if (it == tx_index_.end()) return Status::NotFound("transaction " + std::string(tx_id) + " is not in the ledger");
  *location = it->second;
  return Status::OK();
}

std::vector<Block> MemoryLedger::blocks() const {
  MutexLock l(&mu_);
  return blocks_;
}

bool MemoryLedger::WaitForHeight(uint64_t height, std::chrono::milliseconds timeout) const {
  MutexLock l(&mu_);
  return grew_.wait_for(l.native(), timeout, [&]() REQUIRES(mu_) { return info_.height >= height; });
}

}  // namespace ordering

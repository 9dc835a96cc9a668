// ChainSupport: the per-channel machinery every consensus backend shares.
//
// It owns the block cutter and the duplicate-tx check, assembles and chains
// blocks, appends them to the ledger (block + last offset in one synced
// write) and publishes them to Deliver subscribers.
//
// Thread-safety: the ordering methods (CheckDuplicate, Cutter, WriteBlock)
// are called from the backend's single ordering thread. Info accessors and
// metrics are thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "common/types.h"
#include "ledger/block_store.h"
#include "orderer/cutter/block_cutter.h"
#include "orderer/ingress/validator.h"
#include "orderer/metrics.h"
#include "proto/common.pb.h"

namespace ordering {

// Per-channel settings. Defaults as Fabric's.
struct ChannelOptions {
  std::string channel_id = "mychannel";  // Default: "mychannel"
  BatchSizeOptions batch_size;           // Default: 500 msgs / 2 MB preferred / 10 MB absolute
  uint64_t batch_timeout_ms = 2000;      // Default: 2 s
};

// Receives every committed block (after it is durable). Called on the
// ordering thread; must not block for long.
using BlockListener = std::function<void(std::shared_ptr<const Block>)>;

class ChainSupport {
 public:
  // Opens the channel on `ledger`: writes genesis from `options` on an empty
  // ledger; otherwise the channel config stored in genesis wins (batch
  // settings must not change under an existing chain) and a differing
  // `options` is reported in *config_note.
  [[nodiscard]] static Status Create(const ChannelOptions& options, const std::string& consensus_type,
                                     BlockStore* ledger, OrdererMetrics* metrics, const Clock* clock,
                                     std::unique_ptr<ChainSupport>* out,
                                     std::string* config_note = nullptr);

  const ChannelOptions& options() const { return options_; }
  IngressOptions ingress_options() const;
  BlockStore* ledger() const { return ledger_; }
  OrdererMetrics* metrics() const { return metrics_; }
  const Clock* clock() const { return clock_; }

  void AddListener(BlockListener listener);

  // Next block number to be written (= ledger height).
  BlockNumber NextBlockNumber() const { return BlockNumber(ledger_->Info().height); }
  // Partition offset recorded with the last block.
  Offset LastOffset() const { return ledger_->Info().last_offset; }

  // Duplicate check for an accepted message: true if `tx_id` is already in
  // the ledger or pending in the cutter.
  bool IsDuplicate(const std::string& tx_id) const;

  // Feeds an accepted message to the cutter and tracks its tx id as pending.
  OrderedResult Ordered(CutterMessage msg);
  // Cuts the pending batch (timeout).
  Batch CutPending(CutReason reason);
  BlockCutter& cutter() { return cutter_; }

  // Assembles the next block from `batch`, appends it with
  // metadata.last_offset = `last_offset`, updates metrics and notifies
  // listeners. `first_seen_nanos`: when the batch's first message was read
  // (for block-cut latency; 0 if unknown).
  [[nodiscard]] Status WriteBlock(Batch batch, Offset last_offset, int64_t first_seen_nanos = 0);

 private:
  ChainSupport(const ChannelOptions& options, BlockStore* ledger, OrdererMetrics* metrics,
               const Clock* clock);
  ChannelOptions options_;
  BlockStore* ledger_;
  OrdererMetrics* metrics_;
  const Clock* clock_;
  BlockCutter cutter_;
  std::unordered_set<std::string> pending_tx_ids_;
  std::vector<BlockListener> listeners_;
};

}  // namespace ordering

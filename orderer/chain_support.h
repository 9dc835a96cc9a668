// ChainSupport: the per-channel machinery every consensus backend shares,
// the real ConsenterSupport.
//
// It owns the block cutter and the duplicate-tx check, assembles and chains
// blocks, appends them to the ledger (block, its consenter metadata and the
// tx index in one synced write) and publishes them to Deliver subscribers.
//
// Thread-safety: as ConsenterSupport.
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
#include "orderer/consensus/consenter_support.h"
#include "orderer/cutter/block_cutter.h"
#include "orderer/ingress/validator.h"
#include "orderer/metrics.h"
#include "proto/common.pb.h"

namespace ordering {

// Receives every committed block (after it is durable). Called on the
// ordering thread; must not block for long.
using BlockListener = std::function<void(std::shared_ptr<const Block>)>;

class ChainSupport final : public ConsenterSupport {
 public:
  // Opens the channel on `ledger`: writes genesis from `options` on an empty
  // ledger; otherwise the channel config stored in genesis wins (batch
  // settings must not change under an existing chain) and a differing
  // `options` is reported in *config_note.
  [[nodiscard]] static Status Create(const ChannelOptions& options, const std::string& consensus_type,
                                     BlockStore* ledger, OrdererMetrics* metrics, const Clock* clock,
                                     std::unique_ptr<ChainSupport>* out,
                                     std::string* config_note = nullptr);

  const ChannelOptions& options() const override { return options_; }
  IngressOptions ingress_options() const override;
  const Clock* clock() const override { return clock_; }
  OrdererMetrics* metrics() const override { return metrics_; }
  BlockStore* ledger() const { return ledger_; }

  void AddListener(BlockListener listener);

  BlockNumber NextBlockNumber() const override { return BlockNumber(ledger_->Info().height); }
  std::string LastConsenterMetadata() const override { return ledger_->Info().last_consenter; }
  Status BlockHashAt(BlockNumber number, std::string* hash) const override;

  bool IsDuplicate(const std::string& tx_id) const override;
  OrderedResult Ordered(CutterMessage msg) override;
  Batch CutPending(CutReason reason) override;
  size_t PendingCount() const override { return cutter_.pending_count(); }
  Status WriteBlock(Batch batch, std::string consenter_metadata, int64_t first_seen_nanos = 0) override;
  Status AppendBlock(std::shared_ptr<const Block> block, int64_t first_seen_nanos = 0) override;

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

// ChainSupport: the per-channel machinery every consensus backend shares,
// the one ConsenterSupport.
//
// It owns the ordering step (duplicate check -> batch timer -> block cutter
// -> block assembly) and the write path (ledger append, metrics, Deliver
// listeners). The ledger is an interface: the orderer gives it the RocksDB
// BlockStore, unit tests an in-memory one, so tests of a backend run the
// same ordering step as production.
//
// Thread-safety: as ConsenterSupport. The ordering thread's state (cutter,
// timer, pending ids) has no lock; what WriteBlock shares with it (the block
// creator's head and the ids of blocks created but not written) is guarded
// by mu_.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>
#include <vector>

#include "common/clock.h"
#include "common/mutex.h"
#include "common/status.h"
#include "common/types.h"
#include "ledger/ledger.h"
#include "orderer/ack/ack_waiters.h"
#include "orderer/consensus/batch_timer.h"
#include "orderer/consensus/consenter_support.h"
#include "orderer/cutter/block_cutter.h"
#include "orderer/metrics.h"
#include "proto/common.pb.h"

namespace ordering {

// Receives every written block (after it is durable), on the writing
// thread; must not block for long.
using BlockListener = std::function<void(std::shared_ptr<const Block>)>;

// The longest BatchTimeout a channel may have (24 h).
inline constexpr uint64_t kMaxBatchTimeoutMs = 24ull * 3600 * 1000;
// The largest AbsoluteMaxBytes a channel may have (1 TiB).
inline constexpr uint64_t kMaxAbsoluteMaxBytes = uint64_t{1} << 40;

class ChainSupport final : public ConsenterSupport {
 public:
  // Opens the channel on `ledger`: writes genesis from `options` on an empty
  // ledger; otherwise the channel config stored in genesis wins (batch
  // settings must not change under an existing chain) and a differing
  // `options` is reported in *config_note. InvalidArgument if the requested
  // or the stored settings are out of range (MaxMessageCount 0,
  // PreferredMaxBytes not in 1..AbsoluteMaxBytes, AbsoluteMaxBytes above
  // kMaxAbsoluteMaxBytes, BatchTimeout not in 1 ms..kMaxBatchTimeoutMs, an
  // empty channel id). `ledger`, `metrics` and
  // `clock` must outlive the support.
  [[nodiscard]] static Status Create(const ChannelOptions& options, const std::string& consensus_type, Ledger* ledger,
                                     OrdererMetrics* metrics, const Clock* clock, std::unique_ptr<ChainSupport>* out,
                                     std::string* config_note = nullptr);

  // The batch settings and channel id can work (MaxMessageCount > 0,
  // PreferredMaxBytes in 1..AbsoluteMaxBytes, BatchTimeout > 0, an id).
  [[nodiscard]] static Status CheckOptions(const ChannelOptions& options);

  const ChannelOptions& options() const override { return options_; }
  IngressOptions ingress_options() const override;
  const Clock* clock() const override { return clock_; }
  OrdererMetrics* metrics() const override { return metrics_; }
  Ledger* ledger() const { return ledger_; }
  // The Broadcast streams waiting for their transactions to be durable.
  AckWaiters* acks() { return &acks_; }

  // REQUIRES: before the chain starts.
  void AddListener(BlockListener listener);

  BlockNumber Height() const override { return BlockNumber(ledger_->Info().height); }
  std::string LastConsenterMetadata() const override { return ledger_->Info().last_consenter; }
  Status BlockHashAt(BlockNumber number, std::string* hash) const override;

  OrderOutcome Order(CutterMessage tx) override;
  int64_t BatchDeadline() const override { return timer_.deadline(); }
  OrderedBatch CutPending() override;
  void RearmBatchTimer() override { timer_.Rearm(clock_->NowNanos()); }
  std::vector<CutterMessage> TakePending() override;
  std::shared_ptr<const Block> CreateNextBlock(Batch batch, std::string consenter_metadata) override;
  void ResetBlockCreator() override;
  void Acknowledge(const std::string& tx_id, const Status& status) override { acks_.Resolve(tx_id, status); }
  bool AwaitsAcknowledgement(const std::string& tx_id) const override { return acks_.Has(tx_id); }
  Status WriteBlock(std::shared_ptr<const Block> block, int64_t first_seen_nanos = 0) override;

 private:
  ChainSupport(const ChannelOptions& options, Ledger* ledger, OrdererMetrics* metrics, const Clock* clock);
  bool IsDuplicate(const std::string& tx_id) const;
  void ForgetPending(const Batch& batch);

  const ChannelOptions options_;
  Ledger* const ledger_;
  OrdererMetrics* const metrics_;
  const Clock* const clock_;
  std::vector<BlockListener> listeners_;
  AckWaiters acks_;

  // --- The ordering thread's.
  BlockCutter cutter_;
  BatchTimer timer_;
  std::unordered_set<std::string> pending_ids_;  // tx ids in the cutter

  // --- Shared between the ordering thread and WriteBlock.
  mutable Mutex mu_;
  uint64_t head_number_ GUARDED_BY(mu_) = 0;  // number of the next block to create
  std::string head_hash_ GUARDED_BY(mu_);     // hash of block head_number_ - 1
  // Blocks created and not yet written: their tx ids, by block number.
  struct Unwritten {
    std::string hash;              // the block's hash (raw)
    std::vector<std::string> ids;  // its tx ids
  };
  std::map<uint64_t, Unwritten> unwritten_ GUARDED_BY(mu_);
  std::unordered_set<std::string> unwritten_ids_ GUARDED_BY(mu_);
};

}  // namespace ordering

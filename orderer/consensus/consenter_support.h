// ConsenterSupport: what a consensus backend may ask of the rest of the
// orderer (after Fabric's consensus.ConsenterSupport).
//
// A backend only decides the order of transactions and when to cut; the
// block cutter, the duplicate check, block assembly and hashing, the ledger,
// delivery and the shared metrics sit behind this interface. ChainSupport is
// the real one; FakeConsenterSupport (consensus/testing) keeps blocks in
// memory for unit tests of a backend's logic without disks, sockets or sleeps.
//
// Thread-safety: the ordering methods (IsDuplicate, Ordered, CutPending,
// WriteBlock) are called from the backend's single ordering thread;
// AppendBlock from one thread at a time, which may be another; the accessors
// are thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "common/types.h"
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

class ConsenterSupport {
 public:
  virtual ~ConsenterSupport() = default;

  virtual const ChannelOptions& options() const = 0;
  // The stateless checks' settings for this channel (channel id, size limit).
  virtual IngressOptions ingress_options() const = 0;
  virtual const Clock* clock() const = 0;
  virtual OrdererMetrics* metrics() const = 0;

  // Next block number to be written (= chain height).
  virtual BlockNumber NextBlockNumber() const = 0;
  // metadata.consenter of the last block ("" for genesis): where the backend
  // left off (the Kafka backend: the last offset accounted for).
  virtual std::string LastConsenterMetadata() const = 0;
  // BlockHash of block `number` (raw 32 bytes); NotFound above the height.
  [[nodiscard]] virtual Status BlockHashAt(BlockNumber number, std::string* hash) const = 0;

  // True if `tx_id` is already in the chain or pending in the cutter.
  virtual bool IsDuplicate(const std::string& tx_id) const = 0;
  // Feeds an accepted transaction to the cutter and tracks its tx id as pending.
  virtual OrderedResult Ordered(CutterMessage msg) = 0;
  // Cuts the pending batch (possibly empty) with `reason`.
  virtual Batch CutPending(CutReason reason) = 0;
  virtual size_t PendingCount() const = 0;

  // Assembles the next block from `batch` with metadata {cut reason,
  // consenter = `consenter_metadata`}, appends it durably, updates metrics and
  // notifies Deliver. `first_seen_nanos`: when the batch's first transaction
  // arrived (for the block-cut latency; 0 if unknown).
  [[nodiscard]] virtual Status WriteBlock(Batch batch, std::string consenter_metadata,
                                          int64_t first_seen_nanos = 0) = 0;

  // Appends a block assembled elsewhere (a backend that replicates whole
  // blocks: its leader assembles with MakeBlock, every node appends the same
  // bytes). The block must be the next one (number = height, previous_hash =
  // the last block's hash); then as WriteBlock: durable, metrics, Deliver.
  // Unlike the ordering methods it may be called from a thread of its own
  // (the backend's replication thread): it does not touch the cutter.
  [[nodiscard]] virtual Status AppendBlock(std::shared_ptr<const Block> block, int64_t first_seen_nanos = 0) = 0;
};

}  // namespace ordering

// ConsenterSupport: what a consensus backend may ask of the rest of the
// orderer (after Fabric's consensus.ConsenterSupport, whose ProcessNormalMsg,
// BlockCutter().Ordered, CreateNextBlock and WriteBlock it folds together).
//
// The ordering step is written once, here: a backend hands each checked
// transaction to Order(), which runs the duplicate check, the block cutter
// and the batch timer and returns the batches to order; CreateNextBlock()
// assembles a batch into the next block with the backend's opaque metadata;
// WriteBlock() appends a block durably and hands it to Deliver. A backend
// adds only its transport (a Kafka partition, Raft) and its resume state
// (the metadata bytes). ChainSupport (orderer/chain_support.h) is the one
// implementation; tests run it over an in-memory ledger
// (orderer/consensus/testing/test_channel.h).
//
// Thread-safety: the ordering methods (Order, BatchDeadline, CutPending,
// RearmBatchTimer, TakePending, CreateNextBlock, ResetBlockCreator) are
// called from the backend's one ordering thread; WriteBlock from one thread
// at a time, which may be another (Raft applies committed blocks on its
// loop thread); everything else from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

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

// A batch the cutter has cut, ready to become a block.
struct OrderedBatch {
  Batch batch;
  // When the batch's first transaction reached Order() (Clock nanos), for
  // the block-fill latency.
  int64_t first_seen_nanos = 0;
  // The batch holds the transaction whose Order() call cut it (the Kafka
  // backend: only such a batch accounts for that record's offset).
  bool holds_ordered_tx = false;
};

struct OrderOutcome {
  // The transaction was rejected (and counted) as a duplicate: its tx id is
  // in the chain, pending in the cutter, or in a block created and not yet
  // written.
  bool duplicate = false;
  std::vector<OrderedBatch> batches;  // 0, 1 or 2, in order (see BlockCutter)
};

class ConsenterSupport {
 public:
  virtual ~ConsenterSupport() = default;

  virtual const ChannelOptions& options() const = 0;
  // The stateless checks' settings for this channel (channel id, size limit).
  virtual IngressOptions ingress_options() const = 0;
  virtual const Clock* clock() const = 0;
  virtual OrdererMetrics* metrics() const = 0;

  // --- The chain as written (thread-safe).

  // Blocks written (= the next block number to write).
  virtual BlockNumber Height() const = 0;
  // metadata.consenter of the last written block ("" for genesis): where the
  // backend left off (the Kafka backend: the last offset accounted for).
  virtual std::string LastConsenterMetadata() const = 0;
  // BlockHash of block `number` (raw 32 bytes); NotFound above the height.
  [[nodiscard]] virtual Status BlockHashAt(BlockNumber number, std::string* hash) const = 0;

  // --- The ordering step (the ordering thread).

  // Takes a transaction that passed ingress through the duplicate check, the
  // batch timer and the block cutter. Counts a duplicate as rejected.
  virtual OrderOutcome Order(CutterMessage tx) = 0;
  // When BatchTimeout fires for the pending batch (Clock nanos); 0 when
  // nothing is pending or the timer was stopped.
  virtual int64_t BatchDeadline() const = 0;
  // Cuts the pending batch with CUT_REASON_TIMEOUT (empty if nothing is
  // pending) and stops the batch timer.
  virtual OrderedBatch CutPending() = 0;
  // Fires the batch timer again a full BatchTimeout from now (the Kafka
  // backend posted a time-to-cut that may be lost).
  virtual void RearmBatchTimer() = 0;
  // Gives back every pending transaction, uncut, and stops the timer (a
  // Raft leader that lost its leadership hands them on).
  virtual std::vector<CutterMessage> TakePending() = 0;

  // Assembles the block after the last one created (or written, if later)
  // from `batch`, with metadata {cut reason, consenter =
  // `consenter_metadata`}. Until it is written (or ResetBlockCreator), its
  // transactions count as duplicates.
  virtual std::shared_ptr<const Block> CreateNextBlock(Batch batch, std::string consenter_metadata) = 0;
  // Forgets blocks created and not written: the next block builds on the
  // last written one and their transactions are no longer duplicates (a new
  // Raft leader, whose earlier proposals failed).
  virtual void ResetBlockCreator() = 0;

  // --- Acknowledgements (thread-safe).

  // The backend made `tx_id` durable by its own rule (OK; the Kafka
  // backend: the broker acknowledged the produce) or failed to (an error):
  // a Broadcast stream waiting for it answers now. Blocks written resolve
  // their transactions without this call.
  virtual void Acknowledge(const std::string& tx_id, const Status& status) = 0;
  // Whether a Broadcast stream here still waits for `tx_id`'s answer.
  virtual bool AwaitsAcknowledgement(const std::string& tx_id) const = 0;

  // --- Writing (one thread at a time).

  // Appends `block` durably (it must be the next after the last written),
  // updates the metrics, acknowledges its transactions to the Broadcast
  // streams waiting for them (orderer/ack/ack_waiters.h) and hands it to
  // Deliver. `first_seen_nanos`: when
  // its first transaction reached Order() (0 if unknown, e.g. a block a
  // Raft follower applies).
  [[nodiscard]] virtual Status WriteBlock(std::shared_ptr<const Block> block, int64_t first_seen_nanos = 0) = 0;
};

}  // namespace ordering

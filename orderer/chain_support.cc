#include "orderer/chain_support.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "ledger/block_util.h"

namespace ordering {
namespace {

ChannelConfig ToChannelConfig(const ChannelOptions& o, const std::string& consensus_type) {
  ChannelConfig c;
  c.set_channel_id(o.channel_id);
  c.mutable_batch_size()->set_max_message_count(o.batch_size.max_message_count);
  c.mutable_batch_size()->set_absolute_max_bytes(o.batch_size.absolute_max_bytes);
  c.mutable_batch_size()->set_preferred_max_bytes(o.batch_size.preferred_max_bytes);
  c.set_batch_timeout_ms(o.batch_timeout_ms);
  c.set_consensus_type(consensus_type);
  return c;
}

ChannelOptions FromChannelConfig(const ChannelConfig& c) {
  ChannelOptions o;
  o.channel_id = c.channel_id();
  o.batch_size.max_message_count = c.batch_size().max_message_count();
  o.batch_size.absolute_max_bytes = c.batch_size().absolute_max_bytes();
  o.batch_size.preferred_max_bytes = c.batch_size().preferred_max_bytes();
  o.batch_timeout_ms = c.batch_timeout_ms();
  return o;
}

}  // namespace

ChainSupport::ChainSupport(const ChannelOptions& options, Ledger* ledger, OrdererMetrics* metrics, const Clock* clock)
    : options_(options),
      ledger_(ledger),
      metrics_(metrics),
      clock_(clock),
      cutter_(options.batch_size),
      timer_(options.batch_timeout_ms) {
  const LedgerInfo info = ledger->Info();
  head_number_ = info.height;
  head_hash_ = info.last_hash;
}

// The requested settings, and those an existing ledger's genesis holds
// (read back, so checked again: a genesis block this orderer did not write
// could hold anything).
Status ChainSupport::CheckOptions(const ChannelOptions& o) {
  const BatchSizeOptions& b = o.batch_size;
  if (b.max_message_count == 0) return Status::InvalidArgument("MaxMessageCount (--max-message-count) must be > 0");
  if (b.preferred_max_bytes == 0 || b.preferred_max_bytes > b.absolute_max_bytes) {
    return Status::InvalidArgument(
        "PreferredMaxBytes (--preferred-max-bytes) must be in 1..AbsoluteMaxBytes (--absolute-max-bytes)");
  }
  // Ingress, Broadcast's receive limit and the Kafka consumer's fetch size
  // add their framing to it.
  if (b.absolute_max_bytes > kMaxAbsoluteMaxBytes) {
    return Status::InvalidArgument("AbsoluteMaxBytes (--absolute-max-bytes) must be at most 1 TiB, not " +
                                   std::to_string(b.absolute_max_bytes));
  }
  // The batch timer counts in int64 nanoseconds from the clock's now.
  if (o.batch_timeout_ms == 0 || o.batch_timeout_ms > kMaxBatchTimeoutMs) {
    return Status::InvalidArgument("BatchTimeout (--batch-timeout) must be in 1 ms..24 h, not " +
                                   std::to_string(o.batch_timeout_ms) + " ms");
  }
  if (o.channel_id.empty()) return Status::InvalidArgument("the channel id (--channel) is empty");
  return Status::OK();
}

Status ChainSupport::Create(const ChannelOptions& requested, const std::string& consensus_type, Ledger* ledger,
                            OrdererMetrics* metrics, const Clock* clock, std::unique_ptr<ChainSupport>* out,
                            std::string* config_note) {
  ORDERING_RETURN_IF_ERROR(CheckOptions(requested));

  ChannelOptions effective = requested;
  LedgerInfo info = ledger->Info();
  ChannelConfig wanted = ToChannelConfig(requested, consensus_type);
  if (info.height == 0) {
    ORDERING_RETURN_IF_ERROR(ledger->Append(MakeGenesisBlock(wanted)).WithContext("writing genesis"));
  } else {
    Block genesis;
    ORDERING_RETURN_IF_ERROR(ledger->GetBlock(BlockNumber(0), &genesis).WithContext("reading genesis"));
    ChannelConfig stored;
    ORDERING_RETURN_IF_ERROR(ReadGenesisConfig(genesis, &stored));
    if (stored.channel_id() != requested.channel_id) {
      return Status::InvalidArgument("ledger belongs to channel '" + stored.channel_id() + "', not '" +
                                     requested.channel_id + "'");
    }
    if (stored.consensus_type() != consensus_type) {
      return Status::InvalidArgument("ledger was ordered by '" + stored.consensus_type() + "', not '" + consensus_type +
                                     "'");
    }
    effective = FromChannelConfig(stored);
    ORDERING_RETURN_IF_ERROR(CheckOptions(effective).WithContext("the ledger's genesis block"));
    if (config_note != nullptr && stored.SerializeAsString() != wanted.SerializeAsString()) {
      *config_note = "batch settings come from the ledger's genesis block (" + stored.ShortDebugString() +
                     "); the requested ones (" + wanted.ShortDebugString() + ") are ignored";
    }
  }
  metrics->height = ledger->Info().height;
  out->reset(new ChainSupport(effective, ledger, metrics, clock));
  return Status::OK();
}

IngressOptions ChainSupport::ingress_options() const {
  IngressOptions o;
  o.channel_id = options_.channel_id;
  o.absolute_max_bytes = options_.batch_size.absolute_max_bytes;
  o.verify_duration = &metrics_->verify_duration;
  return o;
}

Status ChainSupport::BlockHashAt(BlockNumber number, std::string* hash) const {
  LedgerInfo info = ledger_->Info();
  if (number.value() >= info.height) {
    return Status::NotFound("block " + std::to_string(number.value()) + " is above the height " +
                            std::to_string(info.height));
  }
  if (number.value() + 1 == info.height) {
    *hash = info.last_hash;
    return Status::OK();
  }
  Block block;
  ORDERING_RETURN_IF_ERROR(ledger_->GetBlock(number, &block));
  *hash = DigestBytes(BlockHash(block));
  return Status::OK();
}

void ChainSupport::AddListener(BlockListener listener) { listeners_.push_back(std::move(listener)); }

bool ChainSupport::IsDuplicate(const std::string& tx_id) const {
  if (pending_ids_.count(tx_id)) return true;
  {
    MutexLock l(&mu_);
    if (unwritten_ids_.count(tx_id)) return true;
  }
  TxLocation loc;
  return ledger_->FindTx(tx_id, &loc).ok();
}

void ChainSupport::ForgetPending(const Batch& batch) {
  for (const CutterMessage& m : batch.messages) pending_ids_.erase(m.tx_id);
}

OrderOutcome ChainSupport::Order(CutterMessage tx) {
  OrderOutcome out;
  if (IsDuplicate(tx.tx_id)) {
    metrics_->Reject(RejectCause::kDuplicate);
    SPDLOG_DEBUG("rejected tx {}: duplicate", tx.tx_id);
    out.duplicate = true;
    // A waiting stream's transaction that is in the chain already (it came
    // in another way too) is durable: answer it. One pending or in a block
    // not yet written is answered when that block is.
    TxLocation loc;
    if (!acks_.empty() && ledger_->FindTx(tx.tx_id, &loc).ok()) acks_.Resolve(tx.tx_id, Status::OK());
    return out;
  }
  const int64_t now = clock_->NowNanos();
  timer_.Arrived(now, cutter_.pending_count() == 0);
  pending_ids_.insert(tx.tx_id);
  OrderedResult r = cutter_.Ordered(std::move(tx));
  const std::vector<int64_t> first_seen = timer_.Ordered(r, now);
  out.batches.reserve(r.batches.size());
  for (size_t i = 0; i < r.batches.size(); ++i) {
    ForgetPending(r.batches[i]);
    const bool holds = r.message_in_batches && i + 1 == r.batches.size();
    out.batches.push_back(OrderedBatch{std::move(r.batches[i]), first_seen[i], holds});
  }
  return out;
}

OrderedBatch ChainSupport::CutPending() {
  timer_.Clear();
  OrderedBatch b{cutter_.Cut(CUT_REASON_TIMEOUT), timer_.first_seen(), false};
  ForgetPending(b.batch);
  return b;
}

std::vector<CutterMessage> ChainSupport::TakePending() {
  timer_.Clear();
  Batch b = cutter_.Cut(CUT_REASON_TIMEOUT);
  ForgetPending(b);
  return std::move(b.messages);
}

std::shared_ptr<const Block> ChainSupport::CreateNextBlock(Batch batch, std::string consenter_metadata) {
  std::vector<std::string> envelopes;
  std::vector<std::string> ids;
  envelopes.reserve(batch.messages.size());
  ids.reserve(batch.messages.size());
  for (CutterMessage& m : batch.messages) {
    envelopes.push_back(std::move(m.envelope));
    ids.push_back(std::move(m.tx_id));
  }
  BlockMetadata md;
  md.set_cut_reason(batch.reason);
  md.set_consenter(std::move(consenter_metadata));
  MutexLock l(&mu_);
  auto block = std::make_shared<Block>(MakeBlock(BlockNumber(head_number_), head_hash_, std::move(envelopes), md));
  for (const std::string& id : ids) unwritten_ids_.insert(id);
  head_hash_ = DigestBytes(BlockHash(*block));
  unwritten_[head_number_] = Unwritten{head_hash_, std::move(ids)};
  ++head_number_;
  return block;
}

void ChainSupport::ResetBlockCreator() {
  const LedgerInfo info = ledger_->Info();
  MutexLock l(&mu_);
  unwritten_.clear();
  unwritten_ids_.clear();
  head_number_ = info.height;
  head_hash_ = info.last_hash;
}

Status ChainSupport::WriteBlock(std::shared_ptr<const Block> block, int64_t first_seen_nanos) {
  const uint64_t number = block->header().number();
  const int64_t write_start = clock_->NowNanos();
  if (first_seen_nanos > 0) metrics_->block_fill_duration.ObserveNanos(write_start - first_seen_nanos);
  ORDERING_RETURN_IF_ERROR(ledger_->Append(*block).WithContext("appending block " + std::to_string(number)));
  metrics_->BlockWritten(static_cast<uint64_t>(std::max<int64_t>(0, clock_->NowNanos() - write_start)));
  const std::string hash = DigestBytes(BlockHash(*block));
  std::vector<std::string> written_ids;  // wanted only while a stream waits
  bool own_block = false;
  {
    MutexLock l(&mu_);
    // The block this node created under this number, if it is the one
    // written: a Raft leader's failed proposal may be superseded by another
    // leader's block with the same number and other transactions, which
    // must not be acknowledged.
    auto own = unwritten_.find(number);
    if (own != unwritten_.end() && own->second.hash == hash) {
      own_block = true;
      if (!acks_.empty()) written_ids = own->second.ids;
    }
    // Blocks this node created up to `number` are settled: written, or
    // superseded.
    for (auto it = unwritten_.begin(); it != unwritten_.end() && it->first <= number;) {
      for (const std::string& id : it->second.ids) unwritten_ids_.erase(id);
      it = unwritten_.erase(it);
    }
    if (head_number_ <= number) {
      head_number_ = number + 1;
      head_hash_ = hash;
    }
  }
  if (!acks_.empty()) {
    // A block this node did not create (a Raft follower's, or another
    // leader's that superseded this node's proposal): read its ids.
    if (!own_block && block->data().data_size() > 0) {
      Status st = ExtractTxIds(*block, &written_ids);
      if (!st.ok()) spdlog::warn("block {}: reading its tx ids to acknowledge them: {}", number, st.ToString());
    }
    acks_.ResolveDurable(written_ids);
  }
  uint64_t bytes = 0;
  for (const std::string& env : block->data().data()) bytes += env.size();
  const CutReason reason = block->metadata().cut_reason();
  metrics_->blocks_written++;
  metrics_->txs_ordered += static_cast<uint64_t>(block->data().data_size());
  metrics_->bytes_ordered += bytes;
  metrics_->height = number + 1;
  metrics_->Cut(reason);
  if (first_seen_nanos > 0) metrics_->cut_latency_ns_sum += clock_->NowNanos() - first_seen_nanos;
  SPDLOG_DEBUG("block {} written: {} txs, cut {}", number, block->data().data_size(), CutReason_Name(reason));
  for (const auto& l : listeners_) l(block);
  return Status::OK();
}

}  // namespace ordering

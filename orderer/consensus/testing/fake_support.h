// FakeConsenterSupport: ConsenterSupport in memory, for unit tests of a
// backend's logic. It cuts with the real BlockCutter and assembles blocks
// with the real MakeBlock/BlockHash, so blocks are what ChainSupport would
// write; it keeps them in a vector instead of RocksDB and lets a test wait
// for a height (bounded) instead of sleeping.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <string>
#include <unordered_set>
#include <vector>

#include "common/bytes.h"
#include "ledger/block_util.h"
#include "orderer/consensus/consenter_support.h"

namespace ordering::testing {

// Polls `pred` every millisecond until it holds or `timeout` (real time) passes.
inline bool PollUntil(const std::function<bool()>& pred,
                      std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return pred();
}

class FakeConsenterSupport final : public ConsenterSupport {
 public:
  FakeConsenterSupport(const ChannelOptions& options, const Clock* clock)
      : options_(options), clock_(clock), cutter_(options.batch_size) {
    ChannelConfig config;
    config.set_channel_id(options.channel_id);
    config.set_consensus_type("fake");
    blocks_.push_back(MakeGenesisBlock(config));
  }

  const ChannelOptions& options() const override { return options_; }
  IngressOptions ingress_options() const override {
    return IngressOptions{options_.channel_id, options_.batch_size.absolute_max_bytes};
  }
  const Clock* clock() const override { return clock_; }
  OrdererMetrics* metrics() const override { return &metrics_; }

  BlockNumber NextBlockNumber() const override {
    std::lock_guard<std::mutex> l(mu_);
    return BlockNumber(blocks_.size());
  }
  std::string LastConsenterMetadata() const override {
    std::lock_guard<std::mutex> l(mu_);
    return blocks_.back().metadata().consenter();
  }
  Status BlockHashAt(BlockNumber number, std::string* hash) const override {
    std::lock_guard<std::mutex> l(mu_);
    if (number.value() >= blocks_.size()) return Status::NotFound("above the height");
    *hash = DigestBytes(BlockHash(blocks_[number.value()]));
    return Status::OK();
  }

  bool IsDuplicate(const std::string& tx_id) const override {
    std::lock_guard<std::mutex> l(mu_);
    return pending_ids_.count(tx_id) > 0 || ordered_ids_.count(tx_id) > 0;
  }
  OrderedResult Ordered(CutterMessage msg) override {
    {
      std::lock_guard<std::mutex> l(mu_);
      pending_ids_.insert(msg.tx_id);
    }
    return cutter_.Ordered(std::move(msg));
  }
  Batch CutPending(CutReason reason) override { return cutter_.Cut(reason); }
  size_t PendingCount() const override { return cutter_.pending_count(); }

  Status WriteBlock(Batch batch, std::string consenter_metadata, int64_t /*first_seen_nanos*/) override {
    {
      std::unique_lock<std::mutex> l(mu_);
      writing_ = true;
      cv_.notify_all();
      cv_.wait(l, [&] { return !hold_writes_; });
      writing_ = false;
      if (!write_error_.ok()) return write_error_;
    }
    std::vector<std::string> envelopes;
    BlockMetadata md;
    md.set_cut_reason(batch.reason);
    md.set_consenter(std::move(consenter_metadata));
    {
      std::lock_guard<std::mutex> l(mu_);
      for (CutterMessage& m : batch.messages) {
        pending_ids_.erase(m.tx_id);
        ordered_ids_.insert(m.tx_id);
        envelopes.push_back(std::move(m.envelope));
      }
      const std::string prev = DigestBytes(BlockHash(blocks_.back()));
      blocks_.push_back(MakeBlock(BlockNumber(blocks_.size()), prev, std::move(envelopes), md));
      metrics_.blocks_written++;
      metrics_.txs_ordered += blocks_.back().data().data_size();
      metrics_.height = blocks_.size();
      metrics_.Cut(batch.reason);
    }
    cv_.notify_all();
    return Status::OK();
  }

  Status AppendBlock(std::shared_ptr<const Block> block, int64_t /*first_seen_nanos*/) override {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (!write_error_.ok()) return write_error_;
      if (block->header().number() != blocks_.size()) {
        return Status::InvalidArgument("block " + std::to_string(block->header().number()) + " is not the next (" +
                                       std::to_string(blocks_.size()) + ")");
      }
      if (block->header().previous_hash() != DigestBytes(BlockHash(blocks_.back()))) {
        return Status::InvalidArgument("block " + std::to_string(block->header().number()) +
                                       " does not link to the last block");
      }
      std::vector<std::string> ids;
      Status st = ExtractTxIds(*block, &ids);
      if (!st.ok()) return st;
      for (const std::string& id : ids) ordered_ids_.insert(id);
      blocks_.push_back(*block);
      metrics_.blocks_written++;
      metrics_.txs_ordered += block->data().data_size();
      metrics_.height = blocks_.size();
      metrics_.Cut(block->metadata().cut_reason());
    }
    cv_.notify_all();
    return Status::OK();
  }

  // Every block so far, genesis first.
  std::vector<Block> blocks() const {
    std::lock_guard<std::mutex> l(mu_);
    return blocks_;
  }
  // Waits (real time, bounded) until the chain has `height` blocks.
  bool WaitForHeight(size_t height, std::chrono::milliseconds timeout = std::chrono::seconds(10)) const {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, timeout, [&] { return blocks_.size() >= height; });
  }
  // Makes every later WriteBlock fail with `st` (a full disk, say).
  void FailWritesWith(Status st) {
    std::lock_guard<std::mutex> l(mu_);
    write_error_ = std::move(st);
  }
  // While held, WriteBlock waits (a slow disk): the chain's queue fills up.
  void HoldWrites(bool hold) {
    {
      std::lock_guard<std::mutex> l(mu_);
      hold_writes_ = hold;
    }
    cv_.notify_all();
  }
  // Waits (bounded) until a WriteBlock is waiting on HoldWrites.
  bool WaitForHeldWrite(std::chrono::milliseconds timeout = std::chrono::seconds(10)) const {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, timeout, [&] { return writing_ && hold_writes_; });
  }

 private:
  ChannelOptions options_;
  const Clock* clock_;
  mutable OrdererMetrics metrics_;
  BlockCutter cutter_;  // ordering thread only
  mutable std::mutex mu_;
  Status write_error_;       // GUARDED_BY(mu_)
  bool hold_writes_ = false;  // GUARDED_BY(mu_)
  bool writing_ = false;      // GUARDED_BY(mu_)
  mutable std::condition_variable cv_;
  std::vector<Block> blocks_;                   // GUARDED_BY(mu_)
  std::unordered_set<std::string> pending_ids_;  // GUARDED_BY(mu_)
  std::unordered_set<std::string> ordered_ids_;  // GUARDED_BY(mu_)
};

}  // namespace ordering::testing

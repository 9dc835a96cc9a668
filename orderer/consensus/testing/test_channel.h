// TestChannel: one channel's real ChainSupport over an in-memory ledger
// (with fault injection), for unit tests of a backend: the same ordering
// step as production, without disks, sockets or sleeps.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "ledger/block_util.h"
#include "ledger/memory_ledger.h"
#include "orderer/chain_support.h"
#include "orderer/consensus/testing/faulty_ledger.h"

namespace ordering::testing {

// Polls `pred` every millisecond until it holds or `timeout` (real time)
// passes: for conditions on threads a test does not drive.
inline bool PollUntil(const std::function<bool()>& pred, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return pred();
}

// A transaction the ordering step accepts: an Envelope whose header carries
// `tx_id` (unsigned: ingress is not part of these tests). `size` is what the
// cutter counts.
inline CutterMessage TestTx(const std::string& tx_id, uint64_t size = 100) {
  Payload payload;
  payload.mutable_header()->set_tx_id(tx_id);
  payload.mutable_header()->set_creator("test");
  Envelope env;
  env.set_payload(payload.SerializeAsString());
  return CutterMessage{env.SerializeAsString(), size, tx_id};
}

// The tx ids of a block's transactions, in order.
inline std::vector<std::string> TxIds(const Block& block) {
  std::vector<std::string> ids;
  if (!ExtractTxIds(block, &ids).ok()) ids = {"<not transactions>"};
  return ids;
}

class TestChannel {
 public:
  // A new channel (genesis written) ordered by `consensus_type`.
  TestChannel(const ChannelOptions& options, const Clock* clock, const std::string& consensus_type = "test")
      : options_(options), clock_(clock), consensus_type_(consensus_type), faulty_(&memory_) {
    Reopen();
  }

  // A new ChainSupport on the same ledger, as a restarted orderer opens it
  // (the old one's in-memory state is gone). REQUIRES: no chain uses the
  // old one any more.
  void Reopen() {
    support_.reset();
    Status st = ChainSupport::Create(options_, consensus_type_, &faulty_, &metrics_, clock_, &support_);
    if (!st.ok()) throw std::runtime_error(st.ToString());
  }

  ChainSupport* support() { return support_.get(); }
  OrdererMetrics* metrics() { return &metrics_; }
  MemoryLedger* ledger() { return &memory_; }
  FaultyLedger* faults() { return &faulty_; }
  std::vector<Block> blocks() const { return memory_.blocks(); }
  bool WaitForHeight(uint64_t height, std::chrono::milliseconds timeout = std::chrono::seconds(10)) const {
    return memory_.WaitForHeight(height, timeout);
  }

 private:
  const ChannelOptions options_;
  const Clock* const clock_;
  const std::string consensus_type_;
  MemoryLedger memory_;
  FaultyLedger faulty_;
  OrdererMetrics metrics_;
  std::unique_ptr<ChainSupport> support_;
};

}  // namespace ordering::testing

// The solo backend (after Fabric's solo): one orderer, no replication; the
// order is the order in which Broadcast hands transactions over. It is the
// reference every other backend is compared with: ordering costs nothing
// beyond the shared pipeline (duplicate check, cutter, block write, Deliver).
//
// One ordering thread takes transactions from a bounded queue (Order()
// blocks while it is full), rejects duplicates, feeds the cutter and writes
// blocks; the batch timer is the injected Clock's (a ManualClock drives it in
// tests). Blocks carry no consenter metadata: a restart simply continues
// from the ledger's height; transactions accepted but not yet in a block
// when the node stops are lost, as in Fabric's solo (Broadcast has answered
// SUCCESS for them, so a client that needs them resubmits on reconnect).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "orderer/consensus/batch_timer.h"
#include "orderer/consensus/consensus.h"
#include "orderer/consensus/consenter_support.h"
#include "orderer/consensus/registry.h"

namespace ordering::solo {

struct SoloOptions {
  size_t queue_capacity = 10000;  // Default: 10,000 transactions waiting to be ordered
};

class SoloChain final : public Chain {
 public:
  SoloChain(ConsenterSupport* support, const SoloOptions& options);
  ~SoloChain() override;

  Status Start() override;
  Status Order(CutterMessage tx) override;
  Status WaitReady() override { return Errored(); }
  Status Errored() const override;
  void Halt() override;

 private:
  void Loop();
  Status Process(CutterMessage& tx);
  Status WriteTimeoutBlock();

  ConsenterSupport* support_;
  const SoloOptions options_;
  mutable std::mutex mu_;
  std::condition_variable ready_cv_;  // the loop: work queued, or stop
  std::condition_variable space_cv_;  // Order(): room in the queue, or stop
  std::deque<CutterMessage> queue_;   // GUARDED_BY(mu_)
  bool stop_ = false;                 // GUARDED_BY(mu_)
  Status error_;                      // GUARDED_BY(mu_)
  std::thread thread_;
  std::once_flag halt_once_;

  BatchTimer timer_;  // ordering thread
};

class SoloConsenter final : public Consenter {
 public:
  explicit SoloConsenter(const SoloOptions& options) : options_(options) {}
  std::string Type() const override { return "solo"; }
  Status HandleChain(ConsenterSupport* support, std::unique_ptr<Chain>* chain) override {
    *chain = std::make_unique<SoloChain>(support, options_);
    return Status::OK();
  }

 private:
  SoloOptions options_;
};

std::unique_ptr<Backend> MakeBackend();

// A consenter factory that makes only this backend (for tests and programs
// that embed an OrdererNode): OrdererOptions::make_consenter = OnlySolo().
inline ConsenterFactory OnlySolo(SoloOptions options = {}) { return OnlyConsenter<SoloConsenter>("solo", options); }

}  // namespace ordering::solo

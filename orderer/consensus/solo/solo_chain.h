// The solo backend (after Fabric's solo): one orderer, no replication; the
// order is the order in which Broadcast hands transactions over. It is the
// reference every other backend is compared with: it adds nothing to the
// shared ordering step (ConsenterSupport) but a queue and a thread.
//
// One ordering thread takes transactions from a bounded SubmitQueue
// (Order() blocks while it is full), runs each through the ordering step and
// writes the blocks it cuts; the batch timer follows the injected Clock (a
// ManualClock drives it in tests). Blocks carry no consenter metadata: a
// restart continues from the ledger's height; transactions accepted but not
// yet in a block when the node stops are lost, as in Fabric's solo
// (Broadcast answered SUCCESS for them; a client that needs them resubmits).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "orderer/consensus/consensus.h"
#include "orderer/consensus/consenter_support.h"
#include "orderer/consensus/submit_queue.h"

namespace ordering::solo {

struct SoloOptions {
  size_t queue_capacity = 10000;  // Default: 10,000 transactions waiting to be ordered
};

class SoloChain final : public Chain {
 public:
  SoloChain(ConsenterSupport* support, const SoloOptions& options)
      : support_(support), queue_(options.queue_capacity, "solo chain") {}
  ~SoloChain() override { Halt(); }

  Status Start() override;
  Status Order(CutterMessage tx) override { return queue_.Push(std::move(tx)); }
  Status WaitReady() override { return Errored(); }
  Status Errored() const override { return queue_.error(); }
  void Halt() override;

 private:
  void Loop();
  Status Write(OrderedBatch batch);

  ConsenterSupport* const support_;
  SubmitQueue queue_;
  std::thread thread_;
  std::once_flag halt_once_;
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

// A consenter factory that makes only this backend (for tests and programs
// that embed an OrdererNode): OrdererOptions::make_consenter = OnlySolo().
inline ConsenterFactory OnlySolo(SoloOptions options = {}) { return OnlyConsenter<SoloConsenter>("solo", options); }

}  // namespace ordering::solo

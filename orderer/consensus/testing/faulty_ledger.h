// FaultyLedger: a Ledger decorator that injects storage faults for tests of
// the ordering logic (after Redpanda's failure_injectable_log): appends that
// fail (a full disk) or wait (a slow disk), around any real ledger.
// Thread-safety: as Ledger; the fault switches from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "common/mutex.h"
#include "ledger/ledger.h"

namespace ordering::testing {

class FaultyLedger final : public Ledger {
 public:
  // `base` must outlive this ledger.
  explicit FaultyLedger(Ledger* base) : base_(base) {}

  LedgerInfo Info() const override { return base_->Info(); }
  Status Append(const Block& block) override {
    {
      MutexLock l(&mu_);
      appending_ = true;
      cv_.notify_all();
      cv_.wait(l.native(), [&]() REQUIRES(mu_) { return !hold_; });
      appending_ = false;
      if (!error_.ok()) return error_;
    }
    return base_->Append(block);
  }
  Status GetBlock(BlockNumber number, Block* block) const override { return base_->GetBlock(number, block); }
  Status FindTx(std::string_view tx_id, TxLocation* location) const override { return base_->FindTx(tx_id, location); }

  // Every later Append fails with `st` (and stores nothing).
  void FailAppendsWith(Status st) {
    MutexLock l(&mu_);
    error_ = std::move(st);
  }
  // While held, Append waits.
  void HoldAppends(bool hold) {
    {
      MutexLock l(&mu_);
      hold_ = hold;
    }
    cv_.notify_all();
  }
  // Waits (real time, bounded) until an Append is waiting on HoldAppends.
  bool WaitForHeldAppend(std::chrono::milliseconds timeout = std::chrono::seconds(10)) const {
    MutexLock l(&mu_);
    return cv_.wait_for(l.native(), timeout, [&]() REQUIRES(mu_) { return appending_ && hold_; });
  }

 private:
  Ledger* const base_;
  mutable Mutex mu_;
  mutable std::condition_variable cv_;
  Status error_ GUARDED_BY(mu_);
  bool hold_ GUARDED_BY(mu_) = false;
  bool appending_ GUARDED_BY(mu_) = false;
};

}  // namespace ordering::testing

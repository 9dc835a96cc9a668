#include "orderer/consensus/solo/solo_chain.h"

#include <spdlog/spdlog.h>

#include <deque>

namespace ordering::solo {

Status SoloChain::Start() {
  spdlog::info("solo chain: channel {} resumes at block {}", support_->options().channel_id,
               support_->Height().value());
  thread_ = std::thread([this] { Loop(); });
  return Status::OK();
}

void SoloChain::Halt() {
  std::call_once(halt_once_, [this] {
    queue_.Halt();
    if (thread_.joinable()) thread_.join();
  });
}

void SoloChain::Loop() {
  const Clock* clock = support_->clock();
  std::deque<CutterMessage> work;
  while (queue_.Wait(clock, support_->BatchDeadline(), /*for_items=*/true)) {
    queue_.TakeAll(&work);
    Status st;
    for (; st.ok() && !work.empty(); work.pop_front()) {
      support_->metrics()->received++;
      OrderOutcome outcome = support_->Order(std::move(work.front()));
      for (OrderedBatch& b : outcome.batches) {
        if (st.ok()) st = Write(std::move(b));
      }
    }
    const int64_t deadline = support_->BatchDeadline();
    if (st.ok() && deadline != 0 && clock->NowNanos() >= deadline) st = Write(support_->CutPending());
    if (!st.ok()) {
      spdlog::error("solo chain stopped: {}", st.ToString());
      queue_.Fail(st);
      // Nothing it still holds will be ordered: whoever waits for one of
      // those transactions is answered now. The queue refuses what comes
      // after, so nothing slips in between.
      const Status stopped = Status::Unavailable("the solo chain stopped: " + st.message());
      queue_.TakeAll(&work);
      for (const CutterMessage& m : work) support_->Acknowledge(m.tx_id, stopped);
      for (const CutterMessage& m : support_->TakePending()) support_->Acknowledge(m.tx_id, stopped);
      return;
    }
  }
}

Status SoloChain::Write(OrderedBatch b) {
  if (b.batch.messages.empty()) return Status::OK();
  return support_->WriteBlock(support_->CreateNextBlock(std::move(b.batch), ""), b.first_seen_nanos);
}

}  // namespace ordering::solo

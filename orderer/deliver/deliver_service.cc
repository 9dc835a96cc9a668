#include "orderer/deliver/deliver_service.h"

#include <spdlog/spdlog.h>

#include <chrono>

namespace ordering {

DeliverService::DeliverService(const Ledger* ledger, size_t recent_blocks, std::function<Status()> errored,
                               AtomicHistogram* send_duration)
    : ledger_(ledger), recent_capacity_(recent_blocks), errored_(std::move(errored)), send_duration_(send_duration) {
  height_ = ledger_->Info().height;
}

void DeliverService::Publish(std::shared_ptr<const Block> block) {
  {
    MutexLock l(&mu_);
    uint64_t n = block->header().number();
    if (n + 1 <= height_) return;       // already known
    if (n != height_) recent_.clear();  // gap (should not happen): serve from the ledger
    recent_.push_back(std::move(block));
    while (recent_.size() > recent_capacity_) recent_.pop_front();
    height_ = n + 1;
  }
  cv_.notify_all();
}

void DeliverService::Shutdown() {
  {
    MutexLock l(&mu_);
    shutdown_ = true;
  }
  cv_.notify_all();
}

Status DeliverService::Fetch(uint64_t number, std::shared_ptr<const Block>* block) {
  {
    MutexLock l(&mu_);
    if (number >= height_) return Status::NotFound("not committed yet");
    if (!recent_.empty()) {
      uint64_t first = recent_.front()->header().number();
      if (number >= first) {
        *block = recent_[number - first];
        return Status::OK();
      }
    }
  }
  auto b = std::make_shared<Block>();
  Status st = ledger_->GetBlock(BlockNumber(number), b.get());
  // The block is below the height, so "not found" means the ledger lost it.
  if (!st.ok()) return Status::Corruption("reading committed block " + std::to_string(number) + ": " + st.ToString());
  *block = std::move(b);
  return Status::OK();
}

Status DeliverService::Serve(const SeekInfo& request, DeliverStreamIo* io) {
  uint64_t next = 0;
  {
    MutexLock l(&mu_);
    if (shutdown_) return Status::Unavailable("orderer shutting down");
    switch (request.start()) {
      case SeekInfo::NEWEST:
        next = height_ > 0 ? height_ - 1 : 0;
        break;
      case SeekInfo::OLDEST:
        next = 0;
        break;
      case SeekInfo::SPECIFIED:
        next = request.number();
        break;
      default:
        return Status::InvalidArgument("unknown seek start");
    }
  }
  SPDLOG_DEBUG("deliver: {} streams from block {}", io->Peer(), next);
  DeliverResponse response;
  auto end_unavailable = [&](const std::string& why) {
    spdlog::warn("deliver: ending the stream of {} at block {}: {}", io->Peer(), next, why);
    response.set_status(DELIVER_STATUS_SERVICE_UNAVAILABLE);
    io->Write(response);
    return Status::OK();
  };
  while (!io->IsCancelled()) {
    std::shared_ptr<const Block> block;
    Status st = Fetch(next, &block);
    if (st.ok()) {
      *response.mutable_block() = *block;
      const auto send_start = std::chrono::steady_clock::now();
      const bool sent = io->Write(response);
      if (send_duration_ != nullptr) {
        send_duration_->ObserveNanos(
            std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - send_start)
                .count());
      }
      if (!sent) break;  // client went away
      ++next;
      continue;
    }
    if (!st.IsNotFound()) return end_unavailable(st.ToString());
    if (errored_) {
      Status chain = errored_();
      if (!chain.ok()) return end_unavailable("the chain has stopped: " + chain.ToString());
    }
    MutexLock l(&mu_);
    if (shutdown_) {
      l.Unlock();
      response.set_status(DELIVER_STATUS_SERVICE_UNAVAILABLE);
      io->Write(response);
      break;
    }
    // Wake on a new block, on shutdown, or every 200 ms to notice a cancel
    // or a failed chain.
    cv_.wait_for(l.native(), std::chrono::milliseconds(200),
                 [&]() REQUIRES(mu_) { return shutdown_ || height_ > next; });
  }
  return Status::OK();
}

}  // namespace ordering

#include "orderer/deliver/deliver_service.h"

#include <spdlog/spdlog.h>

#include <chrono>

namespace ordering {

DeliverService::DeliverService(const BlockStore* ledger, size_t recent_blocks)
    : ledger_(ledger), recent_capacity_(recent_blocks) {
  height_ = ledger_->Info().height;
}

void DeliverService::Publish(std::shared_ptr<const Block> block) {
  {
    std::lock_guard<std::mutex> l(mu_);
    uint64_t n = block->header().number();
    if (n + 1 <= height_) return;  // already known
    if (n != height_) recent_.clear();  // gap (should not happen): serve from the ledger
    recent_.push_back(std::move(block));
    while (recent_.size() > recent_capacity_) recent_.pop_front();
    height_ = n + 1;
  }
  cv_.notify_all();
}

void DeliverService::Shutdown() {
  {
    std::lock_guard<std::mutex> l(mu_);
    shutdown_ = true;
  }
  cv_.notify_all();
}

std::shared_ptr<const Block> DeliverService::Fetch(uint64_t number) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (number >= height_) return nullptr;
    if (!recent_.empty()) {
      uint64_t first = recent_.front()->header().number();
      if (number >= first) return recent_[number - first];
    }
  }
  auto block = std::make_shared<Block>();
  Status st = ledger_->GetBlock(BlockNumber(number), block.get());
  if (!st.ok()) {
    spdlog::error("deliver: reading block {}: {}", number, st.ToString());
    return nullptr;
  }
  return block;
}

grpc::Status DeliverService::Deliver(grpc::ServerContext* context, const SeekInfo* request,
                                     grpc::ServerWriter<DeliverResponse>* writer) {
  uint64_t next = 0;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (shutdown_) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "orderer shutting down");
    switch (request->start()) {
      case SeekInfo::NEWEST: next = height_ > 0 ? height_ - 1 : 0; break;
      case SeekInfo::OLDEST: next = 0; break;
      case SeekInfo::SPECIFIED: next = request->number(); break;
      default:
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "unknown seek start");
    }
  }
  std::string peer = context->peer();
  SPDLOG_DEBUG("deliver: {} streams from block {}", peer, next);
  DeliverResponse response;
  while (!context->IsCancelled()) {
    std::shared_ptr<const Block> block = Fetch(next);
    if (block) {
      *response.mutable_block() = *block;
      if (!writer->Write(response)) break;  // client went away
      ++next;
      continue;
    }
    std::unique_lock<std::mutex> l(mu_);
    if (shutdown_) {
      l.unlock();
      response.set_status(DELIVER_STATUS_SERVICE_UNAVAILABLE);
      writer->Write(response);
      break;
    }
    // Wake on a new block, on shutdown, or every 200 ms to notice a cancel.
    cv_.wait_for(l, std::chrono::milliseconds(200), [&] { return shutdown_ || height_ > next; });
  }
  return grpc::Status::OK;
}

Status DeliverServer::Start(const std::string& listen_address, DeliverService* service,
                            std::unique_ptr<DeliverServer>* out) {
  std::unique_ptr<DeliverServer> s(new DeliverServer());
  grpc::ServerBuilder builder;
  builder.AddListeningPort(listen_address, grpc::InsecureServerCredentials(), &s->port_);
  builder.RegisterService(service);
  builder.SetMaxSendMessageSize(-1);
  s->server_ = builder.BuildAndStart();
  if (!s->server_ || s->port_ == 0) {
    return Status::Unavailable("cannot listen on " + listen_address +
                               " (address in use or invalid?)");
  }
  *out = std::move(s);
  return Status::OK();
}

DeliverServer::~DeliverServer() { Stop(); }

void DeliverServer::Stop() {
  if (server_) {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    server_.reset();
  }
}

}  // namespace ordering

#include "peer-sim/deliver_listener.h"

#include <spdlog/spdlog.h>

#include <chrono>

namespace ordering {

Status DeliverListener::Start(const std::string& address, BlockCallback on_block, int connect_timeout_ms,
                              std::unique_ptr<DeliverListener>* out) {
  if (address.empty()) return Status::InvalidArgument("no orderer address given");
  std::unique_ptr<DeliverListener> l(new DeliverListener());
  l->address_ = address;
  l->on_block_ = std::move(on_block);
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(256 * 1024 * 1024);  // blocks up to AbsoluteMaxBytes x count
  l->stub_ = AtomicBroadcast::NewStub(grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args));
  l->thread_ = std::thread([p = l.get()] { p->Run(); });
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(connect_timeout_ms);
  while (!l->first_block_.load() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!l->first_block_.load()) {
    l->Stop();
    return Status::Unavailable("no block from the orderer's Deliver service at " + address + " within " +
                               std::to_string(connect_timeout_ms) + " ms");
  }
  *out = std::move(l);
  return Status::OK();
}

DeliverListener::~DeliverListener() { Stop(); }

void DeliverListener::Stop() {
  stop_ = true;
  {
    MutexLock lock(&ctx_mu_);
    if (ctx_ != nullptr) ctx_->TryCancel();
  }
  if (thread_.joinable()) thread_.join();
}

bool DeliverListener::StreamFrom(const SeekInfo& start) {
  grpc::ClientContext ctx;
  {
    MutexLock lock(&ctx_mu_);
    if (stop_) return true;
    ctx_ = &ctx;
  }
  std::unique_ptr<grpc::ClientReader<DeliverResponse>> reader = stub_->Deliver(&ctx, start);
  DeliverResponse resp;
  bool got_any = false;
  while (reader->Read(&resp)) {
    got_any = true;
    if (resp.type_case() != DeliverResponse::kBlock) {
      spdlog::warn("deliver: stream from {} ended with status {}", address_, DeliverStatus_Name(resp.status()));
      break;
    }
    const Block& b = resp.block();
    if (last_number_ && b.header().number() <= *last_number_) continue;  // already seen
    last_number_ = b.header().number();
    first_block_ = true;
    on_block_(b);
  }
  grpc::Status st = reader->Finish();
  {
    MutexLock lock(&ctx_mu_);
    ctx_ = nullptr;
  }
  if (!stop_ && !st.ok()) {
    spdlog::debug("deliver: stream from {} ended: {}", address_, st.error_message());
  }
  return got_any || st.ok();
}

void DeliverListener::Run() {
  int backoff_ms = 50;
  while (!stop_) {
    SeekInfo seek;
    if (last_number_) {
      seek.set_start(SeekInfo::SPECIFIED);
      seek.set_number(*last_number_ + 1);
    } else {
      seek.set_start(SeekInfo::NEWEST);
    }
    bool reached = StreamFrom(seek);
    if (stop_) break;
    if (first_block_) {
      ++reconnects_;
      if (reached) backoff_ms = 50;
      spdlog::warn("deliver: lost the stream from {}; reconnecting after block {}", address_,
                   last_number_ ? std::to_string(*last_number_) : "-");
    }
    for (int waited = 0; waited < backoff_ms && !stop_; waited += 10) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    backoff_ms = std::min(backoff_ms * 2, 1000);
  }
}

}  // namespace ordering

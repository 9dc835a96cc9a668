#include "peer-sim/deliver_listener.h"

#include <spdlog/spdlog.h>

#include <chrono>

namespace ordering {
namespace {

constexpr int kMaxBlockBytes = 256 * 1024 * 1024;  // blocks up to AbsoluteMaxBytes x count

}  // namespace

Status DeliverListener::Start(const std::string& address, BlockCallback on_block, int connect_timeout_ms,
                              std::unique_ptr<DeliverListener>* out, const ReconnectOptions& reconnect,
                              const Clock* clock) {
  if (address.empty()) return Status::InvalidArgument("no orderer address given");
  std::unique_ptr<DeliverListener> l(new DeliverListener());
  l->address_ = address;
  l->on_block_ = std::move(on_block);
  l->reconnect_ = reconnect;
  l->clock_ = clock;
  l->stub_ = AtomicBroadcast::NewStub(MakeOrdererChannel(address, reconnect, kMaxBlockBytes));
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
  {
    MutexLock lock(&mu_);
    stop_ = true;
    if (ctx_ != nullptr) ctx_->TryCancel();
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::vector<DeliverOutage> DeliverListener::outages() const {
  MutexLock lock(&mu_);
  return outages_;
}

void DeliverListener::OnStreamBlock(const Block& b) {
  if (lost_) {
    lost_ = false;
    const int64_t now = WallMs();
    ++reconnects_;
    {
      MutexLock lock(&mu_);
      if (!outages_.empty() && outages_.back().back_unix_ms == 0) {
        outages_.back().back_unix_ms = now;
        outages_.back().resumed_at_block = b.header().number();
      }
    }
    spdlog::warn("deliver: reconnected to {} after {:.1f} s, resuming at block {}", address_,
                 static_cast<double>(now - lost_at_ms_) / 1000, b.header().number());
  }
  if (last_number_ && b.header().number() <= *last_number_) return;  // already seen
  last_number_ = b.header().number();
  first_block_ = true;
  on_block_(b);
}

bool DeliverListener::StreamFrom(const SeekInfo& start) {
  grpc::ClientContext ctx;
  // Wait for the channel to connect rather than fail at once while the
  // orderer is down: the stream starts the moment it is back.
  ctx.set_wait_for_ready(true);
  {
    MutexLock lock(&mu_);
    if (stop_) return false;
    ctx_ = &ctx;
  }
  std::unique_ptr<grpc::ClientReader<DeliverResponse>> reader = stub_->Deliver(&ctx, start);
  DeliverResponse resp;
  bool got_block = false;
  std::string why;
  while (reader->Read(&resp)) {
    if (resp.type_case() != DeliverResponse::kBlock) {
      why = "status " + DeliverStatus_Name(resp.status());
      break;
    }
    got_block = true;
    OnStreamBlock(resp.block());
  }
  grpc::Status st = reader->Finish();
  {
    MutexLock lock(&mu_);
    ctx_ = nullptr;
  }
  if (stop_) return got_block;
  if (why.empty()) why = st.ok() ? "closed by the orderer" : st.error_message();
  if (first_block_ && !lost_) {
    // One line per loss, however many attempts it takes to come back.
    lost_ = true;
    lost_at_ms_ = WallMs();
    {
      MutexLock lock(&mu_);
      if (outages_.size() < kMaxDeliverOutages) outages_.push_back(DeliverOutage{lost_at_ms_, 0, 0});
    }
    spdlog::warn("deliver: lost the stream from {} after block {} ({}); reconnecting", address_,
                 last_number_ ? std::to_string(*last_number_) : "-", why);
  } else {
    spdlog::debug("deliver: a stream from {} ended ({})", address_, why);
  }
  return got_block;
}

void DeliverListener::Run() {
  Backoff backoff(reconnect_);
  while (!stop_) {
    SeekInfo seek;
    if (last_number_) {
      seek.set_start(SeekInfo::SPECIFIED);
      seek.set_number(*last_number_ + 1);
    } else {
      seek.set_start(SeekInfo::NEWEST);
    }
    if (StreamFrom(seek)) backoff.Reset();
    if (stop_) break;
    // A fresh channel for the next stream: no backoff carried over from the
    // old connection.
    stub_ = AtomicBroadcast::NewStub(MakeOrdererChannel(address_, reconnect_, kMaxBlockBytes));
    MutexLock lock(&mu_);
    stop_cv_.wait_for(lock.native(), std::chrono::milliseconds(backoff.NextMs()), [&] { return stop_.load(); });
  }
}

}  // namespace ordering

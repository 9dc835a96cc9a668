#include "peer-sim/deliver_listener.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

namespace ordering {
namespace {

constexpr int kMaxBlockBytes = 256 * 1024 * 1024;  // blocks up to AbsoluteMaxBytes x count

}  // namespace

Status DeliverListener::Start(const std::string& address, BlockCallback on_block, int connect_timeout_ms,
                              std::unique_ptr<DeliverListener>* out, const ReconnectOptions& reconnect,
                              const Clock* clock) {
  if (address.empty()) return Status::InvalidArgument("no orderer address given");
  std::vector<std::string> addresses;
  ORDERING_RETURN_IF_ERROR(ParseOrdererList(address, &addresses));
  std::unique_ptr<DeliverListener> l(new DeliverListener());
  l->rotation_ = std::make_unique<OrdererRotation>(std::move(addresses));
  l->on_block_ = std::move(on_block);
  l->reconnect_ = reconnect;
  l->clock_ = clock;
  l->NewChannel();
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

std::string DeliverListener::orderer() const {
  MutexLock lock(&mu_);
  return serving_;
}

std::map<std::string, uint64_t> DeliverListener::switches() const {
  MutexLock lock(&mu_);
  return switches_;
}

void DeliverListener::NewChannel() {
  channel_ = MakeOrdererChannel(rotation_->current(), reconnect_, kMaxBlockBytes);
  stub_ = AtomicBroadcast::NewStub(channel_);
}

bool DeliverListener::ConnectedInTime() {
  if (!rotation_->several()) return true;  // the stream itself waits for the channel (wait-for-ready)
  using Wall = std::chrono::system_clock;  // gRPC's deadlines are on the system clock
  const auto deadline = Wall::now() + std::chrono::milliseconds(reconnect_.attempt_timeout_ms);
  while (!stop_) {
    const auto slice = std::min(deadline, Wall::now() + std::chrono::milliseconds(100));
    if (channel_->WaitForConnected(slice)) return true;
    if (Wall::now() >= deadline) {
      spdlog::debug("deliver: {} did not connect within {} ms; trying the next orderer", rotation_->current(),
                    reconnect_.attempt_timeout_ms);
      return false;
    }
  }
  return false;
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
        outages_.back().back_on = rotation_->current();
      }
    }
    spdlog::warn("deliver: reconnected to {} after {:.1f} s, resuming at block {}", rotation_->current(),
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
  // With several orderers the channel has connected already
  // (ConnectedInTime), and a stream that cannot start fails at once so the
  // next orderer is tried.
  ctx.set_wait_for_ready(!rotation_->several());
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
    if (!got_block) {
      // This stream serves: where the blocks come from now.
      rotation_->Serving();
      MutexLock lock(&mu_);
      serving_ = rotation_->current();
      switches_ = rotation_->switches();
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
      if (outages_.size() < kMaxDeliverOutages) outages_.push_back(DeliverOutage{lost_at_ms_, 0, 0, {}});
    }
    spdlog::warn("deliver: lost the stream from {} after block {} ({}); reconnecting", rotation_->current(),
                 last_number_ ? std::to_string(*last_number_) : "-", why);
  } else {
    spdlog::debug("deliver: a stream from {} ended ({})", rotation_->current(), why);
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
    if (ConnectedInTime() && StreamFrom(seek)) backoff.Reset();
    if (stop_) break;
    // A fresh channel for the next stream: no backoff carried over from the
    // old connection. With several orderers, on the next one.
    if (rotation_->several()) rotation_->Advance();
    NewChannel();
    MutexLock lock(&mu_);
    stop_cv_.wait_for(lock.native(), std::chrono::milliseconds(backoff.NextMs()), [&] { return stop_.load(); });
  }
}

}  // namespace ordering

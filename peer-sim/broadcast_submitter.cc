#include "peer-sim/broadcast_submitter.h"

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "common/mutex.h"
#include "proto/ab.grpc.pb.h"

namespace ordering {
namespace {

class BroadcastSubmitter final : public Submitter {
 public:
  explicit BroadcastSubmitter(const SubmitterOptions& options) : options_(options) {}
  ~BroadcastSubmitter() override {
    Abandon(0);
    if (reader_.joinable()) reader_.join();  // the cancelled stream ends promptly
  }

  Status Connect() {
    if (options_.orderer.empty()) return Status::InvalidArgument("no orderer address given for Broadcast");
    channel_ = grpc::CreateChannel(options_.orderer, grpc::InsecureChannelCredentials());
    const auto deadline = std::chrono::system_clock::now() + std::chrono::milliseconds(options_.connect_timeout_ms);
    if (!channel_->WaitForConnected(deadline)) {
      return Status::Unavailable("cannot reach the orderer's Broadcast service at " + options_.orderer + " within " +
                                 std::to_string(options_.connect_timeout_ms) + " ms");
    }
    stub_ = AtomicBroadcast::NewStub(channel_);
    stream_ = stub_->Broadcast(&ctx_);
    reader_ = std::thread([this] { ReadLoop(); });
    return Status::OK();
  }

  std::string WireBytes(BuiltTx&& tx) const override { return std::move(tx.envelope); }

  Status Submit(const std::string& bytes, void* opaque) override {
    // gRPC's stream writes a message, so the wire bytes become the outer
    // Envelope again. Only that: the transaction inside (payload, header)
    // is not read here; reading one is common/envelope.h's DecodeTx.
    Envelope env;
    if (!env.ParseFromString(bytes)) return Status::InvalidArgument("not an envelope");
    {
      MutexLock l(&mu_);
      if (ended_)
        return Status::Unavailable("the Broadcast stream to " + options_.orderer + " has ended: " + end_reason_);
      outstanding_.push_back(opaque);  // before the write: the answer may come at once
    }
    if (stream_->Write(env)) return Status::OK();
    // Not sent: the stream broke. Take it back unless the reader has already
    // abandoned it with the rest.
    MutexLock l(&mu_);
    if (!outstanding_.empty() && outstanding_.back() == opaque) {
      outstanding_.pop_back();
      return Status::Unavailable("the Broadcast stream to " + options_.orderer + " broke");
    }
    return Status::OK();  // its outcome (abandoned) has been reported
  }

  Status Flush(int timeout_ms) override {
    MutexLock l(&mu_);
    if (!cv_.wait_for(l.native(), std::chrono::milliseconds(timeout_ms),
                      [&]() REQUIRES(mu_) { return outstanding_.empty() || ended_; })) {
      return Status::Unavailable(std::to_string(outstanding_.size()) + " envelopes not yet answered");
    }
    return Status::OK();
  }

  int Abandon(int timeout_ms) override {
    std::call_once(cancel_once_, [this] {
      if (stream_) ctx_.TryCancel();
    });
    if (reader_.joinable()) {
      // The reader ends once the cancelled stream does, abandoning the rest.
      MutexLock l(&mu_);
      cv_.wait_for(l.native(), std::chrono::milliseconds(timeout_ms), [&]() REQUIRES(mu_) { return ended_; });
      if (!ended_) return static_cast<int>(outstanding_.size());
      l.Unlock();
      reader_.join();
    }
    return 0;
  }

 private:
  void ReadLoop() {
    BroadcastResponse r;
    while (stream_->Read(&r)) {
      void* opaque = nullptr;
      {
        MutexLock l(&mu_);
        if (outstanding_.empty()) {
          spdlog::error("broadcast: an answer from {} for nothing sent", options_.orderer);
          continue;
        }
        opaque = outstanding_.front();
        outstanding_.pop_front();
      }
      if (r.status() == BROADCAST_STATUS_SUCCESS) {
        options_.on_outcome(opaque, SubmitOutcome::kAccepted, "");
      } else {
        options_.on_outcome(opaque, SubmitOutcome::kFailed,
                            BroadcastStatus_Name(r.status()) + (r.info().empty() ? "" : ": " + r.info()));
      }
      cv_.notify_all();
    }
    grpc::Status end = stream_->Finish();
    std::deque<void*> rest;
    {
      MutexLock l(&mu_);
      ended_ = true;
      end_reason_ = end.ok() ? "closed by the orderer" : end.error_message();
      rest.swap(outstanding_);
    }
    if (!rest.empty() && !end.ok() && end.error_code() != grpc::StatusCode::CANCELLED) {
      spdlog::warn("broadcast: the stream to {} ended ({}) with {} envelopes unanswered", options_.orderer,
                   end.error_message(), rest.size());
    }
    for (void* opaque : rest) options_.on_outcome(opaque, SubmitOutcome::kAbandoned, "never answered");
    cv_.notify_all();
  }

  SubmitterOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<AtomicBroadcast::Stub> stub_;
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReaderWriter<Envelope, BroadcastResponse>> stream_;
  std::thread reader_;
  std::once_flag cancel_once_;
  Mutex mu_;
  std::condition_variable cv_;
  std::deque<void*> outstanding_ GUARDED_BY(mu_);  // sent, not yet answered, in order
  bool ended_ GUARDED_BY(mu_) = false;
  std::string end_reason_ GUARDED_BY(mu_);
};

}  // namespace

Status MakeBroadcastSubmitter(const SubmitterOptions& options, std::unique_ptr<Submitter>* out) {
  auto s = std::make_unique<BroadcastSubmitter>(options);
  ORDERING_RETURN_IF_ERROR(s->Connect());
  *out = std::move(s);
  return Status::OK();
}

}  // namespace ordering

#include "peer-sim/broadcast_submitter.h"

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <optional>
#include <string_view>
#include <thread>
#include <vector>

#include "common/mutex.h"
#include "peer-sim/orderer_channel.h"
#include "proto/ab.grpc.pb.h"

namespace ordering {

std::string BroadcastStatusCode(int status) {
  if (!BroadcastStatus_IsValid(status)) return "STATUS_" + std::to_string(status);
  std::string name = BroadcastStatus_Name(static_cast<BroadcastStatus>(status));
  constexpr std::string_view kPrefix = "BROADCAST_STATUS_";
  if (name.rfind(kPrefix, 0) == 0) name.erase(0, kPrefix.size());
  return name;
}

namespace {

using Steady = std::chrono::steady_clock;
using ReaderWriter = grpc::ClientReaderWriter<Envelope, BroadcastResponse>;

double SecondsSince(Steady::time_point t) { return std::chrono::duration<double>(Steady::now() - t).count(); }

class BroadcastSubmitter final : public Submitter {
 public:
  explicit BroadcastSubmitter(const SubmitterOptions& options) : options_(options), backoff_(options.reconnect) {}
  ~BroadcastSubmitter() override {
    Abandon(0);
    if (reader_.joinable()) reader_.join();  // the cancelled stream ends promptly
    stream_.reset();                         // before its context
    MutexLock l(&mu_);
    ctx_.reset();
  }

  Status Connect() {
    if (options_.orderer.empty()) return Status::InvalidArgument("no orderer address given for Broadcast");
    std::vector<std::string> addresses;
    ORDERING_RETURN_IF_ERROR(ParseOrdererList(options_.orderer, &addresses));
    rotation_ = std::make_unique<OrdererRotation>(std::move(addresses));
    const auto deadline = std::chrono::system_clock::now() + std::chrono::milliseconds(options_.connect_timeout_ms);
    while (true) {
      channel_ = MakeOrdererChannel(rotation_->current(), options_.reconnect);
      const auto attempt =
          rotation_->several()
              ? std::min(deadline, std::chrono::system_clock::now() +
                                       std::chrono::milliseconds(options_.reconnect.attempt_timeout_ms))
              : deadline;
      if (channel_->WaitForConnected(attempt)) break;
      if (std::chrono::system_clock::now() >= deadline) {
        return Status::Unavailable("cannot reach the orderer's Broadcast service at " + options_.orderer + " within " +
                                   std::to_string(options_.connect_timeout_ms) + " ms");
      }
      rotation_->Advance();
    }
    OpenStream();
    return Status::OK();
  }

  std::string WireBytes(BuiltTx&& tx) const override { return std::move(tx.envelope); }

  Status Submit(const std::string& bytes, std::string_view tx_id, void* opaque) override {
    // gRPC's stream writes a message, so the wire bytes become the outer
    // Envelope again. Only that: the transaction inside (payload, header)
    // is not read here; reading one is common/envelope.h's DecodeTx.
    Envelope env;
    if (!env.ParseFromString(bytes)) return Status::InvalidArgument("not an envelope");
    bool broken;
    {
      MutexLock l(&mu_);
      if (abandoning_) return Status::Unavailable("the Broadcast stream to " + options_.orderer + " was closed");
      broken = ended_;
    }
    if (broken) ORDERING_RETURN_IF_ERROR(Reconnect());
    {
      MutexLock l(&mu_);
      if (ended_) {
        return Status::Unavailable("the Broadcast stream to " + options_.orderer + " broke: " + end_reason_);
      }
      outstanding_.push_back(Pending{opaque, tx_id});  // before the write: the answer may come at once
    }
    if (stream_->Write(env)) return Status::OK();
    // Not sent: the stream broke. Take it back unless the reader has already
    // reported it unanswered with the rest.
    MutexLock l(&mu_);
    bool taken_back = false;
    if (!outstanding_.empty() && outstanding_.back().opaque == opaque) {
      outstanding_.pop_back();
      taken_back = true;
    }
    // Let the reader see the end, so the next Submit opens a new stream
    // rather than writing to this one again.
    cv_.wait_for(l.native(), std::chrono::seconds(1), [&]() REQUIRES(mu_) { return ended_; });
    if (taken_back) return Status::Unavailable("the Broadcast stream to " + options_.orderer + " broke (not sent)");
    return Status::OK();
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
    {
      MutexLock l(&mu_);
      abandoning_ = true;
      if (!ended_ && ctx_) ctx_->TryCancel();
      // The reader ends once the cancelled stream does, abandoning the rest.
      cv_.wait_for(l.native(), std::chrono::milliseconds(timeout_ms), [&]() REQUIRES(mu_) { return ended_; });
      if (!ended_) return static_cast<int>(outstanding_.size());
    }
    if (reader_.joinable()) reader_.join();
    return 0;
  }

  std::optional<StreamCounters> Streams() const override {
    MutexLock l(&mu_);
    return counters_;
  }

 private:
  struct Pending {
    void* opaque;
    std::string_view tx_id;
  };

  // A new stream on channel_ (rotation_->current()), with its reader.
  // Sending thread (or Connect).
  void OpenStream() {
    auto ctx = std::make_unique<grpc::ClientContext>();
    stub_ = AtomicBroadcast::NewStub(channel_);
    std::unique_ptr<ReaderWriter> rw = stub_->Broadcast(ctx.get());
    rotation_->Serving();
    {
      MutexLock l(&mu_);
      ctx_ = std::move(ctx);
      ended_ = false;
      answered_ = false;
      if (abandoning_) ctx_->TryCancel();
      counters_.switches = rotation_->switches();
      counters_.on = {{rotation_->current(), 1}};
    }
    stream_ = std::move(rw);
    reader_ = std::thread([this, s = stream_.get(), address = rotation_->current()] { ReadLoop(s, address); });
  }

  // With several orderers: the next address, on a fresh channel (asked to
  // connect at once).
  void MoveToNextOrderer() {
    const std::string from = rotation_->current();
    channel_ = MakeOrdererChannel(rotation_->Advance(), options_.reconnect);
    channel_->GetState(true);
    attempt_from_ = Steady::now();
    spdlog::info("broadcast: {} not reachable within {} ms; trying {}", from, options_.reconnect.attempt_timeout_ms,
                 rotation_->current());
  }

  bool AttemptOver() const {
    return rotation_->several() &&
           Steady::now() - attempt_from_ >= std::chrono::milliseconds(options_.reconnect.attempt_timeout_ms);
  }

  bool GivingUp() {
    if (options_.give_up && options_.give_up()) return true;
    MutexLock l(&mu_);
    return abandoning_;
  }

  // After the stream broke: a new one, or why not. Sending thread only.
  Status Reconnect() {
    if (reader_.joinable()) reader_.join();  // the broken stream's reader has reported its end
    stream_.reset();
    Steady::time_point broke_at;
    bool answered;
    uint64_t breaks;
    {
      MutexLock l(&mu_);
      ctx_.reset();
      broke_at = broke_at_;
      answered = answered_;
      breaks = counters_.broken;
    }
    if (channel_breaks_ != breaks) {
      // A fresh channel per break: nothing of the old connection's backoff.
      // With several orderers, on the next one.
      if (rotation_->several()) rotation_->Advance();
      channel_ = MakeOrdererChannel(rotation_->current(), options_.reconnect);
      attempt_from_ = Steady::now();
      channel_breaks_ = breaks;
      if (answered) backoff_.Reset();
    }
    const Steady::time_point connect_deadline = broke_at + std::chrono::milliseconds(options_.connect_timeout_ms);
    const std::string down_for = "no Broadcast stream to " + options_.orderer + " (lost ";
    auto elapsed = [&] {
      char buf[32];
      std::snprintf(buf, sizeof(buf), "%.1f s ago)", SecondsSince(broke_at));
      return std::string(buf);
    };
    if (Steady::now() >= connect_deadline) {
      // Waited long enough once: from now on only a channel that is already
      // back is tried (asking for its state also makes it try to connect);
      // with several orderers, the next one after each attempt's time.
      if (channel_->GetState(true) != GRPC_CHANNEL_READY) {
        if (AttemptOver()) MoveToNextOrderer();
        return Status::Unavailable(down_for + elapsed());
      }
    } else {
      if (!SleepUnless(backoff_.NextMs(), [this] { return GivingUp(); })) {
        return Status::Unavailable(down_for + elapsed() + "; the run is ending");
      }
      while (!channel_->WaitForConnected(std::chrono::system_clock::now() + std::chrono::milliseconds(100))) {
        if (GivingUp()) return Status::Unavailable(down_for + elapsed() + "; the run is ending");
        if (Steady::now() >= connect_deadline) {
          spdlog::warn(
              "broadcast: cannot reach {} within {} ms of the stream breaking; failing transactions until it "
              "is back",
              options_.orderer, options_.connect_timeout_ms);
          return Status::Unavailable(down_for + elapsed());
        }
        if (AttemptOver()) MoveToNextOrderer();
      }
    }
    OpenStream();
    {
      MutexLock l(&mu_);
      ++counters_.reconnects;
    }
    spdlog::warn("broadcast: reconnected to {} after {:.1f} s", rotation_->current(), SecondsSince(broke_at));
    return Status::OK();
  }

  // The outstanding transaction an answer belongs to: the oldest, unless
  // the answer names another one.
  std::optional<Pending> TakeAnswered(const std::string& tx_id, const std::string& address) REQUIRES(mu_) {
    if (outstanding_.empty()) return std::nullopt;
    if (tx_id.empty() || outstanding_.front().tx_id == tx_id) {
      Pending p = outstanding_.front();
      outstanding_.pop_front();
      return p;
    }
    for (auto it = outstanding_.begin(); it != outstanding_.end(); ++it) {
      if (it->tx_id != tx_id) continue;
      spdlog::error("broadcast: {} answered {} out of order (the oldest outstanding is {})", address, tx_id,
                    outstanding_.front().tx_id);
      Pending p = *it;
      outstanding_.erase(it);
      return p;
    }
    return std::nullopt;
  }

  // The reader of one stream, to `address`.
  void ReadLoop(ReaderWriter* rw, const std::string& address) {
    BroadcastResponse r;
    while (rw->Read(&r)) {
      std::optional<Pending> p;
      {
        MutexLock l(&mu_);
        p = TakeAnswered(r.tx_id(), address);
        if (p) answered_ = true;
      }
      if (!p) {
        spdlog::error("broadcast: an answer from {} for nothing outstanding (tx id '{}')", address, r.tx_id());
        continue;
      }
      SubmitAnswer a;
      a.code = BroadcastStatusCode(r.status());
      if (r.status() == BROADCAST_STATUS_SUCCESS) {
        a.outcome = SubmitOutcome::kAccepted;
      } else {
        a.outcome = SubmitOutcome::kFailed;
        a.detail = a.code + (r.info().empty() ? "" : ": " + r.info());
      }
      options_.on_outcome(p->opaque, a);
      cv_.notify_all();
    }
    grpc::Status end = rw->Finish();
    std::deque<Pending> rest;
    bool ours;
    std::string reason = end.ok() ? "closed by the orderer" : end.error_message();
    {
      MutexLock l(&mu_);
      ended_ = true;
      ours = abandoning_;
      end_reason_ = reason;
      broke_at_ = Steady::now();
      rest.swap(outstanding_);
      if (!ours) {
        ++counters_.broken;
        counters_.unanswered += rest.size();
      }
    }
    if (!ours) {
      spdlog::warn(
          "broadcast: the stream to {} broke ({}) with {} transactions unanswered (not resent); reconnecting with the "
          "next transaction",
          address, reason, rest.size());
    }
    SubmitAnswer a;
    a.outcome = ours ? SubmitOutcome::kAbandoned : SubmitOutcome::kUnanswered;
    a.code = ours ? "ABANDONED" : "UNANSWERED_STREAM_BROKEN";
    a.detail = ours ? "never answered (given up at exit)" : "never answered: the stream broke (" + reason + ")";
    for (const Pending& p : rest) options_.on_outcome(p.opaque, a);
    cv_.notify_all();
  }

  const SubmitterOptions options_;
  Backoff backoff_;                            // sending thread only
  std::unique_ptr<OrdererRotation> rotation_;  // sending thread only (set by Connect)
  Steady::time_point attempt_from_;            // when channel_ began trying its address; sending thread only
  std::shared_ptr<grpc::Channel> channel_;     // sending thread only
  uint64_t channel_breaks_ = 0;                // counters_.broken when channel_ was made; sending thread only
  std::unique_ptr<AtomicBroadcast::Stub> stub_;
  std::unique_ptr<ReaderWriter> stream_;  // the current stream; replaced by the sending thread only
  std::thread reader_;                    // its reader
  mutable Mutex mu_;
  std::condition_variable cv_;
  std::unique_ptr<grpc::ClientContext> ctx_ GUARDED_BY(mu_);  // the current stream's
  std::deque<Pending> outstanding_ GUARDED_BY(mu_);           // sent on it, not yet answered, in order
  bool ended_ GUARDED_BY(mu_) = true;                         // it has ended (or none was opened)
  bool answered_ GUARDED_BY(mu_) = false;                     // it answered at least once
  bool abandoning_ GUARDED_BY(mu_) = false;
  std::string end_reason_ GUARDED_BY(mu_);
  Steady::time_point broke_at_ GUARDED_BY(mu_);
  StreamCounters counters_ GUARDED_BY(mu_);
};

}  // namespace

Status MakeBroadcastSubmitter(const SubmitterOptions& options, std::unique_ptr<Submitter>* out) {
  auto s = std::make_unique<BroadcastSubmitter>(options);
  ORDERING_RETURN_IF_ERROR(s->Connect());
  *out = std::move(s);
  return Status::OK();
}

}  // namespace ordering

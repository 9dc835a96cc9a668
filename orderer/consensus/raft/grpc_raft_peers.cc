#include "orderer/consensus/raft/grpc_raft_peers.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <thread>

#include "orderer/broadcast/broadcast_handler.h"
#include "proto/ab.grpc.pb.h"

namespace ordering::raft_backend {

// How long Forward waits for the leader's answers before it gives up on the
// stream (what is unanswered is sent again, on a new stream, to whoever
// leads then): a few election timeouts, so a leader cut off is left about
// when the others have elected another, and at least 5 s.
std::chrono::milliseconds AnswerTimeout(const RaftOptions& o) {
  return std::max(std::chrono::milliseconds(5000), std::chrono::milliseconds(4ull * o.election_timeout_ms));
}

// One Broadcast stream to a leader and the thread that reads its answers.
class GrpcRaftPeers::Stream {
 public:
  Stream(uint64_t leader, const std::string& address)
      : leader_(leader),
        stub_(AtomicBroadcast::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()))),
        rw_(StartStream()) {
    reader_ = std::thread([this] {
      BroadcastResponse r;
      while (rw_->Read(&r)) {
        MutexLock l(&mu_);
        answers_.push_back(r);
        cv_.notify_all();
      }
      MutexLock l(&mu_);
      broken_ = true;
      cv_.notify_all();
    });
  }
  ~Stream() {
    ctx_.TryCancel();
    reader_.join();
    grpc::Status st = rw_->Finish();
    (void)st;  // the stream is being given up; its end state changes nothing
  }

  uint64_t leader() const { return leader_; }
  // The leader answers when it has taken an envelope (not when its block is
  // written): this node learns of durability from its own ledger.
  std::unique_ptr<grpc::ClientReaderWriter<Envelope, BroadcastResponse>> StartStream() {
    ctx_.AddMetadata(kAckHeader, "accepted");
    return stub_->Broadcast(&ctx_);
  }
  void Cancel() { ctx_.TryCancel(); }
  bool Write(const Envelope& env) { return rw_->Write(env); }

  // The next answer; false once the stream broke (or `deadline` passed)
  // with none left.
  bool Next(std::chrono::steady_clock::time_point deadline, BroadcastResponse* out) {
    MutexLock l(&mu_);
    cv_.wait_until(l.native(), deadline, [&]() REQUIRES(mu_) { return broken_ || !answers_.empty(); });
    if (answers_.empty()) return false;
    *out = std::move(answers_.front());
    answers_.pop_front();
    return true;
  }
  bool broken() {
    MutexLock l(&mu_);
    return broken_;
  }

 private:
  const uint64_t leader_;
  std::unique_ptr<AtomicBroadcast::Stub> stub_;
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReaderWriter<Envelope, BroadcastResponse>> rw_;
  std::thread reader_;
  Mutex mu_;
  std::condition_variable cv_;
  std::deque<BroadcastResponse> answers_ GUARDED_BY(mu_);
  bool broken_ GUARDED_BY(mu_) = false;
};

GrpcRaftPeers::GrpcRaftPeers(const RaftOptions& options) : options_(options) {}

GrpcRaftPeers::~GrpcRaftPeers() {
  Shutdown();
  CloseStream();
}

void GrpcRaftPeers::CloseStream() {
  {
    MutexLock l(&mu_);
    open_stream_ = nullptr;
  }
  stream_.reset();
}

std::vector<ForwardReply> GrpcRaftPeers::Forward(uint64_t leader, const std::vector<CutterMessage>& txs) {
  std::vector<ForwardReply> replies(txs.size());
  if (stream_ && (stream_->leader() != leader || stream_->broken())) CloseStream();
  if (!stream_) {
    const std::string address = options_.BroadcastAddressOf(leader);
    MutexLock l(&mu_);
    if (shutdown_ || address.empty()) return replies;
    stream_ = std::make_unique<Stream>(leader, address);
    open_stream_ = stream_.get();
  }
  size_t written = 0;
  Envelope env;
  for (const CutterMessage& tx : txs) {
    // The stream carries Envelope messages; only the outer layer is parsed
    // (ingress checked the whole transaction when it was submitted here).
    if (!env.ParseFromString(tx.envelope) || !stream_->Write(env)) break;
    ++written;
  }
  const auto deadline = std::chrono::steady_clock::now() + AnswerTimeout(options_);
  size_t answered = 0;
  BroadcastResponse r;
  while (answered < written && stream_->Next(deadline, &r)) {
    ForwardReply& reply = replies[answered++];
    if (r.status() == BROADCAST_STATUS_SUCCESS) {
      reply.outcome = ForwardOutcome::kAccepted;
    } else if (r.status() == BROADCAST_STATUS_SERVICE_UNAVAILABLE) {
      reply.outcome = ForwardOutcome::kRetry;
    } else {
      reply.outcome = ForwardOutcome::kRejected;
      reply.info = r.info();
    }
  }
  // Answers that did not come (a broken stream, or a leader that stopped
  // answering) would belong to later writes on this stream: start afresh.
  if (answered < txs.size()) CloseStream();
  return replies;
}

Status GrpcRaftPeers::FetchBlocks(uint64_t node, uint64_t from, uint64_t to,
                                  const std::function<Status(std::shared_ptr<const Block>)>& sink) {
  const std::string address = options_.BroadcastAddressOf(node);
  if (address.empty()) return Status::InvalidArgument("no address for node " + std::to_string(node));
  auto stub = AtomicBroadcast::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(options_.catch_up_timeout_ms));
  {
    MutexLock l(&mu_);
    if (shutdown_) return Status::Aborted("the node is stopping");
    fetch_ctx_ = &ctx;
  }
  SeekInfo seek;
  seek.set_start(SeekInfo::SPECIFIED);
  seek.set_number(from);
  auto reader = stub->Deliver(&ctx, seek);
  DeliverResponse resp;
  Status st;
  uint64_t next = from;
  while (st.ok() && next < to && reader->Read(&resp)) {
    if (!resp.has_block()) break;
    if (resp.block().header().number() != next) {
      st = Status::Corruption("node " + std::to_string(node) + " sent block " +
                              std::to_string(resp.block().header().number()) + " where " + std::to_string(next) +
                              " was due");
      break;
    }
    st = sink(std::make_shared<Block>(resp.block()));
    ++next;
  }
  ctx.TryCancel();
  grpc::Status finished = reader->Finish();
  (void)finished;  // what matters is how far it got
  {
    MutexLock l(&mu_);
    fetch_ctx_ = nullptr;
  }
  if (!st.ok()) return st;
  if (next < to) {
    return Status::Unavailable("node " + std::to_string(node) + " (" + address + ") served blocks up to " +
                               std::to_string(next) + " of " + std::to_string(to));
  }
  return Status::OK();
}

void GrpcRaftPeers::Shutdown() {
  MutexLock l(&mu_);
  shutdown_ = true;
  if (open_stream_ != nullptr) open_stream_->Cancel();
  if (fetch_ctx_ != nullptr) fetch_ctx_->TryCancel();
}

}  // namespace ordering::raft_backend

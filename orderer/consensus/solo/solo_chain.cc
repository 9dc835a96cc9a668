#include "orderer/consensus/solo/solo_chain.h"

#include <spdlog/spdlog.h>

#include <limits>

namespace ordering::solo {

SoloChain::SoloChain(ConsenterSupport* support, const SoloOptions& options)
    : support_(support), options_(options), timer_(support->options().batch_timeout_ms) {}

SoloChain::~SoloChain() { Halt(); }

Status SoloChain::Start() {
  spdlog::info("solo chain: channel {} resumes at block {}", support_->options().channel_id,
               support_->NextBlockNumber().value());
  thread_ = std::thread([this] { Loop(); });
  return Status::OK();
}

Status SoloChain::Order(CutterMessage tx) {
  std::unique_lock<std::mutex> lock(mu_);
  space_cv_.wait(lock, [&] { return stop_ || queue_.size() < options_.queue_capacity; });
  if (!error_.ok()) return Status::Unavailable("the solo chain has stopped: " + error_.ToString());
  if (stop_) return Status::Unavailable("the solo chain is halted");
  queue_.push_back(std::move(tx));
  lock.unlock();
  ready_cv_.notify_one();
  return Status::OK();
}

Status SoloChain::Errored() const {
  std::lock_guard<std::mutex> l(mu_);
  return error_;
}

void SoloChain::Halt() {
  std::call_once(halt_once_, [this] {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    ready_cv_.notify_all();
    space_cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  });
}

void SoloChain::Loop() {
  const Clock* clock = support_->clock();
  std::deque<CutterMessage> work;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      const int64_t deadline = timer_.Armed() ? timer_.deadline() : std::numeric_limits<int64_t>::max();
      clock->WaitUntil(lock, ready_cv_, deadline, [&] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      work.swap(queue_);
    }
    space_cv_.notify_all();
    Status st;
    for (CutterMessage& tx : work) {
      st = Process(tx);
      if (!st.ok()) break;
    }
    work.clear();
    if (st.ok() && timer_.Expired(clock->NowNanos())) st = WriteTimeoutBlock();
    if (!st.ok()) {
      spdlog::error("solo chain stopped: {}", st.ToString());
      {
        std::lock_guard<std::mutex> l(mu_);
        error_ = st;
        stop_ = true;
      }
      space_cv_.notify_all();
      return;
    }
  }
}

Status SoloChain::Process(CutterMessage& tx) {
  OrdererMetrics* metrics = support_->metrics();
  metrics->received++;
  if (support_->IsDuplicate(tx.tx_id)) {
    metrics->Reject(RejectCause::kDuplicate);
    SPDLOG_DEBUG("rejected tx {}: duplicate", tx.tx_id);
    return Status::OK();
  }
  const int64_t now = support_->clock()->NowNanos();
  timer_.Arrived(now, support_->PendingCount() == 0);
  OrderedResult r = support_->Ordered(std::move(tx));
  const std::vector<int64_t> first_seen = timer_.Ordered(r, now);
  for (size_t i = 0; i < r.batches.size(); ++i) {
    ORDERING_RETURN_IF_ERROR(support_->WriteBlock(std::move(r.batches[i]), "", first_seen[i]));
  }
  return Status::OK();
}

Status SoloChain::WriteTimeoutBlock() {
  timer_.Clear();
  Batch batch = support_->CutPending(CUT_REASON_TIMEOUT);
  if (batch.messages.empty()) return Status::OK();
  return support_->WriteBlock(std::move(batch), "", timer_.first_seen());
}

namespace {

class SoloBackend final : public Backend {
 public:
  std::string Name() const override { return "solo"; }
  std::string Summary() const override { return "one orderer orders by arrival, no replication (the reference)"; }
  void AddOptions(boost::program_options::options_description* opts) override {
    opts->add_options()("solo-queue", boost::program_options::value(&options_.queue_capacity)->default_value(10000),
                        "solo: transactions accepted but not yet ordered before Broadcast waits");
  }
  Status Configure(const boost::program_options::variables_map&) override {
    if (options_.queue_capacity == 0) return Status::InvalidArgument("--solo-queue must be at least 1");
    return Status::OK();
  }
  Status MakeConsenter(std::unique_ptr<Consenter>* out) override {
    *out = std::make_unique<SoloConsenter>(options_);
    return Status::OK();
  }

 private:
  SoloOptions options_;
};

}  // namespace

std::unique_ptr<Backend> MakeBackend() { return std::make_unique<SoloBackend>(); }

}  // namespace ordering::solo

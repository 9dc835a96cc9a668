#include "peer-sim/submitter.h"

#include <grpcpp/grpcpp.h>
#include <librdkafka/rdkafka.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "common/kafka.h"
#include "common/kafka_stats.h"
#include "common/mutex.h"
#include "proto/ab.grpc.pb.h"

namespace ordering {

bool ParseSubmitPath(const std::string& name, SubmitPath* path) {
  if (name == "kafka") {
    *path = SubmitPath::kKafka;
  } else if (name == "broadcast") {
    *path = SubmitPath::kBroadcast;
  } else {
    return false;
  }
  return true;
}

const char* SubmitPathName(SubmitPath path) { return path == SubmitPath::kKafka ? "kafka" : "broadcast"; }

bool AddBatchStatistics(std::string_view json, const std::string& topic, BatchCounters* counters) {
  kafka::ClientStats stats;
  if (!kafka::ParseClientStats(json, &stats)) return false;
  const kafka::TopicStats* t = stats.Topic(topic);
  if (t == nullptr || !t->batchcnt || !t->batchsize || !t->batchcnt->counts_valid || !t->batchsize->counts_valid) {
    return false;
  }
  *counters += BatchCounters{static_cast<uint64_t>(t->batchcnt->cnt), static_cast<uint64_t>(t->batchcnt->sum),
                             static_cast<uint64_t>(t->batchsize->sum)};
  return true;
}

namespace {

class KafkaSubmitter final : public Submitter {
 public:
  explicit KafkaSubmitter(const SubmitterOptions& options) : options_(options) {}

  Status Connect() {
    kafka::Producer::Options po;
    po.brokers = options_.brokers;
    po.properties = options_.producer_properties;
    if (GetProperty(po.properties, "statistics.interval.ms").empty()) {
      po.properties.push_back(
          {"statistics.interval.ms", std::to_string(kBatchStatsIntervalMs), "peer-sim (batch sizes)"});
    }
    po.on_statistics = [this](std::string_view json) {
      // An interval without the topic's batch windows (before its first
      // send) adds nothing.
      BatchCounters interval;
      if (!AddBatchStatistics(json, options_.topic, &interval)) return;
      MutexLock l(&batches_mu_);
      batches_ += interval;
    };
    po.close_flush_timeout_ms = 0;  // the load generator bounds the exit itself
    po.on_delivery = [this](const kafka::DeliveryReport& r) {
      SubmitOutcome outcome = r.status.ok() ? SubmitOutcome::kAccepted
                              : r.purged    ? SubmitOutcome::kAbandoned
                                            : SubmitOutcome::kFailed;
      options_.on_outcome(r.opaque, outcome, r.status.ok() ? std::string() : r.status.ToString());
    };
    ORDERING_RETURN_IF_ERROR(kafka::Producer::Create(po, &producer_));
    // Connecting now also keeps connection set-up out of the first
    // transactions' latency.
    const rd_kafka_metadata_t* md = nullptr;
    rd_kafka_resp_err_t err = rd_kafka_metadata(producer_->handle(), 1, nullptr, &md, 10000);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Status::Unavailable("cannot reach Kafka at " + options_.brokers + ": " + rd_kafka_err2str(err));
    }
    bool found = false;
    for (int i = 0; i < md->topic_cnt; ++i) found |= options_.topic == md->topics[i].topic;
    rd_kafka_metadata_destroy(md);
    if (found) return Status::OK();
    if (!options_.create_topic) {
      return Status::Unavailable("topic '" + options_.topic + "' does not exist on " + options_.brokers +
                                 ": start the orderer first (it creates its channel's topic)");
    }
    // One partition, the brokers' default replication.
    return kafka::EnsureTopic(options_.brokers, options_.producer_properties, options_.topic, 1, 0, 15000)
        .WithContext("creating topic '" + options_.topic + "'");
  }

  std::string WireBytes(BuiltTx&& tx) const override { return std::move(tx.record); }
  Status Submit(const std::string& bytes, void* opaque) override {
    return producer_->Produce(options_.topic, 0, bytes, opaque);
  }
  Status Flush(int timeout_ms) override { return producer_->Flush(timeout_ms); }
  int Abandon(int timeout_ms) override { return producer_->Purge(timeout_ms); }
  std::optional<BatchCounters> Batches() const override {
    MutexLock l(&batches_mu_);
    return batches_;
  }

 private:
  SubmitterOptions options_;
  mutable Mutex batches_mu_;
  BatchCounters batches_ GUARDED_BY(batches_mu_);
  // Last: destroyed first, so its poll thread stops before the members its
  // callbacks use.
  std::unique_ptr<kafka::Producer> producer_;
};

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

Status MakeSubmitter(const SubmitterOptions& options, std::unique_ptr<Submitter>* out) {
  if (!options.on_outcome) return Status::InvalidArgument("no outcome callback");
  if (options.path == SubmitPath::kKafka) {
    auto s = std::make_unique<KafkaSubmitter>(options);
    ORDERING_RETURN_IF_ERROR(s->Connect());
    *out = std::move(s);
  } else {
    auto s = std::make_unique<BroadcastSubmitter>(options);
    ORDERING_RETURN_IF_ERROR(s->Connect());
    *out = std::move(s);
  }
  return Status::OK();
}

}  // namespace ordering

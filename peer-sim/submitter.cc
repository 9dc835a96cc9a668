#include "peer-sim/submitter.h"

#include <librdkafka/rdkafka.h>

#include "common/kafka.h"
#include "common/kafka_stats.h"
#include "common/mutex.h"
#include "peer-sim/broadcast_submitter.h"

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
      SubmitAnswer a;
      if (r.status.ok()) {
        a.outcome = SubmitOutcome::kAccepted;
        a.code = "ACKED";
      } else {
        a.outcome = r.purged ? SubmitOutcome::kAbandoned : SubmitOutcome::kFailed;
        a.code = r.purged ? "PURGED" : "FAILED";
        a.detail = r.status.ToString();
      }
      options_.on_outcome(r.opaque, a);
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
  Status Submit(const std::string& bytes, std::string_view, void* opaque) override {
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

}  // namespace

Status MakeSubmitter(const SubmitterOptions& options, std::unique_ptr<Submitter>* out) {
  if (!options.on_outcome) return Status::InvalidArgument("no outcome callback");
  if (options.path == SubmitPath::kKafka) {
    auto s = std::make_unique<KafkaSubmitter>(options);
    ORDERING_RETURN_IF_ERROR(s->Connect());
    *out = std::move(s);
    return Status::OK();
  }
  return MakeBroadcastSubmitter(options, out);
}

}  // namespace ordering

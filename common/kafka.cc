#include "common/kafka.h"

#include <librdkafka/rdkafka.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <future>

#include "common/kafka_log.h"
#include "common/kafka_stats.h"

namespace ordering::kafka {

void RdKafkaDeleter::operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
void RdKafkaConfDeleter::operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }

std::string LibraryVersion() { return rd_kafka_version_str(); }

Status BuildConfig(const std::string& brokers, const Properties& props, RdKafkaConfPtr* out) {
  RdKafkaConfPtr conf(rd_kafka_conf_new());
  InstallLogCallbacks(conf.get());
  char err[512];
  if (!brokers.empty() &&
      rd_kafka_conf_set(conf.get(), "bootstrap.servers", brokers.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
    return Status::InvalidArgument(std::string("bootstrap.servers: ") + err);
  }
  for (const auto& p : props) {
    if (rd_kafka_conf_set(conf.get(), p.key.c_str(), p.value.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
      return Status::InvalidArgument(p.origin + ": Kafka property '" + p.key + "=" + p.value + "': " + err);
    }
  }
  *out = std::move(conf);
  return Status::OK();
}

// ---------------------------------------------------------------- Producer

void Producer::DeliveryCallback(rd_kafka_t*, const void* msg_ptr, void* opaque) {
  auto* self = static_cast<Producer*>(opaque);
  auto* msg = static_cast<const rd_kafka_message_t*>(msg_ptr);
  if (!self->options_.on_delivery) return;
  DeliveryReport report;
  report.opaque = msg->_private;
  if (msg->err) {
    report.purged = msg->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE || msg->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT;
    std::string text =
        std::string("delivery failed: ") + rd_kafka_err2name(msg->err) + ": " + rd_kafka_err2str(msg->err);
    // The broker refused the record itself (larger than its
    // message.max.bytes): retrying cannot help.
    report.status =
        msg->err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE ? Status::InvalidArgument(text) : Status::Unavailable(text);
  } else {
    report.offset = Offset(msg->offset);
  }
  self->options_.on_delivery(report);
}

void Producer::ErrorCallback(rd_kafka_t*, int err, const char* reason, void* opaque) {
  auto* self = static_cast<Producer*>(opaque);
  ClientError e = MakeClientError(err, reason != nullptr ? reason : "");
  if (self->options_.on_error) {
    self->options_.on_error(e);
  } else {
    LogClientError(rd_kafka_name(self->rk_.get()), e);
  }
}

void PartitionConsumer::ErrorCallback(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  ClientError e = MakeClientError(err, reason != nullptr ? reason : "");
  auto* sink = static_cast<Sink*>(opaque);
  if (sink->on_error) {
    sink->on_error(e);
  } else {
    LogClientError(rd_kafka_name(rk), e);
  }
}

namespace {

// Ends the logged connection failures of brokers the client is connected
// to again (kafka_log.h).
void NoteBrokers(std::string_view json) {
  ClientStats stats;
  if (ParseClientStats(json, &stats)) NoteBrokerStates(stats);
}

}  // namespace

int Producer::StatsCallback(rd_kafka_t*, char* json, size_t len, void* opaque) {
  NoteBrokers(std::string_view(json, len));
  static_cast<Producer*>(opaque)->options_.on_statistics(std::string_view(json, len));
  return 0;  // librdkafka frees json
}

int PartitionConsumer::StatsCallback(rd_kafka_t*, char* json, size_t len, void* opaque) {
  NoteBrokers(std::string_view(json, len));
  auto* sink = static_cast<Sink*>(opaque);
  if (sink->on_statistics) sink->on_statistics(std::string_view(json, len));
  return 0;
}

Status Producer::Create(const Options& options, std::unique_ptr<Producer>* out) {
  std::unique_ptr<Producer> p(new Producer());
  p->options_ = options;
  RdKafkaConfPtr conf;
  ORDERING_RETURN_IF_ERROR(BuildConfig(options.brokers, options.properties, &conf));
  rd_kafka_conf_set_dr_msg_cb(conf.get(), reinterpret_cast<void (*)(rd_kafka_t*, const rd_kafka_message_t*, void*)>(
                                              &Producer::DeliveryCallback));
  rd_kafka_conf_set_opaque(conf.get(), p.get());
  rd_kafka_conf_set_error_cb(conf.get(), &Producer::ErrorCallback);
  if (options.on_statistics) rd_kafka_conf_set_stats_cb(conf.get(), &Producer::StatsCallback);
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), err, sizeof(err));
  if (rk == nullptr) return Status::InvalidArgument(std::string("creating producer: ") + err);
  conf.release();  // owned by rk now
  p->rk_.reset(rk);
  Producer* raw = p.get();
  p->poller_ = std::thread([raw] {
    while (!raw->stop_.load(std::memory_order_relaxed)) rd_kafka_poll(raw->rk_.get(), 50);
  });
  *out = std::move(p);
  return Status::OK();
}

Producer::~Producer() {
  if (rk_ && options_.close_flush_timeout_ms > 0) {
    rd_kafka_resp_err_t err = rd_kafka_flush(rk_.get(), options_.close_flush_timeout_ms);
    if (err) {
      // A partition without a leader (its broker lost) holds records until
      // message.timeout.ms (5 minutes by default): give them up now, so the
      // close is bounded; their delivery reports say purged.
      spdlog::warn("producer closed with {} records undelivered; purging them", OutQueueLength());
      rd_kafka_purge(rk_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
      rd_kafka_flush(rk_.get(), 1000);  // serves the purged records' delivery reports
    }
  }
  stop_ = true;
  if (poller_.joinable()) poller_.join();
}

Status Producer::Produce(const std::string& topic, int32_t partition, std::string_view value, void* opaque) {
  rd_kafka_resp_err_t err = rd_kafka_producev(
      rk_.get(), RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(partition),
      RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY | RD_KAFKA_MSG_F_BLOCK), RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
  if (err) {
    std::string msg = std::string("produce to ") + topic + ": " + rd_kafka_err2name(err) + ": " + rd_kafka_err2str(err);
    // The record itself is at fault: retrying cannot help.
    if (err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE) return Status::InvalidArgument(msg);
    return Status::Unavailable(msg);
  }
  return Status::OK();
}

Status Producer::Flush(int timeout_ms) {
  rd_kafka_resp_err_t err = rd_kafka_flush(rk_.get(), timeout_ms);
  if (err) {
    return Status::Unavailable("flush timed out with " + std::to_string(OutQueueLength()) + " records undelivered");
  }
  return Status::OK();
}

int Producer::Purge(int timeout_ms) {
  rd_kafka_resp_err_t err = rd_kafka_purge(rk_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  if (err) spdlog::warn("purge: {}", rd_kafka_err2str(err));
  // The poll thread serves the purged records' delivery reports.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (OutQueueLength() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return OutQueueLength();
}

int Producer::OutQueueLength() const { return rd_kafka_outq_len(rk_.get()); }

// ---------------------------------------------------------------- Consumer

Status PartitionConsumer::Create(const Options& options, std::unique_ptr<PartitionConsumer>* out) {
  std::unique_ptr<PartitionConsumer> c(new PartitionConsumer());
  c->options_ = options;
  // Defaults the caller's properties may override: no group offsets (the
  // caller owns offsets) and never jump over missing data.
  Properties props = {
      {"group.id", "ordering-" + options.topic, "default"}, {"enable.auto.commit", "false", "default"},
      {"enable.auto.offset.store", "false", "default"},     {"auto.offset.reset", "error", "default"},
      {"enable.partition.eof", "false", "default"},
  };
  props.insert(props.end(), options.properties.begin(), options.properties.end());
  RdKafkaConfPtr conf;
  ORDERING_RETURN_IF_ERROR(BuildConfig(options.brokers, props, &conf));
  c->sink_ = std::make_shared<Sink>(Sink{options.on_statistics, options.on_error});
  rd_kafka_conf_set_opaque(conf.get(), c->sink_.get());
  rd_kafka_conf_set_error_cb(conf.get(), &PartitionConsumer::ErrorCallback);
  if (options.on_statistics) rd_kafka_conf_set_stats_cb(conf.get(), &PartitionConsumer::StatsCallback);
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), err, sizeof(err));
  if (rk == nullptr) return Status::InvalidArgument(std::string("creating consumer: ") + err);
  conf.release();
  c->rk_.reset(rk);
  rd_kafka_poll_set_consumer(rk);

  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(parts, options.topic.c_str(), options.partition)->offset =
      options.start_offset.value();
  rd_kafka_resp_err_t aerr = rd_kafka_assign(rk, parts);
  rd_kafka_topic_partition_list_destroy(parts);
  if (aerr) return Status::Internal(std::string("assign: ") + rd_kafka_err2str(aerr));
  *out = std::move(c);
  return Status::OK();
}

PartitionConsumer::~PartitionConsumer() {
  if (!rk_) return;
  // librdkafka 2.0.2 can wait forever in rd_kafka_destroy once the assigned
  // partition has been deleted (its broker thread waits on the partition),
  // and rd_kafka_consumer_close waits on the group coordinator, which may
  // be a broker that is gone: close and destroy on a helper thread and give
  // up waiting after a bound, so that a chain that lost its topic or its
  // broker still stops.
  auto done = std::make_shared<std::promise<void>>();
  std::future<void> finished = done->get_future();
  rd_kafka_t* rk = rk_.release();
  // The close may still serve error events: they no longer reach the
  // caller, who may be gone. Nothing else runs the handle's callbacks now.
  sink_->on_error = nullptr;
  std::thread([rk, done, sink = sink_] {  // the sink lives until the handle is gone
    rd_kafka_assign(rk, nullptr);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    done->set_value();
  })
      .detach();
  if (finished.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    spdlog::warn(
        "consumer of {}: librdkafka did not finish closing within 10 s (a deleted partition, or a "
        "lost broker?); leaving its threads behind",
        options_.topic);
  }
}

Status PartitionConsumer::Poll(int timeout_ms, ConsumedRecord* record, bool* got) {
  *got = false;
  rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_.get(), timeout_ms);
  if (m == nullptr) return Status::OK();
  std::unique_ptr<rd_kafka_message_t, void (*)(rd_kafka_message_t*)> owned(m, rd_kafka_message_destroy);
  if (m->err) {
    switch (m->err) {
      case RD_KAFKA_RESP_ERR__PARTITION_EOF:
        return Status::OK();
      case RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET:
      case RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE:
        return Status::NotFound("offset " + std::to_string(options_.start_offset.value()) + "+ of " + options_.topic +
                                " is no longer on the broker (" + rd_kafka_message_errstr(m) +
                                "); refusing to skip records");
      case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
      case RD_KAFKA_RESP_ERR__FATAL:
        return Status::Unavailable(std::string("consumer: ") + rd_kafka_message_errstr(m));
      default: {
        // Transient (broker down, leader change, unknown topic while it is
        // being created): librdkafka retries by itself.
        ClientError e = MakeClientError(m->err, rd_kafka_message_errstr(m));
        if (e.all_brokers_down && options_.on_error) {
          options_.on_error(e);
        } else {
          SPDLOG_DEBUG("consumer: {} (retrying)", e.reason);
        }
        return Status::OK();
      }
    }
  }
  record->offset = Offset(m->offset);
  record->value.assign(static_cast<const char*>(m->payload), m->len);
  *got = true;
  return Status::OK();
}

Status PartitionConsumer::QueryWatermarks(Offset* low, Offset* high, int timeout_ms) {
  int64_t lo = 0, hi = 0;
  rd_kafka_resp_err_t err =
      rd_kafka_query_watermark_offsets(rk_.get(), options_.topic.c_str(), options_.partition, &lo, &hi, timeout_ms);
  if (err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
      err == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION) {
    return Status::NotFound("partition " + std::to_string(options_.partition) + " of topic " + options_.topic +
                            " does not exist (" + rd_kafka_err2str(err) + ")");
  }
  if (err) return Status::Unavailable(std::string("watermarks: ") + rd_kafka_err2str(err));
  *low = Offset(lo);
  *high = Offset(hi);
  return Status::OK();
}

Status PartitionConsumer::CheckPartition(int timeout_ms, Offset* cached_high, std::vector<std::string>* brokers) {
  // All-topics metadata: asking for one topic could make the broker create it.
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk_.get(), 1, nullptr, &md, timeout_ms);
  if (err) return Status::Unavailable(std::string("metadata: ") + rd_kafka_err2str(err));
  std::unique_ptr<const rd_kafka_metadata_t, void (*)(const rd_kafka_metadata_t*)> owned(md, rd_kafka_metadata_destroy);
  std::vector<std::string> live;
  for (int i = 0; i < md->broker_cnt; ++i) {
    live.push_back(std::string(md->brokers[i].host) + ":" + std::to_string(md->brokers[i].port));
  }
  NoteBrokersListed(
      live, std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
                .count());
  if (brokers != nullptr) *brokers = std::move(live);
  const std::string where = "partition " + std::to_string(options_.partition) + " of topic " + options_.topic;
  const rd_kafka_metadata_topic_t* topic = nullptr;
  for (int i = 0; i < md->topic_cnt; ++i) {
    if (options_.topic == md->topics[i].topic) topic = &md->topics[i];
  }
  if (topic == nullptr || topic->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
    return Status::NotFound(where + " does not exist (the cluster does not list the topic)");
  }
  bool listed = false;
  for (int p = 0; p < topic->partition_cnt; ++p) listed |= topic->partitions[p].id == options_.partition;
  if (!listed)
    return Status::NotFound(where + " does not exist (the topic has " + std::to_string(topic->partition_cnt) +
                            " partitions)");
  *cached_high = CachedHighWatermark();
  return Status::OK();
}

Offset PartitionConsumer::CachedHighWatermark() const {
  int64_t lo = -1, hi = -1;
  if (rd_kafka_get_watermark_offsets(rk_.get(), options_.topic.c_str(), options_.partition, &lo, &hi) || hi < 0) {
    return Offset(-1);
  }
  return Offset(hi);
}

}  // namespace ordering::kafka

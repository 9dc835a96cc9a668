#include "common/kafka.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <future>

namespace ordering::kafka {

void RdKafkaDeleter::operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
void RdKafkaConfDeleter::operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }

std::string LibraryVersion() { return rd_kafka_version_str(); }

namespace {

// librdkafka's log lines go through spdlog (so --log-level filters them and
// they share one format) instead of straight to stderr.
void LogToSpdlog(const rd_kafka_t* rk, int level, const char* facility, const char* message) {
  spdlog::level::level_enum l = level <= 3   ? spdlog::level::err
                                : level == 4 ? spdlog::level::warn
                                : level <= 6 ? spdlog::level::info
                                             : spdlog::level::debug;
  spdlog::log(l, "librdkafka {} {}: {}", rk != nullptr ? rd_kafka_name(rk) : "-", facility, message);
}

}  // namespace

Status BuildConfig(const std::string& brokers, const Properties& props, RdKafkaConfPtr* out) {
  RdKafkaConfPtr conf(rd_kafka_conf_new());
  rd_kafka_conf_set_log_cb(conf.get(), LogToSpdlog);
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
    report.status = Status::Unavailable(std::string("delivery failed: ") + rd_kafka_err2name(msg->err) + ": " +
                                        rd_kafka_err2str(msg->err));
  } else {
    report.offset = Offset(msg->offset);
  }
  self->options_.on_delivery(report);
}

int Producer::StatsCallback(rd_kafka_t*, char* json, size_t len, void* opaque) {
  static_cast<Producer*>(opaque)->options_.on_statistics(std::string_view(json, len));
  return 0;  // librdkafka frees json
}

int PartitionConsumer::StatsCallback(rd_kafka_t*, char* json, size_t len, void* opaque) {
  static_cast<StatsSink*>(opaque)->fn(std::string_view(json, len));
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
    return Status::Unavailable(std::string("produce to ") + topic + ": " + rd_kafka_err2name(err) + ": " +
                               rd_kafka_err2str(err));
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
  if (options.on_statistics) {
    c->stats_sink_ = std::make_shared<StatsSink>(StatsSink{options.on_statistics});
    rd_kafka_conf_set_opaque(conf.get(), c->stats_sink_.get());
    rd_kafka_conf_set_stats_cb(conf.get(), &PartitionConsumer::StatsCallback);
  }
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
  std::thread([rk, done, sink = stats_sink_] {  // the sink lives until the handle is gone
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
      default:
        // Transient (broker down, leader change, unknown topic while it is
        // being created): librdkafka retries by itself.
        spdlog::debug("consumer: {} (retrying)", rd_kafka_message_errstr(m));
        return Status::OK();
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

Status PartitionConsumer::CheckPartition(int timeout_ms, Offset* cached_high) {
  // All-topics metadata: asking for one topic could make the broker create it.
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk_.get(), 1, nullptr, &md, timeout_ms);
  if (err) return Status::Unavailable(std::string("metadata: ") + rd_kafka_err2str(err));
  std::unique_ptr<const rd_kafka_metadata_t, void (*)(const rd_kafka_metadata_t*)> owned(md, rd_kafka_metadata_destroy);
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

// ---------------------------------------------------------------- Admin

namespace {

Status NewAdminClient(const std::string& brokers, const Properties& props, RdKafkaPtr* out) {
  RdKafkaConfPtr conf;
  ORDERING_RETURN_IF_ERROR(BuildConfig(brokers, props, &conf));
  char err[512];
  RdKafkaPtr rk(rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), err, sizeof(err)));
  if (!rk) return Status::InvalidArgument(std::string("admin client: ") + err);
  conf.release();
  *out = std::move(rk);
  return Status::OK();
}

// Sends one admin request (`issue` posts it with the options on the queue)
// and reads the per-topic results of its answer: any error but `tolerated`
// fails, naming the topic.
Status RunTopicAdmin(rd_kafka_t* rk, rd_kafka_admin_op_t op, const char* what, const std::string& brokers,
                     int timeout_ms, rd_kafka_resp_err_t tolerated,
                     const std::function<void(rd_kafka_AdminOptions_t*, rd_kafka_queue_t*)>& issue,
                     const std::function<const rd_kafka_topic_result_t**(rd_kafka_event_t*, size_t*)>& results) {
  char err[512];
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
  rd_kafka_AdminOptions_t* opts = rd_kafka_AdminOptions_new(rk, op);
  rd_kafka_AdminOptions_set_request_timeout(opts, timeout_ms, err, sizeof(err));
  rd_kafka_AdminOptions_set_operation_timeout(opts, timeout_ms, err, sizeof(err));
  issue(opts, q);

  Status result = Status::Unavailable(std::string("no ") + what + " result within " + std::to_string(timeout_ms) +
                                      " ms from " + brokers);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, timeout_ms + 2000);
  if (ev != nullptr) {
    if (rd_kafka_event_error(ev)) {
      result = Status::Unavailable(std::string(what) + ": " + rd_kafka_event_error_string(ev));
    } else {
      size_t n = 0;
      const rd_kafka_topic_result_t** trs = results(ev, &n);
      std::string failures;
      for (size_t i = 0; i < n; ++i) {
        rd_kafka_resp_err_t e = rd_kafka_topic_result_error(trs[i]);
        if (e && e != tolerated) {
          const char* text = rd_kafka_topic_result_error_string(trs[i]);
          failures += std::string(failures.empty() ? "" : "; ") + rd_kafka_topic_result_name(trs[i]) + ": " +
                      rd_kafka_err2name(e) + ": " + (text ? text : rd_kafka_err2str(e));
        }
      }
      result = failures.empty() ? Status::OK() : Status::Unavailable(std::string(what) + ": " + failures);
    }
    rd_kafka_event_destroy(ev);
  }
  rd_kafka_AdminOptions_destroy(opts);
  rd_kafka_queue_destroy(q);
  return result;
}

// True when `md` lists `topic` with at least one partition, each with a leader.
bool TopicReady(const rd_kafka_metadata_t* md, const std::string& topic) {
  for (int i = 0; i < md->topic_cnt; ++i) {
    const rd_kafka_metadata_topic_t& t = md->topics[i];
    if (topic != t.topic) continue;
    if (t.err != RD_KAFKA_RESP_ERR_NO_ERROR || t.partition_cnt <= 0) return false;
    for (int p = 0; p < t.partition_cnt; ++p) {
      if (t.partitions[p].err != RD_KAFKA_RESP_ERR_NO_ERROR || t.partitions[p].leader < 0) return false;
    }
    return true;
  }
  return false;
}

// All-topics metadata: it does not trigger the broker's auto-creation.
bool AskTopicReady(rd_kafka_t* rk, const std::string& topic, int timeout_ms) {
  const rd_kafka_metadata_t* md = nullptr;
  if (rd_kafka_metadata(rk, 1, nullptr, &md, timeout_ms) != RD_KAFKA_RESP_ERR_NO_ERROR) return false;
  bool ready = TopicReady(md, topic);
  rd_kafka_metadata_destroy(md);
  return ready;
}

int MillisecondsLeft(std::chrono::steady_clock::time_point deadline) {
  return static_cast<int>(std::max<int64_t>(
      1, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count()));
}

// A broker learns of a new topic from the cluster's metadata log a little
// after the controller accepted it. A client that asks a lagging broker in
// that window is told the topic does not exist, and librdkafka then fails
// the messages queued for it and stops fetching it. So a topic is only handed
// out once every broker lists it with a leader for each partition.
Status WaitUntilEveryBrokerKnows(const std::string& brokers, const Properties& props, const std::string& topic,
                                 int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  std::vector<std::string> addresses;
  ORDERING_RETURN_IF_ERROR(BrokerAddresses(brokers, props, timeout_ms, &addresses));
  for (const std::string& address : addresses) {
    bool known = false;
    while (true) {
      ORDERING_RETURN_IF_ERROR(BrokerKnowsTopic(address, props, topic, MillisecondsLeft(deadline), &known));
      if (known) break;
      if (std::chrono::steady_clock::now() >= deadline) {
        return Status::Unavailable("topic " + topic + " not known with a leader by broker " + address + " within " +
                                   std::to_string(timeout_ms) + " ms");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  return Status::OK();
}

}  // namespace

Status BrokerAddresses(const std::string& brokers, const Properties& props, int timeout_ms,
                       std::vector<std::string>* out) {
  RdKafkaPtr rk;
  ORDERING_RETURN_IF_ERROR(NewAdminClient(brokers, props, &rk));
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t e = rd_kafka_metadata(rk.get(), 1, nullptr, &md, timeout_ms);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Unavailable("metadata from " + brokers + ": " + rd_kafka_err2str(e));
  }
  out->clear();
  for (int i = 0; i < md->broker_cnt; ++i) {
    out->push_back(std::string(md->brokers[i].host) + ":" + std::to_string(md->brokers[i].port));
  }
  rd_kafka_metadata_destroy(md);
  return Status::OK();
}

Status BrokerKnowsTopic(const std::string& address, const Properties& props, const std::string& topic, int timeout_ms,
                        bool* known) {
  // A client bootstrapped from this broker alone asks it: librdkafka sends
  // metadata requests to a broker it is connected to, and connects lazily.
  RdKafkaPtr rk;
  ORDERING_RETURN_IF_ERROR(NewAdminClient(address, props, &rk));
  *known = AskTopicReady(rk.get(), topic, timeout_ms);
  return Status::OK();
}

Status EnsureTopic(const std::string& brokers, const Properties& props, const std::string& topic, int partitions,
                   int replication_factor, int timeout_ms) {
  RdKafkaPtr rk;
  ORDERING_RETURN_IF_ERROR(NewAdminClient(brokers, props, &rk));

  // An existing topic is fine. Asking for all topics works where
  // CreateTopics does not (the mock cluster has no controller).
  if (AskTopicReady(rk.get(), topic, timeout_ms)) return WaitUntilEveryBrokerKnows(brokers, props, topic, timeout_ms);

  // A replication factor <= 0 asks for the broker's default.replication.factor.
  char err[512];
  rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(topic.c_str(), partitions,
                                                  replication_factor > 0 ? replication_factor : -1, err, sizeof(err));
  if (nt == nullptr) return Status::InvalidArgument(std::string("new topic: ") + err);
  Status st = RunTopicAdmin(
      rk.get(), RD_KAFKA_ADMIN_OP_CREATETOPICS, "CreateTopics", brokers, timeout_ms,
      RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS,
      [&](rd_kafka_AdminOptions_t* opts, rd_kafka_queue_t* q) { rd_kafka_CreateTopics(rk.get(), &nt, 1, opts, q); },
      [](rd_kafka_event_t* ev, size_t* n) {
        return rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), n);
      });
  rd_kafka_NewTopic_destroy(nt);
  ORDERING_RETURN_IF_ERROR(st);
  return WaitUntilEveryBrokerKnows(brokers, props, topic, timeout_ms);
}

Status DeleteTopics(const std::string& brokers, const Properties& props, const std::vector<std::string>& topics,
                    int timeout_ms) {
  if (topics.empty()) return Status::OK();
  RdKafkaPtr rk;
  ORDERING_RETURN_IF_ERROR(NewAdminClient(brokers, props, &rk));
  std::vector<rd_kafka_DeleteTopic_t*> dts;
  for (const std::string& t : topics) dts.push_back(rd_kafka_DeleteTopic_new(t.c_str()));
  Status st = RunTopicAdmin(
      rk.get(), RD_KAFKA_ADMIN_OP_DELETETOPICS, "DeleteTopics", brokers, timeout_ms, RD_KAFKA_RESP_ERR_NO_ERROR,
      [&](rd_kafka_AdminOptions_t* opts, rd_kafka_queue_t* q) {
        rd_kafka_DeleteTopics(rk.get(), dts.data(), dts.size(), opts, q);
      },
      [](rd_kafka_event_t* ev, size_t* n) {
        return rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev), n);
      });
  rd_kafka_DeleteTopic_destroy_array(dts.data(), dts.size());
  return st;
}

// ---------------------------------------------------------------- Mock

Status MockCluster::Start(int broker_count, std::unique_ptr<MockCluster>* out) {
  std::unique_ptr<MockCluster> m(new MockCluster());
  RdKafkaConfPtr conf(rd_kafka_conf_new());
  char err[512];
  // The host handle never connects anywhere; silence its notice about
  // having no bootstrap.servers.
  rd_kafka_conf_set(conf.get(), "log_level", "4", err, sizeof(err));
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), err, sizeof(err));
  if (rk == nullptr) return Status::Internal(std::string("mock host handle: ") + err);
  conf.release();
  m->host_.reset(rk);
  m->mcluster_ = rd_kafka_mock_cluster_new(rk, broker_count);
  if (m->mcluster_ == nullptr) return Status::Internal("rd_kafka_mock_cluster_new failed");
  m->bootstrap_ = rd_kafka_mock_cluster_bootstraps(m->mcluster_);
  *out = std::move(m);
  return Status::OK();
}

MockCluster::~MockCluster() {
  if (mcluster_ != nullptr) rd_kafka_mock_cluster_destroy(mcluster_);
}

Status MockCluster::CreateTopic(const std::string& topic, int partitions, int replication_factor) {
  rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(mcluster_, topic.c_str(), partitions, replication_factor);
  if (err) return Status::Internal(std::string("mock topic create: ") + rd_kafka_err2str(err));
  return Status::OK();
}

Status MockCluster::SetBrokerRtt(int broker_id, int rtt_ms) {
  rd_kafka_resp_err_t err = rd_kafka_mock_broker_set_rtt(mcluster_, broker_id, rtt_ms);
  if (err) return Status::InvalidArgument(std::string("mock broker rtt: ") + rd_kafka_err2str(err));
  return Status::OK();
}

Status MockCluster::SetBrokerUp(int broker_id, bool up) {
  rd_kafka_resp_err_t err =
      up ? rd_kafka_mock_broker_set_up(mcluster_, broker_id) : rd_kafka_mock_broker_set_down(mcluster_, broker_id);
  if (err) return Status::InvalidArgument(std::string("mock broker up/down: ") + rd_kafka_err2str(err));
  return Status::OK();
}

Status MockCluster::SetPartitionLeader(const std::string& topic, int partition, int broker_id) {
  rd_kafka_resp_err_t err = rd_kafka_mock_partition_set_leader(mcluster_, topic.c_str(), partition, broker_id);
  if (err) return Status::InvalidArgument(std::string("mock partition leader: ") + rd_kafka_err2str(err));
  return Status::OK();
}

}  // namespace ordering::kafka

// The Kafka admin calls (topics: create and wait until every broker knows
// them, delete) and librdkafka's mock cluster, the embedded broker.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "common/kafka.h"

namespace ordering::kafka {

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
                   int replication_factor, int timeout_ms, const ConfigMap& configs) {
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
  for (const auto& [name, value] : configs) {
    if (rd_kafka_resp_err_t e = rd_kafka_NewTopic_set_config(nt, name.c_str(), value.c_str()); e) {
      rd_kafka_NewTopic_destroy(nt);
      return Status::InvalidArgument("topic config " + name + "=" + value + ": " + rd_kafka_err2str(e));
    }
  }
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

Status DescribeSettings(const std::string& brokers, const Properties& props, const std::string& topic, int timeout_ms,
                        ClusterSettings* out) {
  *out = ClusterSettings();
  out->topic = topic;
  RdKafkaPtr rk;
  ORDERING_RETURN_IF_ERROR(NewAdminClient(brokers, props, &rk));
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t e = rd_kafka_metadata(rk.get(), 1, nullptr, &md, timeout_ms);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Unavailable("metadata from " + brokers + ": " + rd_kafka_err2str(e));
  }
  out->broker_count = md->broker_cnt;
  for (int i = 0; i < md->broker_cnt; ++i) {
    out->broker_addresses[md->brokers[i].id] =
        std::string(md->brokers[i].host) + ":" + std::to_string(md->brokers[i].port);
  }
  for (int i = 0; i < md->topic_cnt; ++i) {
    const rd_kafka_metadata_topic_t& t = md->topics[i];
    if (topic != t.topic) continue;
    for (int p = 0; p < t.partition_cnt; ++p) {
      if (t.partitions[p].id == 0) out->replication_factor = t.partitions[p].replica_cnt;
    }
  }
  rd_kafka_metadata_destroy(md);
  // librdkafka sends a topic's DescribeConfigs to the controller; a cluster
  // whose controller is none of its brokers (the mock cluster names 0, and
  // does not implement DescribeConfigs either) would only time out.
  const int32_t controller = rd_kafka_controllerid(rk.get(), std::min(timeout_ms, 2000));
  if (out->broker_addresses.count(controller) == 0) {
    return Status::Unavailable("the cluster at " + brokers + " names controller " + std::to_string(controller) +
                               ", none of its brokers (the embedded mock cluster does so, and does not implement "
                               "DescribeConfigs)");
  }

  // One request for the topic, one per broker: librdkafka sends a broker
  // resource to that broker, one per request.
  struct Request {
    std::string what;
    rd_kafka_ResourceType_t type;
    std::string name;
    ConfigMap* configs;
  };
  std::vector<Request> requests = {{"topic " + topic, RD_KAFKA_RESOURCE_TOPIC, topic, &out->topic_configs}};
  for (const auto& [id, address] : out->broker_addresses) {
    requests.push_back({"broker " + std::to_string(id) + " (" + address + ")", RD_KAFKA_RESOURCE_BROKER,
                        std::to_string(id), &out->broker_configs[id]});
  }
  char err[512];
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk.get());
  for (size_t i = 0; i < requests.size(); ++i) {
    rd_kafka_AdminOptions_t* opts = rd_kafka_AdminOptions_new(rk.get(), RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
    rd_kafka_AdminOptions_set_request_timeout(opts, timeout_ms, err, sizeof(err));
    rd_kafka_AdminOptions_set_opaque(opts, reinterpret_cast<void*>(i));
    rd_kafka_ConfigResource_t* res = rd_kafka_ConfigResource_new(requests[i].type, requests[i].name.c_str());
    rd_kafka_DescribeConfigs(rk.get(), &res, 1, opts, q);
    rd_kafka_ConfigResource_destroy(res);
    rd_kafka_AdminOptions_destroy(opts);
  }
  std::vector<std::string> failed(requests.size(), "no answer within " + std::to_string(timeout_ms) + " ms");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms + 2000);
  for (size_t answered = 0; answered < requests.size() && std::chrono::steady_clock::now() < deadline;) {
    rd_kafka_event_t* ev = rd_kafka_queue_poll(q, MillisecondsLeft(deadline));
    if (ev == nullptr) continue;
    const size_t i = reinterpret_cast<size_t>(rd_kafka_event_opaque(ev));
    if (rd_kafka_event_type(ev) != RD_KAFKA_EVENT_DESCRIBECONFIGS_RESULT || i >= requests.size()) {
      rd_kafka_event_destroy(ev);
      continue;
    }
    ++answered;
    if (rd_kafka_event_error(ev)) {
      failed[i] = rd_kafka_event_error_string(ev);
    } else {
      size_t n = 0;
      const rd_kafka_ConfigResource_t** rs =
          rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev), &n);
      for (size_t r = 0; r < n; ++r) {
        if (rd_kafka_resp_err_t re = rd_kafka_ConfigResource_error(rs[r]); re != RD_KAFKA_RESP_ERR_NO_ERROR) {
          const char* text = rd_kafka_ConfigResource_error_string(rs[r]);
          failed[i] = std::string(rd_kafka_err2name(re)) + ": " + (text ? text : rd_kafka_err2str(re));
          continue;
        }
        failed[i].clear();
        size_t m = 0;
        const rd_kafka_ConfigEntry_t** entries = rd_kafka_ConfigResource_configs(rs[r], &m);
        for (size_t c = 0; c < m; ++c) {
          const char* value = rd_kafka_ConfigEntry_value(entries[c]);
          if (value != nullptr) (*requests[i].configs)[rd_kafka_ConfigEntry_name(entries[c])] = value;
        }
      }
    }
    rd_kafka_event_destroy(ev);
  }
  rd_kafka_queue_destroy(q);
  for (size_t i = 1; i < requests.size(); ++i) {
    if (!failed[i].empty()) out->unread.push_back(requests[i].what + ": " + failed[i]);
  }
  if (!failed[0].empty()) return Status::Unavailable("DescribeConfigs of " + requests[0].what + ": " + failed[0]);
  return Status::OK();
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

void MockCluster::PushRequestErrors(int api_key, const std::vector<int>& errors) {
  std::vector<rd_kafka_resp_err_t> codes;
  for (int e : errors) codes.push_back(static_cast<rd_kafka_resp_err_t>(e));
  rd_kafka_mock_push_request_errors_array(mcluster_, static_cast<int16_t>(api_key), codes.size(), codes.data());
}

}  // namespace ordering::kafka

// RAII wrappers over librdkafka's C API: a producer with its own poll thread,
// a partition consumer that starts at an exact offset, topic administration,
// and librdkafka's in-process mock cluster (the embedded broker).
//
// Every config property is passed to librdkafka verbatim; an unknown key or
// bad value fails Create() with a message naming the property and its origin
// (file:line), so a typo in a profile never silently falls back to a default.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/kafka_log.h"
#include "common/properties.h"
#include "common/status.h"
#include "common/types.h"

typedef struct rd_kafka_s rd_kafka_t;
typedef struct rd_kafka_conf_s rd_kafka_conf_t;
typedef struct rd_kafka_mock_cluster_s rd_kafka_mock_cluster_t;

namespace ordering::kafka {

struct RdKafkaDeleter {
  void operator()(rd_kafka_t* rk) const;
};
using RdKafkaPtr = std::unique_ptr<rd_kafka_t, RdKafkaDeleter>;
struct RdKafkaConfDeleter {
  void operator()(rd_kafka_conf_t* c) const;
};
using RdKafkaConfPtr = std::unique_ptr<rd_kafka_conf_t, RdKafkaConfDeleter>;

// Builds a librdkafka config: bootstrap.servers=brokers, then `props` in order.
[[nodiscard]] Status BuildConfig(const std::string& brokers, const Properties& props, RdKafkaConfPtr* out);

// librdkafka's version string, e.g. "2.0.2".
std::string LibraryVersion();

struct DeliveryReport {
  Status status;      // OK once the broker acknowledged the record (per `acks`)
  Offset offset{-1};  // the record's partition offset when status is OK
  void* opaque = nullptr;
  // True when Producer::Purge() removed the record before the broker
  // acknowledged it (status is then not OK). The broker may or may not have
  // written it: an acknowledgement arriving after the purge is ignored.
  bool purged = false;
};

class Producer {
 public:
  struct Options {
    std::string brokers;
    Properties properties;
    // Called on the producer's poll thread for every record, exactly once.
    std::function<void(const DeliveryReport&)> on_delivery;
    // librdkafka's statistics JSON, every statistics.interval.ms (a
    // property; off unless set), on the poll thread. Optional.
    std::function<void(std::string_view json)> on_statistics;
    // librdkafka's error events, on the poll thread. Optional; without it
    // they are logged by LogClientError (kafka_log.h).
    std::function<void(const ClientError&)> on_error;
    // How long the destructor waits for queued records to be acknowledged;
    // 0 = not at all (records still queued are dropped without a delivery
    // report). Default: 10000.
    int close_flush_timeout_ms = 10000;
  };

  [[nodiscard]] static Status Create(const Options& options, std::unique_ptr<Producer>* out);
  // Flushes what is in flight (up to Options::close_flush_timeout_ms) and
  // stops the poll thread.
  ~Producer();

  // Queues `value` for `topic`/`partition`, copying it. Blocks while the
  // local queue is full (queue.buffering.max.*), so callers get backpressure
  // rather than an error. Thread-safe.
  [[nodiscard]] Status Produce(const std::string& topic, int32_t partition, std::string_view value,
                               void* opaque = nullptr);
  // Waits until every queued record has a delivery report.
  [[nodiscard]] Status Flush(int timeout_ms);
  // Gives up on every record not yet acknowledged, queued or in flight: each
  // gets a delivery report with `purged` set. Waits up to `timeout_ms` for
  // the poll thread to serve those reports; returns how many records are
  // still outstanding then (0 normally). For a bounded shutdown.
  int Purge(int timeout_ms);
  // Records queued or in flight.
  int OutQueueLength() const;
  rd_kafka_t* handle() const { return rk_.get(); }

 private:
  Producer() = default;
  static void DeliveryCallback(rd_kafka_t*, const void* msg, void* opaque);
  static void ErrorCallback(rd_kafka_t*, int err, const char* reason, void* opaque);
  static int StatsCallback(rd_kafka_t*, char* json, size_t len, void* opaque);
  Options options_;
  RdKafkaPtr rk_;
  std::atomic<bool> stop_{false};
  std::thread poller_;
};

struct ConsumedRecord {
  Offset offset{-1};
  std::string value;
};

// Reads one partition from an exact offset. Offsets are never committed to
// Kafka: the caller stores them (the orderer keeps them in its ledger).
class PartitionConsumer {
 public:
  struct Options {
    std::string brokers;
    std::string topic;
    int32_t partition = 0;
    Offset start_offset{0};
    Properties properties;
    // librdkafka's statistics JSON, every statistics.interval.ms, from
    // inside Poll(). Optional.
    std::function<void(std::string_view json)> on_statistics;
    // librdkafka's error events (e.g. no broker reachable), from inside
    // Poll(). Optional; without it they are logged by LogClientError.
    std::function<void(const ClientError&)> on_error;
  };
  [[nodiscard]] static Status Create(const Options& options, std::unique_ptr<PartitionConsumer>* out);
  ~PartitionConsumer();

  // Waits up to `timeout_ms` for the next record. On timeout returns OK with
  // *got == false. A fatal condition, e.g. the start offset no longer exists
  // on the broker, returns an error: the caller must not skip data.
  [[nodiscard]] Status Poll(int timeout_ms, ConsumedRecord* record, bool* got);

  // Low and high watermarks of the partition (high = next offset to write).
  // NotFound when the topic or partition does not exist (deleted); other
  // failures (broker unreachable, timeout) are Unavailable.
  // Blocks on the partition's leader: librdkafka 2.0.2 ignores timeout_ms
  // while the leader is down, so never call it where that must not hang.
  [[nodiscard]] Status QueryWatermarks(Offset* low, Offset* high, int timeout_ms);

  // Whether the partition exists, from metadata any live broker answers
  // (bounded by timeout_ms: it never waits on the partition's leader), and
  // the high watermark the last fetch response carried (*cached_high is -1
  // until a fetch has answered). NotFound when the cluster does not list the
  // topic or the partition; Unavailable when no broker answers in time.
  // `brokers`, if given, receives the cluster's brokers (HOST:PORT) from the
  // same metadata whenever a broker answered.
  [[nodiscard]] Status CheckPartition(int timeout_ms, Offset* cached_high, std::vector<std::string>* brokers = nullptr);

  // The high watermark the last fetch response carried, without asking the
  // broker; -1 until a fetch has answered.
  Offset CachedHighWatermark() const;

 private:
  PartitionConsumer() = default;
  static int StatsCallback(rd_kafka_t*, char* json, size_t len, void* opaque);
  static void ErrorCallback(rd_kafka_t*, int err, const char* reason, void* opaque);
  // librdkafka's opaque for the statistics and error callbacks: shared with
  // the thread that closes the handle, which may outlive this object (see
  // ~PartitionConsumer).
  struct Sink {
    std::function<void(std::string_view)> on_statistics;
    std::function<void(const ClientError&)> on_error;
  };
  std::shared_ptr<Sink> sink_;
  Options options_;
  RdKafkaPtr rk_;
};

// Configuration entries of a topic or a broker (effective values, broker
// settings and defaults included, when the cluster reports them), by name.
using ConfigMap = std::map<std::string, std::string>;

// Creates `topic` with the given layout and topic `configs` (e.g.
// retention.ms); an existing topic is fine and keeps its own. A
// replication factor <= 0 means the broker's default.replication.factor.
// Returns once every broker lists the topic with a leader for each partition
// (a broker that has not caught up would tell clients it does not exist).
[[nodiscard]] Status EnsureTopic(const std::string& brokers, const Properties& props, const std::string& topic,
                                 int partitions, int replication_factor, int timeout_ms, const ConfigMap& configs = {});

// The cluster's brokers as HOST:PORT, from metadata.
[[nodiscard]] Status BrokerAddresses(const std::string& brokers, const Properties& props, int timeout_ms,
                                     std::vector<std::string>* out);

// Whether the broker at `address` itself lists `topic` with a leader for
// each partition (false too when it does not answer within timeout_ms).
[[nodiscard]] Status BrokerKnowsTopic(const std::string& address, const Properties& props, const std::string& topic,
                                      int timeout_ms, bool* known);

// Deletes `topics` with the admin API and waits for the controller to
// accept it (the broker removes the files shortly after). A topic that does
// not exist is an error naming it; the others are still deleted.
[[nodiscard]] Status DeleteTopics(const std::string& brokers, const Properties& props,
                                  const std::vector<std::string>& topics, int timeout_ms);

// What the cluster says about `topic` and its brokers.
struct ClusterSettings {
  std::string topic;
  int broker_count = 0;                             // brokers in the cluster's metadata
  std::map<int32_t, std::string> broker_addresses;  // node id -> HOST:PORT
  int replication_factor = 0;                       // replicas of the topic's partition 0; 0: not listed
  ConfigMap topic_configs;                          // DescribeConfigs of the topic
  std::map<int32_t, ConfigMap> broker_configs;      // DescribeConfigs of each broker
  std::vector<std::string> unread;                  // brokers whose settings could not be read, and why
};

// Reads the cluster's metadata and, with the Admin API's DescribeConfigs,
// the settings of `topic` and of every broker. Fails (Unavailable) when the
// metadata or the topic's settings cannot be read, e.g. a cluster that does
// not implement DescribeConfigs (the mock cluster); a broker whose settings
// cannot be read is listed in `unread`.
[[nodiscard]] Status DescribeSettings(const std::string& brokers, const Properties& props, const std::string& topic,
                                      int timeout_ms, ClusterSettings* out);

// librdkafka's mock cluster: real Kafka protocol on loopback, in this
// process. A demo and fault-injection harness, not a performance reference;
// it keeps only the last ~5 MB of each partition.
class MockCluster {
 public:
  [[nodiscard]] static Status Start(int broker_count, std::unique_ptr<MockCluster>* out);
  ~MockCluster();
  // "127.0.0.1:port,..."
  const std::string& bootstrap() const { return bootstrap_; }
  [[nodiscard]] Status CreateTopic(const std::string& topic, int partitions, int replication_factor);
  // Fault injection. Broker ids are 1..broker_count.
  // Adds `rtt_ms` of round-trip time to every request to the broker.
  [[nodiscard]] Status SetBrokerRtt(int broker_id, int rtt_ms);
  // Takes a broker down (connections closed and refused) or back up.
  [[nodiscard]] Status SetBrokerUp(int broker_id, bool up);
  // Makes `broker_id` the partition's leader (as an election would).
  [[nodiscard]] Status SetPartitionLeader(const std::string& topic, int partition, int broker_id);
  // The next requests of type `api_key` (0: Produce, 1: Fetch, ...) are
  // answered with `errors`, one each, in order (rd_kafka_resp_err_t codes).
  void PushRequestErrors(int api_key, const std::vector<int>& errors);
  rd_kafka_mock_cluster_t* handle() const { return mcluster_; }

 private:
  MockCluster() = default;
  RdKafkaPtr host_;  // the mock cluster lives inside this handle
  rd_kafka_mock_cluster_t* mcluster_ = nullptr;
  std::string bootstrap_;
};

}  // namespace ordering::kafka

// The Kafka consensus backend (after Fabric's orderer/consensus/kafka).
//
// The channel is one partition; its offsets are the total order. Two
// threads run per chain:
//   consumer thread:  reads the partition from (ledger's last offset + 1)
//                     and submits each record to the ordered validation pool
//                     (decode, size filter, signature check on N workers);
//   ordering thread:  takes checked records back in partition order, rejects
//                     duplicates, feeds the cutter, writes blocks, and runs
//                     the batch timer.
// The batch timer never cuts by itself: when BatchTimeout expires with
// messages pending it posts time-to-cut(N) for block N = next block, and the
// chain cuts block N when it reads the first TTC(N). So every orderer of the
// partition writes byte-identical blocks, and a restarted orderer replays
// exactly the decisions it made before.
//
// Crash resume: each block's consenter metadata (a KafkaMetadata) holds the
// offset of the last record the block accounts for (Fabric's rule: when the
// record that triggered a cut is not inside the cut batch, the batch
// accounts for offset - 1). It is written atomically with the block, so a
// restart consumes from last_offset + 1: nothing lost, nothing ordered twice.
//
// Broadcast (Order) produces the envelope to the partition with the
// configured producer properties, as Fabric's Kafka orderer does; peers may
// also write to the partition directly. Either way every record is checked
// again when it is consumed: the partition is open to any producer.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/kafka.h"
#include "common/log_limiter.h"
#include "common/mutex.h"
#include "common/properties.h"
#include "orderer/consensus/consensus.h"
#include "orderer/consensus/consenter_support.h"
#include "orderer/consensus/kafka/broker_watch.h"
#include "orderer/consensus/kafka/kafka_record.h"
#include "orderer/consensus/kafka/kafka_settings.h"
#include "orderer/consensus/kafka/kafka_stats.h"
#include "orderer/ingress/ordered_pool.h"
#include "orderer/ingress/validator.h"

namespace ordering {

struct KafkaChainOptions {
  std::string brokers;             // required: "host:port,..."
  std::string topic;               // Default: "" = the channel id
  Properties consumer_properties;  // passed to librdkafka after our defaults
  Properties producer_properties;  // for connect / time-to-cut / Broadcast (Order)
  bool create_topic = true;        // Default: true; create (1 partition) if missing
  int replication_factor = 0;      // when creating the topic; <= 0: the brokers' default
  int verify_workers = 0;          // Default: 0 = one per hardware thread
  // Who may produce to the channel's topic. false (default): anyone, e.g.
  // peers producing straight into it: every consumed envelope's signature is
  // verified. true: only orderers (broker ACLs, as Fabric's Kafka orderer
  // assumes): each envelope was verified at Broadcast before it was
  // produced, so consumed records get the other ingress checks but their
  // signatures are not verified a second time.
  bool only_orderers_write_topic = false;
  size_t max_in_flight = 4096;   // Default: 4096 records being checked at once
  int ready_timeout_ms = 30000;  // Default: 30 s for the broker to accept `connect`
  // The brokers' settings that lose acknowledged records, read at start
  // (kafka_settings.h): refused (default), only warned about, or not read.
  kafka_backend::SettingsCheck settings_check = kafka_backend::SettingsCheck::kRefuse;
  int settings_timeout_ms = 10000;  // Default: 10 s for the cluster to describe its settings
  // How often the consumer checks that its partition still exists and still
  // holds what the ledger has ordered (librdkafka does not report a deleted
  // topic to an assigned consumer). Default: 5 s; 0 = never.
  int64_t partition_check_interval_ms = 5000;
  // A partition missing this long is a deleted topic: the chain fails
  // (Errored()), Broadcast and Deliver report it. A partition whose high
  // watermark stays below what the ledger ordered this long was recreated or
  // truncated (a new leader's watermark may lag for a moment). Default: 30 s.
  int64_t missing_partition_fatal_ms = 30000;
};

class KafkaChain final : public Chain {
 public:
  KafkaChain(ConsenterSupport* support, const KafkaChainOptions& options);
  ~KafkaChain() override;

  Status Start() override;
  Status Order(CutterMessage tx) override;
  Status WaitReady() override;
  Status Errored() const override;
  void Halt() override;

 private:
  void ConsumeLoop(Offset start);
  // The partition health check of ConsumeLoop: non-OK when it is gone for
  // good or no longer holds what the ledger ordered.
  struct PartitionWatch {
    int64_t missing_since = 0;  // clock nanos; 0 = not missing
    int64_t behind_since = 0;   // clock nanos; 0 = watermark not behind the ledger
  };
  Status CheckPartition(kafka::PartitionConsumer* consumer, Offset next, int64_t now, PartitionWatch* watch);
  void OrderLoop();
  using Record = kafka_backend::CheckedRecord;
  using Pool = OrderedPool<kafka::ConsumedRecord, Record>;
  Status Process(Record& m);
  Status ProcessRegular(Record& m);
  Status ProcessTimeToCut(const Record& m);
  // Writes `batch` as the next block, accounting for partition offsets up to `last`.
  Status Write(OrderedBatch batch, Offset last);
  void SendTimeToCut();
  void Fail(const Status& st);
  void LogRejection(const Record& m);
  // kafka_chain_events.cc: delivery reports, client errors, and the lines
  // about records that repeat (rate-limited).
  void OnDelivery(const kafka::DeliveryReport& r);
  void OnClientError(kafka_backend::BrokerWatch::Client client, const kafka::ClientError& e);
  void LogTimeToCutNotDelivered(const std::string& what);
  void LogIgnoredTimeToCut(const Record& m, BlockNumber expected);
  // Delivery-report tags for the records this chain produces.
  static inline char kConnectTag;
  static inline char kTimeToCutTag;
  // Steady real time, for the lines about outages and floods (the injected
  // clock drives the batch timer only).
  static int64_t RealNanos();

  ConsenterSupport* support_;
  KafkaChainOptions options_;
  std::string topic_;
  // Order() runs on Broadcast's threads while Halt() may run on another.
  SharedMutex producer_mu_;  // shared: producing; exclusive: creating and closing
  std::unique_ptr<kafka::Producer> producer_ GUARDED_BY(producer_mu_);
  std::unique_ptr<Pool> pool_;
  std::thread consumer_thread_;
  std::thread ordering_thread_;
  std::atomic<bool> stop_{false};
  std::once_flag halt_once_;

  std::promise<Status> connect_acked_;
  std::shared_future<Status> connect_future_;

  mutable Mutex error_mu_;
  Status error_ GUARDED_BY(error_mu_);
  // A client of the chain hit a fatal error (librdkafka: the idempotent
  // producer cannot go on): the consumer thread fails the chain.
  std::atomic<bool> client_fatal_{false};
  Status client_fatal_status_ GUARDED_BY(error_mu_);

  // The backend's own counters (in OrdererMetrics::consenter).
  std::atomic<int64_t>* consumer_lag_;      // partition high watermark - next offset to consume (-1: unknown)
  std::atomic<int64_t>* producer_queue_;    // records queued or in flight in this orderer's producer
  std::atomic<int64_t>* ttc_sent_;          // time-to-cut messages posted by this orderer
  std::atomic<int64_t>* ttc_stale_;         // time-to-cut messages ignored: their block was cut already
  std::atomic<int64_t>* ttc_future_;        // ... ignored: their block is not the next one (forged)
  std::atomic<int64_t>* ttc_empty_;         // ... ignored: the next block, with nothing pending
  std::atomic<int64_t>* connect_seen_;      // connect messages read
  std::atomic<int64_t>* last_offset_;       // last partition offset processed
  std::atomic<int64_t>* broadcast_failed_;  // Broadcast envelopes the producer could not deliver
  std::atomic<int64_t>* broker_outages_;    // times the chain's clients lost every broker

  // Ordering-thread state.
  Offset resume_offset_{kBeforeFirstOffset};  // last offset of the last block at start
  // librdkafka's statistics of this chain's producer and consumer (on /metrics).
  static constexpr int kStatisticsIntervalMs = 5000;
  std::shared_ptr<kafka_backend::KafkaStatsCollector> stats_;
  // The brokers' settings as checked at start (on /metrics).
  std::shared_ptr<kafka_backend::SettingsCollector> settings_;
  // Whether the brokers are reachable: one line when lost, one when back.
  kafka_backend::BrokerWatch watch_;
  // Lines anyone who may write the topic, or a long outage, could repeat at
  // will: the first in full, then a summary at most once a minute.
  static constexpr std::chrono::seconds kLogRepeatInterval{60};
  LogLimiter ttc_future_log_{kLogRepeatInterval};
  LogLimiter ttc_empty_log_{kLogRepeatInterval};
  LogLimiter ttc_failed_log_{kLogRepeatInterval};
  LogLimiter broadcast_failed_log_{kLogRepeatInterval};
  std::vector<std::unique_ptr<LogLimiter>> rejection_log_;  // by RejectCause
  void FlushLogSummaries(int64_t now);
};

class KafkaConsenter final : public Consenter {
 public:
  explicit KafkaConsenter(const KafkaChainOptions& options) : options_(options) {}
  std::string Type() const override { return "kafka"; }
  Status HandleChain(ConsenterSupport* support, std::unique_ptr<Chain>* chain) override {
    chain->reset(new KafkaChain(support, options_));
    return Status::OK();
  }

 private:
  KafkaChainOptions options_;
};

// A consenter factory that makes only this backend (for tests and programs
// that embed an OrdererNode): OrdererOptions::make_consenter = OnlyKafka(o).
inline ConsenterFactory OnlyKafka(KafkaChainOptions options) {
  return OnlyConsenter<KafkaConsenter>("kafka", std::move(options));
}

}  // namespace ordering

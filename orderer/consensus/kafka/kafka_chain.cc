#include "orderer/consensus/kafka/kafka_chain.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <memory>

#include "orderer/consensus/kafka/kafka_stats.h"
#include "proto/kafka.pb.h"

namespace ordering {
namespace {

constexpr int kPollTimeoutMs = 100;
constexpr int64_t kMaxWaitNanos = 100'000'000;  // ordering thread wakes at least every 100 ms

}  // namespace

KafkaChain::KafkaChain(ConsenterSupport* support, const KafkaChainOptions& options)
    : support_(support),
      options_(options),
      topic_(options.topic.empty() ? support->options().channel_id : options.topic),
      connect_future_(connect_acked_.get_future().share()),
      consumer_lag_(support->metrics()->consenter.Add("consumer_lag")),
      producer_queue_(support->metrics()->consenter.Add("producer_queue_depth")),
      ttc_sent_(support->metrics()->consenter.Add("ttc_sent")),
      ttc_stale_(support->metrics()->consenter.Add("ttc_stale")),
      ttc_future_(support->metrics()->consenter.Add("ttc_future")),
      ttc_empty_(support->metrics()->consenter.Add("ttc_empty")),
      connect_seen_(support->metrics()->consenter.Add("connect_seen")),
      last_offset_(support->metrics()->consenter.Add("last_offset")),
      broadcast_failed_(support->metrics()->consenter.Add("broadcast_failed")),
      broker_outages_(support->metrics()->consenter.Add("broker_outages")),
      stats_(std::make_shared<kafka_backend::KafkaStatsCollector>()),
      settings_(std::make_shared<kafka_backend::SettingsCollector>(support->options().channel_id)),
      watch_(support->options().channel_id, options.brokers) {
  support->metrics()->SetCollectable("kafka_client", stats_);
  support->metrics()->SetCollectable("kafka_settings", settings_);
  for (size_t c = 0; c < static_cast<size_t>(RejectCause::kCount); ++c) {
    rejection_log_.push_back(std::make_unique<LogLimiter>(kLogRepeatInterval));
  }
}

KafkaChain::~KafkaChain() { Halt(); }

Status KafkaChain::Start() {
  if (options_.brokers.empty()) return Status::InvalidArgument("no Kafka brokers given");
  ORDERING_RETURN_IF_ERROR(kafka_backend::DecodeMetadata(support_->LastConsenterMetadata(), &resume_offset_)
                               .WithContext("the last block's Kafka metadata"));
  *last_offset_ = resume_offset_.value();
  if (options_.create_topic) {
    Status st = kafka::EnsureTopic(options_.brokers, options_.producer_properties, topic_, 1,
                                   options_.replication_factor, 10000);
    if (!st.ok()) return st.WithContext("creating topic '" + topic_ + "'");
  }
  std::vector<std::string> cluster;
  ORDERING_RETURN_IF_ERROR(kafka_backend::CheckBrokerSettings(
      options_.settings_check, options_.brokers, options_.producer_properties, topic_,
      support_->options().batch_size.absolute_max_bytes, options_.settings_timeout_ms, settings_.get(), &cluster));
  // The cluster's brokers, for the lines about losing them (the partition
  // check keeps the list up to date).
  if (cluster.empty()) (void)kafka::BrokerAddresses(options_.brokers, options_.producer_properties, 2000, &cluster);
  watch_.SetBrokers(std::move(cluster));

  kafka::Producer::Options po;
  po.brokers = options_.brokers;
  // Defaults the configured properties may override: Broadcast's envelopes
  // must reach the partition in the order each stream sent them, once, so
  // the producer is idempotent (which keeps order across retries).
  // A record is an envelope of up to AbsoluteMaxBytes plus its framing;
  // librdkafka's own limit (1,000,000 bytes) would refuse larger ones the
  // channel allows. Undelivered records are given up after the ack timeout's
  // default, so a stream hears of a broker outage then, not 5 minutes later.
  const uint64_t max_record = support_->options().batch_size.absolute_max_bytes + 64 * 1024;
  po.properties = {
      {"enable.idempotence", "true", "orderer default"},
      {"acks", "all", "orderer default"},
      {"message.max.bytes", std::to_string(std::min<uint64_t>(max_record, 1'000'000'000)),
       "orderer default (AbsoluteMaxBytes + 64 KiB)"},
      {"message.timeout.ms", "30000", "orderer default (as --ack-timeout's)"},
      {"statistics.interval.ms", std::to_string(kStatisticsIntervalMs), "orderer default (for /metrics)"},
  };
  po.properties.insert(po.properties.end(), options_.producer_properties.begin(), options_.producer_properties.end());
  po.on_statistics = [stats = stats_](std::string_view json) { stats->Update("producer", json); };
  po.on_delivery = [this](const kafka::DeliveryReport& r) { OnDelivery(r); };
  po.on_error = [this](const kafka::ClientError& e) {
    OnClientError(kafka_backend::BrokerWatch::Client::kProducer, e);
  };
  {
    WriterLock l(&producer_mu_);
    ORDERING_RETURN_IF_ERROR(kafka::Producer::Create(po, &producer_).WithContext("orderer producer"));
    KafkaMessage connect;
    connect.mutable_connect();
    ORDERING_RETURN_IF_ERROR(producer_->Produce(topic_, 0, connect.SerializeAsString(), &kConnectTag));
    watch_.Produced();
  }

  int workers =
      options_.verify_workers > 0 ? options_.verify_workers : std::max(1u, std::thread::hardware_concurrency());
  IngressOptions ingress = support_->ingress_options();
  if (options_.only_orderers_write_topic) ingress.verify_signatures = false;
  pool_ = std::make_unique<Pool>(workers, options_.max_in_flight, [ingress]() -> Pool::Work {
    auto validator = std::make_shared<Validator>(ingress);
    return [validator](kafka::ConsumedRecord& r) { return kafka_backend::CheckRecord(*validator, r); };
  });
  Offset start = resume_offset_.next();
  spdlog::info("kafka chain: channel {} topic {} resumes at block {} offset {} ({} check workers; {})",
               support_->options().channel_id, topic_, support_->Height().value(), start.value(), workers,
               options_.only_orderers_write_topic
                   ? "only orderers write the topic: signatures verified at Broadcast, not again when consumed"
                   : "anyone may write the topic: every consumed signature is verified");
  consumer_thread_ = std::thread([this, start] { ConsumeLoop(start); });
  ordering_thread_ = std::thread([this] { OrderLoop(); });
  return Status::OK();
}

Status KafkaChain::WaitReady() {
  if (connect_future_.wait_for(std::chrono::milliseconds(options_.ready_timeout_ms)) != std::future_status::ready) {
    return Status::Unavailable("brokers " + options_.brokers + " did not acknowledge within " +
                               std::to_string(options_.ready_timeout_ms) + " ms");
  }
  return connect_future_.get().WithContext("connect message to " + options_.brokers);
}

Status KafkaChain::Order(CutterMessage tx) {
  ORDERING_RETURN_IF_ERROR(Errored());
  KafkaMessage msg;
  msg.mutable_regular()->set_payload(std::move(tx.envelope));
  ReaderLock l(&producer_mu_);
  if (!producer_ || stop_.load()) return Status::Unavailable("the kafka chain is halted");
  // The delivery report hands the tx id back (and frees it).
  auto tx_id = std::make_unique<std::string>(std::move(tx.tx_id));
  ORDERING_RETURN_IF_ERROR(producer_->Produce(topic_, 0, msg.SerializeAsString(), tx_id.get()));
  tx_id.release();
  watch_.Produced();
  return Status::OK();
}

Status KafkaChain::Errored() const {
  MutexLock l(&error_mu_);
  return error_;
}

void KafkaChain::Fail(const Status& st) {
  {
    MutexLock l(&error_mu_);
    if (error_.ok()) error_ = st;
  }
  spdlog::error("kafka chain stopped: {}", st.ToString());
  stop_ = true;
  if (pool_) pool_->Shutdown();
}

void KafkaChain::Halt() {
  std::call_once(halt_once_, [this] {
    stop_ = true;
    if (pool_) pool_->Shutdown();
    if (consumer_thread_.joinable()) consumer_thread_.join();
    if (ordering_thread_.joinable()) ordering_thread_.join();
    WriterLock l(&producer_mu_);
    producer_.reset();  // flushes pending time-to-cut and broadcast messages
  });
}

void KafkaChain::ConsumeLoop(Offset start) {
  kafka::PartitionConsumer::Options co;
  co.brokers = options_.brokers;
  co.topic = topic_;
  co.start_offset = start;
  // Defaults the configured properties may override: hand records over as
  // soon as they arrive (librdkafka would wait up to 500 ms to fill a
  // fetch), and fetch records up to AbsoluteMaxBytes so an oversized one
  // reaches ingress to be rejected and counted instead of stalling us.
  const uint64_t max_record = support_->options().batch_size.absolute_max_bytes + 1024 * 1024;
  co.properties = {
      {"fetch.wait.max.ms", "10", "orderer default"},
      {"fetch.message.max.bytes", std::to_string(max_record), "orderer default"},
      {"statistics.interval.ms", std::to_string(kStatisticsIntervalMs), "orderer default (for /metrics)"},
  };
  co.on_statistics = [stats = stats_](std::string_view json) { stats->Update("consumer", json); };
  co.on_error = [this](const kafka::ClientError& e) {
    OnClientError(kafka_backend::BrokerWatch::Client::kConsumer, e);
  };
  co.properties.insert(co.properties.end(), options_.consumer_properties.begin(), options_.consumer_properties.end());
  std::unique_ptr<kafka::PartitionConsumer> consumer;
  Status st = kafka::PartitionConsumer::Create(co, &consumer);
  if (!st.ok()) return Fail(st.WithContext("orderer consumer"));
  const Clock* clock = support_->clock();
  int64_t next_check = clock->NowNanos() + options_.partition_check_interval_ms * 1'000'000;
  PartitionWatch watch;
  auto next_gauges = std::chrono::steady_clock::now();
  Offset next = start;  // the next offset this chain needs
  while (!stop_.load()) {
    kafka::ConsumedRecord rec;
    bool got = false;
    st = consumer->Poll(kPollTimeoutMs, &rec, &got);
    if (!st.ok()) return Fail(st);
    if (got) {
      next = rec.offset.next();
      if (!pool_->Submit(std::move(rec))) break;  // pool shut down
    }
    // Gauges for monitoring, once a second of real time (the injected clock
    // may be a test's manual one).
    const auto real_now = std::chrono::steady_clock::now();
    if (real_now >= next_gauges) {
      next_gauges = real_now + std::chrono::seconds(1);
      const Offset high = consumer->CachedHighWatermark();
      *consumer_lag_ = high.value() >= 0 ? std::max<int64_t>(0, high.value() - next.value()) : -1;
      ReaderLock l(&producer_mu_);
      *producer_queue_ = producer_ ? producer_->OutQueueLength() : 0;
    }
    watch_.Tick(RealNanos());
    if (client_fatal_.load()) {
      Status fatal;
      {
        MutexLock l(&error_mu_);
        fatal = client_fatal_status_;
      }
      return Fail(fatal);
    }
    const int64_t now = clock->NowNanos();
    if (options_.partition_check_interval_ms <= 0 || now < next_check) continue;
    // While every broker is lost, look every second: an answer ends the outage.
    next_check = now + (watch_.lost() ? std::min<int64_t>(options_.partition_check_interval_ms, 1000)
                                      : options_.partition_check_interval_ms) *
                           1'000'000;
    // librdkafka reports nothing when an assigned partition disappears (it
    // logs "partition count changed" and waits): look for ourselves.
    st = CheckPartition(consumer.get(), next, now, &watch);
    if (!st.ok()) return Fail(st);
  }
}

Status KafkaChain::CheckPartition(kafka::PartitionConsumer* consumer, Offset next, int64_t now, PartitionWatch* watch) {
  const int64_t fatal_nanos = options_.missing_partition_fatal_ms * 1'000'000;
  // Never rd_kafka_query_watermark_offsets here: librdkafka 2.0.2 waits on
  // the partition's leader past its timeout, and while a dead leader is
  // being replaced that would stop this thread consuming for good.
  Offset high;
  std::vector<std::string> brokers;
  const int64_t asked_at = RealNanos();
  Status st = consumer->CheckPartition(2000, &high, &brokers);
  if (st.ok() || st.IsNotFound()) {  // a broker answered
    watch_.SetBrokers(std::move(brokers));
    watch_.Answered(asked_at, RealNanos());
  }
  if (st.IsNotFound()) {
    // Missing for a moment is normal while a topic is being created;
    // missing for longer is a deleted topic, which no retry brings back.
    if (watch->missing_since == 0) {
      watch->missing_since = now;
      spdlog::warn("kafka chain: {}; failing if it is still missing in {} ms", st.message(),
                   options_.missing_partition_fatal_ms);
    }
    if (now - watch->missing_since >= fatal_nanos) {
      return Status::NotFound(st.message() + " for " + std::to_string(options_.missing_partition_fatal_ms) +
                              " ms: the channel's topic was deleted; the ledger keeps what was ordered");
    }
    return Status::OK();
  }
  if (!st.ok()) {
    SPDLOG_DEBUG("kafka chain: checking the partition: {} (retrying)", st.ToString());
    return Status::OK();  // unreachable brokers: librdkafka reconnects
  }
  if (watch->missing_since != 0) {
    spdlog::warn("kafka chain: partition 0 of {} is listed again after {:.1f} s", topic_,
                 static_cast<double>(now - watch->missing_since) / 1e9);
  }
  watch->missing_since = 0;
  if (high.value() < 0 || high >= next) {
    if (watch->behind_since != 0) {
      spdlog::warn("kafka chain: partition 0 of {} holds what the ledger ordered again after {:.1f} s", topic_,
                   static_cast<double>(now - watch->behind_since) / 1e9);
    }
    watch->behind_since = 0;
    return Status::OK();
  }
  // The partition ends before what the ledger ordered. For a moment that is
  // a new leader whose high watermark has not caught up; for longer, the
  // topic was deleted and created again (or truncated), and consuming on
  // would order different records under the same offsets.
  if (watch->behind_since == 0) {
    watch->behind_since = now;
    spdlog::warn(
        "kafka chain: partition 0 of {} ends at offset {} (high watermark {}), before the ledger's last offset "
        "{}: a new leader catching up does this for a moment, a recreated or truncated topic for good; failing "
        "if it stays behind for {} ms",
        topic_, high.value() - 1, high.value(), next.value() - 1, options_.missing_partition_fatal_ms);
    return Status::OK();
  }
  if (now - watch->behind_since >= fatal_nanos) {
    return Status::Corruption("partition 0 of " + topic_ + " ends at offset " + std::to_string(high.value() - 1) +
                              " but this chain has ordered up to offset " + std::to_string(next.value() - 1) +
                              ": the topic was deleted and recreated, or truncated; refusing to order from it");
  }
  return Status::OK();
}

void KafkaChain::OrderLoop() {
  const Clock* clock = support_->clock();
  while (!stop_.load()) {
    int64_t wait = kMaxWaitNanos;
    const int64_t deadline = support_->BatchDeadline();
    if (deadline != 0) wait = std::clamp<int64_t>(deadline - clock->NowNanos(), 0, wait);
    Record m;
    if (pool_->Next(std::chrono::nanoseconds(wait), &m)) {
      Status st = Process(m);
      if (!st.ok()) return Fail(st);
    }
    const int64_t due = support_->BatchDeadline();
    if (due != 0 && clock->NowNanos() >= due) SendTimeToCut();
    FlushLogSummaries(RealNanos());
  }
}

Status KafkaChain::Process(Record& m) {
  OrdererMetrics* metrics = support_->metrics();
  metrics->received++;
  Status st;
  switch (m.kind) {
    case Record::Kind::kRejected:
      metrics->Reject(m.cause);
      LogRejection(m);
      break;
    case Record::Kind::kConnect:
      (*connect_seen_)++;
      break;
    case Record::Kind::kTimeToCut:
      st = ProcessTimeToCut(m);
      break;
    case Record::Kind::kRegular:
      st = ProcessRegular(m);
      break;
  }
  *last_offset_ = m.offset.value();
  return st;
}

Status KafkaChain::ProcessRegular(Record& m) {
  const std::string tx_id = m.tx.tx_id;
  OrderOutcome outcome = support_->Order(std::move(m.tx));
  if (outcome.duplicate) {  // counted by the support
    m.kind = Record::Kind::kRejected;
    m.cause = RejectCause::kDuplicate;
    m.detail = "tx id " + tx_id + " already ordered";
    LogRejection(m);
    return Status::OK();
  }
  for (OrderedBatch& b : outcome.batches) {
    // Only the batch holding this record accounts for its offset; anything
    // cut before it ends at the previous offset.
    const Offset last = b.holds_ordered_tx ? m.offset : m.offset.prev();
    ORDERING_RETURN_IF_ERROR(Write(std::move(b), last));
  }
  return Status::OK();
}

Status KafkaChain::Write(OrderedBatch b, Offset last) {
  return support_->WriteBlock(support_->CreateNextBlock(std::move(b.batch), kafka_backend::EncodeMetadata(last)),
                              b.first_seen_nanos);
}

Status KafkaChain::ProcessTimeToCut(const Record& m) {
  BlockNumber expected = support_->Height();
  BlockNumber wanted(m.ttc_block_number);
  if (wanted < expected) {
    (*ttc_stale_)++;
    return Status::OK();
  }
  if (wanted > expected) {
    // Cannot happen with orderers sharing this partition's history: someone
    // else who may write the topic posted it. Skipping it keeps the chain
    // deterministic (every orderer skips it too). Anyone who may write the
    // topic can repeat it at will: logged once, then counted.
    (*ttc_future_)++;
    LogIgnoredTimeToCut(m, expected);
    return Status::OK();
  }
  OrderedBatch batch = support_->CutPending();
  if (batch.batch.messages.empty()) {
    (*ttc_empty_)++;
    LogIgnoredTimeToCut(m, expected);
    return Status::OK();
  }
  return Write(std::move(batch), m.offset);
}

void KafkaChain::SendTimeToCut() {
  KafkaMessage ttc;
  uint64_t n = support_->Height().value();
  ttc.mutable_time_to_cut()->set_block_number(n);
  Status st;
  {
    ReaderLock l(&producer_mu_);
    st = producer_ ? producer_->Produce(topic_, 0, ttc.SerializeAsString(), &kTimeToCutTag)
                   : Status::Unavailable("producer closed");
  }
  if (st.ok()) {
    (*ttc_sent_)++;
    watch_.Produced();
  } else {
    LogTimeToCutNotDelivered("posting time-to-cut for block " + std::to_string(n) + ": " + st.ToString());
  }
  // If the TTC is lost, post another after a further timeout.
  support_->RearmBatchTimer();
}

}  // namespace ordering

// What the Kafka chain tells the operator about events it does not cause:
// its producer's delivery reports and its clients' errors (brokers lost and
// back), and records anyone who may write the topic can repeat at will
// (rejected records, time-to-cut for the wrong block). Each is logged once
// in full, then counted, with a summary at most once a minute.
#include <spdlog/spdlog.h>

#include "orderer/consensus/kafka/kafka_chain.h"

namespace ordering {

int64_t KafkaChain::RealNanos() { return SystemClock::Default()->NowNanos(); }

void KafkaChain::OnDelivery(const kafka::DeliveryReport& r) {
  const int64_t now = RealNanos();
  watch_.Delivered(r.status.ok(), now);
  if (r.opaque == &kConnectTag) {
    // Written at the partition's end: before the ledger's next offset, the
    // brokers no longer hold records this ledger was ordered from.
    if (r.status.ok() && r.offset.value() >= 0 && r.offset < resume_offset_.next()) {
      connect_acked_.set_value(Status::NotFound(
          "partition 0 of " + topic_ + " ends at offset " + std::to_string(r.offset.value()) +
          " (where this start's connect message was written), before the ledger's last offset " +
          std::to_string(resume_offset_.value()) +
          ": the brokers no longer hold the records this ledger was ordered from (another or a wiped cluster, a "
          "recreated topic, a broker that lost acknowledged records); refusing to order from it"));
      return;
    }
    connect_acked_.set_value(r.status);
  } else if (r.opaque == &kTimeToCutTag) {
    if (!r.status.ok()) LogTimeToCutNotDelivered("a time-to-cut was not delivered: " + r.status.ToString());
  } else if (r.opaque != nullptr) {
    // A Broadcast envelope (the opaque is its tx id): acks=all, so the
    // broker's ack makes it durable; a stream waiting for it answers now.
    std::unique_ptr<std::string> tx_id(static_cast<std::string*>(r.opaque));
    if (r.status.ok()) {
      support_->Acknowledge(*tx_id, Status::OK());
      return;
    }
    support_->Acknowledge(*tx_id, r.status.WithContext("the brokers did not take it"));
    (*broadcast_failed_)++;
    const LogLimiter::Verdict v = broadcast_failed_log_.Hit(now);
    if (v.full) {
      spdlog::error(
          "producing a Broadcast envelope failed: {} (with --ack durable its stream answers it; with --ack "
          "accepted it was answered SUCCESS and is lost; further failures are counted in broadcast_failed and "
          "summed up at most once a minute)",
          r.status.ToString());
    } else if (v.summary) {
      spdlog::error("{} more Broadcast envelopes could not be produced in the last {:.1f} s (last: {})", v.count,
                    v.window_seconds, r.status.ToString());
    }
  }
}

void KafkaChain::OnClientError(kafka_backend::BrokerWatch::Client client, const kafka::ClientError& e) {
  if (e.fatal) {
    // librdkafka gives up on the client for good (e.g. its idempotent
    // producer's sequence numbers after a leader change): nothing this chain
    // produces would be delivered again, time-to-cut included, so it stops
    // and says so (/healthz, Broadcast) rather than linger half alive.
    MutexLock l(&error_mu_);
    if (client_fatal_status_.ok()) {
      client_fatal_status_ = Status::Unavailable(
          "the orderer's Kafka " + std::string(kafka_backend::BrokerWatch::ClientName(client)) +
          " hit a fatal error and cannot go on: " + e.reason + "; restart the orderer (it resumes from its ledger)");
    }
    client_fatal_ = true;
    return;
  }
  if (!e.all_brokers_down) {
    kafka::LogClientError(
        std::string(kafka_backend::BrokerWatch::ClientName(client)) + " of channel " + support_->options().channel_id,
        e);
    return;
  }
  const uint64_t before = watch_.outages();
  watch_.AllDown(client, e.reason, RealNanos());
  *broker_outages_ += static_cast<int64_t>(watch_.outages() - before);
}

void KafkaChain::LogTimeToCutNotDelivered(const std::string& what) {
  const LogLimiter::Verdict v = ttc_failed_log_.Hit(RealNanos());
  if (v.full) {
    spdlog::warn(
        "kafka: channel {}: {}; the batch timer posts another after BatchTimeout (repeats are summed up at most "
        "once a minute)",
        support_->options().channel_id, what);
  } else if (v.summary) {
    spdlog::warn(
        "kafka: channel {}: {} time-to-cut records not posted or not delivered in the last {:.1f} s (last: {})",
        support_->options().channel_id, v.count, v.window_seconds, what);
  }
}

void KafkaChain::LogIgnoredTimeToCut(const Record& m, BlockNumber expected) {
  const std::string& channel = support_->options().channel_id;
  const uint64_t wanted = m.ttc_block_number;
  if (wanted > expected.value()) {
    // Cannot happen with orderers sharing this partition's history: a
    // client that may write the topic posted it.
    const LogLimiter::Verdict v = ttc_future_log_.Hit(RealNanos());
    if (v.full) {
      spdlog::warn(
          "kafka: channel {}: ignored a time-to-cut for block {} at offset {} while block {} is next: no orderer "
          "sharing this partition's history posts one, so another client that may write topic {} did (restrict "
          "who may write it with broker ACLs); further ones are counted in ttc_future and summed up at most once a "
          "minute",
          channel, wanted, m.offset.value(), expected.value(), topic_);
    } else if (v.summary) {
      spdlog::warn(
          "kafka: channel {}: ignored {} more time-to-cut records for blocks not yet reachable in the last {:.1f} s "
          "(last: block {} at offset {} while block {} was next)",
          channel, v.count, v.window_seconds, wanted, m.offset.value(), expected.value());
    }
    return;
  }
  const LogLimiter::Verdict v = ttc_empty_log_.Hit(RealNanos());
  if (v.full) {
    spdlog::warn(
        "kafka: channel {}: ignored a time-to-cut for block {} at offset {} with nothing pending (an orderer posts "
        "one only while transactions are pending; further ones are counted in ttc_empty and summed up at most once "
        "a minute)",
        channel, wanted, m.offset.value());
  } else if (v.summary) {
    spdlog::warn(
        "kafka: channel {}: ignored {} more time-to-cut records with nothing pending in the last {:.1f} s (last: "
        "block {} at offset {})",
        channel, v.count, v.window_seconds, wanted, m.offset.value());
  }
}

void KafkaChain::FlushLogSummaries(int64_t now) {
  const std::string& channel = support_->options().channel_id;
  if (LogLimiter::Verdict v = ttc_future_log_.Flush(now); v.summary) {
    spdlog::warn(
        "kafka: channel {}: ignored {} more time-to-cut records for blocks not yet reachable in the last {:.1f} s "
        "(ttc_future counts them all)",
        channel, v.count, v.window_seconds);
  }
  if (LogLimiter::Verdict v = ttc_empty_log_.Flush(now); v.summary) {
    spdlog::warn(
        "kafka: channel {}: ignored {} more time-to-cut records with nothing pending in the last {:.1f} s "
        "(ttc_empty counts them all)",
        channel, v.count, v.window_seconds);
  }
  for (size_t c = 0; c < rejection_log_.size(); ++c) {
    if (LogLimiter::Verdict v = rejection_log_[c]->Flush(now); v.summary) {
      spdlog::warn("kafka: channel {}: rejected {} more records as '{}' in the last {:.1f} s", channel, v.count,
                   RejectCauseName(static_cast<RejectCause>(c)), v.window_seconds);
    }
  }
}

void KafkaChain::LogRejection(const Record& m) {
  // Once per cause at warning level, then counted (each at debug level),
  // and a summary at most once a minute while they go on.
  const LogLimiter::Verdict v = rejection_log_[static_cast<size_t>(m.cause)]->Hit(RealNanos());
  if (v.full) {
    spdlog::warn(
        "rejected record at offset {}: {}: {} (further '{}' rejections are counted, logged at debug and summed up "
        "at most once a minute)",
        m.offset.value(), RejectCauseName(m.cause), m.detail, RejectCauseName(m.cause));
  } else if (v.summary) {
    spdlog::warn("kafka: channel {}: rejected {} more records as '{}' in the last {:.1f} s (last at offset {}: {})",
                 support_->options().channel_id, v.count, RejectCauseName(m.cause), v.window_seconds, m.offset.value(),
                 m.detail);
  } else {
    SPDLOG_DEBUG("rejected record at offset {}: {}: {}", m.offset.value(), RejectCauseName(m.cause), m.detail);
  }
}

}  // namespace ordering

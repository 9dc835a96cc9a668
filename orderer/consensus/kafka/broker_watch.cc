#include "orderer/consensus/kafka/broker_watch.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace ordering::kafka_backend {

BrokerWatch::BrokerWatch(std::string channel, std::string bootstrap)
    : channel_(std::move(channel)), bootstrap_(std::move(bootstrap)), lost_lines_(std::chrono::seconds(60)) {}

void BrokerWatch::SetBrokers(std::vector<std::string> brokers) {
  // Metadata lists the brokers that are up: keep every one ever listed, so
  // that the lost line names the whole cluster.
  MutexLock l(&mu_);
  for (std::string& b : brokers) {
    if (std::find(brokers_.begin(), brokers_.end(), b) == brokers_.end()) brokers_.push_back(std::move(b));
  }
  std::sort(brokers_.begin(), brokers_.end());
}

std::string BrokerWatch::DescribeBrokersLocked() const {
  if (brokers_.empty()) return "the brokers (bootstrap " + bootstrap_ + ")";
  std::string list;
  for (const std::string& b : brokers_) list += (list.empty() ? "" : ", ") + b;
  if (brokers_.size() == 1) return "the cluster's one broker (" + list + ")";
  return "the cluster's " + std::to_string(brokers_.size()) + " brokers (" + list + ")";
}

void BrokerWatch::AllDown(Client who, std::string_view reason, int64_t now) {
  const char* client = ClientName(who);
  MutexLock l(&mu_);
  if (state_.load() == kLost) {
    // librdkafka says it again at every failed reconnection of its last
    // connection, from each client: the same outage.
    producer_down_ |= who == Client::kProducer;
    SPDLOG_DEBUG("kafka: channel {}: {} still reaches no broker ({})", channel_, client, reason);
    return;
  }
  if (state_.load() == kBack) FinishLocked(now, /*settled=*/false);  // lost again before it settled
  const uint64_t acknowledged = acknowledged_.load(), failed = failed_.load(), produced = produced_.load();
  lost_at_ = now;
  acknowledged_at_loss_ = acknowledged;
  failed_at_loss_ = failed;
  waiting_at_loss_ = produced > acknowledged + failed ? produced - acknowledged - failed : 0;
  producer_down_ = who == Client::kProducer;
  outages_++;
  state_ = kLost;
  const LogLimiter::Verdict v = lost_lines_.Hit(now);
  announced_ = v.log();
  if (v.full) {
    // librdkafka's own words ("2/2 brokers are down") count its connections,
    // not brokers: at debug level only.
    SPDLOG_DEBUG("kafka: channel {}: its {} says: {}", channel_, client, reason);
    const std::string waiting = waiting_at_loss_ == 0 ? std::string("No records wait")
                                                      : std::to_string(waiting_at_loss_) +
                                                            (waiting_at_loss_ == 1 ? " record waits" : " records wait");
    spdlog::warn(
        "kafka: channel {} lost every broker: none of its {}'s connections to {} is up. {} in the producer (a "
        "record fails after message.timeout.ms), Broadcast answers SERVICE_UNAVAILABLE after --ack-timeout, and "
        "nothing new is ordered until a broker answers; the chain goes on by itself then. Check that the brokers "
        "run and that this host reaches them",
        channel_, client, DescribeBrokersLocked(), waiting);
  } else if (v.summary) {
    spdlog::warn("kafka: channel {} lost every broker again: {} outages in the last {:.1f} s, each logged at debug",
                 channel_, v.count, v.window_seconds);
  } else {
    SPDLOG_DEBUG("kafka: channel {} lost every broker again ({} says: {})", channel_, client, reason);
  }
}

void BrokerWatch::Answered(int64_t asked_at, int64_t now) {
  if (state_.load(std::memory_order_relaxed) != kLost) return;
  MutexLock l(&mu_);
  if (state_.load() == kLost && asked_at >= lost_at_) BackLocked(now);
}

void BrokerWatch::Delivered(bool acknowledged, int64_t now) {
  (acknowledged ? acknowledged_ : failed_).fetch_add(1);
  const int state = state_.load(std::memory_order_relaxed);
  if (state == kUp || (state == kLost && !acknowledged)) return;
  MutexLock l(&mu_);
  if (state_.load() == kLost && acknowledged && producer_down_) BackLocked(now);
  if (state_.load() == kBack && acknowledged_.load() + failed_.load() >= produced_at_back_) {
    FinishLocked(now, /*settled=*/true);
  }
}

void BrokerWatch::Tick(int64_t now) {
  if (state_.load(std::memory_order_relaxed) != kBack) return;
  MutexLock l(&mu_);
  if (state_.load() == kBack && now - back_at_ >= kSettleNanos) FinishLocked(now, /*settled=*/false);
}

void BrokerWatch::BackLocked(int64_t now) {
  back_at_ = now;
  produced_at_back_ = produced_.load();
  state_ = kBack;
  if (acknowledged_.load() + failed_.load() >= produced_at_back_) FinishLocked(now, /*settled=*/true);
}

void BrokerWatch::FinishLocked(int64_t now, bool settled) {
  const bool reached = state_.load() == kBack;
  state_ = kUp;
  if (!announced_) {
    SPDLOG_DEBUG("kafka: channel {}: brokers reachable again", channel_);
    return;
  }
  const double seconds = static_cast<double>((reached ? back_at_ : now) - lost_at_) / 1e9;
  // Records resolve in the order produced: those resolved since the loss,
  // up to the last one produced before the brokers were back, waited
  // through the outage.
  const uint64_t resolved_at_loss = acknowledged_at_loss_ + failed_at_loss_;
  const uint64_t waited = produced_at_back_ > resolved_at_loss ? produced_at_back_ - resolved_at_loss : 0;
  const uint64_t acknowledged = acknowledged_.load() - acknowledged_at_loss_;
  const uint64_t failed = failed_.load() - failed_at_loss_;
  std::string records;
  if (waited == 0) {
    records = "no records waited in the producer";
  } else {
    records = std::to_string(waited) + (waited == 1 ? " record" : " records") +
              " waited in the producer: " + std::to_string(std::min(acknowledged, waited)) + " acknowledged, " +
              std::to_string(failed) + " failed";
    if (!settled && acknowledged + failed < waited) {
      records += ", " + std::to_string(waited - acknowledged - failed) + " not yet resolved";
    }
    if (reached && now - back_at_ >= 1'000'000'000) {  // this line waited for them
      char after[64];
      std::snprintf(after, sizeof(after), " by %.1f s after a broker answered",
                    static_cast<double>(now - back_at_) / 1e9);
      records += after;
    }
    if (failed > 0) {
      records +=
          "; a failed record was given up after message.timeout.ms: Broadcast answered its stream "
          "SERVICE_UNAVAILABLE (with --ack accepted it had answered SUCCESS, and the client must resubmit)";
    }
  }
  if (!reached) {
    spdlog::warn("kafka: channel {}: brokers answered for a moment after {:.1f} s and were lost again ({})", channel_,
                 seconds, records);
    return;
  }
  spdlog::warn("kafka: channel {}: brokers reachable again after {:.1f} s ({})", channel_, seconds, records);
}

}  // namespace ordering::kafka_backend

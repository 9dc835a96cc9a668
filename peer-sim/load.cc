#include "peer-sim/load.h"

#include <librdkafka/rdkafka.h>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <sstream>
#include <thread>
#include <unordered_map>

#include "common/crypto.h"
#include "common/kafka.h"
#include "peer-sim/deliver_listener.h"
#include "peer-sim/tx_factory.h"

namespace ordering {
namespace {

// What the run knows about each of its transactions, and the counters and
// latency histograms derived from it. All methods are thread-safe.
class Tracker {
 public:
  // `steady`: a duration-limited run, whose rates are taken over the
  // submitting window; otherwise (a fixed count) until the last one is done.
  Tracker(const Clock* clock, bool raw, bool steady, uint64_t max_in_flight)
      : clock_(clock), raw_(raw), steady_(steady), max_in_flight_(max_in_flight) {}

  // Flat-out mode: waits for a free slot in the window. False if stopping.
  // Peers check concurrently, so the window may overshoot by up to one
  // transaction per peer.
  bool AcquireSlot(const std::atomic<bool>& stop) {
    std::unique_lock<std::mutex> lock(mu_);
    while (in_flight_ >= max_in_flight_) {
      if (stop.load()) return false;
      slot_cv_.wait_for(lock, std::chrono::milliseconds(50));
    }
    return true;
  }

  // Registers a transaction before it is produced.
  void OnSubmit(const std::string& tx_id, int64_t due_ns) {
    std::lock_guard<std::mutex> lock(mu_);
    const bool measured = due_ns >= measure_from_ns_;
    txs_.emplace(tx_id, TxState{due_ns, measured});
    ++submitted_;
    ++in_flight_;
    last_submit_any_ns_ = clock_->NowNanos();
    if (!measured) return;
    ++m_submitted_;
    if (first_due_ns_ == 0 || due_ns < first_due_ns_) first_due_ns_ = due_ns;
    last_submit_ns_ = clock_->NowNanos();
  }

  // Transactions due before `ns` are the warm-up: checked for loss and
  // duplicates like all others, left out of throughput and latency.
  void SetMeasureFrom(int64_t ns) {
    std::lock_guard<std::mutex> lock(mu_);
    measure_from_ns_ = ns;
  }

  void OnAck(const std::string& tx_id, bool ok) {
    const int64_t now = clock_->NowNanos();
    std::lock_guard<std::mutex> lock(mu_);
    auto it = txs_.find(tx_id);
    if (it == txs_.end()) return;
    TxState& s = it->second;
    if (!ok) {
      ++failed_;
      s.failed = true;
      if (!s.delivered) Release();
      return;
    }
    ++acked_;
    s.acked = true;
    ack_times_.push_back(now);
    if (raw_) {
      recent_.Record(now - s.due_ns);
      Release();
    }
    if (s.measured) {
      ++m_acked_;
      last_ack_ns_ = now;
      ack_.Record(now - s.due_ns);
    }
  }

  void OnBlock(const Block& block) {
    const int64_t now = clock_->NowNanos();
    Envelope env;
    Payload payload;
    std::lock_guard<std::mutex> lock(mu_);
    if (!seen_first_block_) {
      // The newest block at start: committed before this run began.
      seen_first_block_ = true;
      return;
    }
    ++blocks_;
    ++cut_reasons_[CutReason_Name(block.metadata().cut_reason())];
    for (const std::string& raw : block.data().data()) {
      if (!env.ParseFromString(raw) || !payload.ParseFromString(env.payload())) continue;
      auto it = txs_.find(payload.header().tx_id());
      if (it == txs_.end()) continue;  // another client's transaction
      TxState& s = it->second;
      if (s.delivered) {
        ++duplicates_;
        continue;
      }
      s.delivered = true;
      ++delivered_;
      delivery_times_.push_back(now);
      recent_.Record(now - s.due_ns);
      if (s.measured) {
        ++m_delivered_;
        last_delivery_ns_ = now;
        e2e_.Record(now - s.due_ns);
      }
      if (!s.failed) Release();
    }
  }

  // True when every submitted transaction is accounted for.
  bool Settled() const {
    std::lock_guard<std::mutex> lock(mu_);
    return in_flight_ == 0;
  }

  LoadProgress Progress(int64_t start_ns) {
    std::lock_guard<std::mutex> lock(mu_);
    const int64_t now = clock_->NowNanos();
    LoadProgress p;
    p.elapsed_s = static_cast<double>(now - start_ns) / 1e9;
    p.submitted = submitted_;
    p.acked = acked_;
    p.delivered = delivered_;
    p.failed = failed_;
    p.in_flight = in_flight_;
    const double dt = static_cast<double>(now - last_progress_ns_) / 1e9;
    if (last_progress_ns_ != 0 && dt > 0) {
      p.interval_submit_tps = static_cast<double>(submitted_ - last_submitted_) / dt;
      p.interval_delivered_tps = static_cast<double>((raw_ ? acked_ : delivered_) - last_done_) / dt;
    }
    p.interval_latency = Summarize(recent_);
    recent_.Clear();
    last_progress_ns_ = now;
    last_submitted_ = submitted_;
    last_done_ = raw_ ? acked_ : delivered_;
    return p;
  }

  void Fill(LoadReport* r) {
    std::lock_guard<std::mutex> lock(mu_);
    r->submitted = submitted_;
    r->acked = acked_;
    r->failed = failed_;
    r->delivered = delivered_;
    r->duplicates = duplicates_;
    r->blocks = blocks_;
    r->cut_reasons = cut_reasons_;
    uint64_t lost = 0;
    for (const auto& [id, s] : txs_) {
      if (s.failed) continue;
      if (raw_ ? !s.acked : !s.delivered) ++lost;
    }
    r->lost = lost;
    auto secs = [](int64_t from, int64_t to) { return to > from ? static_cast<double>(to - from) / 1e9 : 0.0; };
    // Throughput = transactions acknowledged / committed within the measured
    // window, divided by its length. The window opens when the warm-up ends
    // and closes, for a duration-limited run, when submitting stops (so the
    // drain does not dilute a steady rate); for a fixed count, when the last
    // transaction is done.
    r->warmup_transactions = submitted_ - m_submitted_;
    r->submit_seconds = secs(first_due_ns_, last_submit_ns_);
    r->submit_tps = r->submit_seconds > 0 ? static_cast<double>(m_submitted_) / r->submit_seconds : 0;
    const int64_t open = measure_from_ns_;
    auto rate = [&](const std::vector<int64_t>& times, double* window_s) {
      int64_t close = last_submit_any_ns_;
      if (!steady_) {
        for (int64_t t : times) close = std::max(close, t);
      }
      uint64_t n = 0;
      for (int64_t t : times) n += (t >= open && t <= close) ? 1 : 0;
      *window_s = secs(open, close);
      return *window_s > 0 ? static_cast<double>(n) / *window_s : 0.0;
    };
    double ack_window = 0, delivered_window = 0;
    r->ack_tps = rate(ack_times_, &ack_window);
    r->delivered_tps = raw_ ? 0 : rate(delivery_times_, &delivered_window);
    r->run_seconds = raw_ ? ack_window : delivered_window;
    r->e2e = Summarize(e2e_);
    r->ack = Summarize(ack_);
  }

 private:
  struct TxState {
    int64_t due_ns = 0;
    bool measured = true;  // due after the warm-up
    bool acked = false;
    bool failed = false;
    bool delivered = false;
  };

  void Release() {  // REQUIRES mu_
    if (in_flight_ > 0) --in_flight_;
    slot_cv_.notify_one();
  }

  const Clock* clock_;
  const bool raw_;
  const bool steady_;
  const uint64_t max_in_flight_;
  mutable std::mutex mu_;
  std::condition_variable slot_cv_;
  std::unordered_map<std::string, TxState> txs_;
  uint64_t submitted_ = 0, acked_ = 0, failed_ = 0, delivered_ = 0, duplicates_ = 0, blocks_ = 0;
  uint64_t in_flight_ = 0;
  std::map<std::string, uint64_t> cut_reasons_;
  bool seen_first_block_ = false;
  // Measured (post-warm-up) transactions only:
  int64_t measure_from_ns_ = 0;
  uint64_t m_submitted_ = 0, m_acked_ = 0, m_delivered_ = 0;
  int64_t first_due_ns_ = 0, last_submit_ns_ = 0, last_ack_ns_ = 0, last_delivery_ns_ = 0;
  int64_t last_submit_any_ns_ = 0;
  std::vector<int64_t> ack_times_, delivery_times_;  // every ack / first delivery
  LatencyHistogram e2e_, ack_;  // measured transactions
  // Every transaction's latency since the last progress line.
  LatencyHistogram recent_;
  // Progress bookkeeping.
  int64_t last_progress_ns_ = 0;
  uint64_t last_submitted_ = 0, last_done_ = 0;
};

struct Peer {
  std::unique_ptr<Signer> signer;
  std::unique_ptr<TxFactory> factory;
  std::unique_ptr<kafka::Producer> producer;
};

Status CheckOptions(const LoadOptions& o) {
  if (o.brokers.empty()) return Status::InvalidArgument("no brokers given");
  if (!o.raw && o.orderer.empty()) return Status::InvalidArgument("no orderer address given (or use raw mode)");
  if (o.peers < 1 || o.peers > 1000) return Status::InvalidArgument("peers must be between 1 and 1000");
  if (o.tx_size < 300 || o.tx_size > 64 * 1024 * 1024) {
    return Status::InvalidArgument("tx size must be between 300 bytes (a signed header) and 64 MB");
  }
  if (o.rate < 0) return Status::InvalidArgument("rate must not be negative");
  if (o.count == 0 && o.duration_ms <= 0) return Status::InvalidArgument("give a count or a duration");
  if (o.max_in_flight == 0) return Status::InvalidArgument("max in flight must be at least 1");
  return Status::OK();
}

// Fails fast with a clear message when the brokers cannot be reached.
// Connecting also means connection set-up is not charged to the first
// transactions. Sets *topic_exists.
Status CheckBrokers(kafka::Producer* producer, const std::string& brokers, const std::string& topic,
                    bool* topic_exists) {
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(producer->handle(), 1, nullptr, &md, 10000);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Unavailable("cannot reach Kafka at " + brokers + ": " + rd_kafka_err2str(err));
  }
  bool found = false;
  for (int i = 0; i < md->topic_cnt; ++i) found |= topic == md->topics[i].topic;
  rd_kafka_metadata_destroy(md);
  *topic_exists = found;
  return Status::OK();
}

}  // namespace

Status RunLoad(const LoadOptions& options, LoadReport* report, const std::atomic<bool>* external_stop) {
  ORDERING_RETURN_IF_ERROR(CheckOptions(options));
  const std::string topic = options.topic.empty() ? options.channel_id : options.topic;
  const Clock* clock = options.clock;
  Tracker tracker(clock, options.raw, options.duration_ms > 0, options.max_in_flight);
  std::atomic<bool> stop{false};
  auto stopping = [&] { return stop.load() || (external_stop != nullptr && external_stop->load()); };

  report->config = {{"brokers", options.brokers},
                    {"orderer", options.raw ? "" : options.orderer},
                    {"channel", options.channel_id},
                    {"topic", topic},
                    {"peers", options.peers},
                    {"profile", options.profile_name},
                    {"tx_size", options.tx_size},
                    {"rate", options.rate},
                    {"count", options.count},
                    {"duration_ms", options.duration_ms},
                    {"max_in_flight", options.max_in_flight},
                    {"warmup_ms", options.warmup_ms},
                    {"raw", options.raw}};
  nlohmann::json props = nlohmann::json::object();
  for (const Property& p : options.producer_properties) props[p.key] = p.value;
  report->config["producer"] = props;
  nlohmann::json broker = nlohmann::json::object();
  for (const Property& p : options.profile_broker) broker[p.key] = p.value;
  report->config["profile_broker"] = broker;

  // Peers: each its own key and producer, created before the clock starts.
  std::vector<Peer> peers(static_cast<size_t>(options.peers));
  for (size_t i = 0; i < peers.size(); ++i) {
    Peer& p = peers[i];
    ORDERING_RETURN_IF_ERROR(Signer::Generate(&p.signer));
    TxFactoryOptions fo;
    fo.channel_id = options.channel_id;
    fo.target_record_bytes = options.tx_size;
    p.factory = std::make_unique<TxFactory>(p.signer.get(), fo, clock);
    kafka::Producer::Options po;
    po.brokers = options.brokers;
    po.properties = options.producer_properties;
    po.on_delivery = [&tracker](const kafka::DeliveryReport& r) {
      std::unique_ptr<std::string> id(static_cast<std::string*>(r.opaque));
      if (!r.status.ok()) spdlog::debug("delivery failed for {}: {}", *id, r.status.ToString());
      tracker.OnAck(*id, r.status.ok());
    };
    ORDERING_RETURN_IF_ERROR(kafka::Producer::Create(po, &p.producer).WithContext("peer " + std::to_string(i)));
  }
  // Every producer connects before the clock starts, so connection set-up
  // is not charged to the first transactions.
  bool topic_exists = false;
  for (size_t i = 0; i < peers.size(); ++i) {
    ORDERING_RETURN_IF_ERROR(CheckBrokers(peers[i].producer.get(), options.brokers, topic, &topic_exists));
  }
  if (!topic_exists) {
    if (!options.raw) {
      return Status::Unavailable("topic '" + topic + "' does not exist on " + options.brokers +
                                 ": start the orderer first (it creates its channel's topic)");
    }
    // Raw mode has no orderer to create it: one partition, the brokers'
    // default replication.
    ORDERING_RETURN_IF_ERROR(kafka::EnsureTopic(options.brokers, options.producer_properties, topic, 1, 0, 15000)
                                 .WithContext("creating topic '" + topic + "'"));
  }

  std::unique_ptr<DeliverListener> listener;
  if (!options.raw) {
    ORDERING_RETURN_IF_ERROR(DeliverListener::Start(
        options.orderer, [&tracker](const Block& b) { tracker.OnBlock(b); }, static_cast<int>(options.connect_timeout_ms),
        &listener));
  }

  const int64_t start_ns = clock->NowNanos() + 50'000'000;  // let every thread get going
  tracker.SetMeasureFrom(start_ns + options.warmup_ms * 1'000'000);
  const int64_t end_ns = options.duration_ms > 0 ? start_ns + options.duration_ms * 1'000'000 : INT64_MAX;
  const uint64_t count_limit = options.count > 0 ? options.count : UINT64_MAX;
  const uint64_t n_peers = peers.size();
  std::atomic<uint64_t> produce_errors{0};
  std::atomic<uint64_t> next_index{0};  // flat-out: shared counter for the count limit

  auto sleep_until = [&](int64_t t) {
    while (!stopping()) {
      int64_t left = t - clock->NowNanos();
      if (left <= 0) return;
      std::this_thread::sleep_for(std::chrono::nanoseconds(std::min<int64_t>(left, 50'000'000)));
    }
  };

  std::vector<std::thread> threads;
  for (uint64_t pi = 0; pi < n_peers; ++pi) {
    threads.emplace_back([&, pi] {
      Peer& peer = peers[pi];
      BuiltTx tx;
      for (uint64_t k = 0;; ++k) {
        int64_t due;
        if (options.rate > 0) {
          const uint64_t index = k * n_peers + pi;
          if (index >= count_limit) break;
          due = start_ns + static_cast<int64_t>(static_cast<double>(index) * 1e9 / options.rate);
          if (due >= end_ns) break;
          sleep_until(due);
          if (stopping()) break;
        } else {
          if (k == 0) sleep_until(start_ns);
          if (!tracker.AcquireSlot(stop) || stopping()) break;
          if (next_index.fetch_add(1) >= count_limit) break;
          due = clock->NowNanos();
          if (due >= end_ns) break;
        }
        Status st = peer.factory->Build(&tx);
        if (!st.ok()) {
          spdlog::error("peer {}: building a transaction: {}", pi, st.ToString());
          stop = true;
          break;
        }
        tracker.OnSubmit(tx.tx_id, due);
        st = peer.producer->Produce(topic, 0, tx.record, new std::string(tx.tx_id));
        if (!st.ok()) {
          ++produce_errors;
          tracker.OnAck(tx.tx_id, false);
          spdlog::error("peer {}: produce: {}", pi, st.ToString());
        }
      }
    });
  }

  // Progress reporting on this thread while peers submit.
  std::atomic<bool> submitting_done{false};
  std::thread joiner([&] {
    for (auto& t : threads) t.join();
    submitting_done = true;
  });
  const int64_t interval_ns = options.progress_interval_ms * 1'000'000;
  tracker.Progress(start_ns);  // baseline for the first interval
  int64_t next_progress = start_ns + interval_ns;
  auto maybe_progress = [&] {
    if (interval_ns > 0 && options.on_progress && clock->NowNanos() >= next_progress) {
      options.on_progress(tracker.Progress(start_ns));
      next_progress += interval_ns;
    }
  };
  while (!submitting_done.load()) {
    if (external_stop != nullptr && external_stop->load()) stop = true;
    maybe_progress();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  joiner.join();

  // Drain: acknowledgements, then deliveries.
  const int64_t drain_deadline = clock->NowNanos() + options.drain_timeout_ms * 1'000'000;
  for (Peer& p : peers) {
    int64_t left_ms = std::max<int64_t>(1, (drain_deadline - clock->NowNanos()) / 1'000'000);
    Status st = p.producer->Flush(static_cast<int>(left_ms));
    if (!st.ok()) spdlog::warn("flush: {}", st.ToString());
  }
  while (!tracker.Settled() && clock->NowNanos() < drain_deadline &&
         !(external_stop != nullptr && external_stop->load())) {
    maybe_progress();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (listener) listener->Stop();
  peers.clear();  // producers flushed; destroys them
  report->stopped_early = external_stop != nullptr && external_stop->load();
  tracker.Fill(report);
  report->config["deliver_reconnects"] = listener ? listener->reconnects() : 0;
  {
    // One record's size on the wire, for the report.
    std::unique_ptr<Signer> s;
    ORDERING_RETURN_IF_ERROR(Signer::Generate(&s));
    TxFactoryOptions fo;
    fo.channel_id = options.channel_id;
    fo.target_record_bytes = options.tx_size;
    TxFactory f(s.get(), fo, clock);
    BuiltTx tx;
    ORDERING_RETURN_IF_ERROR(f.Build(&tx));
    report->record_bytes = tx.record.size();
  }
  return Status::OK();
}

nlohmann::json ReportToJson(const LoadReport& r) {
  nlohmann::json j;
  j["config"] = r.config;
  j["submitted"] = r.submitted;
  j["acked"] = r.acked;
  j["failed"] = r.failed;
  j["delivered"] = r.delivered;
  j["duplicates"] = r.duplicates;
  j["lost"] = r.lost;
  j["clean"] = r.clean();
  j["stopped_early"] = r.stopped_early;
  j["blocks"] = r.blocks;
  j["txs_per_block"] = r.blocks > 0 ? static_cast<double>(r.delivered + r.duplicates) / static_cast<double>(r.blocks) : 0.0;
  j["cut_reasons"] = r.cut_reasons;
  j["record_bytes"] = r.record_bytes;
  j["seconds"] = {{"submit", r.submit_seconds}, {"run", r.run_seconds}};
  j["warmup"] = {{"seconds", r.config.value("warmup_ms", 0) / 1000.0}, {"transactions", r.warmup_transactions}};
  j["tps"] = {{"submitted", r.submit_tps}, {"acked", r.ack_tps}, {"delivered", r.delivered_tps}};
  j["latency_ms"] = {{"e2e", ToJson(r.e2e)}, {"ack", ToJson(r.ack)}};
  return j;
}

std::string ReportToText(const LoadReport& r) {
  const bool raw = r.config.value("raw", false);
  char buf[512];
  std::ostringstream out;
  std::snprintf(buf, sizeof(buf), "submitted %llu, acked %llu, failed %llu", static_cast<unsigned long long>(r.submitted),
                static_cast<unsigned long long>(r.acked), static_cast<unsigned long long>(r.failed));
  out << buf;
  if (!raw) {
    const double per_block =
        r.blocks > 0 ? static_cast<double>(r.delivered + r.duplicates) / static_cast<double>(r.blocks) : 0.0;
    std::snprintf(buf, sizeof(buf), ", delivered %llu, lost %llu, duplicates %llu, in %llu blocks (%.1f tx/block)",
                  static_cast<unsigned long long>(r.delivered), static_cast<unsigned long long>(r.lost),
                  static_cast<unsigned long long>(r.duplicates), static_cast<unsigned long long>(r.blocks), per_block);
    out << buf;
  } else {
    std::snprintf(buf, sizeof(buf), ", never acknowledged %llu", static_cast<unsigned long long>(r.lost));
    out << buf;
  }
  out << "\n";
  if (r.warmup_transactions > 0) {
    std::snprintf(buf, sizeof(buf), "measured after a %.1f s warm-up (%llu transactions left out of the figures below)\n",
                  r.config.value("warmup_ms", 0) / 1000.0, static_cast<unsigned long long>(r.warmup_transactions));
    out << buf;
  }
  std::snprintf(buf, sizeof(buf), "throughput: submitted %.0f tx/s, acked %.0f tx/s", r.submit_tps, r.ack_tps);
  out << buf;
  if (!raw) {
    std::snprintf(buf, sizeof(buf), ", delivered (end to end) %.0f tx/s", r.delivered_tps);
    out << buf;
  }
  out << "\n";
  auto line = [&](const char* name, const LatencySummary& s) {
    std::snprintf(buf, sizeof(buf), "%s latency ms: p50 %.1f  p95 %.1f  p99 %.1f  p99.9 %.1f  max %.1f  mean %.1f (n=%llu)\n",
                  name, s.p50_ms, s.p95_ms, s.p99_ms, s.p999_ms, s.max_ms, s.mean_ms,
                  static_cast<unsigned long long>(s.count));
    out << buf;
  };
  if (!raw) line("end-to-end", r.e2e);
  line("ack       ", r.ack);
  return out.str();
}

}  // namespace ordering

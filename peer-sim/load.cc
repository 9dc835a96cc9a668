#include "peer-sim/load.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/crypto.h"
#include "common/tx_factory.h"
#include "peer-sim/ack_log.h"
#include "peer-sim/deliver_listener.h"
#include "peer-sim/orderer_channel.h"
#include "peer-sim/pool.h"
#include "peer-sim/steady.h"
#include "peer-sim/submitter.h"
#include "peer-sim/tracker.h"

namespace ordering {
namespace {

// How long the exit waits for the delivery reports of purged records.
constexpr int kPurgePollMs = 500;

// What the producers sent between the last counters at or before `from_ms`
// and the last at or before `to_ms` (counters start at zero); none without
// counters or a window.
std::optional<BatchCounters> BatchesInWindow(const std::vector<std::pair<int64_t, BatchCounters>>& samples,
                                             int64_t from_ms, int64_t to_ms) {
  if (samples.empty() || to_ms <= from_ms) return std::nullopt;
  auto at = [&](int64_t t) {
    BatchCounters c;
    for (const auto& [ms, b] : samples) {
      if (ms > t) break;
      c = b;
    }
    return c;
  };
  return at(to_ms) - at(from_ms);
}

[[nodiscard]] Status CheckOptions(const LoadOptions& o) {
  if (o.submit == SubmitPath::kKafka && o.brokers.empty()) return Status::InvalidArgument("no brokers given");
  if (o.raw && o.submit != SubmitPath::kKafka) {
    return Status::InvalidArgument("raw mode times the Kafka producer alone: it needs the kafka submit path");
  }
  if (!o.raw && o.orderer.empty()) return Status::InvalidArgument("no orderer address given (or use raw mode)");
  if (!o.raw) {
    std::vector<std::string> addresses;
    ORDERING_RETURN_IF_ERROR(ParseOrdererList(o.orderer, &addresses));
  }
  if (o.peers < 1 || o.peers > 1000) return Status::InvalidArgument("peers must be between 1 and 1000");
  if (o.tx_size < 300 || o.tx_size > 64 * 1024 * 1024) {
    return Status::InvalidArgument("tx size must be between 300 bytes (a signed header) and 64 MB");
  }
  if (o.rate < 0) return Status::InvalidArgument("rate must not be negative");
  if (o.count == 0 && o.duration_ms <= 0) return Status::InvalidArgument("give a count or a duration");
  if (o.duration_ms < 0) return Status::InvalidArgument("duration must not be negative");
  if (o.max_in_flight == 0) return Status::InvalidArgument("max in flight must be at least 1");
  if (o.warmup_ms < 0) return Status::InvalidArgument("warm-up must not be negative");
  if (o.steady_window_ms < 1000 || o.steady_window_ms % 1000 != 0) {
    return Status::InvalidArgument("steady window must be a whole number of seconds, at least 1 s");
  }
  if (!(o.steady_tolerance > 0 && o.steady_tolerance < 1)) {
    return Status::InvalidArgument("steady tolerance must be between 0 and 1 (e.g. 0.05 for 5%)");
  }
  if (o.warmup_mode == WarmupMode::kAuto && o.warmup_max_ms < 2 * o.steady_window_ms) {
    return Status::InvalidArgument("warm-up max must be at least two steady windows long");
  }
  if (o.sign_inline && o.pool_size > 0) {
    return Status::InvalidArgument("a pool size is for pre-signed transactions; it has no meaning when signing inline");
  }
  if (o.drain_timeout_ms < 0) return Status::InvalidArgument("drain timeout must not be negative");
  return Status::OK();
}

Tracker::Config TrackerConfig(const LoadOptions& options) {
  Tracker::Config tc;
  tc.raw = options.raw;
  tc.peers = options.peers;
  tc.rate = options.rate;
  tc.max_in_flight = options.max_in_flight;
  tc.warmup_mode = options.warmup_mode;
  tc.warmup_ns = options.warmup_ms * 1'000'000;
  tc.warmup_max_s = (options.warmup_max_ms + 999) / 1000;
  tc.steady = SteadyOptions{static_cast<int>(options.steady_window_ms / 1000), options.steady_tolerance};
  tc.duration_ns = options.duration_ms * 1'000'000;
  tc.cooldown_ns = options.duration_ms > 0 ? options.cooldown_ms * 1'000'000 : 0;
  tc.block_times = options.block_times;
  tc.metrics = options.metrics;
  return tc;
}

// Creates each peer: its own key and submitter (its own producer, or its
// own Broadcast stream), connected before the clock starts, so connection
// set-up is not charged to the first transactions. Each submitter reports
// its outcomes to `tracker` and `ack_log` (optional), and asks `give_up`
// while it waits for a broken stream to come back; all three must outlive
// the peers.
[[nodiscard]] Status MakePeers(const LoadOptions& options, Tracker* tracker, AckLog* ack_log,
                               const std::function<bool()>& give_up, std::vector<SimulatedPeer>* peers) {
  for (size_t i = 0; i < peers->size(); ++i) {
    SimulatedPeer& p = (*peers)[i];
    ORDERING_RETURN_IF_ERROR(Signer::Generate(&p.signer));
    TxFactoryOptions fo;
    fo.channel_id = options.channel_id;
    fo.target_record_bytes = options.tx_size;
    p.factory = std::make_unique<TxFactory>(p.signer.get(), fo, options.clock);
    SubmitterOptions so;
    so.path = options.submit;
    so.brokers = options.brokers;
    so.topic = options.ResolvedTopic();
    so.producer_properties = options.producer_properties;
    so.create_topic = options.raw;  // no orderer to create it
    so.orderer = options.orderer;
    so.connect_timeout_ms = options.connect_timeout_ms;
    so.reconnect = options.reconnect;
    so.give_up = give_up;
    so.on_outcome = [tracker, ack_log, clock = options.clock](void* opaque, const SubmitAnswer& a) {
      const auto* tx = static_cast<const PooledTx*>(opaque);
      if (a.outcome == SubmitOutcome::kFailed) spdlog::debug("submitting {} failed: {}", tx->tx_id, a.detail);
      if (ack_log != nullptr) ack_log->Record(tx->tx_id, a.code, tx->sent_unix_ns, clock->WallNanos(), tx->ref.peer);
      tracker->OnDeliveryReport(tx->ref, a.outcome);
    };
    ORDERING_RETURN_IF_ERROR(MakeSubmitter(so, &p.submitter).WithContext("peer " + std::to_string(i)));
  }
  return Status::OK();
}

// Writes second 0 of the run on the wall clock to options.started_file
// (through a rename, so a reader never sees it half written).
void WriteStartedFile(const LoadOptions& options, int64_t start_ns) {
  const Clock* clock = options.clock;
  const int64_t start_unix_ms = (start_ns + clock->WallNanos() - clock->NowNanos()) / 1'000'000;
  const std::string tmp = options.started_file + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << start_unix_ms << "\n";
  }
  if (std::rename(tmp.c_str(), options.started_file.c_str()) != 0 && options.on_notice) {
    options.on_notice("could not write --started-file " + options.started_file);
  }
}

}  // namespace

Status RunLoad(const LoadOptions& options, LoadReport* report, const std::atomic<bool>* external_stop,
               const std::atomic<bool>* external_abort) {
  ORDERING_RETURN_IF_ERROR(CheckOptions(options));
  if (!options.started_file.empty()) std::remove(options.started_file.c_str());
  PoolPlan plan;
  ORDERING_RETURN_IF_ERROR(PlanPool(options, &plan));
  const Clock* clock = options.clock;
  const bool presigned = !options.sign_inline;
  std::atomic<bool> stop{false};
  auto stopping = [&] { return stop.load() || (external_stop != nullptr && external_stop->load()); };
  auto notice = [&](const std::string& line) {
    if (options.on_notice) options.on_notice(line);
  };
  report->config = ConfigToJson(options);

  // Declared before the tracker and the peers, so destroyed after them: the
  // submitters' outcomes point into the pools and the tracker keys on their
  // tx ids.
  std::vector<TxPool> pools(static_cast<size_t>(options.peers));
  Tracker tracker(clock, TrackerConfig(options));
  std::unique_ptr<AckLog> ack_log;
  if (!options.ack_log.empty()) ORDERING_RETURN_IF_ERROR(AckLog::Open(options.ack_log, &ack_log));
  std::vector<SimulatedPeer> peers(static_cast<size_t>(options.peers));
  // A peer waiting for a broken Broadcast stream to come back gives up when
  // the run is stopped or its submitting is over.
  auto give_up = [&] { return stopping() || clock->NowNanos() >= tracker.deadline(); };
  ORDERING_RETURN_IF_ERROR(MakePeers(options, &tracker, ack_log.get(), give_up, &peers));

  std::unique_ptr<DeliverListener> listener;
  if (!options.raw) {
    ORDERING_RETURN_IF_ERROR(DeliverListener::Start(
        options.orderer, [&tracker](const Block& b) { tracker.OnBlock(b); },
        static_cast<int>(options.connect_timeout_ms), &listener, options.reconnect, clock));
  }

  std::atomic<uint64_t> record_bytes{0};
  report->presigned = presigned;
  if (presigned) {
    notice("pre-signing " + FormatCount(plan.total) + " transactions (" + std::to_string(peers.size()) +
           " peers, a thread each)...");
    const int64_t t0 = clock->NowNanos();
    ORDERING_RETURN_IF_ERROR(PreSign(plan, &peers, &pools, stopping));
    report->presign_seconds = static_cast<double>(clock->NowNanos() - t0) / 1e9;
    for (size_t pi = 0; pi < pools.size(); ++pi) {
      report->pool_size += pools[pi].size();
      tracker.Reserve(static_cast<uint32_t>(pi), pools[pi].size());
    }
    if (!pools.empty() && !pools[0].empty()) record_bytes = pools[0][0].bytes.size();
    char buf[160];
    std::snprintf(buf, sizeof(buf), "pre-signed %s transactions in %.2f s (%.0f/s)",
                  FormatCount(report->pool_size).c_str(), report->presign_seconds,
                  report->presign_seconds > 0 ? static_cast<double>(report->pool_size) / report->presign_seconds : 0.0);
    notice(buf);
  }

  const int64_t start_ns = clock->NowNanos() + 50'000'000;  // let every thread get going
  tracker.Start(start_ns);
  if (!options.started_file.empty()) WriteStartedFile(options, start_ns);
  const uint64_t n_peers = peers.size();

  // Sleeps until `t` or the deadline, whichever is first (the deadline can
  // move: an auto warm-up sets it when it ends).
  auto sleep_until = [&](int64_t t) {
    while (!stopping()) {
      int64_t left = std::min(t, tracker.deadline()) - clock->NowNanos();
      if (left <= 0) return;
      std::this_thread::sleep_for(std::chrono::nanoseconds(std::min<int64_t>(left, 50'000'000)));
    }
  };

  // One sending thread per peer: paces its share of the schedule (open
  // loop) or keeps the in-flight window full (flat out), and times its own
  // work apart from the time Submit holds it.
  std::vector<std::thread> threads;
  std::vector<uint64_t> not_sent(n_peers, 0);  // per peer, its thread only
  for (uint64_t pi = 0; pi < n_peers; ++pi) {
    threads.emplace_back([&, pi] {
      SimulatedPeer& peer = peers[pi];
      TxPool& pool = pools[pi];
      const uint64_t quota = options.count > 0 ? ShareOf(options.count, n_peers, pi) : UINT64_MAX;
      BuiltTx built;
      bool at_deadline = false;
      int64_t free_ns = 0;  // when the previous Submit returned
      for (uint64_t k = 0; k < quota; ++k) {
        int64_t due;
        if (options.rate > 0) {
          const uint64_t index = k * n_peers + pi;
          due = start_ns + static_cast<int64_t>(static_cast<double>(index) * 1e9 / options.rate);
          sleep_until(due);
          if (stopping()) break;
          // Checked after the sleep: an auto warm-up may have ended meanwhile.
          if (due >= tracker.deadline()) {
            at_deadline = true;
            break;
          }
        } else {
          if (k == 0) sleep_until(start_ns);
          if (!tracker.AcquireSlot(stop) || stopping()) break;
          due = clock->NowNanos();
          if (due >= tracker.deadline()) {
            at_deadline = true;
            break;
          }
        }
        PooledTx* tx;
        if (presigned) {
          if (k >= pool.size()) {
            tracker.OnPoolExhausted();
            break;
          }
          tx = &pool[k];
        } else {
          Status st = SignInto(&peer, TxRef{static_cast<uint32_t>(pi), k}, &built, &pool);
          if (!st.ok()) {
            spdlog::error("peer {}: building a transaction: {}", pi, st.ToString());
            stop = true;
            break;
          }
          tx = &pool.back();
          uint64_t none = 0;
          record_bytes.compare_exchange_strong(none, tx->bytes.size());
        }
        tracker.OnSubmit(tx->ref, tx->tx_id, due);
        const int64_t sent = clock->NowNanos();
        tx->sent_unix_ns = clock->WallNanos();
        Status st = peer.submitter->Submit(tx->bytes, tx->tx_id, tx);
        const int64_t returned = clock->NowNanos();
        tracker.OnSubmitted(sent, sent - std::max(due, free_ns), returned - sent);
        free_ns = returned;
        if (!st.ok()) {
          if (ack_log) ack_log->Record(tx->tx_id, "NOT_SENT", tx->sent_unix_ns, clock->WallNanos(), tx->ref.peer);
          tracker.OnDeliveryReport(tx->ref, SubmitOutcome::kFailed);
          // One line per failure would flood the log while the orderer is
          // away: the first, then every 1000th.
          if (not_sent[pi]++ % 1000 == 0) {
            spdlog::error("peer {}: submit ({} not sent so far): {}", pi, not_sent[pi], st.ToString());
          }
        }
        std::string().swap(tx->bytes);  // sent (the producer or the stream holds its own copy)
      }
      tracker.OnPeerStopped(at_deadline);
    });
  }

  // Progress and the per-second series on this thread while peers submit.
  std::atomic<bool> submitting_done{false};
  std::thread joiner([&] {
    for (auto& t : threads) t.join();
    submitting_done = true;
  });
  const int64_t interval_ns = options.progress_interval_ms * 1'000'000;
  tracker.Progress();  // baseline for the first interval
  int64_t next_progress = start_ns + interval_ns;
  // The producers' batch counters summed over the peers, each time they
  // change (wall clock ms), to cut to the measured window at the end.
  std::vector<std::pair<int64_t, BatchCounters>> batch_samples;
  auto sample_batches = [&] {
    BatchCounters sum;
    bool any = false;
    for (const SimulatedPeer& p : peers) {
      if (auto b = p.submitter->Batches()) {
        any = true;
        sum += *b;
      }
    }
    if (!any || (!batch_samples.empty() && batch_samples.back().second == sum)) return;
    batch_samples.emplace_back(clock->WallNanos() / 1'000'000, sum);
  };
  auto tick = [&] {
    tracker.Tick();
    sample_batches();
    if (interval_ns > 0 && options.on_progress && clock->NowNanos() >= next_progress) {
      options.on_progress(tracker.Progress());
      next_progress += interval_ns;
    }
  };
  while (!submitting_done.load()) {
    if (external_stop != nullptr && external_stop->load()) stop = true;
    tick();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  joiner.join();

  // Drain, bounded as a whole by drain_timeout_ms: flush (on a helper
  // thread, so the series keeps its one-second beat) while waiting for the
  // deliveries; at the deadline, abandon what the submitters still hold
  // (each counts as never acknowledged) and close them at once.
  const int64_t drain_start = clock->NowNanos();
  const int64_t drain_deadline = drain_start + options.drain_timeout_ms * 1'000'000;
  auto ms_left = [&] {
    return static_cast<int>(std::max<int64_t>(1, (drain_deadline - clock->NowNanos()) / 1'000'000));
  };
  std::atomic<bool> flushed{false};
  std::thread flusher([&] {
    for (SimulatedPeer& p : peers) {
      if (clock->NowNanos() >= drain_deadline) break;
      Status st = p.submitter->Flush(ms_left());
      if (!st.ok()) spdlog::info("flush: {}", st.ToString());
    }
    flushed = true;
  });
  // Until every transaction is delivered (or failed) and every answer owed
  // has come: an orderer may answer SUCCESS after the peers already hold the
  // block, and abandoning that answer would log the transaction ABANDONED.
  while (!(tracker.Settled() && flushed.load()) && clock->NowNanos() < drain_deadline &&
         !(external_abort != nullptr && external_abort->load())) {
    tick();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (SimulatedPeer& p : peers) {
    const int left = p.submitter->Abandon(kPurgePollMs);
    if (left > 0) spdlog::warn("{} transactions still unresolved after abandoning them", left);
  }
  flusher.join();  // returns once abandoning emptied the queues
  if (listener) {
    listener->Stop();
    report->deliver_reconnects = listener->reconnects();
    report->deliver_outages = listener->outages();
    report->deliver_orderer = listener->orderer();
    report->deliver_switches = listener->switches();
  }
  if (!options.raw) {
    Status parsed = ParseOrdererList(options.orderer, &report->orderers);  // checked by CheckOptions
    if (!parsed.ok()) spdlog::error("orderer list: {}", parsed.ToString());
  }
  if (options.submit == SubmitPath::kBroadcast) {
    StreamCounters streams;
    for (const SimulatedPeer& p : peers) {
      if (auto s = p.submitter->Streams()) streams += *s;
    }
    report->broadcast_streams = streams;
  }
  peers.clear();  // closes the submitters without waiting
  if (ack_log) {
    // Every outcome has been reported (the submitters are gone).
    Status st = ack_log->Close();
    report->ack_log_path = ack_log->path();
    report->ack_log_lines = ack_log->lines();
    if (!st.ok()) report->ack_log_error = st.ToString();
  }
  report->drain_seconds = static_cast<double>(clock->NowNanos() - drain_start) / 1e9;
  report->stopped_early = external_stop != nullptr && external_stop->load();
  tracker.Finish();
  tracker.Fill(report);
  report->batches = BatchesInWindow(batch_samples, report->window_from_unix_ms, report->window_to_unix_ms);
  report->record_bytes = record_bytes.load();
  if (options.rate > 0) report->offered_tps = options.rate;
  DiagnoseRun(report);
  return Status::OK();
}

}  // namespace ordering

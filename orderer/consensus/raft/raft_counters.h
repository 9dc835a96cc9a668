// The raft backend's own counters (OrdererMetrics::consenter, on /metrics
// and in the orderer's summary line). Thread-safe (atomics).
#pragma once

#include <atomic>
#include <cstdint>

#include "orderer/metrics.h"

namespace ordering::raft_backend {

struct RaftCounters {
  explicit RaftCounters(ConsenterCounters* c, unsigned heartbeat_ms)
      : term(c->Add("raft_term")),
        leader(c->Add("raft_leader")),
        is_leader(c->Add("raft_is_leader")),
        terms_led(c->Add("raft_terms_led")),
        proposed(c->Add("raft_blocks_proposed")),
        proposals_failed(c->Add("raft_proposals_failed")),
        replayed(c->Add("raft_entries_replayed")),
        forwarded(c->Add("raft_forwarded")),
        forward_retried(c->Add("raft_forward_retried")),
        forward_rejected(c->Add("raft_forward_rejected")),
        forward_lost(c->Add("raft_forward_lost")),
        snapshots(c->Add("raft_snapshots_taken")),
        restores(c->Add("raft_snapshots_restored")),
        caught_up(c->Add("raft_blocks_caught_up")) {
    *c->Add("raft_heartbeat_ms") = heartbeat_ms;
  }
  std::atomic<int64_t>* const term;
  std::atomic<int64_t>* const leader;
  std::atomic<int64_t>* const is_leader;
  std::atomic<int64_t>* const terms_led;
  std::atomic<int64_t>* const proposed;
  std::atomic<int64_t>* const proposals_failed;
  std::atomic<int64_t>* const replayed;
  std::atomic<int64_t>* const forwarded;
  std::atomic<int64_t>* const forward_retried;
  std::atomic<int64_t>* const forward_rejected;
  std::atomic<int64_t>* const forward_lost;  // taken by an earlier term's leader and never ordered
  std::atomic<int64_t>* const snapshots;
  std::atomic<int64_t>* const restores;
  std::atomic<int64_t>* const caught_up;
};

}  // namespace ordering::raft_backend

#include "orderer/consensus/raft/replicator.h"

#include <spdlog/spdlog.h>

#include <vector>

#include "orderer/consensus/raft/raft_format.h"

namespace ordering::raft_backend {

// raft_apply's request and what its callback needs (req.data points here).
struct Replicator::ApplyRequest {
  struct raft_apply req;
  Replicator* self;
  Proposal proposal;
};

void Replicator::Configure(struct raft* raft, const RaftOptions& o) {
  raft_set_heartbeat_timeout(raft, o.heartbeat_ms);
  raft_set_election_timeout(raft, o.election_timeout_ms);
  raft_set_snapshot_threshold(raft, o.snapshot_interval);
  raft_set_snapshot_trailing(raft, o.snapshot_trailing);
  raft_set_pre_vote(raft, true);
}

void Replicator::Poll() {
  // Snapshots by size (SnapshotPacer): libraft reads both counts when it next considers a snapshot.
  if (const SnapshotPacer& pacer = fsm_->pacer(); pacer.threshold() != raft_->snapshot.threshold) {
    raft_set_snapshot_threshold(raft_, pacer.threshold());
    raft_set_snapshot_trailing(raft_, pacer.trailing());
  }
  raft_id leader = 0;
  const char* address = nullptr;
  raft_leader(raft_, &leader, &address);
  const bool leading = raft_state(raft_) == RAFT_LEADER;
  const uint64_t term = raft_->current_term;
  *counters_->term = static_cast<int64_t>(term);
  *counters_->leader = static_cast<int64_t>(leader);
  *counters_->is_leader = leading ? 1 : 0;
  shared_->SetLeader(leader, term);
  if (!leading && ready_term_ != 0) {
    ready_term_ = 0;
    shared_->SetReadyTerm(0);
  }
  if (leader != logged_leader_ || leading != logged_leading_ || (leading && term != logged_term_)) {
    logged_leader_ = leader;
    logged_leading_ = leading;
    logged_term_ = term;
    spdlog::info("raft: node {}: term {} leader {}{}", options_->id, term, leader, leading ? " (this node)" : "");
  }
  // A new leader builds only on a ledger that holds every earlier entry: a
  // barrier entry is applied after all of them.
  if (leading && ready_term_ != term && !barrier_pending_) {
    barrier_pending_ = true;
    barrier_term_ = term;
    barrier_req_.data = this;
    const int rv = raft_barrier(raft_, &barrier_req_, &OnBarrier);
    if (rv != 0) {
      barrier_pending_ = false;
      spdlog::warn("raft: barrier in term {} failed: {}", term, raft_strerror(rv));
    }
  }
}

void Replicator::OnBarrier(struct raft_barrier* req, int status) {
  Replicator* self = static_cast<Replicator*>(req->data);
  self->barrier_pending_ = false;
  if (status != 0 || raft_state(self->raft_) != RAFT_LEADER || self->raft_->current_term != self->barrier_term_) {
    return;
  }
  if (self->shared_->closing()) return;
  self->ready_term_ = self->barrier_term_;
  self->shared_->SetReadyTerm(self->ready_term_);
  ++*self->counters_->terms_led;
  spdlog::info("raft: node {} leads term {} from block {}", self->options_->id, self->ready_term_,
               self->support_->Height().value());
}

void Replicator::ProposePosted() {
  for (Proposal& p : shared_->TakePosted()) Propose(std::move(p));
}

void Replicator::FailPosted(const std::string& why) {
  for (Proposal& p : shared_->TakePosted()) ProposalFailed(std::move(p), why);
}

void Replicator::Propose(Proposal p) {
  if (raft_state(raft_) != RAFT_LEADER || raft_->current_term != p.term || ready_term_ != p.term) {
    ProposalFailed(std::move(p), "leadership changed before it was proposed");
    return;
  }
  const std::string bytes = p.block->SerializeAsString();
  raft_buffer buf;
  buf.len = EntrySize(bytes.size());
  buf.base = raft_malloc(buf.len);
  if (buf.base == nullptr) {
    ProposalFailed(std::move(p), "out of memory");
    return;
  }
  EncodeEntry(bytes, static_cast<char*>(buf.base));
  const uint64_t number = p.block->header().number();
  fsm_->Proposed(number, p.first_seen);
  auto* request = new ApplyRequest{{}, this, std::move(p)};
  request->req.data = request;
  const int rv = raft_apply(raft_, &request->req, &buf, 1, &OnApplied);
  if (rv != 0) {
    raft_free(buf.base);
    std::unique_ptr<ApplyRequest> back(request);
    fsm_->Withdrawn(number);
    ProposalFailed(std::move(back->proposal), raft_strerror(rv));
  }
}

void Replicator::OnApplied(struct raft_apply* req, int status, void* /*result*/) {
  std::unique_ptr<ApplyRequest> request(static_cast<ApplyRequest*>(req->data));
  Replicator* self = request->self;
  if (status != 0) {
    self->fsm_->Withdrawn(request->proposal.block->header().number());
    self->ProposalFailed(std::move(request->proposal), raft_strerror(status));
    return;
  }
  self->shared_->Settled();
}

void Replicator::ProposalFailed(Proposal p, const std::string& why) {
  ++*counters_->proposals_failed;
  const uint64_t number = p.block->header().number();
  std::vector<CutterMessage> txs;
  Status st = TransactionsOf(*p.block, &txs);
  if (!st.ok()) {
    shared_->Fail(st.WithContext("a block this node built"));  // cannot happen: ingress checked each
  }
  spdlog::warn("raft: block {} of term {} was not committed here ({}); its {} transactions go to the leader again",
               number, p.term, why, txs.size());
  // Build again only after a new barrier: the failed block may still be
  // committed by the next leader, and the duplicate check then drops copies.
  ready_term_ = 0;
  queue_->GiveBack(std::move(txs));
  shared_->RevokeTerm(p.term);
  shared_->Settled();
}

}  // namespace ordering::raft_backend

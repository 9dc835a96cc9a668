#include "orderer/consensus/raft/raft_ordering.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <vector>

#include "orderer/consensus/raft/raft_format.h"

namespace ordering::raft_backend {

void RaftOrdering::Run() {
  const Clock* clock = support_->clock();
  while (queue_->Wait(clock, NextDeadline(), WantsTransactions(shared_->role()))) {
    Status st = Step();
    if (!st.ok()) {
      shared_->Fail(st);
      return;
    }
  }
}

bool RaftOrdering::WantsTransactions(const RaftRole& role) const {
  if (building_term_ != 0) return waiting_.empty() && role.inflight < options_->max_inflight_blocks;
  if (role.ready_term != 0) return false;  // about to build: waits for what it proposed before to settle
  return role.leader != 0 && role.leader != options_->id && forward_again_at_ == 0;
}

int64_t RaftOrdering::NextDeadline() const {
  if (building_term_ != 0) return support_->BatchDeadline();
  return forward_again_at_;
}

Status RaftOrdering::Step() {
  const RaftRole role = shared_->role();
  if (building_term_ != 0 && role.ready_term != building_term_) Abandon();
  if (building_term_ == 0 && role.ready_term != 0 && role.inflight == 0) {
    // Leading with everything before this term applied: build on the ledger.
    building_term_ = role.ready_term;
    support_->ResetBlockCreator();
  }
  SettleForwarded(role);
  if (building_term_ != 0) return Build(role);
  if (forward_again_at_ != 0 && support_->clock()->NowNanos() >= forward_again_at_) forward_again_at_ = 0;
  if (role.leader != 0 && role.leader != options_->id && forward_again_at_ == 0) Forward(role);
  return Status::OK();
}

Status RaftOrdering::Build(const RaftRole& role) {
  size_t inflight = role.inflight;
  PostWaiting(&inflight);
  if (waiting_.empty()) queue_->TakeAll(&work_);
  while (waiting_.empty() && !work_.empty()) {
    CutterMessage tx = std::move(work_.front());
    work_.pop_front();
    support_->metrics()->received++;
    OrderOutcome outcome = support_->Order(std::move(tx));
    for (OrderedBatch& b : outcome.batches) ORDERING_RETURN_IF_ERROR(Propose(std::move(b), &inflight));
  }
  const int64_t deadline = support_->BatchDeadline();
  if (deadline != 0 && support_->clock()->NowNanos() >= deadline) {
    OrderedBatch b = support_->CutPending();
    if (!b.batch.messages.empty()) ORDERING_RETURN_IF_ERROR(Propose(std::move(b), &inflight));
  }
  return Status::OK();
}

Status RaftOrdering::Propose(OrderedBatch b, size_t* inflight) {
  const std::string metadata = EncodeMetadata(RaftMetadata{building_term_, options_->id});
  Proposal p{building_term_, support_->CreateNextBlock(std::move(b.batch), metadata), b.first_seen_nanos};
  ++*counters_->proposed;
  waiting_.push_back(std::move(p));
  PostWaiting(inflight);
  return Status::OK();
}

void RaftOrdering::PostWaiting(size_t* inflight) {
  while (!waiting_.empty() && *inflight < options_->max_inflight_blocks) {
    shared_->Post(std::move(waiting_.front()));
    waiting_.pop_front();
    ++*inflight;
  }
}

void RaftOrdering::Abandon() {
  std::vector<CutterMessage> back;
  for (const Proposal& p : waiting_) {
    Status st = TransactionsOf(*p.block, &back);
    if (!st.ok()) spdlog::error("raft: a block this node built does not decode: {}", st.ToString());
  }
  waiting_.clear();
  for (CutterMessage& m : support_->TakePending()) back.push_back(std::move(m));
  for (CutterMessage& m : work_) back.push_back(std::move(m));
  work_.clear();
  building_term_ = 0;
  if (!back.empty()) {
    spdlog::info("raft: node {} no longer leads term; {} transactions wait for the next leader", options_->id,
                 back.size());
  }
  queue_->GiveBack(std::move(back));
}

void RaftOrdering::SettleForwarded(const RaftRole& role) {
  // The oldest first: a written or answered one no longer waits.
  while (!forwarded_.empty() && !support_->AwaitsAcknowledgement(forwarded_.front().tx_id)) forwarded_.pop_front();
  if (forwarded_.empty() || role.written_term <= forwarded_.front().term) return;
  size_t settled = 0;
  std::deque<Forwarded> keep;
  for (Forwarded& f : forwarded_) {
    if (f.term >= role.written_term) {
      keep.push_back(std::move(f));
      continue;
    }
    if (!support_->AwaitsAcknowledgement(f.tx_id)) continue;
    support_->Acknowledge(f.tx_id,
                          Status::Unavailable("the leader it was forwarded to in term " + std::to_string(f.term) +
                                              " stopped leading without ordering it; send it again"));
    ++settled;
  }
  forwarded_ = std::move(keep);
  if (settled != 0) {
    *counters_->forward_lost += static_cast<int64_t>(settled);
    spdlog::warn(
        "raft: node {}: {} forwarded transactions were not ordered by the leader of an earlier term (a block of "
        "term {} is written): answered SERVICE_UNAVAILABLE",
        options_->id, settled, role.written_term);
  }
}

void RaftOrdering::Forward(const RaftRole& role) {
  const uint64_t leader = role.leader;
  queue_->TakeAll(&work_);
  if (work_.empty()) return;
  const size_t n = std::min(work_.size(), kMaxForward);
  std::vector<CutterMessage> txs(std::make_move_iterator(work_.begin()), std::make_move_iterator(work_.begin() + n));
  work_.erase(work_.begin(), work_.begin() + n);
  // The next rounds', back to the queue after what this round retries.
  std::vector<CutterMessage> rest(std::make_move_iterator(work_.begin()), std::make_move_iterator(work_.end()));
  work_.clear();
  const std::vector<ForwardReply> replies = peers_->Forward(leader, txs);
  std::vector<CutterMessage> again;
  for (size_t i = 0; i < txs.size(); ++i) {
    switch (replies[i].outcome) {
      case ForwardOutcome::kAccepted:
        ++*counters_->forwarded;
        if (support_->AwaitsAcknowledgement(txs[i].tx_id)) forwarded_.push_back({role.term, txs[i].tx_id});
        break;
      case ForwardOutcome::kRejected:
        ++*counters_->forward_rejected;
        spdlog::warn("raft: leader {} refused forwarded tx {}: {}", leader, txs[i].tx_id, replies[i].info);
        break;
      case ForwardOutcome::kRetry:
        again.push_back(std::move(txs[i]));
        break;
    }
  }
  if (!again.empty()) {
    *counters_->forward_retried += static_cast<int64_t>(again.size());
    queue_->GiveBack(std::move(again));
    // The leader is not taking them now: try again a little later, not at once.
    forward_again_at_ = support_->clock()->NowNanos() + static_cast<int64_t>(options_->forward_retry_ms) * 1'000'000;
  }
  if (!rest.empty()) queue_->GiveBack(std::move(rest));
}

}  // namespace ordering::raft_backend

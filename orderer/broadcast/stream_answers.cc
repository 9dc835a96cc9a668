#include "orderer/broadcast/stream_answers.h"

#include <utility>

namespace ordering {

bool StreamAnswers::WaitForRoom() {
  MutexLock l(&mu_);
  room_.wait(l.native(), [&]() REQUIRES(mu_) { return broken_ || entries_.size() < window_; });
  return !broken_;
}

void StreamAnswers::PushReady(BroadcastResponse response, TimePoint read_at) {
  MutexLock l(&mu_);
  Entry e;
  e.answer.response = std::move(response);
  e.answer.read_at = read_at;
  e.ready = true;
  entries_.push_back(std::move(e));
  changed_.notify_all();
}

uint64_t StreamAnswers::PushWaiting(const std::string& tx_id, TimePoint read_at, TimePoint deadline) {
  MutexLock l(&mu_);
  Entry e;
  e.answer.response.set_tx_id(tx_id);
  e.answer.read_at = read_at;
  e.answer.deadline = deadline;
  entries_.push_back(std::move(e));
  changed_.notify_all();  // the writer may now wait for this entry's deadline
  return first_seq_ + entries_.size() - 1;
}

bool StreamAnswers::SetTicket(uint64_t seq, uint64_t ticket) {
  MutexLock l(&mu_);
  if (broken_ || seq < first_seq_) return false;
  entries_[seq - first_seq_].answer.ticket = ticket;
  return true;
}

void StreamAnswers::DoneReading() {
  MutexLock l(&mu_);
  done_reading_ = true;
  changed_.notify_all();
}

void StreamAnswers::Resolve(uint64_t seq, BroadcastStatus status, const std::string& info) {
  MutexLock l(&mu_);
  if (broken_ || seq < first_seq_) return;  // answered already (timed out), or nobody listens
  Entry& e = entries_[seq - first_seq_];
  if (e.ready) return;
  e.ready = true;
  e.answer.response.set_status(status);
  if (!info.empty()) e.answer.response.set_info(info);
  if (seq == first_seq_) changed_.notify_all();
}

bool StreamAnswers::Next(Answer* out) {
  MutexLock l(&mu_);
  for (;;) {
    if (broken_) return false;
    if (entries_.empty()) {
      if (done_reading_) return false;
      changed_.wait(l.native());
      continue;
    }
    Entry& front = entries_.front();
    if (!front.ready) {
      if (std::chrono::steady_clock::now() < front.answer.deadline) {
        changed_.wait_until(l.native(), front.answer.deadline);
        continue;
      }
      front.answer.timed_out = true;
    }
    *out = std::move(front.answer);
    entries_.pop_front();
    ++first_seq_;
    room_.notify_all();
    return true;
  }
}

std::vector<std::pair<std::string, uint64_t>> StreamAnswers::Break() {
  MutexLock l(&mu_);
  broken_ = true;
  std::vector<std::pair<std::string, uint64_t>> waiting;
  for (const Entry& e : entries_) {
    if (!e.ready && e.answer.ticket != 0) waiting.emplace_back(e.answer.response.tx_id(), e.answer.ticket);
  }
  first_seq_ += entries_.size();
  entries_.clear();
  room_.notify_all();
  changed_.notify_all();
  return waiting;
}

}  // namespace ordering

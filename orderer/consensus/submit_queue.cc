#include "orderer/consensus/submit_queue.h"

#include <algorithm>
#include <iterator>

namespace ordering {

Status SubmitQueue::RefusalLocked() const {
  if (!error_.ok()) return Status::Unavailable("the " + name_ + " has stopped: " + error_.ToString());
  if (halted_) return Status::Unavailable("the " + name_ + " is halted");
  return Status::OK();
}

Status SubmitQueue::Push(CutterMessage tx) {
  MutexLock lock(&mu_);
  space_cv_.wait(lock.native(), [&]() REQUIRES(mu_) { return halted_ || queue_.size() < capacity_; });
  ORDERING_RETURN_IF_ERROR(RefusalLocked());
  queue_.push_back(std::move(tx));
  lock.Unlock();
  ready_cv_.notify_all();
  return Status::OK();
}

Status SubmitQueue::TryPush(CutterMessage tx) {
  MutexLock lock(&mu_);
  ORDERING_RETURN_IF_ERROR(RefusalLocked());
  if (queue_.size() >= capacity_) return Status::Unavailable("the " + name_ + "'s queue is full");
  queue_.push_back(std::move(tx));
  lock.Unlock();
  ready_cv_.notify_all();
  return Status::OK();
}

bool SubmitQueue::Wait(const Clock* clock, int64_t deadline, bool for_items) {
  MutexLock lock(&mu_);
  auto ready = [&]() REQUIRES(mu_) { return halted_ || notified_ != seen_notified_ || (for_items && !queue_.empty()); };
  if (deadline == 0) {
    ready_cv_.wait(lock.native(), ready);
  } else {
    clock->WaitUntil(lock.native(), ready_cv_, deadline, ready);
  }
  seen_notified_ = notified_;
  return !halted_;
}

size_t SubmitQueue::TakeAll(std::deque<CutterMessage>* out) {
  size_t n;
  {
    MutexLock l(&mu_);
    n = queue_.size();
    if (n == 0) return 0;
    if (out->empty()) {
      out->swap(queue_);
    } else {
      std::move(queue_.begin(), queue_.end(), std::back_inserter(*out));
      queue_.clear();
    }
    given_back_ = 0;
  }
  space_cv_.notify_all();
  return n;
}

void SubmitQueue::Notify() {
  {
    MutexLock l(&mu_);
    ++notified_;
  }
  ready_cv_.notify_all();
}

void SubmitQueue::GiveBack(std::vector<CutterMessage> txs) {
  if (txs.empty()) return;
  {
    MutexLock l(&mu_);
    const auto at = queue_.begin() + static_cast<std::ptrdiff_t>(std::min(given_back_, queue_.size()));
    queue_.insert(at, std::make_move_iterator(txs.begin()), std::make_move_iterator(txs.end()));
    given_back_ += txs.size();
  }
  ready_cv_.notify_all();
}

void SubmitQueue::Halt() {
  {
    MutexLock l(&mu_);
    halted_ = true;
  }
  ready_cv_.notify_all();
  space_cv_.notify_all();
}

void SubmitQueue::Fail(const Status& error) {
  {
    MutexLock l(&mu_);
    if (error_.ok()) error_ = error;
    halted_ = true;
  }
  ready_cv_.notify_all();
  space_cv_.notify_all();
}

size_t SubmitQueue::size() const {
  MutexLock l(&mu_);
  return queue_.size();
}

Status SubmitQueue::error() const {
  MutexLock l(&mu_);
  return error_;
}

}  // namespace ordering

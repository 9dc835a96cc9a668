#include "orderer/ack/ack_waiters.h"

#include <utility>

namespace ordering {

uint64_t AckWaiters::Add(const std::string& tx_id, Callback done) {
  MutexLock l(&mu_);
  const uint64_t ticket = last_ticket_ + 1;
  if (!waiters_.try_emplace(tx_id, Waiter{ticket, std::move(done)}).second) return 0;
  last_ticket_ = ticket;
  size_.store(waiters_.size(), std::memory_order_relaxed);
  return ticket;
}

void AckWaiters::Remove(const std::string& tx_id, uint64_t ticket) {
  MutexLock l(&mu_);
  auto it = waiters_.find(tx_id);
  if (it == waiters_.end() || it->second.ticket != ticket) return;
  waiters_.erase(it);
  size_.store(waiters_.size(), std::memory_order_relaxed);
}

bool AckWaiters::Has(const std::string& tx_id) const {
  if (empty()) return false;
  MutexLock l(&mu_);
  return waiters_.count(tx_id) != 0;
}

void AckWaiters::Resolve(const std::string& tx_id, const Status& status) {
  Callback done;
  {
    MutexLock l(&mu_);
    auto it = waiters_.find(tx_id);
    if (it == waiters_.end()) return;
    done = std::move(it->second.done);
    waiters_.erase(it);
    size_.store(waiters_.size(), std::memory_order_relaxed);
  }
  done(status);
}

void AckWaiters::ResolveDurable(const std::vector<std::string>& tx_ids) {
  std::vector<Callback> ready;
  {
    MutexLock l(&mu_);
    if (waiters_.empty()) return;
    for (const std::string& id : tx_ids) {
      auto it = waiters_.find(id);
      if (it == waiters_.end()) continue;
      ready.push_back(std::move(it->second.done));
      waiters_.erase(it);
    }
    size_.store(waiters_.size(), std::memory_order_relaxed);
  }
  const Status ok;
  for (Callback& done : ready) done(ok);
}

void AckWaiters::ResolveAll(const Status& status) {
  std::unordered_map<std::string, Waiter> all;
  {
    MutexLock l(&mu_);
    all.swap(waiters_);
    size_.store(0, std::memory_order_relaxed);
  }
  for (auto& [id, w] : all) w.done(status);
}

}  // namespace ordering

// OrderedPool: a parallel map that hands results back in submission order.
//
// Ingress uses it to check signatures on several cores while the chain sees
// every input in the order it arrived (the Kafka backend: partition order).
// Each worker thread gets its own function from `make_worker`, so per-thread
// state (a signature Verifier with its key cache) needs no locking.
//
// A ring of max_in_flight result slots indexed by sequence number: Submit()
// takes sequence `next_in` (waiting while the ring is full), workers fill
// slots in any order, Next() hands out slot `next_out` once it is filled.
//
// Thread-safety: Submit() from one producer thread, Next() from one consumer
// thread; Shutdown() from any thread, idempotent.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "common/mutex.h"

namespace ordering {

template <typename In, typename Out>
class OrderedPool {
 public:
  using Work = std::function<Out(In&)>;

  OrderedPool(int workers, size_t max_in_flight, std::function<Work()> make_worker)
      : capacity_(std::max<size_t>(1, max_in_flight)),
        slots_(capacity_),
        worker_count_(static_cast<size_t>(std::max(1, workers))) {
    workers_.reserve(worker_count_);
    for (size_t i = 0; i < worker_count_; ++i) {
      workers_.emplace_back([this, work = make_worker()] { WorkerLoop(work); });
    }
  }
  ~OrderedPool() { Shutdown(); }
  OrderedPool(const OrderedPool&) = delete;
  OrderedPool& operator=(const OrderedPool&) = delete;

  // Blocks while max_in_flight results are not yet taken by Next(). Returns
  // false if the pool is shut down.
  bool Submit(In in) {
    {
      MutexLock lock(&mu_);
      space_cv_.wait(lock.native(), [&]() REQUIRES(mu_) { return shutdown_ || next_in_ - next_out_ < capacity_; });
      if (shutdown_) return false;
      slots_[next_in_ % capacity_].filled = false;
      jobs_.emplace_back(next_in_++, std::move(in));
    }
    work_cv_.notify_one();
    return true;
  }

  // The next result in submission order. Waits up to `timeout`; false on
  // timeout or shutdown.
  bool Next(std::chrono::nanoseconds timeout, Out* out) {
    {
      MutexLock lock(&mu_);
      auto ready = [&]() REQUIRES(mu_) {
        return shutdown_ || (next_out_ < next_in_ && slots_[next_out_ % capacity_].filled);
      };
      if (!ready_cv_.wait_for(lock.native(), timeout, ready) || shutdown_) return false;
      Slot& s = slots_[next_out_ % capacity_];
      *out = std::move(s.result);
      s.filled = false;
      s.result = Out{};
      ++next_out_;
    }
    space_cv_.notify_one();
    return true;
  }

  // Stops the workers; pending Submit/Next calls return false.
  void Shutdown() {
    {
      MutexLock lock(&mu_);
      if (shutdown_ && workers_.empty()) return;
      shutdown_ = true;
    }
    work_cv_.notify_all();
    space_cv_.notify_all();
    ready_cv_.notify_all();
    std::vector<std::thread> workers;
    {
      MutexLock lock(&mu_);
      workers.swap(workers_);
    }
    for (auto& t : workers) {
      if (t.joinable()) t.join();
    }
  }

 private:
  struct Slot {
    bool filled = false;
    Out result{};
  };

  void WorkerLoop(const Work& work) {
    std::vector<std::pair<uint64_t, In>> batch;
    std::vector<std::pair<uint64_t, Out>> done;
    for (;;) {
      {
        MutexLock lock(&mu_);
        work_cv_.wait(lock.native(), [&]() REQUIRES(mu_) { return shutdown_ || !jobs_.empty(); });
        if (shutdown_) return;
        // Take a few jobs at once to amortize locking; leave some for others.
        size_t take = std::min<size_t>(jobs_.size(), std::max<size_t>(1, jobs_.size() / worker_count_));
        take = std::min<size_t>(take, 32);
        for (size_t i = 0; i < take; ++i) {
          batch.push_back(std::move(jobs_.front()));
          jobs_.pop_front();
        }
      }
      for (auto& [seq, in] : batch) done.emplace_back(seq, work(in));
      batch.clear();
      bool wake_next = false;
      {
        MutexLock lock(&mu_);
        for (auto& [seq, result] : done) {
          Slot& s = slots_[seq % capacity_];
          s.result = std::move(result);
          s.filled = true;
          wake_next |= seq == next_out_;
        }
      }
      done.clear();
      if (wake_next) ready_cv_.notify_one();
    }
  }

  const size_t capacity_;
  Mutex mu_;
  std::condition_variable work_cv_;   // workers: a job is queued, or shutdown
  std::condition_variable space_cv_;  // Submit: a slot was taken by Next
  std::condition_variable ready_cv_;  // Next: slot next_out was filled
  std::deque<std::pair<uint64_t, In>> jobs_ GUARDED_BY(mu_);
  std::vector<Slot> slots_ GUARDED_BY(mu_);
  uint64_t next_in_ GUARDED_BY(mu_) = 0;
  uint64_t next_out_ GUARDED_BY(mu_) = 0;
  bool shutdown_ GUARDED_BY(mu_) = false;
  const size_t worker_count_;
  std::vector<std::thread> workers_;
};

}  // namespace ordering

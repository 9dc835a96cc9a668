// Mutex, SharedMutex and their scoped locks: std::mutex and
// std::shared_mutex with the capability annotations clang's thread-safety
// analysis checks (common/thread_annotations.h). Data a mutex guards is
// declared GUARDED_BY(mu_); a lambda that runs under the lock (a condition
// variable's predicate) says so with REQUIRES(mu_).
//
//   mutable Mutex mu_;
//   int n_ GUARDED_BY(mu_);
//   ...
//   MutexLock lock(&mu_);
//   cv_.wait(lock.native(), [&]() REQUIRES(mu_) { return n_ > 0; });
#pragma once

#include <mutex>
#include <shared_mutex>

#include "common/thread_annotations.h"

namespace ordering {

class CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ACQUIRE() { mu_.lock(); }
  void Unlock() RELEASE() { mu_.unlock(); }

 private:
  friend class MutexLock;
  std::mutex mu_;
};

// Holds a Mutex for its scope. native() is the std::unique_lock a condition
// variable (or Clock::WaitUntil) waits with: waiting releases and retakes
// the mutex, which the analysis need not see.
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ACQUIRE(mu) : lock_(mu->mu_) {}
  ~MutexLock() RELEASE() = default;
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  // Lets go before the scope ends (e.g. to notify without the lock).
  void Unlock() RELEASE() { lock_.unlock(); }
  std::unique_lock<std::mutex>& native() { return lock_; }

 private:
  std::unique_lock<std::mutex> lock_;
};

class CAPABILITY("shared mutex") SharedMutex {
 public:
  SharedMutex() = default;
  SharedMutex(const SharedMutex&) = delete;
  SharedMutex& operator=(const SharedMutex&) = delete;

 private:
  friend class ReaderLock;
  friend class WriterLock;
  std::shared_mutex mu_;
};

// Holds a SharedMutex shared (many readers at once) for its scope.
class SCOPED_CAPABILITY ReaderLock {
 public:
  explicit ReaderLock(SharedMutex* mu) ACQUIRE_SHARED(mu) : lock_(mu->mu_) {}
  ~ReaderLock() RELEASE() = default;
  ReaderLock(const ReaderLock&) = delete;
  ReaderLock& operator=(const ReaderLock&) = delete;

 private:
  std::shared_lock<std::shared_mutex> lock_;
};

// Holds a SharedMutex exclusively for its scope.
class SCOPED_CAPABILITY WriterLock {
 public:
  explicit WriterLock(SharedMutex* mu) ACQUIRE(mu) : lock_(mu->mu_) {}
  ~WriterLock() RELEASE() = default;
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

 private:
  std::unique_lock<std::shared_mutex> lock_;
};

}  // namespace ordering

// FaultyFileSystem: RocksDB's file system (a rocksdb::FileSystemWrapper
// around the operating system's) whose writes fail on command, for tests of
// storage faults behind the real BlockStore (LedgerOptions::file_system,
// OrdererOptions::ledger_file_system): a WAL append or fdatasync that fails,
// a full disk, a background flush that cannot write its table file.
//
// A fault is armed for one operation on the files whose name ends in a
// suffix (".log": the write-ahead log; ".sst", ".blob": what a flush or
// compaction writes; "": every file) and then fails every such operation
// until Heal(). The error reads as the operating system's would through
// RocksDB ("While fdatasync: DIR/000004.log: injected fault"), so what the
// orderer reports is what an operator would see. Files opened before the
// fault is armed fail too: the check is made on every operation.
//
// Thread-safety: every method from any thread (RocksDB calls from its own).
#pragma once

#include <rocksdb/file_system.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/mutex.h"

namespace ordering::testing {

enum class FileOp {
  kAppend,  // FSWritableFile::Append / PositionedAppend (write(2))
  kSync,    // FSWritableFile::Sync / Fsync / RangeSync (fdatasync(2), fsync(2))
  kCreate,  // FileSystem::NewWritableFile (open(2) with O_CREAT)
};

const char* FileOpName(FileOp op);

class FaultyFileSystem final : public rocksdb::FileSystemWrapper {
 public:
  // Wraps the operating system's file system (rocksdb::FileSystem::Default()).
  FaultyFileSystem();
  static const char* kClassName() { return "FaultyFileSystem"; }
  const char* Name() const override { return kClassName(); }

  // From now on every `op` on a file whose name ends in `suffix` fails: an
  // IOError, or with `no_space` RocksDB's NoSpace (ENOSPC). Replaces the
  // fault armed before.
  void Fail(FileOp op, std::string suffix, bool no_space = false);
  // Fails nothing from now on.
  void Heal();

  // Faults injected so far, and the "op path" of each (e.g. "sync DIR/000004.log").
  int injected() const { return injected_.load(); }
  std::vector<std::string> failed() const;
  // `op` calls on files ending in `suffix` made so far (failed or not).
  int64_t calls(FileOp op, const std::string& suffix) const;

  // --- rocksdb::FileSystem
  rocksdb::IOStatus NewWritableFile(const std::string& path, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReopenWritableFile(const std::string& path, const rocksdb::FileOptions& options,
                                       std::unique_ptr<rocksdb::FSWritableFile>* result,
                                       rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReuseWritableFile(const std::string& path, const std::string& old_path,
                                      const rocksdb::FileOptions& options,
                                      std::unique_ptr<rocksdb::FSWritableFile>* result,
                                      rocksdb::IODebugContext* dbg) override;

  // The injected error for `op` on `path`, or OK (and the call counted).
  // Public for the file wrapper.
  rocksdb::IOStatus Check(FileOp op, const std::string& path, const std::string& what);

 private:
  mutable Mutex mu_;
  bool armed_ GUARDED_BY(mu_) = false;
  FileOp op_ GUARDED_BY(mu_) = FileOp::kAppend;
  std::string suffix_ GUARDED_BY(mu_);
  bool no_space_ GUARDED_BY(mu_) = false;
  std::vector<std::string> failed_ GUARDED_BY(mu_);
  std::map<std::string, std::array<int64_t, 3>> calls_ GUARDED_BY(mu_);  // path -> calls by FileOp
  std::atomic<int> injected_{0};
};

}  // namespace ordering::testing

// What BlockStore adds to RocksDB so that a storage fault is named and
// stops the ledger, never truncates it silently (docs/operations.md,
// "Storage faults"):
//
//   RocksLog         RocksDB's own log lines (warnings and errors) go to the
//                    orderer's log, and the recent ones into the error an
//                    open returns: RocksDB names the damaged file there
//                    ("DIR/000004.log: dropping 7128 bytes; Corruption:
//                    checksum mismatch"), not in the Status it returns. It
//                    replaces RocksDB's LOG file in the ledger folder, whose
//                    writer asserts (and aborts the orderer: Debian's 7.8
//                    keeps its assertions) once the disk is full.
//   ErrorListener    a background flush or compaction that failed: logged
//                    at once and named in the next failed Append.
//   ScanWalTail      whether a write-ahead log ends in an incomplete record
//                    (a write that never completed), which RocksDB drops.
//   CheckFiles       at open: every table file's checksums, each blob file's
//                    size against the MANIFEST, the genesis block, and table
//                    or blob files the MANIFEST does not list while the
//                    ledger lacks what they hold (a MANIFEST that lost its
//                    last edits).
//
// Thread-safety: RocksLog and ErrorListener from any thread (RocksDB calls
// them from its own); the functions from one thread.
#pragma once

#include <rocksdb/env.h>
#include <rocksdb/listener.h>

#include <cstdint>
#include <deque>
#include <set>
#include <string>
#include <vector>

#include "common/mutex.h"
#include "common/status.h"

namespace rocksdb {
class DB;
}

namespace ordering {

class RocksLog final : public rocksdb::Logger {
 public:
  // `dir` prefixes each line in the orderer's log.
  explicit RocksLog(std::string dir) : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL), dir_(std::move(dir)) {}
  using rocksdb::Logger::Logv;
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override;
  void Logv(const char* format, va_list ap) override { Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap); }

  // The warnings and errors logged since the last call, oldest first,
  // without RocksDB's source location; at most the last 8.
  std::vector<std::string> TakeRecent();

 private:
  const std::string dir_;
  Mutex mu_;
  std::deque<std::string> recent_ GUARDED_BY(mu_);
};

class ErrorListener final : public rocksdb::EventListener {
 public:
  explicit ErrorListener(std::string dir) : dir_(std::move(dir)) {}
  const char* Name() const override { return "OrderingLedgerErrors"; }
  void OnBackgroundError(rocksdb::BackgroundErrorReason reason, rocksdb::Status* error) override;
  void OnErrorRecoveryEnd(const rocksdb::BackgroundErrorRecoveryInfo& info) override;

  // "a background flush failed: IO error: ..." for the last background
  // error RocksDB reported; "" if none.
  std::string LastError() const;

 private:
  const std::string dir_;
  mutable Mutex mu_;
  std::string last_ GUARDED_BY(mu_);
};

struct WalTail {
  uint64_t size = 0;        // bytes in the file
  uint64_t complete = 0;    // bytes up to the end of its last complete record
  bool incomplete = false;  // it ends inside a record (a torn write)
  std::string problem;      // what the end looks like when incomplete
};

// Walks the physical records of the RocksDB write-ahead log at `path`
// (headers only; RocksDB checks the checksums) and reports how it ends.
[[nodiscard]] Status ScanWalTail(const std::string& path, WalTail* tail);

// The names of the files in `dir` whose name ends in `suffix` (".log",
// ".sst", ".blob"), sorted.
std::set<std::string> FilesIn(const std::string& dir, const std::string& suffix);

// The checks an open makes on the files of the ledger in `dir`, on a
// handle opened there (read-only, before the read-write open, which would
// delete the files its MANIFEST does not list). `data_files`: the table and
// blob files found in `dir` before it was opened. `height`: the ledger's;
// `info_key`: the key of the ledger info, whose value begins with
// be64(height); `genesis_key`: block 0's. Corruption naming the file at fault.
[[nodiscard]] Status CheckFiles(rocksdb::DB* db, const std::string& dir, const std::set<std::string>& data_files,
                                uint64_t height, const std::string& info_key, const std::string& genesis_key);

}  // namespace ordering

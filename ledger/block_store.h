// BlockStore: the orderer's ledger on RocksDB.
//
// Invariants (hold after every Append and across crashes):
//   * blocks 0..height-1 are stored, contiguous, each linked to the previous
//     by BlockHash;
//   * the ledger info (height, last block hash, the last block's consenter
//     metadata) always describes the last stored block, because block, tx-id
//     index entries and info are written in one WriteBatch with sync=true;
//   * a tx id appears at most once in the index;
//   * the ledger records its format (2: see block_util.h); a ledger of
//     another format is refused at Open with a message naming both;
//   * a failed write stops the store: it and every later Append fail, naming
//     the first cause (RocksDB's file operation and file), until the store is
//     opened again (a restart);
//   * a damaged file is refused at Open, naming it, never truncated away
//     silently: RocksDB recovers its write-ahead log with
//     kTolerateCorruptedTailRecords (a checksum mismatch anywhere is an
//     error; only an incomplete last record, a write that never completed
//     and so was never acknowledged, is dropped, with a warning), and Open
//     checks what it can afford to (LedgerOptions::check_at_open).
//
// Thread-safety: Append() from one thread at a time; every const method may
// be called concurrently with Append() and with each other.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/crypto.h"
#include "common/mutex.h"
#include "common/status.h"
#include "common/types.h"
#include "ledger/ledger.h"
#include "proto/common.pb.h"

namespace rocksdb {
class DB;
class Env;
class FileSystem;
}  // namespace rocksdb

namespace ordering {

class RocksLog;
class ErrorListener;

struct LedgerOptions {
  std::string path;
  // Default: true. Each Append is durable (fsync) before it returns.
  bool sync_writes = true;
  // Default: true. Opening a missing path creates an empty ledger.
  bool create_if_missing = true;
  // Default: false. Open for reading only (RocksDB's read-only mode: a
  // consistent view as of open time, usable on a live orderer's directory).
  bool read_only = false;
  // Default: true. Open checks the files it can afford to read whole, and
  // refuses a damaged ledger naming the file: every table file's checksums
  // (the tx index and the ledger info: about 7% of the bytes; the blocks live
  // in blob files, checked record by record as they are read, all of them by
  // Verify), each blob file's size against the MANIFEST, the genesis block,
  // table and blob files the MANIFEST does not list while the ledger lacks
  // what they hold, and the last block against the ledger info. A read-write
  // open makes these checks on a read-only handle first (RocksDB deletes the
  // files its MANIFEST does not list as it opens for writing).
  bool check_at_open = true;
  // Default: 64 MiB. RocksDB's block cache, which holds the table files'
  // index and filter blocks (the tx-id index's are most of them): the
  // ledger's memory stays within about this much whatever the chain's length.
  uint64_t block_cache_bytes = uint64_t{64} << 20;
  // Tests only. Default: null (the operating system's). RocksDB's file
  // operations go through this file system, so a test can make them fail
  // (ledger/testing/faulty_file_system.h).
  std::shared_ptr<rocksdb::FileSystem> file_system;
};

// A consensus backend's own check of its metadata, block by block:
// `previous` is the consenter metadata of block number-1 (empty after
// genesis). Returns "" if the block is fine, else what is wrong.
using ConsenterMetadataCheck =
    std::function<std::string(uint64_t number, const std::string& previous, const std::string& current)>;

struct VerifyOptions {
  // Default: false. Also check every envelope's signature against its creator.
  bool check_signatures = false;
  // Default: none. The backend's check of each block's consenter metadata
  // (the Kafka backend: offsets advance).
  ConsenterMetadataCheck check_consenter;
};

// The ledger format this code reads and writes.
inline constexpr int kLedgerFormat = 2;

struct VerifyResult {
  uint64_t blocks_checked = 0;
  uint64_t transactions = 0;
  std::optional<BlockNumber> first_bad_block;  // set when verification failed
  std::string problem;                         // what was wrong with it
};

// What Verify checks of one stored block from its bytes alone, given the
// block before it (`previous_hash`: its BlockHash, raw; `previous_consenter`:
// its consenter metadata; both empty for genesis): it parses, its bytes are
// its canonical encoding, its number is `number`, it links to the previous
// block, its data hash matches; genesis is a genesis block; any other block
// has a cut reason, passes options.check_consenter and holds transactions
// whose tx ids decode (returned in order in *tx_ids; none for genesis).
// Returns "" and the parsed block, or what is wrong. Pure (no store): Verify
// adds the tx index and signatures; the fuzz targets call it on raw bytes.
std::string VerifyBlockBytes(uint64_t number, const std::string& bytes, const std::string& previous_hash,
                             const std::string& previous_consenter, const VerifyOptions& options, Block* block,
                             std::vector<std::string>* tx_ids);

// What the ledger's RocksDB holds in memory, in bytes (RocksDB's estimates).
struct LedgerMemory {
  uint64_t table_readers = 0;  // the open table files' own, outside the block cache
  uint64_t block_cache = 0;    // index, filter and data blocks in the cache (LedgerOptions::block_cache_bytes)
  uint64_t memtables = 0;      // writes not yet flushed to table files
};

class BlockStore final : public Ledger {
 public:
  [[nodiscard]] static Status Open(const LedgerOptions& options, std::unique_ptr<BlockStore>* out);
  ~BlockStore() override;

  LedgerInfo Info() const override;
  // As Ledger::Append, in one RocksDB WriteBatch (synced when
  // LedgerOptions::sync_writes).
  Status Append(const Block& block) override;
  Status GetBlock(BlockNumber number, Block* block) const override;
  Status FindTx(std::string_view tx_id, TxLocation* location) const override;

  [[nodiscard]] Status GetBlockBytes(BlockNumber number, std::string* bytes) const;

  LedgerMemory Memory() const;

  // Writes what RocksDB holds in memory (the memtable) to table and blob
  // files now, as it does by itself when the memtable fills (tests).
  [[nodiscard]] Status Flush();

  // Recomputes every block's data hash and the hash chain, checks numbering,
  // genesis, the index, the backend's metadata check (if given) and that the
  // info matches the last block. Returns Corruption naming the
  // first bad block (also in *result), OK if the whole chain verifies.
  [[nodiscard]] Status Verify(const VerifyOptions& options, VerifyResult* result) const;

 private:
  BlockStore() = default;
  [[nodiscard]] Status OpenDb(bool read_only, std::unique_ptr<rocksdb::DB>* db) const;
  [[nodiscard]] Status CheckLastBlock(const LedgerInfo& info) const;

  LedgerOptions options_;
  std::unique_ptr<rocksdb::Env> env_;  // over options_.file_system; outlives db_
  std::shared_ptr<RocksLog> log_;
  std::shared_ptr<ErrorListener> errors_;
  std::unique_ptr<rocksdb::DB> db_;
  mutable Mutex info_mu_;
  LedgerInfo info_ GUARDED_BY(info_mu_);
  Status write_error_ GUARDED_BY(info_mu_);  // the first failed write; every later Append fails with it
};

}  // namespace ordering

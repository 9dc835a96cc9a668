#include "ledger/block_store.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <set>

#include "common/bytes.h"
#include "common/envelope.h"
#include "ledger/block_util.h"
#include "ledger/store_checks.h"

namespace ordering {
namespace {

// Key layout (one column family):
//   'b' be64(number)  -> serialized Block
//   't' tx_id         -> be64(block number) be32(index in block.data)
//   'i'               -> be64(height) be32(len(last_hash)) last_hash last_consenter
//   'f'               -> decimal ledger format ("2"); absent in format 1
constexpr char kBlockPrefix = 'b';
constexpr char kTxPrefix = 't';
const std::string kInfoKey = "i";
const std::string kFormatKey = "f";
// Values at least this large (serialized blocks) are kept in blob files; index entries
// (a few dozen bytes) stay in the SST files.
constexpr uint64_t kMinBlobSize = 256;

std::string BlockKey(uint64_t number) {
  std::string k(1, kBlockPrefix);
  AppendBe64(&k, number);
  return k;
}
std::string TxKey(std::string_view tx_id) {
  std::string k(1, kTxPrefix);
  k.append(tx_id);
  return k;
}

std::string EncodeInfo(const LedgerInfo& info) {
  std::string v;
  AppendBe64(&v, info.height);
  AppendBe32(&v, static_cast<uint32_t>(info.last_hash.size()));
  v += info.last_hash;
  v += info.last_consenter;
  return v;
}
bool DecodeInfo(std::string_view v, LedgerInfo* info) {
  if (v.size() < 12) return false;
  info->height = ReadBe(v, 0, 8);
  const uint64_t hash_len = ReadBe(v, 8, 4);
  if (v.size() < 12 + hash_len) return false;
  info->last_hash = std::string(v.substr(12, hash_len));
  info->last_consenter = std::string(v.substr(12 + hash_len));
  return true;
}

// `tail` is appended to the message (what RocksDB logged about it).
Status FromRocks(const rocksdb::Status& s, std::string_view what, std::string_view tail = "") {
  if (s.ok()) return Status::OK();
  std::string msg = std::string(what) + ": " + s.ToString() + std::string(tail);
  if (s.IsNotFound()) return Status::NotFound(msg);
  if (s.IsCorruption()) return Status::Corruption(msg);
  if (s.IsInvalidArgument()) return Status::InvalidArgument(msg);
  return Status::IOError(msg);
}

// RocksDB's options for the ledger; `read_only` for a read-only handle.
rocksdb::Options RocksOptions(const LedgerOptions& options, bool read_only) {
  rocksdb::Options ro;
  ro.create_if_missing = options.create_if_missing && !read_only;
  ro.compression = rocksdb::kNoCompression;  // block data is signed, random-looking payload
  // Blocks go to blob files, written once at flush and never rewritten (the ledger only
  // appends, so there is no blob garbage to collect): compaction then merges only keys, blob
  // references and the small transaction index. With blocks inline, every L0 file spans the
  // block keys and the random transaction-id keys alike, and each L0->L1 compaction rewrote
  // the whole block data again, on the orderer's own CPU, in bursts that grew with the ledger.
  ro.enable_blob_files = true;
  ro.min_blob_size = kMinBlobSize;
  ro.enable_blob_garbage_collection = false;
  // A read-only open with max_open_files == -1 may take RocksDB's CompactedDBImpl fast path,
  // whose Get cannot resolve blob references and answers NotFound (facebook/rocksdb#12503,
  // present in 7.8): a bounded table cache keeps read-only opens on the ordinary path.
  if (read_only) ro.max_open_files = 1024;
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  // Index and filter blocks in one bounded cache rather than in each open table file (RocksDB's
  // default, with max_open_files -1 every table file's): there they grow with the chain, a few
  // bytes for every transaction in the tx-id index. Partitioned (two-level) index and filters, so
  // a lookup loads the partition it needs, not a whole table file's filter; the top levels and
  // the newest files' blocks stay pinned.
  table.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  table.cache_index_and_filter_blocks = true;
  table.cache_index_and_filter_blocks_with_high_priority = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  table.index_type = rocksdb::BlockBasedTableOptions::IndexType::kTwoLevelIndexSearch;
  table.partition_filters = true;
  table.pin_top_level_index_and_filter = true;
  ro.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  // Every append is synced before it is acknowledged, so the only incomplete
  // record a write-ahead log can end in is a write that never completed
  // (power loss, a crash mid-write, a full disk): never acknowledged, safe to
  // drop. A checksum mismatch anywhere else is damage, and the open fails.
  // RocksDB's default, kPointInTimeRecovery, would stop replaying at the first
  // bad record and open without everything after it: one flipped byte in the
  // middle of a 50-record log opened "OK" with 25 (measured). kAbsoluteConsistency
  // would refuse to start after every power loss mid-write, for no lost data.
  ro.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  ro.paranoid_checks = true;  // the default: table file sizes against the MANIFEST, write errors stop the DB
  return ro;
}

// "DIR/000004.log: dropping 7128 bytes; Corruption: checksum mismatch": the
// RocksDB log lines that name what an open failed on, which its Status does
// not.
std::string Explain(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) {
    if (l.rfind("DB::Open() failed", 0) == 0) continue;
    out += out.empty() ? " (RocksDB: " : "; ";
    out += l;
  }
  return out.empty() ? out : out + ")";
}

// Warns of each write-ahead log in `dir` that ends in an incomplete record,
// which the open drops (see RocksOptions).
void WarnOfTornWalTails(const std::string& dir) {
  for (const std::string& name : FilesIn(dir, ".log")) {
    WalTail tail;
    Status st = ScanWalTail(dir + "/" + name, &tail);
    if (!st.ok()) {
      spdlog::warn("ledger {}: {}", dir, st.ToString());
    } else if (tail.incomplete) {
      spdlog::warn(
          "ledger {}: the write-ahead log {} ends in an incomplete record ({}; {} of its {} bytes after the last "
          "complete record): a write that never completed (power loss, a crash or a full disk), so never "
          "acknowledged; it is dropped",
          dir, name, tail.problem, tail.size - tail.complete, tail.size);
    }
  }
}

}  // namespace

Status BlockStore::OpenDb(bool read_only, std::unique_ptr<rocksdb::DB>* out) const {
  rocksdb::Options ro = RocksOptions(options_, read_only);
  if (env_) ro.env = env_.get();
  ro.info_log = log_;
  ro.listeners.push_back(errors_);
  log_->TakeRecent();
  rocksdb::DB* db = nullptr;
  rocksdb::Status s =
      read_only ? rocksdb::DB::OpenForReadOnly(ro, options_.path, &db) : rocksdb::DB::Open(ro, options_.path, &db);
  if (!s.ok()) return FromRocks(s, "opening ledger at " + options_.path, Explain(log_->TakeRecent()));
  out->reset(db);
  return Status::OK();
}

Status BlockStore::Open(const LedgerOptions& options, std::unique_ptr<BlockStore>* out) {
  if (options.path.empty()) return Status::InvalidArgument("ledger path is empty");
  if (options.create_if_missing && !options.read_only) {
    std::error_code ec;
    std::filesystem::create_directories(options.path, ec);
    if (ec) return Status::IOError("creating ledger directory " + options.path + ": " + ec.message());
  }
  std::unique_ptr<BlockStore> store(new BlockStore());
  store->options_ = options;
  if (options.file_system) store->env_ = rocksdb::NewCompositeEnv(options.file_system);
  store->log_ = std::make_shared<RocksLog>(options.path);
  store->errors_ = std::make_shared<ErrorListener>(options.path);

  std::error_code ec;
  const bool exists = std::filesystem::exists(std::filesystem::path(options.path) / "CURRENT", ec);
  if (exists && !options.read_only) WarnOfTornWalTails(options.path);
  if (exists && options.check_at_open) {
    // On a read-only handle: the read-write open deletes the files its
    // MANIFEST does not list, which may be all that is left of a damaged one.
    std::set<std::string> data = FilesIn(options.path, ".sst");
    data.merge(FilesIn(options.path, ".blob"));
    std::unique_ptr<rocksdb::DB> db;
    ORDERING_RETURN_IF_ERROR(store->OpenDb(/*read_only=*/true, &db));
    std::string v;
    uint64_t height = 0;
    if (db->Get(rocksdb::ReadOptions(), kInfoKey, &v).ok() && v.size() >= 8) height = ReadBe(v, 0, 8);
    ORDERING_RETURN_IF_ERROR(CheckFiles(db.get(), options.path, data, height, kInfoKey, BlockKey(0)));
  }
  ORDERING_RETURN_IF_ERROR(store->OpenDb(options.read_only, &store->db_));
  rocksdb::DB* db = store->db_.get();
  rocksdb::Status s;

  std::string v;
  s = db->Get(rocksdb::ReadOptions(), kInfoKey, &v);
  const bool has_info = s.ok();
  if (!s.ok() && !s.IsNotFound()) return FromRocks(s, "reading the ledger info at " + options.path);
  std::string format;
  s = db->Get(rocksdb::ReadOptions(), kFormatKey, &format);
  if (!s.ok() && !s.IsNotFound()) return FromRocks(s, "reading the ledger format at " + options.path);
  if (s.IsNotFound()) {
    if (has_info) {
      // Format 1 had no format record: its block metadata held a Kafka offset
      // that the block hash covered as an integer.
      return Status::InvalidArgument(
          "ledger at " + options.path +
          " is in format 1 (written by an older orderer: block metadata held a "
          "Kafka offset, hashed as an integer); this orderer reads format " +
          std::to_string(kLedgerFormat) +
          " (opaque consenter metadata, hashed as bytes). Its hashes cannot be converted: order into a new "
          "ledger directory, or read this one with the release that wrote it");
    }
    if (!options.read_only) {
      rocksdb::WriteOptions wo;
      wo.sync = true;
      ORDERING_RETURN_IF_ERROR(FromRocks(db->Put(wo, kFormatKey, std::to_string(kLedgerFormat)),
                                         "writing the ledger format at " + options.path));
    }
  } else if (format != std::to_string(kLedgerFormat)) {
    return Status::InvalidArgument("ledger at " + options.path + " is in format " + format +
                                   "; this orderer reads format " + std::to_string(kLedgerFormat));
  }
  {
    MutexLock lock(&store->info_mu_);  // nobody else sees the store yet; the analysis wants it said
    if (!has_info) {
      store->info_ = LedgerInfo{};
    } else if (!DecodeInfo(v, &store->info_)) {
      return Status::Corruption("ledger at " + options.path + ": the ledger info record is " +
                                std::to_string(v.size()) + " bytes");
    }
  }
  if (options.check_at_open) ORDERING_RETURN_IF_ERROR(store->CheckLastBlock(store->Info()));
  *out = std::move(store);
  return Status::OK();
}

BlockStore::~BlockStore() = default;

LedgerInfo BlockStore::Info() const {
  MutexLock lock(&info_mu_);
  return info_;
}

Status BlockStore::Append(const Block& block) {
  if (options_.read_only) return Status::InvalidArgument("ledger is open read-only");
  {
    MutexLock lock(&info_mu_);
    if (!write_error_.ok()) {
      return Status::IOError("the ledger at " + options_.path +
                             " takes no more writes since one failed; restart once the cause is fixed. It failed " +
                             write_error_.message());
    }
  }
  LedgerInfo cur = Info();
  const BlockHeader& h = block.header();
  ORDERING_RETURN_IF_ERROR(AppendCheck(cur, block));
  std::string bytes;
  if (!block.SerializeToString(&bytes)) return Status::Internal("serializing block");

  rocksdb::WriteBatch batch;
  batch.Put(BlockKey(h.number()), bytes);
  if (h.number() != 0) {
    std::vector<std::string> ids;
    ORDERING_RETURN_IF_ERROR(ExtractTxIds(block, &ids));
    for (size_t i = 0; i < ids.size(); ++i) {
      std::string loc;
      AppendBe64(&loc, h.number());
      AppendBe32(&loc, static_cast<uint32_t>(i));
      batch.Put(TxKey(ids[i]), loc);
    }
  }
  LedgerInfo next;
  next.height = cur.height + 1;
  next.last_hash = DigestBytes(BlockHash(block));
  next.last_consenter = block.metadata().consenter();
  batch.Put(kInfoKey, EncodeInfo(next));

  rocksdb::WriteOptions wo;
  wo.sync = options_.sync_writes;
  const rocksdb::Status s = db_->Write(wo, &batch);
  MutexLock lock(&info_mu_);
  if (!s.ok()) {
    // RocksDB names the file operation and the file ("While fdatasync:
    // DIR/000004.log: ..."); a flush or compaction that failed before names
    // itself through the listener.
    const std::string background = errors_->LastError();
    write_error_ = FromRocks(s, "writing block " + std::to_string(h.number()) + " to the ledger at " + options_.path,
                             (background.empty() ? "" : " (after " + background + ")") +
                                 std::string("; the block is not acknowledged (it, its tx index entries and the "
                                             "ledger info are one write batch: a restart finds all of it or none) and "
                                             "the ledger takes no more writes"));
    return write_error_;
  }
  info_ = std::move(next);
  return Status::OK();
}

LedgerMemory BlockStore::Memory() const {
  LedgerMemory m;
  uint64_t v = 0;
  if (db_->GetIntProperty(rocksdb::DB::Properties::kEstimateTableReadersMem, &v)) m.table_readers = v;
  if (db_->GetIntProperty(rocksdb::DB::Properties::kBlockCacheUsage, &v)) m.block_cache = v;
  if (db_->GetIntProperty(rocksdb::DB::Properties::kCurSizeAllMemTables, &v)) m.memtables = v;
  return m;
}

Status BlockStore::GetBlockBytes(BlockNumber number, std::string* bytes) const {
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), BlockKey(number.value()), bytes);
  if (s.IsNotFound()) return Status::NotFound("block " + std::to_string(number.value()) + " is not in the ledger");
  return FromRocks(s, "reading block " + std::to_string(number.value()) + " from the ledger at " + options_.path);
}

Status BlockStore::CheckLastBlock(const LedgerInfo& info) const {
  if (info.height == 0) return Status::OK();
  const uint64_t last = info.height - 1;
  Block block;
  ORDERING_RETURN_IF_ERROR(GetBlock(BlockNumber(last), &block));
  std::string problem;
  if (block.header().number() != last) {
    problem = "its header says number " + std::to_string(block.header().number());
  } else if (block.header().data_hash() != DigestBytes(DataHash(block.data()))) {
    problem = "its data hash does not match its transactions";
  } else if (DigestBytes(BlockHash(block)) != info.last_hash || block.metadata().consenter() != info.last_consenter) {
    problem = "it is not the block the ledger info describes";
  }
  if (!problem.empty()) {
    return Status::Corruption("ledger at " + options_.path + ": block " + std::to_string(last) +
                              ", the last by the ledger info: " + problem);
  }
  return Status::OK();
}

Status BlockStore::Flush() {
  if (options_.read_only) return Status::InvalidArgument("ledger is open read-only");
  return FromRocks(db_->Flush(rocksdb::FlushOptions()), "flushing the ledger at " + options_.path);
}

Status BlockStore::GetBlock(BlockNumber number, Block* block) const {
  std::string bytes;
  ORDERING_RETURN_IF_ERROR(GetBlockBytes(number, &bytes));
  if (!block->ParseFromString(bytes)) {
    return Status::Corruption("block " + std::to_string(number.value()) + " does not parse");
  }
  return Status::OK();
}

Status BlockStore::FindTx(std::string_view tx_id, TxLocation* location) const {
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), TxKey(tx_id), &v);
  if (s.IsNotFound()) return Status::NotFound("transaction " + std::string(tx_id) + " is not in the ledger");
  ORDERING_RETURN_IF_ERROR(FromRocks(s, "looking up transaction"));
  if (v.size() != 12) return Status::Corruption("tx index entry for " + std::string(tx_id) + " is malformed");
  location->block = BlockNumber(ReadBe(v, 0, 8));
  location->index = static_cast<uint32_t>(ReadBe(v, 8, 4));
  return Status::OK();
}

std::string VerifyBlockBytes(uint64_t n, const std::string& bytes, const std::string& previous_hash,
                             const std::string& previous_consenter, const VerifyOptions& options, Block* block,
                             std::vector<std::string>* tx_ids) {
  tx_ids->clear();
  if (!block->ParseFromString(bytes)) return "does not parse";
  // Every field that matters is covered by a hash below; this covers the
  // rest of the bytes (unknown fields, non-canonical encodings).
  block->DiscardUnknownFields();
  if (block->SerializeAsString() != bytes) return "stored bytes are not the block's canonical encoding";
  const BlockHeader& h = block->header();
  if (h.number() != n) return "header says number " + std::to_string(h.number());
  if (h.previous_hash() != previous_hash) return "previous_hash does not match the previous block's hash";
  if (h.data_hash() != DigestBytes(DataHash(block->data()))) return "data hash mismatch";
  if (n == 0) {
    ChannelConfig cfg;
    if (!ReadGenesisConfig(*block, &cfg).ok()) return "is not a genesis block";
    return "";
  }
  if (block->metadata().cut_reason() == CUT_REASON_GENESIS ||
      block->metadata().cut_reason() == CUT_REASON_UNSPECIFIED) {
    return "has cut reason " + CutReason_Name(block->metadata().cut_reason());
  }
  if (options.check_consenter) {
    std::string problem = options.check_consenter(n, previous_consenter, block->metadata().consenter());
    if (!problem.empty()) return problem;
  }
  if (block->data().data_size() == 0) return "has no transactions";
  Status s = ExtractTxIds(*block, tx_ids);
  if (!s.ok()) return s.message();
  return "";
}

Status BlockStore::Verify(const VerifyOptions& options, VerifyResult* result) const {
  *result = VerifyResult{};
  const LedgerInfo info = Info();
  auto fail = [&](uint64_t number, std::string problem) {
    result->first_bad_block = BlockNumber(number);
    result->problem = problem;
    return Status::Corruption("block " + std::to_string(number) + ": " + problem);
  };
  Verifier verifier;
  std::string prev_hash;
  std::string prev_consenter;
  Block block;
  std::vector<std::string> ids;
  for (uint64_t n = 0; n < info.height; ++n) {
    std::string bytes;
    Status s = GetBlockBytes(BlockNumber(n), &bytes);
    if (s.IsNotFound()) return fail(n, "missing");
    if (!s.ok()) return fail(n, "cannot be read: " + s.ToString());  // a damaged blob file: RocksDB's reason
    std::string problem = VerifyBlockBytes(n, bytes, prev_hash, prev_consenter, options, &block, &ids);
    if (!problem.empty()) return fail(n, std::move(problem));
    for (size_t i = 0; i < ids.size(); ++i) {
      TxLocation loc;
      s = FindTx(ids[i], &loc);
      if (!s.ok() || loc.block.value() != n || loc.index != i) {
        return fail(n, "transaction " + ids[i] + " (entry " + std::to_string(i) +
                           ") is not indexed at this position (duplicate or missing index entry)");
      }
      if (options.check_signatures) {
        DecodedTx tx;
        s = DecodeTx(block.data().data(static_cast<int>(i)), &tx);
        if (!s.ok()) return fail(n, "transaction " + ids[i] + ": " + s.message());
        if (!verifier.Verify(tx.header().creator(), tx.envelope.payload(), tx.envelope.signature())) {
          return fail(n, "transaction " + ids[i] + " has a bad signature");
        }
      }
    }
    result->transactions += ids.size();
    prev_consenter = block.metadata().consenter();
    prev_hash = DigestBytes(BlockHash(block));
    result->blocks_checked = n + 1;
  }
  if (info.height > 0) {
    if (prev_hash != info.last_hash) return fail(info.height - 1, "ledger info holds a different last hash");
    if (prev_consenter != info.last_consenter) {
      return fail(info.height - 1, "ledger info holds different consenter metadata");
    }
  }
  // Nothing may be stored beyond the height.
  std::string extra;
  if (db_->Get(rocksdb::ReadOptions(), BlockKey(info.height), &extra).ok()) {
    return fail(info.height, "stored beyond the ledger height");
  }
  return Status::OK();
}

}  // namespace ordering

#include "ledger/block_store.h"

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <filesystem>

#include "common/bytes.h"
#include "common/envelope.h"
#include "ledger/block_util.h"

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

Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return Status::OK();
  std::string msg = std::string(what) + ": " + s.ToString();
  if (s.IsNotFound()) return Status::NotFound(msg);
  if (s.IsCorruption()) return Status::Corruption(msg);
  if (s.IsInvalidArgument()) return Status::InvalidArgument(msg);
  return Status::IOError(msg);
}

}  // namespace

Status BlockStore::Open(const LedgerOptions& options, std::unique_ptr<BlockStore>* out) {
  if (options.path.empty()) return Status::InvalidArgument("ledger path is empty");
  rocksdb::Options ro;
  ro.create_if_missing = options.create_if_missing && !options.read_only;
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
  if (options.read_only) ro.max_open_files = 1024;
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  ro.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  ro.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  ro.keep_log_file_num = 2;

  if (ro.create_if_missing) {
    std::error_code ec;
    std::filesystem::create_directories(options.path, ec);
    if (ec) return Status::IOError("creating ledger directory " + options.path + ": " + ec.message());
  }
  std::unique_ptr<BlockStore> store(new BlockStore());
  store->options_ = options;
  if (options.file_system) {
    store->env_ = rocksdb::NewCompositeEnv(options.file_system);
    ro.env = store->env_.get();
  }
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = options.read_only ? rocksdb::DB::OpenForReadOnly(ro, options.path, &db)
                                        : rocksdb::DB::Open(ro, options.path, &db);
  if (!s.ok()) return FromRocks(s, "opening ledger at " + options.path);
  store->db_.reset(db);

  std::string v;
  s = db->Get(rocksdb::ReadOptions(), kInfoKey, &v);
  const bool has_info = s.ok();
  if (!s.ok() && !s.IsNotFound()) return FromRocks(s, "reading ledger info");
  std::string format;
  s = db->Get(rocksdb::ReadOptions(), kFormatKey, &format);
  if (!s.ok() && !s.IsNotFound()) return FromRocks(s, "reading ledger format");
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
      ORDERING_RETURN_IF_ERROR(
          FromRocks(db->Put(wo, kFormatKey, std::to_string(kLedgerFormat)), "writing ledger format"));
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
      return Status::Corruption("ledger info record is " + std::to_string(v.size()) + " bytes");
    }
  }
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
  ORDERING_RETURN_IF_ERROR(FromRocks(db_->Write(wo, &batch), "writing block " + std::to_string(h.number())));
  MutexLock lock(&info_mu_);
  info_ = std::move(next);
  return Status::OK();
}

Status BlockStore::GetBlockBytes(BlockNumber number, std::string* bytes) const {
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), BlockKey(number.value()), bytes);
  if (s.IsNotFound()) return Status::NotFound("block " + std::to_string(number.value()) + " is not in the ledger");
  return FromRocks(s, "reading block " + std::to_string(number.value()));
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
    ORDERING_RETURN_IF_ERROR(s);
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

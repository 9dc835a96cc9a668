#include "ledger/store_checks.h"

#include <fcntl.h>
#include <rocksdb/db.h>
#include <rocksdb/metadata.h>
#include <rocksdb/sst_file_reader.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include "common/bytes.h"

namespace ordering {
namespace {

std::string Relative(std::string name) {
  if (!name.empty() && name.front() == '/') name.erase(0, 1);
  return name;
}

const char* ReasonName(rocksdb::BackgroundErrorReason reason) {
  switch (reason) {
    case rocksdb::BackgroundErrorReason::kFlush:
    case rocksdb::BackgroundErrorReason::kFlushNoWAL:
      return "flush (memtable to table and blob files)";
    case rocksdb::BackgroundErrorReason::kCompaction:
      return "compaction";
    case rocksdb::BackgroundErrorReason::kWriteCallback:
      return "write (write-ahead log)";
    case rocksdb::BackgroundErrorReason::kMemTable:
      return "memtable insert";
    case rocksdb::BackgroundErrorReason::kManifestWrite:
    case rocksdb::BackgroundErrorReason::kManifestWriteNoWAL:
      return "MANIFEST write";
  }
  return "operation";
}

// The RocksDB write-ahead log's physical format (db/log_format.h): 32 KiB
// blocks of records, each a header (crc32c 4, length 2 little-endian, type
// 1; the recyclable types add a 4-byte log number) and its payload; a block
// tail shorter than a header is zero padding.
constexpr uint64_t kWalBlockSize = 32768;
constexpr uint64_t kWalHeaderSize = 7;
constexpr uint64_t kWalRecyclableHeaderSize = 11;
enum WalType : uint8_t {
  kZero = 0,
  kFull = 1,
  kFirst = 2,
  kMiddle = 3,
  kLast = 4,
  kRecyclableFull = 5,
  kRecyclableLast = 8
};

}  // namespace

void RocksLog::Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) {
  if (level < rocksdb::InfoLogLevel::WARN_LEVEL || level == rocksdb::InfoLogLevel::HEADER_LEVEL) return;
  char buf[2048];
  const int n = std::vsnprintf(buf, sizeof(buf), format, ap);
  if (n < 0) return;
  std::string line(buf);
  while (!line.empty() && (line.back() == '\n' || line.back() == ' ')) line.pop_back();
  // "[db/db_impl/db_impl_open.cc:982] DIR/000004.log: dropping ..." -> "DIR/000004.log: dropping ..."
  if (!line.empty() && line.front() == '[') {
    const size_t close = line.find("] ");
    if (close != std::string::npos) line.erase(0, close + 2);
  }
  if (line.empty()) return;
  if (level >= rocksdb::InfoLogLevel::ERROR_LEVEL) {
    spdlog::error("ledger {}: rocksdb: {}", dir_, line);
  } else {
    spdlog::warn("ledger {}: rocksdb: {}", dir_, line);
  }
  MutexLock l(&mu_);
  recent_.push_back(std::move(line));
  if (recent_.size() > 8) recent_.pop_front();
}

std::vector<std::string> RocksLog::TakeRecent() {
  MutexLock l(&mu_);
  std::vector<std::string> out(recent_.begin(), recent_.end());
  recent_.clear();
  return out;
}

void ErrorListener::OnBackgroundError(rocksdb::BackgroundErrorReason reason, rocksdb::Status* error) {
  // A write that failed says so itself, as the Append's error.
  if (error == nullptr || error->ok() || reason == rocksdb::BackgroundErrorReason::kWriteCallback) return;
  const std::string what = std::string("a background ") + ReasonName(reason) + " failed: " + error->ToString();
  spdlog::error("ledger {}: {}", dir_, what);
  MutexLock l(&mu_);
  last_ = what;
}

void ErrorListener::OnErrorRecoveryEnd(const rocksdb::BackgroundErrorRecoveryInfo& info) {
  spdlog::info("ledger {}: RocksDB ended its recovery from '{}': {}", dir_, info.old_bg_error.ToString(),
               info.new_bg_error.ok() ? "recovered" : info.new_bg_error.ToString());
}

std::string ErrorListener::LastError() const {
  MutexLock l(&mu_);
  return last_;
}

Status ScanWalTail(const std::string& path, WalTail* tail) {
  *tail = WalTail{};
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IOError("opening " + path + ": " + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  const off_t end = ::lseek(fd, 0, SEEK_END);
  if (end < 0) return Status::IOError("seeking in " + path + ": " + std::strerror(errno));
  const uint64_t size = static_cast<uint64_t>(end);
  tail->size = size;
  uint64_t pos = 0;
  bool in_record = false;  // inside a record split over blocks (kFirst seen, kLast not yet)
  auto incomplete = [&](std::string problem) {
    tail->incomplete = true;
    tail->problem = std::move(problem);
    return Status::OK();
  };
  while (pos < size) {
    const uint64_t left_in_block = kWalBlockSize - pos % kWalBlockSize;
    if (left_in_block < kWalHeaderSize) {  // zero padding at a block's end
      pos += left_in_block;
      continue;
    }
    unsigned char h[kWalRecyclableHeaderSize] = {};
    const ssize_t got = ::pread(fd, h, sizeof(h), static_cast<off_t>(pos));
    if (got < 0) return Status::IOError("reading " + path + ": " + std::strerror(errno));
    if (static_cast<uint64_t>(got) < kWalHeaderSize) {
      return incomplete("a record header cut short at byte " + std::to_string(pos));
    }
    const uint8_t type = h[6];
    const uint64_t length = h[4] | (static_cast<uint64_t>(h[5]) << 8);
    if (type == kZero && length == 0) break;  // preallocated space: the log ends here
    const uint64_t header =
        type >= kRecyclableFull && type <= kRecyclableLast ? kWalRecyclableHeaderSize : kWalHeaderSize;
    if (pos + header + length > size) {
      return incomplete("a record of " + std::to_string(length) + " bytes at byte " + std::to_string(pos) +
                        " cut short after " + std::to_string(size - pos) + " bytes");
    }
    pos += header + length;
    const uint8_t base = type >= kRecyclableFull && type <= kRecyclableLast ? type - (kRecyclableFull - kFull) : type;
    if (base == kFirst) {
      in_record = true;
    } else if (base == kMiddle) {
      // still inside
    } else {  // kFull, kLast, or a metadata record: a record ends here
      in_record = false;
      tail->complete = pos;
    }
  }
  if (in_record) return incomplete("a record split over blocks whose last part is missing");
  return Status::OK();
}

std::set<std::string> FilesIn(const std::string& dir, const std::string& suffix) {
  std::set<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      out.insert(name);
    }
  }
  return out;
}

Status CheckFiles(rocksdb::DB* db, const std::string& dir, const std::set<std::string>& data_files, uint64_t height,
                  const std::string& info_key, const std::string& genesis_key) {
  // Every table file, whole: the tx index and the ledger info (the blocks
  // are in blob files, whose records are checked as they are read).
  rocksdb::Status s = db->VerifyChecksum();
  if (!s.ok()) return Status::Corruption("ledger " + dir + ": a table file fails its checksums: " + s.ToString());

  rocksdb::ColumnFamilyMetaData meta;
  db->GetColumnFamilyMetaData(&meta);
  std::set<std::string> live;
  for (const rocksdb::LevelMetaData& level : meta.levels) {
    for (const rocksdb::SstFileMetaData& f : level.files) live.insert(Relative(f.relative_filename));
  }
  for (const rocksdb::BlobMetaData& b : meta.blob_files) {
    const std::string name = Relative(b.blob_file_name);
    live.insert(name);
    const std::string path = dir + "/" + name;
    std::error_code ec;
    const uint64_t actual = std::filesystem::file_size(path, ec);
    if (ec)
      return Status::Corruption("blob file " + path + ", listed by the MANIFEST, cannot be read: " + ec.message());
    if (actual != b.blob_file_size) {
      return Status::Corruption("blob file " + path + " is " + std::to_string(actual) +
                                " bytes; the MANIFEST records " + std::to_string(b.blob_file_size) +
                                " (truncated or overwritten)");
    }
  }

  // Table and blob files the MANIFEST does not list: what an interrupted
  // flush or compaction leaves (RocksDB deletes them as it opens for
  // writing), or what a MANIFEST that lost its last edits no longer lists.
  std::vector<std::string> unlisted;
  for (const std::string& name : data_files) {
    if (!live.count(name)) unlisted.push_back(name);
  }
  std::string manifest;
  std::getline(std::ifstream(dir + "/CURRENT"), manifest);
  std::string value;
  const bool genesis_missing = height > 0 && db->Get(rocksdb::ReadOptions(), genesis_key, &value).IsNotFound();
  if (!unlisted.empty() && (height == 0 || genesis_missing)) {
    std::string names;
    for (const std::string& n : unlisted) names += (names.empty() ? "" : ", ") + n;
    return Status::Corruption("ledger " + dir + (height == 0 ? " holds no blocks" : " lacks its genesis block") +
                              " by its MANIFEST (" + manifest + "), yet holds " + names +
                              ", which the MANIFEST does not list: the MANIFEST lost its edits (damaged or truncated), "
                              "or the files belong to another ledger");
  }
  if (genesis_missing) {
    return Status::Corruption("ledger " + dir + ": block 0 (genesis) is missing, though the ledger info says height " +
                              std::to_string(height));
  }
  for (const std::string& name : unlisted) {
    const std::string path = dir + "/" + name;
    uint64_t stored_height = 0;
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".sst") == 0) {
      rocksdb::SstFileReader reader{rocksdb::Options()};
      if (reader.Open(path).ok()) {
        std::unique_ptr<rocksdb::Iterator> it(reader.NewIterator(rocksdb::ReadOptions()));
        it->Seek(info_key);
        if (it->Valid() && it->key() == info_key && it->value().size() >= 8) {
          stored_height = ReadBe(std::string_view(it->value().data(), it->value().size()), 0, 8);
        }
      }
    }
    if (stored_height > height) {
      return Status::Corruption("table file " + path + ", which the MANIFEST (" + manifest +
                                ") does not list, holds the ledger at height " + std::to_string(stored_height) +
                                ", beyond the " + std::to_string(height) +
                                " it describes: the MANIFEST lost its last edits (damaged or truncated)");
    }
    spdlog::warn(
        "ledger {}: {} is not listed by the MANIFEST and holds nothing beyond height {}: RocksDB deletes it as what "
        "an interrupted flush or compaction left",
        dir, name, height);
  }
  return Status::OK();
}

}  // namespace ordering

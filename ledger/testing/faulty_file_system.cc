#include "ledger/testing/faulty_file_system.h"

#include <utility>

namespace ordering::testing {
namespace {

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A writable file whose writes and syncs ask the file system first.
class FaultyWritableFile final : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  FaultyWritableFile(std::unique_ptr<rocksdb::FSWritableFile> file, FaultyFileSystem* fs, std::string path)
      : FSWritableFileOwnerWrapper(std::move(file)), fs_(fs), path_(std::move(path)) {}

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                           rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = fs_->Check(FileOp::kAppend, path_, "While appending to file");
    return s.ok() ? FSWritableFileOwnerWrapper::Append(data, o, dbg) : s;
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                           const rocksdb::DataVerificationInfo& info, rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = fs_->Check(FileOp::kAppend, path_, "While appending to file");
    return s.ok() ? FSWritableFileOwnerWrapper::Append(data, o, info, dbg) : s;
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset, const rocksdb::IOOptions& o,
                                     rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s =
        fs_->Check(FileOp::kAppend, path_, "While pwrite to file at offset " + std::to_string(offset));
    return s.ok() ? FSWritableFileOwnerWrapper::PositionedAppend(data, offset, o, dbg) : s;
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset, const rocksdb::IOOptions& o,
                                     const rocksdb::DataVerificationInfo& info, rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s =
        fs_->Check(FileOp::kAppend, path_, "While pwrite to file at offset " + std::to_string(offset));
    return s.ok() ? FSWritableFileOwnerWrapper::PositionedAppend(data, offset, o, info, dbg) : s;
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = fs_->Check(FileOp::kSync, path_, "While fdatasync");
    return s.ok() ? FSWritableFileOwnerWrapper::Sync(o, dbg) : s;
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = fs_->Check(FileOp::kSync, path_, "While fsync");
    return s.ok() ? FSWritableFileOwnerWrapper::Fsync(o, dbg) : s;
  }
  rocksdb::IOStatus RangeSync(uint64_t offset, uint64_t nbytes, const rocksdb::IOOptions& o,
                              rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = fs_->Check(FileOp::kSync, path_, "While sync_file_range");
    return s.ok() ? FSWritableFileOwnerWrapper::RangeSync(offset, nbytes, o, dbg) : s;
  }

 private:
  FaultyFileSystem* const fs_;
  const std::string path_;
};

}  // namespace

const char* FileOpName(FileOp op) {
  switch (op) {
    case FileOp::kAppend:
      return "append";
    case FileOp::kSync:
      return "sync";
    case FileOp::kCreate:
      return "create";
  }
  return "?";
}

FaultyFileSystem::FaultyFileSystem() : rocksdb::FileSystemWrapper(rocksdb::FileSystem::Default()) {}

void FaultyFileSystem::Fail(FileOp op, std::string suffix, bool no_space) {
  MutexLock l(&mu_);
  armed_ = true;
  op_ = op;
  suffix_ = std::move(suffix);
  no_space_ = no_space;
}

void FaultyFileSystem::Heal() {
  MutexLock l(&mu_);
  armed_ = false;
}

std::vector<std::string> FaultyFileSystem::failed() const {
  MutexLock l(&mu_);
  return failed_;
}

int64_t FaultyFileSystem::calls(FileOp op, const std::string& suffix) const {
  MutexLock l(&mu_);
  int64_t n = 0;
  for (const auto& [path, counts] : calls_) {
    if (EndsWith(path, suffix)) n += counts[static_cast<size_t>(op)];
  }
  return n;
}

rocksdb::IOStatus FaultyFileSystem::Check(FileOp op, const std::string& path, const std::string& what) {
  bool no_space = false;
  {
    MutexLock l(&mu_);
    ++calls_[path][static_cast<size_t>(op)];
    if (!armed_ || op != op_ || !EndsWith(path, suffix_)) return rocksdb::IOStatus::OK();
    no_space = no_space_;
    failed_.push_back(std::string(FileOpName(op)) + " " + path);
  }
  ++injected_;
  const std::string context = what + ": " + path;
  if (no_space) return rocksdb::IOStatus::NoSpace(context, "No space left on device (injected fault)");
  return rocksdb::IOStatus::IOError(context, "Input/output error (injected fault)");
}

rocksdb::IOStatus FaultyFileSystem::NewWritableFile(const std::string& path, const rocksdb::FileOptions& options,
                                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                                    rocksdb::IODebugContext* dbg) {
  rocksdb::IOStatus s = Check(FileOp::kCreate, path, "While open a file for appending");
  if (s.ok()) s = target()->NewWritableFile(path, options, result, dbg);
  if (s.ok()) *result = std::make_unique<FaultyWritableFile>(std::move(*result), this, path);
  return s;
}

rocksdb::IOStatus FaultyFileSystem::ReopenWritableFile(const std::string& path, const rocksdb::FileOptions& options,
                                                       std::unique_ptr<rocksdb::FSWritableFile>* result,
                                                       rocksdb::IODebugContext* dbg) {
  rocksdb::IOStatus s = target()->ReopenWritableFile(path, options, result, dbg);
  if (s.ok()) *result = std::make_unique<FaultyWritableFile>(std::move(*result), this, path);
  return s;
}

rocksdb::IOStatus FaultyFileSystem::ReuseWritableFile(const std::string& path, const std::string& old_path,
                                                      const rocksdb::FileOptions& options,
                                                      std::unique_ptr<rocksdb::FSWritableFile>* result,
                                                      rocksdb::IODebugContext* dbg) {
  rocksdb::IOStatus s = target()->ReuseWritableFile(path, old_path, options, result, dbg);
  if (s.ok()) *result = std::make_unique<FaultyWritableFile>(std::move(*result), this, path);
  return s;
}

}  // namespace ordering::testing

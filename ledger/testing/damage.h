// Helpers for storage-fault tests: damage the files of a closed ledger or
// Raft log as a disk, a filesystem or a careless hand would (flip a byte,
// cut the end off), and capture what the orderer logs meanwhile.
#pragma once

#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

namespace ordering::testing {

// The paths of the files in `dir` whose name ends in `suffix` (or, with
// `prefix`, begins with it), sorted.
inline std::vector<std::string> DirFiles(const std::string& dir, const std::string& suffix, bool prefix = false) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    const bool match =
        prefix ? name.rfind(suffix, 0) == 0
               : name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
    if (match && e.is_regular_file()) out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

inline uint64_t FileSize(const std::string& path) { return std::filesystem::file_size(path); }

// XORs the byte at `offset` (from the end when negative) with 0x5a; false if
// the file is shorter.
inline bool FlipByte(const std::string& path, int64_t offset) {
  const int64_t size = static_cast<int64_t>(FileSize(path));
  const int64_t at = offset < 0 ? size + offset : offset;
  if (at < 0 || at >= size) return false;
  std::fstream io(path, std::ios::in | std::ios::out | std::ios::binary);
  io.seekg(at);
  char c = 0;
  io.read(&c, 1);
  c = static_cast<char>(c ^ 0x5a);
  io.seekp(at);
  io.write(&c, 1);
  return static_cast<bool>(io);
}

// Cuts the last `bytes` bytes off (all of them if the file is shorter).
inline void CutEnd(const std::string& path, uint64_t bytes) {
  const uint64_t size = FileSize(path);
  std::filesystem::resize_file(path, size > bytes ? size - bytes : 0);
}

// Copies what the default logger logs while it lives (everything from debug
// up); `Contains` searches it.
class LogCapture {
 public:
  LogCapture() : sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(4096)) {
    spdlog::default_logger()->sinks().push_back(sink_);
  }
  ~LogCapture() {
    auto& sinks = spdlog::default_logger()->sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
  }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  std::vector<std::string> Lines() const { return sink_->last_formatted(); }
  // The first line holding every one of `parts`; "" if none does.
  std::string Find(const std::vector<std::string>& parts) const {
    for (const std::string& line : Lines()) {
      if (std::all_of(parts.begin(), parts.end(), [&](const std::string& p) { return line.find(p) != line.npos; })) {
        return line;
      }
    }
    return "";
  }
  std::string All() const {
    std::string out;
    for (const std::string& line : Lines()) out += line;
    return out;
  }

 private:
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
};

}  // namespace ordering::testing

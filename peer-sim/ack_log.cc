#include "peer-sim/ack_log.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <vector>

namespace ordering {
namespace {

template <typename T>
void AppendNumber(T v, std::string* out) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, end);
}

template <typename T>
bool ParseNumber(std::string_view s, T* v) {
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
  return ec == std::errc() && end == s.data() + s.size();
}

bool IsHex(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return false;
  }
  return true;
}

Status Errno(const std::string& what) { return Status::IOError(what + ": " + std::strerror(errno)); }

}  // namespace

void AppendAckLine(std::string_view tx_id, std::string_view outcome, int64_t submit_unix_ns, int64_t answer_unix_ns,
                   uint32_t peer, std::string* out) {
  out->append(tx_id);
  out->push_back(' ');
  out->append(outcome);
  out->push_back(' ');
  AppendNumber(submit_unix_ns, out);
  out->push_back(' ');
  AppendNumber(answer_unix_ns, out);
  out->push_back(' ');
  AppendNumber(peer, out);
  out->push_back(' ');
  out->append(kAckLineEnd);
  out->push_back('\n');
}

AckLineKind ParseAckLine(std::string_view text, AckLine* line) {
  if (text.empty() || text.front() == '#') return AckLineKind::kComment;
  std::vector<std::string_view> f;
  size_t pos = 0;
  while (f.size() < 7) {
    const size_t sp = text.find(' ', pos);
    f.push_back(text.substr(pos, sp == std::string_view::npos ? std::string_view::npos : sp - pos));
    if (sp == std::string_view::npos) break;
    pos = sp + 1;
  }
  AckLine l;
  if (f.size() != 6 || f[5] != kAckLineEnd || !IsHex(f[0]) || f[1].empty() || !ParseNumber(f[2], &l.submit_unix_ns) ||
      !ParseNumber(f[3], &l.answer_unix_ns) || !ParseNumber(f[4], &l.peer)) {
    return AckLineKind::kTorn;
  }
  for (char c : f[1]) {
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return AckLineKind::kTorn;
  }
  l.tx_id = std::string(f[0]);
  l.outcome = std::string(f[1]);
  *line = std::move(l);
  return AckLineKind::kLine;
}

Status AckLog::Open(const std::string& path, std::unique_ptr<AckLog>* out, int flush_interval_ms) {
  std::unique_ptr<AckLog> log(new AckLog());
  log->path_ = path;
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("opening the ack log '" + path + "'");
  // A torn last line (a writer killed mid-line) ends here, so it stays a
  // line of its own.
  std::string head;
  struct stat st {};
  if (::fstat(fd, &st) == 0 && st.st_size > 0) {
    const int rfd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    char last = '\n';
    if (rfd >= 0) {
      if (::pread(rfd, &last, 1, st.st_size - 1) != 1) last = '\n';
      ::close(rfd);
    }
    if (last != '\n') head.push_back('\n');
  }
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  head += "# peer-sim ack log v1: tx_id outcome submit_unix_ns answer_unix_ns peer END; pid " +
          std::to_string(::getpid()) + ", opened at unix ns " +
          std::to_string(std::chrono::duration_cast<std::chrono::nanoseconds>(now).count()) + "\n";
  {
    MutexLock w(&log->write_mu_);
    log->fd_ = fd;
    Status s = log->WriteAll(head);
    if (!s.ok()) {
      ::close(fd);
      log->fd_ = -1;
      return s.WithContext("the ack log '" + path + "'");
    }
  }
  log->writer_ = std::thread([p = log.get(), flush_interval_ms] { p->WriterLoop(flush_interval_ms); });
  *out = std::move(log);
  return Status::OK();
}

AckLog::~AckLog() {
  Status s = Close();
  if (!s.ok()) spdlog::error("ack log: {}", s.ToString());
}

void AckLog::Record(std::string_view tx_id, std::string_view outcome, int64_t submit_unix_ns, int64_t answer_unix_ns,
                    uint32_t peer) {
  MutexLock l(&mu_);
  if (closing_) return;
  AppendAckLine(tx_id, outcome, submit_unix_ns, answer_unix_ns, peer, &buffer_);
  lines_.fetch_add(1, std::memory_order_relaxed);
}

Status AckLog::Flush() {
  MutexLock w(&write_mu_);
  std::string data;
  {
    MutexLock l(&mu_);
    data.swap(buffer_);
  }
  if (data.empty() || fd_ < 0) return error_;
  Status s = WriteAll(data);
  if (!s.ok() && error_.ok()) {
    error_ = s;
    spdlog::error("ack log '{}': {}", path_, s.ToString());
  }
  return error_;
}

Status AckLog::Close() {
  bool first;
  {
    MutexLock l(&mu_);
    first = !closing_;
    closing_ = true;
  }
  if (first) {
    cv_.notify_all();
    if (writer_.joinable()) writer_.join();
    (void)Flush();  // what was recorded before closing_ was set
  }
  MutexLock w(&write_mu_);  // never while holding mu_: Flush takes write_mu_, then mu_
  if (fd_ >= 0) {
    if (::fsync(fd_) != 0 && error_.ok()) error_ = Errno("syncing the ack log '" + path_ + "'");
    if (::close(fd_) != 0 && error_.ok()) error_ = Errno("closing the ack log '" + path_ + "'");
    fd_ = -1;
  }
  return error_;
}

void AckLog::WriterLoop(int flush_interval_ms) {
  while (true) {
    {
      MutexLock l(&mu_);
      cv_.wait_for(l.native(), std::chrono::milliseconds(flush_interval_ms), [&]() REQUIRES(mu_) { return closing_; });
      if (closing_) return;  // Close() writes the rest
    }
    (void)Flush();
  }
}

Status AckLog::WriteAll(const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd_, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("writing the ack log '" + path_ + "'");
    }
    done += static_cast<size_t>(n);
  }
  return Status::OK();
}

}  // namespace ordering

// The acknowledgement log (peer-sim --ack-log FILE): one line per
// transaction outcome, written as the submit path answers, for a checker
// outside peer-sim (a crash campaign that kills orderers, then checks that
// every transaction answered SUCCESS is in the chain exactly once).
//
// Format, version 1: plain text, one line per transaction, fields separated
// by one space, the last field the fixed terminator "END":
//
//   <tx_id> <outcome> <submit_unix_ns> <answer_unix_ns> <peer> END
//
//   tx_id           the transaction's id, hex, as in its envelope's header
//   outcome         the answer (SubmitAnswer::code). broadcast: the
//                   orderer's status, SUCCESS, BAD_REQUEST,
//                   SERVICE_UNAVAILABLE (or another status name);
//                   UNANSWERED_STREAM_BROKEN (sent on a stream that broke
//                   before answering; not resent); ABANDONED (unanswered
//                   when peer-sim gave up at exit). kafka: the producer's
//                   delivery report, ACKED or FAILED; PURGED (given up at
//                   exit). Either path: NOT_SENT (the submit path refused
//                   it, e.g. no stream to the orderer).
//   submit_unix_ns  when it was handed to the submit path, and
//   answer_unix_ns  when the outcome arrived: this host's wall clock,
//                   nanoseconds since the Unix epoch
//   peer            the simulated peer (0-based) that sent it
//
// Lines starting with '#' are comments: each open writes one naming the
// format, the process and the time. A line is written only once its
// outcome is known, so SUCCESS appears only for an answer SUCCESS; a
// transaction without a line has no known outcome (still in flight, or
// peer-sim was killed before writing it).
//
// Writing: Record() appends the line to a memory buffer; a writer thread
// writes the buffer's whole lines every flush interval (and Close() the
// rest), with one write(2) per buffer on a file opened O_APPEND, so several
// processes may append to one file without splitting each other's lines
// (separate files per process are simpler to read). A kill -9 loses at most
// the last interval's lines and can leave the last line torn: it then lacks
// the terminator, and ParseAckLine rejects it. A file whose last line is
// torn gets a newline before the next process's first line, so the torn
// line stays alone.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "common/mutex.h"
#include "common/status.h"

namespace ordering {

inline constexpr std::string_view kAckLineEnd = "END";
inline constexpr int kAckLogFlushIntervalMs = 100;

struct AckLine {
  std::string tx_id;
  std::string outcome;
  int64_t submit_unix_ns = 0;
  int64_t answer_unix_ns = 0;
  uint32_t peer = 0;
  bool operator==(const AckLine&) const = default;
};

// Appends one line (terminator and newline included) to *out.
void AppendAckLine(std::string_view tx_id, std::string_view outcome, int64_t submit_unix_ns, int64_t answer_unix_ns,
                   uint32_t peer, std::string* out);

enum class AckLineKind {
  kLine,     // a complete line: *line is filled
  kComment,  // a '#' line or an empty one
  kTorn,     // anything else: torn (no terminator) or malformed
};
// Reads one line, without its newline.
AckLineKind ParseAckLine(std::string_view text, AckLine* line);

class AckLog {
 public:
  // Opens (creates, or appends to) `path` and starts the writer thread.
  [[nodiscard]] static Status Open(const std::string& path, std::unique_ptr<AckLog>* out,
                                   int flush_interval_ms = kAckLogFlushIntervalMs);
  ~AckLog();  // Close()

  AckLog(const AckLog&) = delete;
  AckLog& operator=(const AckLog&) = delete;

  // Adds one line. Never waits for the disk. Thread-safe.
  void Record(std::string_view tx_id, std::string_view outcome, int64_t submit_unix_ns, int64_t answer_unix_ns,
              uint32_t peer);
  // Writes what is buffered now (the writer thread also does, every
  // interval). Thread-safe.
  [[nodiscard]] Status Flush();
  // Writes the rest, syncs and closes the file; the first write error, if
  // any. Lines recorded after Close are dropped. Idempotent.
  [[nodiscard]] Status Close();

  const std::string& path() const { return path_; }
  uint64_t lines() const { return lines_.load(); }  // recorded so far

 private:
  AckLog() = default;
  void WriterLoop(int flush_interval_ms);
  // Writes `data` whole (one write(2), more only after a short write).
  Status WriteAll(const std::string& data) REQUIRES(write_mu_);

  std::string path_;
  std::atomic<uint64_t> lines_{0};
  Mutex mu_;
  std::condition_variable cv_;
  std::string buffer_ GUARDED_BY(mu_);
  bool closing_ GUARDED_BY(mu_) = false;
  Mutex write_mu_;  // one writer at a time, in recording order; taken before mu_, never after
  int fd_ GUARDED_BY(write_mu_) = -1;
  Status error_ GUARDED_BY(write_mu_);
  std::thread writer_;
};

}  // namespace ordering

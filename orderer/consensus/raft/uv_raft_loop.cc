#include "orderer/consensus/raft/uv_raft_loop.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <vector>

namespace ordering::raft_backend {
namespace {

// libraft's metadata file: format (1), version, term, vote: 4 x le64.
constexpr size_t kMetadataSize = 32;
constexpr uint64_t kMetadataFormat = 1;

uint64_t Le64(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

bool IsSegmentName(const std::string& name) {
  // Closed: 16 hex digits, '-', 16 hex digits; open: "open-N".
  if (name.rfind("open-", 0) == 0) return true;
  return name.size() == 33 && name[16] == '-' && name.find_first_not_of("0123456789abcdef-") == std::string::npos;
}

}  // namespace

Status CheckRaftDir(const std::string& dir, uint64_t ledger_term) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return Status::OK();
  std::vector<std::string> segments;
  uint64_t best_version = 0, term = 0;
  std::string best, unusable;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    const std::string path = e.path().string();
    if (name.rfind("corrupt-", 0) == 0) {
      return Status::Corruption("the raft log in " + dir + " holds " + name +
                                ", a segment libraft set aside as corrupt at an earlier start: the entries it held are "
                                "missing from the log; restore this node's Raft folder (docs/operations.md)");
    }
    if (IsSegmentName(name)) segments.push_back(name);
    if (name != "metadata1" && name != "metadata2") continue;
    const uint64_t size = std::filesystem::file_size(e.path(), ec);
    unsigned char m[kMetadataSize] = {};
    std::ifstream in(path, std::ios::binary);
    if (size != kMetadataSize || !in.read(reinterpret_cast<char*>(m), kMetadataSize)) {
      unusable = path + " is " + std::to_string(size) + " bytes, not " + std::to_string(kMetadataSize);
      continue;
    }
    if (Le64(m) != kMetadataFormat) {
      return Status::Corruption("raft metadata " + path + " does not hold libraft's format " +
                                std::to_string(kMetadataFormat) + " (it reads " + std::to_string(Le64(m)) +
                                "): damaged");
    }
    if (Le64(m + 8) == 0) {
      unusable = path + " has version 0";
      continue;
    }
    if (Le64(m + 8) > best_version) {
      best_version = Le64(m + 8);
      term = Le64(m + 16);
      best = path;
    }
  }
  if (segments.empty() && best.empty() && unusable.empty()) return Status::OK();  // a new log
  if (best.empty()) {
    return Status::Corruption("the raft log in " + dir + " has " + std::to_string(segments.size()) +
                              " log segments but no usable metadata file (metadata1, metadata2: the node's term and "
                              "vote)" +
                              (unusable.empty() ? std::string() : ": " + unusable) + "; damaged");
  }
  if (!unusable.empty()) {
    spdlog::warn("raft log in {}: {} (a write cut short by a crash); libraft uses {}", dir, unusable, best);
  }
  if (term < ledger_term) {
    return Status::Corruption(
        "raft metadata " + best + " holds term " + std::to_string(term) + ", below the term " +
        std::to_string(ledger_term) +
        " of the ledger's last block, which this node wrote only after that term: damaged (libraft "
        "keeps no checksum of its metadata)");
  }
  return Status::OK();
}

Status UvRaftLoop::Start(uint64_t ledger_term) {
  Status st = Open(ledger_term);
  if (!st.ok()) {
    TearDownUnstarted();
    return st;
  }
  shared_->SetWake([this] { uv_async_send(&wake_); });
  if (shared_->closing()) uv_async_send(&wake_);  // stopped before the wake-up was set
  thread_ = std::thread([this] { Main(); });
  return Status::OK();
}

Status UvRaftLoop::Open(uint64_t ledger_term) {
  ORDERING_RETURN_IF_ERROR(CheckRaftDir(options_->dir, ledger_term).WithContext("starting raft"));
  std::error_code ec;
  std::filesystem::create_directories(options_->dir, ec);
  if (ec) return Status::IOError("creating the raft folder " + options_->dir + ": " + ec.message());
  int rv = uv_loop_init(&loop_);
  if (rv != 0) return Status::Internal(std::string("uv_loop_init: ") + uv_strerror(rv));
  loop_inited_ = true;
  uv_async_init(&loop_, &wake_, &OnWake);
  wake_.data = this;
  uv_timer_init(&loop_, &poll_);
  poll_.data = this;

  rv = raft_uv_tcp_init(&transport_, &loop_);
  if (rv != 0) return Status::Internal(std::string("raft_uv_tcp_init: ") + raft_strerror(rv));
  transport_inited_ = true;
  if (!options_->bind_address.empty()) {
    rv = raft_uv_tcp_set_bind_address(&transport_, options_->bind_address.c_str());
    if (rv != 0) return Status::InvalidArgument("--raft-bind " + options_->bind_address + ": " + raft_strerror(rv));
  }
  rv = raft_uv_init(&io_, &loop_, options_->dir.c_str(), &transport_);
  if (rv != 0) return Status::IOError("raft log in " + options_->dir + ": " + raft_strerror(rv));
  io_inited_ = true;
  // On a corrupt last segment libraft would rename it corrupt-* and start
  // without its entries (committed ones included): refuse instead.
  raft_uv_set_auto_recovery(&io_, false);
  rv = raft_init(&raft_, &io_, fsm_, options_->id, options_->Self()->raft_address.c_str());
  if (rv != 0) {
    // libraft loads its metadata here: a damaged file is named in its message.
    const std::string what = "starting raft on its log in " + options_->dir + ": raft_init: " + raft_strerror(rv) +
                             " (" + raft_errmsg(&raft_) + ")";
    return rv == RAFT_CORRUPT || rv == RAFT_MALFORMED ? Status::Corruption(what) : Status::Internal(what);
  }
  raft_inited_ = true;
  Replicator::Configure(&raft_, *options_);
  replicator_->Attach(&raft_);

  // Every node bootstraps the same configuration on an empty log; a log
  // that already has one says so and is left as it is.
  raft_configuration conf;
  raft_configuration_init(&conf);
  for (const RaftNodeAddress& n : options_->cluster) {
    rv = raft_configuration_add(&conf, n.id, n.raft_address.c_str(), RAFT_VOTER);
    if (rv != 0) {
      raft_configuration_close(&conf);
      return Status::Internal(std::string("raft_configuration_add: ") + raft_strerror(rv));
    }
  }
  rv = raft_bootstrap(&raft_, &conf);
  raft_configuration_close(&conf);
  if (rv != 0 && rv != RAFT_CANTBOOTSTRAP) {
    return Status::IOError("bootstrapping the raft log in " + options_->dir + ": " + raft_strerror(rv) + " (" +
                           raft_errmsg(&raft_) + ")");
  }
  // Loads the log: restores the last snapshot and replays entries through
  // the state machine, here (the loop is not running yet).
  rv = raft_start(&raft_);
  if (rv != 0) {
    raft_start_failed_ = true;
    const std::string what =
        "starting raft on its log in " + options_->dir + ": " + raft_strerror(rv) + " (" + raft_errmsg(&raft_) + ")";
    return rv == RAFT_CORRUPT ? Status::Corruption(what) : Status::IOError(what);
  }
  ORDERING_RETURN_IF_ERROR(shared_->error());  // the replay found divergence
  const unsigned every = std::max(2u, options_->heartbeat_ms / 2);
  uv_timer_start(&poll_, &OnPoll, every, every);
  return Status::OK();
}

void UvRaftLoop::TearDownUnstarted() {
  if (!loop_inited_) return;
  if (raft_inited_ && !raft_start_failed_) raft_close(&raft_, nullptr);
  uv_timer_stop(&poll_);
  uv_close(reinterpret_cast<uv_handle_t*>(&wake_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&poll_), nullptr);
  uv_run(&loop_, UV_RUN_DEFAULT);
  if (io_inited_) raft_uv_close(&io_);
  if (transport_inited_) raft_uv_tcp_close(&transport_);
  uv_loop_close(&loop_);
  loop_inited_ = false;
}

void UvRaftLoop::Join() {
  if (thread_.joinable()) thread_.join();
}

void UvRaftLoop::Main() {
  uv_run(&loop_, UV_RUN_DEFAULT);
  // raft_close has closed the I/O's handles and every other one is closed.
  raft_uv_close(&io_);
  raft_uv_tcp_close(&transport_);
  uv_loop_close(&loop_);
}

void UvRaftLoop::OnWake(uv_async_t* handle) {
  UvRaftLoop* self = static_cast<UvRaftLoop*>(handle->data);
  if (self->closing_) return;
  if (!self->shared_->closing()) {
    self->replicator_->ProposePosted();
    return;
  }
  self->BeginClose();
}

void UvRaftLoop::BeginClose() {
  closing_ = true;
  shared_->SetWake({});  // nobody may send to `wake_` once it closes
  replicator_->FailPosted("the node is stopping");
  uv_timer_stop(&poll_);
  uv_close(reinterpret_cast<uv_handle_t*>(&poll_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&wake_), nullptr);
  raft_close(&raft_, nullptr);  // Main releases the I/O once every handle has closed
}

void UvRaftLoop::OnPoll(uv_timer_t* handle) {
  UvRaftLoop* self = static_cast<UvRaftLoop*>(handle->data);
  if (self->closing_) return;
  self->replicator_->Poll();
}

}  // namespace ordering::raft_backend

#include "orderer/consensus/raft/uv_raft_loop.h"

#include <algorithm>
#include <filesystem>

namespace ordering::raft_backend {

Status UvRaftLoop::Start() {
  Status st = Open();
  if (!st.ok()) {
    TearDownUnstarted();
    return st;
  }
  shared_->SetWake([this] { uv_async_send(&wake_); });
  if (shared_->closing()) uv_async_send(&wake_);  // stopped before the wake-up was set
  thread_ = std::thread([this] { Main(); });
  return Status::OK();
}

Status UvRaftLoop::Open() {
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
  rv = raft_init(&raft_, &io_, fsm_, options_->id, options_->Self()->raft_address.c_str());
  if (rv != 0) return Status::Internal(std::string("raft_init: ") + raft_strerror(rv));
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
    return Status::IOError(std::string("bootstrapping the raft log: ") + raft_strerror(rv) + " (" +
                           raft_errmsg(&raft_) + ")");
  }
  // Loads the log: restores the last snapshot and replays entries through
  // the state machine, here (the loop is not running yet).
  rv = raft_start(&raft_);
  if (rv != 0) {
    raft_start_failed_ = true;
    return Status::IOError(std::string("starting raft: ") + raft_strerror(rv) + " (" + raft_errmsg(&raft_) + ")");
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

#include "orderer/consensus/raft/raft_chain.h"

#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>
#include <uv.h>

// libraft 0.15's headers do not declare C linkage themselves.
extern "C" {
#include <raft.h>
#include <raft/uv.h>
}

#include <algorithm>
#include <csignal>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_set>

#include "common/bytes.h"
#include "ledger/block_util.h"
#include "orderer/consensus/batch_timer.h"
#include "proto/ab.grpc.pb.h"

namespace po = boost::program_options;

namespace ordering::raft_backend {

// ---------------------------------------------------------------------------
// Options and metadata.

Status ParseNodeAddress(const std::string& text, RaftNodeAddress* out) {
  const size_t a = text.find(',');
  const size_t b = a == std::string::npos ? std::string::npos : text.find(',', a + 1);
  if (a == std::string::npos || b == std::string::npos || text.find(',', b + 1) != std::string::npos) {
    return Status::InvalidArgument("--raft-node '" + text + "': expected ID,RAFT_IP:PORT,BROADCAST_HOST:PORT");
  }
  const std::string id = text.substr(0, a);
  if (id.empty() || id.find_first_not_of("0123456789") != std::string::npos || id.size() > 9 || std::stoull(id) == 0) {
    return Status::InvalidArgument("--raft-node '" + text + "': the id must be a positive number");
  }
  out->id = std::stoull(id);
  out->raft_address = text.substr(a + 1, b - a - 1);
  out->broadcast_address = text.substr(b + 1);
  for (const std::string* addr : {&out->raft_address, &out->broadcast_address}) {
    const size_t colon = addr->rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == addr->size() ||
        addr->find_first_not_of("0123456789", colon + 1) != std::string::npos) {
      return Status::InvalidArgument("--raft-node '" + text + "': '" + *addr + "' is not HOST:PORT");
    }
  }
  // libraft 0.15 parses its addresses with uv_ip4_addr: no host names.
  in_addr ip{};
  const std::string host = out->raft_address.substr(0, out->raft_address.rfind(':'));
  if (inet_pton(AF_INET, host.c_str(), &ip) != 1) {
    return Status::InvalidArgument("--raft-node '" + text + "': the Raft address must be a numeric IPv4 address (" +
                                   host + " is not; libraft 0.15 does not resolve names)");
  }
  return Status::OK();
}

const RaftNodeAddress* RaftOptions::Self() const {
  for (const RaftNodeAddress& n : cluster) {
    if (n.id == id) return &n;
  }
  return nullptr;
}

Status RaftOptions::Check() const {
  if (id == 0) return Status::InvalidArgument("--raft-id is required by the raft backend (this node's id, e.g. 1)");
  if (cluster.empty()) {
    return Status::InvalidArgument(
        "--raft-node is required by the raft backend, once per node (ID,RAFT_IP:PORT,BROADCAST_HOST:PORT)");
  }
  std::set<uint64_t> ids;
  std::set<std::string> addresses;
  for (const RaftNodeAddress& n : cluster) {
    if (!ids.insert(n.id).second) return Status::InvalidArgument("--raft-node: id " + std::to_string(n.id) + " twice");
    if (!addresses.insert(n.raft_address).second) {
      return Status::InvalidArgument("--raft-node: raft address " + n.raft_address + " twice");
    }
  }
  if (Self() == nullptr) {
    return Status::InvalidArgument("--raft-id " + std::to_string(id) + " is not one of the --raft-node ids");
  }
  if (dir.empty()) return Status::InvalidArgument("the raft backend needs a folder for its log (--raft-dir)");
  if (heartbeat_ms == 0 || election_timeout_ms <= heartbeat_ms) {
    return Status::InvalidArgument("--raft-election-timeout must be longer than --raft-heartbeat (and both > 0)");
  }
  if (snapshot_interval == 0) return Status::InvalidArgument("--raft-snapshot-interval must be at least 1");
  if (queue_capacity == 0) return Status::InvalidArgument("--raft-queue must be at least 1");
  if (max_inflight_blocks == 0) return Status::InvalidArgument("--raft-inflight-blocks must be at least 1");
  return Status::OK();
}

std::string EncodeMetadata(const RaftMetadata& m) {
  std::string out;
  AppendBe64(&out, m.term);
  AppendBe64(&out, m.leader);
  return out;
}

bool DecodeMetadata(const std::string& bytes, RaftMetadata* m) {
  if (bytes.size() != 16) return false;
  m->term = ReadBe(bytes, 0, 8);
  m->leader = ReadBe(bytes, 8, 8);
  return true;
}

std::string CheckMetadata(uint64_t /*number*/, const std::string& previous, const std::string& current) {
  RaftMetadata cur, prev;
  if (!DecodeMetadata(current, &cur)) {
    return "raft metadata is " + std::to_string(current.size()) + " bytes, not 16 (term, leader)";
  }
  if (cur.term == 0 || cur.leader == 0) return "raft metadata has term or leader 0";
  if (!previous.empty()) {
    if (!DecodeMetadata(previous, &prev)) return "the previous block's raft metadata does not decode";
    if (cur.term < prev.term) {
      return "raft term went back from " + std::to_string(prev.term) + " to " + std::to_string(cur.term);
    }
  }
  return "";
}

nlohmann::json DescribeMetadata(const std::string& metadata) {
  RaftMetadata m;
  if (!DecodeMetadata(metadata, &m)) return {{"undecodable_bytes", metadata.size()}};
  return {{"term", m.term}, {"leader", m.leader}};
}

// ---------------------------------------------------------------------------
// The chain.

namespace {

struct Proposal {
  uint64_t term = 0;
  uint64_t number = 0;
  std::string bytes;               // the serialized block
  std::vector<CutterMessage> txs;  // forwarded again if the proposal fails
  int64_t first_seen = 0;
};

// raft_apply's request, first, so the callback finds the proposal.
struct ApplyRequest {
  struct raft_apply req;
  std::unique_ptr<Proposal> proposal;
};

constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

// A Raft entry: be64(len(block)) || block || zero padding. libraft 0.15's
// segment format needs every entry's length to be a multiple of 8 (an
// entry of another length is written, but the log no longer loads at the
// next start: "entries batch N ... short read").
size_t EntrySize(size_t block_bytes) { return (8 + block_bytes + 7) / 8 * 8; }

void EncodeEntry(const std::string& block, char* out) {
  std::string len;
  AppendBe64(&len, block.size());
  std::memcpy(out, len.data(), 8);
  std::memcpy(out + 8, block.data(), block.size());
  std::memset(out + 8 + block.size(), 0, EntrySize(block.size()) - 8 - block.size());
}

// The block bytes of an entry; false if it is not one.
bool DecodeEntry(const void* base, size_t len, std::string_view* block) {
  if (len < 8 || len % 8 != 0) return false;
  const std::string_view all(static_cast<const char*>(base), len);
  const uint64_t n = ReadBe(all, 0, 8);
  if (n > len - 8 || EntrySize(n) != len) return false;
  *block = all.substr(8, n);
  return true;
}

}  // namespace

struct RaftChain::Impl {
  Impl(ConsenterSupport* s, RaftOptions o)
      : support(s), opt(std::move(o)), timer(s->options().batch_timeout_ms) {
    ConsenterCounters& c = support->metrics()->consenter;
    c_term = c.Add("raft_term");
    c_leader = c.Add("raft_leader");
    c_is_leader = c.Add("raft_is_leader");
    c_elections_won = c.Add("raft_terms_led");
    c_proposed = c.Add("raft_blocks_proposed");
    c_proposals_failed = c.Add("raft_proposals_failed");
    c_replayed = c.Add("raft_entries_replayed");
    c_forwarded = c.Add("raft_forwarded");
    c_forward_retried = c.Add("raft_forward_retried");
    c_forward_rejected = c.Add("raft_forward_rejected");
    c_snapshots = c.Add("raft_snapshots_taken");
    c_restores = c.Add("raft_snapshots_restored");
    c_caught_up = c.Add("raft_blocks_caught_up");
    *c.Add("raft_heartbeat_ms") = opt.heartbeat_ms;
  }

  ConsenterSupport* support;
  const RaftOptions opt;
  BatchTimer timer;  // ordering thread (while building)

  // --- Shared between Order(), the ordering thread, the forwarder and the loop.
  mutable std::mutex mu;
  std::condition_variable cv;        // work, leadership, in-flight or stop changed
  std::condition_variable space_cv;  // room in `queue`, or stop
  std::deque<CutterMessage> queue;   // GUARDED_BY(mu): accepted, not yet ordered or forwarded
  std::deque<std::unique_ptr<Proposal>> proposals;  // GUARDED_BY(mu): ordering thread -> loop
  size_t requeued = 0;  // GUARDED_BY(mu): given back to the queue's front since it was last taken
  size_t inflight = 0;                              // GUARDED_BY(mu): proposals not yet finished
  std::unordered_set<std::string> inflight_ids;     // GUARDED_BY(mu)
  uint64_t ready_term = 0;  // GUARDED_BY(mu): this node leads this term with everything before applied
  uint64_t leader_id = 0;   // GUARDED_BY(mu)
  bool stop = false;        // GUARDED_BY(mu)
  bool loop_running = false;  // GUARDED_BY(mu): the loop thread runs; `wake` may be sent
  bool loop_closing = false;  // GUARDED_BY(mu): the loop is closing its handles; `wake` may not
  Status error;             // GUARDED_BY(mu)

  // --- Loop thread only.
  uv_loop_t loop{};
  uv_async_t wake{};
  uv_timer_t poll{};
  raft_uv_transport transport{};
  raft_io io{};
  raft_fsm fsm{};
  struct raft raft {};
  struct raft_barrier barrier_req{};
  bool barrier_pending = false;
  uint64_t barrier_term = 0;
  uint64_t loop_ready_term = 0;
  std::map<uint64_t, int64_t> first_seen_by_number;
  bool raft_inited = false, io_inited = false, transport_inited = false;
  bool raft_start_failed = false;  // raft_close must not follow a failed raft_start
  std::thread loop_thread;

  // --- Ordering thread only.
  std::thread ordering_thread;
  uint64_t building_term = 0;
  uint64_t next_number = 0;
  std::string head_hash;

  // --- Forwarder.
  std::thread forwarder_thread;
  std::mutex fwd_mu;
  grpc::ClientContext* fwd_ctx = nullptr;  // GUARDED_BY(fwd_mu): the open stream's, for Halt

  std::once_flag halt_once;

  std::atomic<int64_t>*c_term, *c_leader, *c_is_leader, *c_elections_won, *c_proposed, *c_proposals_failed,
      *c_replayed, *c_forwarded, *c_forward_retried, *c_forward_rejected, *c_snapshots, *c_restores, *c_caught_up;

  // ------------------------------------------------------------------ setup
  Status StartRaft();
  void LoopMain();
  void Fail(const Status& st);  // any thread

  // ------------------------------------------------------------ loop thread
  static void OnWake(uv_async_t* h);
  static void OnPoll(uv_timer_t* h);
  static void OnBarrier(struct raft_barrier* req, int status);
  static void OnApplied(struct raft_apply* req, int status, void* result);
  static int FsmApply(raft_fsm* fsm, const raft_buffer* buf, void** result);
  static int FsmSnapshot(raft_fsm* fsm, raft_buffer* bufs[], unsigned* n);
  static int FsmRestore(raft_fsm* fsm, raft_buffer* buf);
  void Propose(std::unique_ptr<Proposal> p);
  void ProposalFailed(std::unique_ptr<Proposal> p, const std::string& why);
  int ApplyBlock(const raft_buffer* buf);
  int Restore(const raft_buffer* buf);
  Status CatchUp(uint64_t height, const std::string& last_hash);
  void BeginClose();

  // -------------------------------------------------------- ordering thread
  void OrderingLoop();
  Status Process(CutterMessage& tx);
  Status ProposeBatch(Batch batch, int64_t first_seen);
  // To the queue's front, after what was given back before and not yet taken.
  void GiveBack(std::vector<CutterMessage> txs);
  void GiveBackLocked(std::vector<CutterMessage>& txs);  // mu held
  void WakeLocked() {  // mu held
    if (loop_running && !loop_closing) uv_async_send(&wake);
  }
  std::vector<CutterMessage> aborted;  // ordering thread: taken back when leadership went

  // -------------------------------------------------------------- forwarder
  void ForwarderLoop();
  std::string AddressOf(uint64_t id) const {
    for (const RaftNodeAddress& n : opt.cluster) {
      if (n.id == id) return n.broadcast_address;
    }
    return "";
  }
};

// ------------------------------------------------------------------ setup

Status RaftChain::Impl::StartRaft() {
  std::error_code ec;
  std::filesystem::create_directories(opt.dir, ec);
  if (ec) return Status::IOError("creating the raft folder " + opt.dir + ": " + ec.message());
  int rv = uv_loop_init(&loop);
  if (rv != 0) return Status::Internal(std::string("uv_loop_init: ") + uv_strerror(rv));
  loop.data = this;
  uv_async_init(&loop, &wake, &Impl::OnWake);
  wake.data = this;
  uv_timer_init(&loop, &poll);
  poll.data = this;

  rv = raft_uv_tcp_init(&transport, &loop);
  if (rv != 0) return Status::Internal(std::string("raft_uv_tcp_init: ") + raft_strerror(rv));
  transport_inited = true;
  rv = raft_uv_init(&io, &loop, opt.dir.c_str(), &transport);
  if (rv != 0) return Status::IOError("raft log in " + opt.dir + ": " + raft_strerror(rv));
  io_inited = true;

  fsm.version = 1;
  fsm.data = this;
  fsm.apply = &Impl::FsmApply;
  fsm.snapshot = &Impl::FsmSnapshot;
  fsm.restore = &Impl::FsmRestore;
  const RaftNodeAddress* self = opt.Self();
  rv = raft_init(&raft, &io, &fsm, opt.id, self->raft_address.c_str());
  if (rv != 0) return Status::Internal(std::string("raft_init: ") + raft_strerror(rv));
  raft_inited = true;
  raft.data = this;
  raft_set_heartbeat_timeout(&raft, opt.heartbeat_ms);
  raft_set_election_timeout(&raft, opt.election_timeout_ms);
  raft_set_snapshot_threshold(&raft, opt.snapshot_interval);
  raft_set_snapshot_trailing(&raft, opt.snapshot_trailing);
  raft_set_pre_vote(&raft, true);

  // Every node bootstraps the same configuration on an empty log; a log
  // that already has one says so and is left as it is.
  raft_configuration conf;
  raft_configuration_init(&conf);
  for (const RaftNodeAddress& n : opt.cluster) {
    rv = raft_configuration_add(&conf, n.id, n.raft_address.c_str(), RAFT_VOTER);
    if (rv != 0) {
      raft_configuration_close(&conf);
      return Status::Internal(std::string("raft_configuration_add: ") + raft_strerror(rv));
    }
  }
  rv = raft_bootstrap(&raft, &conf);
  raft_configuration_close(&conf);
  if (rv != 0 && rv != RAFT_CANTBOOTSTRAP) {
    return Status::IOError(std::string("bootstrapping the raft log: ") + raft_strerror(rv) + " (" +
                           raft_errmsg(&raft) + ")");
  }
  // Loads the log (restoring the last snapshot and replaying entries through
  // FsmApply on this thread; the loop is not running yet).
  rv = raft_start(&raft);
  if (rv != 0) {
    raft_start_failed = true;
    return Status::IOError(std::string("starting raft: ") + raft_strerror(rv) + " (" + raft_errmsg(&raft) + ")");
  }
  {
    std::lock_guard<std::mutex> l(mu);
    if (!error.ok()) return error;
  }
  const unsigned every = std::max(2u, opt.heartbeat_ms / 2);
  uv_timer_start(&poll, &Impl::OnPoll, every, every);
  return Status::OK();
}

void RaftChain::Impl::LoopMain() {
  uv_run(&loop, UV_RUN_DEFAULT);
  // raft_close has closed the I/O's handles and every other one is closed.
  raft_uv_close(&io);
  raft_uv_tcp_close(&transport);
  uv_loop_close(&loop);
}

void RaftChain::Impl::Fail(const Status& st) {
  {
    std::lock_guard<std::mutex> l(mu);
    if (!error.ok()) return;
    error = st;
    ready_term = 0;
    WakeLocked();  // the loop closes raft: an errored node takes no further part
  }
  spdlog::error("raft chain stopped: {}", st.ToString());
  cv.notify_all();
  space_cv.notify_all();
}

// ------------------------------------------------------------ loop thread

void RaftChain::Impl::OnWake(uv_async_t* h) {
  Impl* self = static_cast<Impl*>(h->data);
  std::deque<std::unique_ptr<Proposal>> work;
  bool close = false;
  {
    std::lock_guard<std::mutex> l(self->mu);
    work.swap(self->proposals);
    close = (self->stop || !self->error.ok()) && !self->loop_closing;
    if (close) self->loop_closing = true;
  }
  for (auto& p : work) {
    if (close) {
      self->ProposalFailed(std::move(p), "the node is stopping");
    } else {
      self->Propose(std::move(p));
    }
  }
  if (close) self->BeginClose();
}

void RaftChain::Impl::BeginClose() {
  uv_timer_stop(&poll);
  uv_close(reinterpret_cast<uv_handle_t*>(&poll), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&wake), nullptr);
  raft_close(&raft, nullptr);  // LoopMain releases the I/O once every handle has closed
}

void RaftChain::Impl::OnPoll(uv_timer_t* h) {
  Impl* self = static_cast<Impl*>(h->data);
  struct raft* r = &self->raft;
  raft_id leader = 0;
  const char* address = nullptr;
  raft_leader(r, &leader, &address);
  const bool leading = raft_state(r) == RAFT_LEADER;
  const uint64_t term = r->current_term;
  *self->c_term = static_cast<int64_t>(term);
  *self->c_leader = static_cast<int64_t>(leader);
  *self->c_is_leader = leading ? 1 : 0;
  bool changed = false;
  {
    std::lock_guard<std::mutex> l(self->mu);
    if (self->leader_id != leader) {
      self->leader_id = leader;
      changed = true;
    }
    if (!leading && self->ready_term != 0) {
      self->ready_term = 0;
      changed = true;
    }
  }
  if (!leading) self->loop_ready_term = 0;
  if (changed) {
    spdlog::info("raft: term {} leader {}{}", term, leader, leading ? " (this node)" : "");
    self->cv.notify_all();
  }
  // A new leader builds only on a ledger that holds every earlier entry: a
  // barrier entry is applied after all of them.
  if (leading && self->loop_ready_term != term && !self->barrier_pending) {
    self->barrier_pending = true;
    self->barrier_term = term;
    self->barrier_req.data = self;
    const int rv = raft_barrier(r, &self->barrier_req, &Impl::OnBarrier);
    if (rv != 0) {
      self->barrier_pending = false;
      spdlog::warn("raft: barrier in term {} failed: {}", term, raft_strerror(rv));
    }
  }
}

void RaftChain::Impl::OnBarrier(struct raft_barrier* req, int status) {
  Impl* self = static_cast<Impl*>(req->data);
  self->barrier_pending = false;
  struct raft* r = &self->raft;
  if (status != 0 || raft_state(r) != RAFT_LEADER || r->current_term != self->barrier_term) return;
  self->loop_ready_term = self->barrier_term;
  {
    std::lock_guard<std::mutex> l(self->mu);
    if (!self->error.ok() || self->stop) return;
    self->ready_term = self->barrier_term;
  }
  ++*self->c_elections_won;
  spdlog::info("raft: leading term {} from block {}", self->barrier_term,
               self->support->NextBlockNumber().value());
  self->cv.notify_all();
}

void RaftChain::Impl::Propose(std::unique_ptr<Proposal> p) {
  struct raft* r = &raft;
  if (raft_state(r) != RAFT_LEADER || r->current_term != p->term || loop_ready_term != p->term) {
    ProposalFailed(std::move(p), "leadership changed before it was proposed");
    return;
  }
  raft_buffer buf;
  buf.len = EntrySize(p->bytes.size());
  buf.base = raft_malloc(buf.len);
  if (buf.base == nullptr) {
    ProposalFailed(std::move(p), "out of memory");
    return;
  }
  EncodeEntry(p->bytes, static_cast<char*>(buf.base));
  auto* request = new ApplyRequest{};
  request->req.data = this;
  first_seen_by_number[p->number] = p->first_seen;
  std::string().swap(p->bytes);
  request->proposal = std::move(p);
  const int rv = raft_apply(r, &request->req, &buf, 1, &Impl::OnApplied);
  if (rv != 0) {
    first_seen_by_number.erase(request->proposal->number);
    raft_free(buf.base);
    std::unique_ptr<Proposal> back = std::move(request->proposal);
    delete request;
    ProposalFailed(std::move(back), raft_strerror(rv));
  }
}

void RaftChain::Impl::OnApplied(struct raft_apply* req, int status, void* /*result*/) {
  Impl* self = static_cast<Impl*>(req->data);
  std::unique_ptr<ApplyRequest> request(reinterpret_cast<ApplyRequest*>(req));  // req is its first member
  std::unique_ptr<Proposal> p = std::move(request->proposal);
  self->first_seen_by_number.erase(p->number);
  if (status != 0) {
    self->ProposalFailed(std::move(p), raft_strerror(status));
    return;
  }
  {
    std::lock_guard<std::mutex> l(self->mu);
    for (const CutterMessage& m : p->txs) self->inflight_ids.erase(m.tx_id);
    --self->inflight;
  }
  self->cv.notify_all();
}

void RaftChain::Impl::ProposalFailed(std::unique_ptr<Proposal> p, const std::string& why) {
  ++*c_proposals_failed;
  spdlog::warn("raft: block {} of term {} was not committed here ({}); its {} transactions go to the leader again",
               p->number, p->term, why, p->txs.size());
  // Build again only after a new barrier: the failed block may still be
  // committed by the next leader, and the duplicate check then drops copies.
  loop_ready_term = 0;
  {
    std::lock_guard<std::mutex> l(mu);
    for (const CutterMessage& m : p->txs) inflight_ids.erase(m.tx_id);
    --inflight;
    if (ready_term == p->term) ready_term = 0;
    GiveBackLocked(p->txs);
  }
  cv.notify_all();
}

int RaftChain::Impl::FsmApply(raft_fsm* fsm, const raft_buffer* buf, void** result) {
  *result = nullptr;
  return static_cast<Impl*>(fsm->data)->ApplyBlock(buf);
}

int RaftChain::Impl::ApplyBlock(const raft_buffer* buf) {
  {
    std::lock_guard<std::mutex> l(mu);
    if (!error.ok()) return 0;  // an errored node writes nothing more; it is closing
  }
  auto block = std::make_shared<Block>();
  std::string_view bytes;
  if (!DecodeEntry(buf->base, buf->len, &bytes) ||
      !block->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    Fail(Status::Corruption("a committed raft entry is not a block"));
    return 0;
  }
  const uint64_t number = block->header().number();
  const uint64_t height = support->NextBlockNumber().value();
  if (number < height) {
    // Replay after a restart: the entry must be the block we already have.
    std::string stored;
    Status st = support->BlockHashAt(BlockNumber(number), &stored);
    if (!st.ok()) {
      Fail(st.WithContext("replaying raft entry for block " + std::to_string(number)));
    } else if (stored != DigestBytes(BlockHash(*block))) {
      Fail(Status::Corruption("divergence: the committed raft entry for block " + std::to_string(number) +
                              " differs from the block in the ledger"));
    } else {
      ++*c_replayed;
    }
    return 0;
  }
  if (number > height) {
    Fail(Status::Corruption("a committed raft entry holds block " + std::to_string(number) +
                            " but the ledger's height is " + std::to_string(height)));
    return 0;
  }
  int64_t first_seen = 0;
  auto it = first_seen_by_number.find(number);
  if (it != first_seen_by_number.end()) first_seen = it->second;
  Status st = support->AppendBlock(std::move(block), first_seen);
  if (!st.ok()) Fail(st.WithContext("applying a committed raft entry"));
  return 0;
}

int RaftChain::Impl::FsmSnapshot(raft_fsm* fsm, raft_buffer* bufs[], unsigned* n) {
  Impl* self = static_cast<Impl*>(fsm->data);
  const uint64_t height = self->support->NextBlockNumber().value();
  std::string hash;
  if (height > 0 && !self->support->BlockHashAt(BlockNumber(height - 1), &hash).ok()) return RAFT_IOERR;
  std::string bytes;
  AppendBe64(&bytes, height);
  bytes += hash;
  *bufs = static_cast<raft_buffer*>(raft_malloc(sizeof(raft_buffer)));
  if (*bufs == nullptr) return RAFT_NOMEM;
  (*bufs)[0].len = bytes.size();
  (*bufs)[0].base = raft_malloc(bytes.size());
  if ((*bufs)[0].base == nullptr) {
    raft_free(*bufs);
    return RAFT_NOMEM;
  }
  std::memcpy((*bufs)[0].base, bytes.data(), bytes.size());
  *n = 1;
  ++*self->c_snapshots;
  return 0;
}

int RaftChain::Impl::FsmRestore(raft_fsm* fsm, raft_buffer* buf) {
  Impl* self = static_cast<Impl*>(fsm->data);
  const int rv = self->Restore(buf);
  if (rv == 0) raft_free(buf->base);
  return rv;
}

int RaftChain::Impl::Restore(const raft_buffer* buf) {
  const std::string bytes(static_cast<const char*>(buf->base), buf->len);
  if (bytes.size() < 8) {
    Fail(Status::Corruption("a raft snapshot is " + std::to_string(bytes.size()) + " bytes"));
    return RAFT_MALFORMED;
  }
  const uint64_t height = ReadBe(bytes, 0, 8);
  const std::string hash = bytes.substr(8);
  ++*c_restores;
  const uint64_t have = support->NextBlockNumber().value();
  if (have < height) {
    spdlog::info("raft: snapshot at height {}, ledger at {}: fetching the missing blocks over Deliver", height, have);
    Status st = CatchUp(height, hash);
    if (!st.ok()) {
      Fail(st);
      return RAFT_IOERR;
    }
    return 0;
  }
  if (height == 0) return 0;
  std::string stored;
  Status st = support->BlockHashAt(BlockNumber(height - 1), &stored);
  if (!st.ok() || stored != hash) {
    Fail(Status::Corruption("divergence: the raft snapshot's block " + std::to_string(height - 1) +
                            " differs from the ledger's"));
    return RAFT_CORRUPT;
  }
  return 0;
}

Status RaftChain::Impl::CatchUp(uint64_t height, const std::string& last_hash) {
  std::vector<uint64_t> order;
  {
    std::lock_guard<std::mutex> l(mu);
    if (leader_id != 0 && leader_id != opt.id) order.push_back(leader_id);
  }
  for (const RaftNodeAddress& n : opt.cluster) {
    if (n.id != opt.id && std::find(order.begin(), order.end(), n.id) == order.end()) order.push_back(n.id);
  }
  Status last = Status::Unavailable("no other node to fetch blocks from");
  for (uint64_t id : order) {
    const std::string address = AddressOf(id);
    auto stub = AtomicBroadcast::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(opt.catch_up_timeout_ms));
    SeekInfo seek;
    seek.set_start(SeekInfo::SPECIFIED);
    seek.set_number(support->NextBlockNumber().value());
    auto reader = stub->Deliver(&ctx, seek);
    DeliverResponse resp;
    Status st;
    while (support->NextBlockNumber().value() < height && reader->Read(&resp)) {
      if (!resp.has_block()) break;
      auto block = std::make_shared<Block>(resp.block());
      st = support->AppendBlock(std::move(block));
      if (!st.ok()) break;
      ++*c_caught_up;
    }
    ctx.TryCancel();
    reader->Finish();
    if (!st.ok()) return st.WithContext("catching up from node " + std::to_string(id));
    if (support->NextBlockNumber().value() >= height) {
      std::string stored;
      ORDERING_RETURN_IF_ERROR(support->BlockHashAt(BlockNumber(height - 1), &stored));
      if (stored != last_hash) {
        return Status::Corruption("divergence: blocks fetched from node " + std::to_string(id) +
                                  " do not end in the raft snapshot's hash at block " + std::to_string(height - 1));
      }
      spdlog::info("raft: caught up to height {} from node {}", height, id);
      return Status::OK();
    }
    last = Status::Unavailable("node " + std::to_string(id) + " (" + address + ") served blocks up to " +
                               std::to_string(support->NextBlockNumber().value()) + " of " + std::to_string(height));
  }
  return last;
}

// -------------------------------------------------------- ordering thread

void RaftChain::Impl::GiveBack(std::vector<CutterMessage> txs) {
  {
    std::lock_guard<std::mutex> l(mu);
    GiveBackLocked(txs);
  }
  cv.notify_all();
}

void RaftChain::Impl::GiveBackLocked(std::vector<CutterMessage>& txs) {
  queue.insert(queue.begin() + static_cast<std::ptrdiff_t>(std::min(requeued, queue.size())),
               std::make_move_iterator(txs.begin()), std::make_move_iterator(txs.end()));
  requeued += txs.size();
  txs.clear();
}

void RaftChain::Impl::OrderingLoop() {
  const Clock* clock = support->clock();
  for (;;) {
    std::deque<CutterMessage> work;
    {
      std::unique_lock<std::mutex> lock(mu);
      const int64_t deadline = building_term != 0 && timer.Armed() ? timer.deadline() : kNever;
      clock->WaitUntil(lock, cv, deadline, [&] {
        return stop || !error.ok() || (building_term != 0 && ready_term != building_term) ||
               (building_term == 0 && ready_term != 0 && inflight == 0) || (building_term != 0 && !queue.empty());
      });
      if (stop || !error.ok()) return;
      if (building_term != 0 && ready_term != building_term) {
        // Leadership lost (or a proposal failed): the pending batch goes
        // back to the queue, to the next leader.
        lock.unlock();
        Batch pending = support->CutPending(CUT_REASON_TIMEOUT);
        timer.Clear();
        GiveBack(std::move(pending.messages));
        building_term = 0;
        cv.notify_all();
        continue;
      }
      if (building_term == 0 && ready_term != 0 && inflight == 0) {
        building_term = ready_term;
        lock.unlock();
        next_number = support->NextBlockNumber().value();
        head_hash.clear();
        if (next_number > 0 && !support->BlockHashAt(BlockNumber(next_number - 1), &head_hash).ok()) {
          Fail(Status::IOError("reading the last block's hash"));
          return;
        }
        continue;
      }
      if (building_term != 0) {
        work.swap(queue);
        requeued = 0;
      }
    }
    space_cv.notify_all();
    Status st;
    while (st.ok() && !work.empty()) {
      CutterMessage tx = std::move(work.front());
      work.pop_front();
      st = Process(tx);
    }
    if (st.ok() && building_term != 0 && timer.Expired(clock->NowNanos())) {
      timer.Clear();
      Batch batch = support->CutPending(CUT_REASON_TIMEOUT);
      if (!batch.messages.empty()) st = ProposeBatch(std::move(batch), timer.first_seen());
    }
    if (st.IsAborted()) {
      // Leadership went while building: what was cut but not proposed, what
      // the cutter holds and the rest of the work wait for the next leader,
      // in that order.
      Batch pending = support->CutPending(CUT_REASON_TIMEOUT);
      for (CutterMessage& m : pending.messages) aborted.push_back(std::move(m));
      for (CutterMessage& m : work) aborted.push_back(std::move(m));
      timer.Clear();
      building_term = 0;
      GiveBack(std::move(aborted));
      aborted.clear();
      continue;
    }
    if (!st.ok()) {
      Fail(st);
      return;
    }
  }
}

Status RaftChain::Impl::Process(CutterMessage& tx) {
  OrdererMetrics* metrics = support->metrics();
  metrics->received++;
  bool inflight_dup;
  {
    std::lock_guard<std::mutex> l(mu);
    inflight_dup = inflight_ids.count(tx.tx_id) > 0;
  }
  if (inflight_dup || support->IsDuplicate(tx.tx_id)) {
    metrics->Reject(RejectCause::kDuplicate);
    SPDLOG_DEBUG("rejected tx {}: duplicate", tx.tx_id);
    return Status::OK();
  }
  const int64_t now = support->clock()->NowNanos();
  timer.Arrived(now, support->PendingCount() == 0);
  OrderedResult r = support->Ordered(std::move(tx));
  const std::vector<int64_t> first_seen = timer.Ordered(r, now);
  for (size_t i = 0; i < r.batches.size(); ++i) {
    Status st = ProposeBatch(std::move(r.batches[i]), first_seen[i]);
    if (!st.ok()) {
      for (size_t k = i + 1; k < r.batches.size(); ++k) {
        for (CutterMessage& m : r.batches[k].messages) aborted.push_back(std::move(m));
      }
      return st;
    }
  }
  return Status::OK();
}

// Aborted: leadership went; the batch is back in the queue.
Status RaftChain::Impl::ProposeBatch(Batch batch, int64_t first_seen) {
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] {
      return stop || !error.ok() || ready_term != building_term || inflight < opt.max_inflight_blocks;
    });
    if (stop || !error.ok() || ready_term != building_term) {
      for (CutterMessage& m : batch.messages) aborted.push_back(std::move(m));
      return Status::Aborted("not leading");
    }
  }
  std::vector<std::string> envelopes;
  envelopes.reserve(batch.messages.size());
  for (const CutterMessage& m : batch.messages) envelopes.push_back(m.envelope);
  BlockMetadata md;
  md.set_cut_reason(batch.reason);
  md.set_consenter(EncodeMetadata(RaftMetadata{building_term, opt.id}));
  Block block = MakeBlock(BlockNumber(next_number), head_hash, std::move(envelopes), md);
  auto p = std::make_unique<Proposal>();
  p->term = building_term;
  p->number = next_number;
  p->first_seen = first_seen;
  p->bytes = block.SerializeAsString();
  p->txs = std::move(batch.messages);
  head_hash = DigestBytes(BlockHash(block));
  ++next_number;
  ++*c_proposed;
  {
    std::lock_guard<std::mutex> l(mu);
    for (const CutterMessage& m : p->txs) inflight_ids.insert(m.tx_id);
    ++inflight;
    proposals.push_back(std::move(p));
    WakeLocked();
  }
  return Status::OK();
}

// -------------------------------------------------------------- forwarder

void RaftChain::Impl::ForwarderLoop() {
  for (;;) {
    uint64_t target = 0;
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] {
        return stop || !error.ok() || (!queue.empty() && leader_id != 0 && leader_id != opt.id);
      });
      if (stop || !error.ok()) return;
      target = leader_id;
    }
    const std::string address = AddressOf(target);
    auto stub = AtomicBroadcast::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
    grpc::ClientContext ctx;
    {
      std::lock_guard<std::mutex> l(fwd_mu);
      fwd_ctx = &ctx;
    }
    auto stream = stub->Broadcast(&ctx);
    // Sent and not yet answered, in order; answered SERVICE_UNAVAILABLE, in order.
    std::mutex smu;
    std::deque<CutterMessage> sent;
    std::vector<CutterMessage> retry;
    std::atomic<bool> broken{false};
    std::atomic<bool> reader_done{false};
    std::thread reader([&] {
      BroadcastResponse r;
      while (stream->Read(&r)) {
        std::lock_guard<std::mutex> l(smu);
        if (sent.empty()) break;
        CutterMessage m = std::move(sent.front());
        sent.pop_front();
        if (r.status() == BROADCAST_STATUS_SUCCESS) {
          ++*c_forwarded;
        } else if (r.status() == BROADCAST_STATUS_SERVICE_UNAVAILABLE) {
          retry.push_back(std::move(m));
          broken = true;
          break;
        } else {
          ++*c_forward_rejected;
          spdlog::warn("raft: leader {} refused forwarded tx {}: {}", target, m.tx_id, r.info());
        }
      }
      {
        std::lock_guard<std::mutex> l(mu);  // wake the writer below
        broken = true;
        reader_done = true;
      }
      cv.notify_all();
    });
    for (;;) {
      std::deque<CutterMessage> batch;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait_for(lock, std::chrono::milliseconds(50), [&] {
          return stop || !error.ok() || broken || leader_id != target || !queue.empty();
        });
        if (stop || !error.ok() || broken || leader_id != target) break;
        batch.swap(queue);
        requeued = 0;
      }
      space_cv.notify_all();
      bool ok = true;
      while (!batch.empty()) {
        Envelope env;
        env.ParseFromString(batch.front().envelope);
        {
          std::lock_guard<std::mutex> l(smu);
          sent.push_back(std::move(batch.front()));
        }
        batch.pop_front();
        if (!stream->Write(env)) {
          ok = false;
          break;
        }
      }
      if (!batch.empty()) {
        std::vector<CutterMessage> rest(std::make_move_iterator(batch.begin()), std::make_move_iterator(batch.end()));
        GiveBack(std::move(rest));
      }
      if (!ok) break;
    }
    stream->WritesDone();
    {
      // Let the leader answer what it was sent (bounded), unless stopping:
      // what it never answers is sent again.
      std::unique_lock<std::mutex> lock(mu);
      cv.wait_for(lock, std::chrono::seconds(1), [&] { return stop || reader_done.load(); });
    }
    ctx.TryCancel();
    reader.join();
    stream->Finish();
    {
      std::lock_guard<std::mutex> l(fwd_mu);
      fwd_ctx = nullptr;
    }
    // Whatever the leader did not take goes back to the queue, in order.
    std::vector<CutterMessage> back = std::move(retry);
    for (CutterMessage& m : sent) back.push_back(std::move(m));
    if (!back.empty()) {
      *c_forward_retried += static_cast<int64_t>(back.size());
      GiveBack(std::move(back));
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the leader is not ready: do not spin
    }
  }
}

// ------------------------------------------------------------------ chain

RaftChain::RaftChain(ConsenterSupport* support, RaftOptions options)
    : impl_(std::make_unique<Impl>(support, std::move(options))) {}

RaftChain::~RaftChain() { Halt(); }

Status RaftChain::Start() {
  Impl* d = impl_.get();
  ORDERING_RETURN_IF_ERROR(d->opt.Check());
  // libuv writes to Raft peers' sockets; one that closed its end would raise
  // SIGPIPE and end the process (libraft's own example ignores it too).
  std::signal(SIGPIPE, SIG_IGN);
  spdlog::info("raft chain: channel {} node {} of {} resumes at block {} (heartbeat {} ms, election timeout {} ms)",
               d->support->options().channel_id, d->opt.id, d->opt.cluster.size(),
               d->support->NextBlockNumber().value(), d->opt.heartbeat_ms, d->opt.election_timeout_ms);
  Status st = d->StartRaft();
  if (!st.ok()) {
    // Nothing runs yet: tear down what was set up, on this thread.
    if (d->loop.data != nullptr) {
      if (d->raft_inited && !d->raft_start_failed) raft_close(&d->raft, nullptr);
      uv_timer_stop(&d->poll);
      uv_close(reinterpret_cast<uv_handle_t*>(&d->wake), nullptr);
      uv_close(reinterpret_cast<uv_handle_t*>(&d->poll), nullptr);
      uv_run(&d->loop, UV_RUN_DEFAULT);
      if (d->io_inited) raft_uv_close(&d->io);
      if (d->transport_inited) raft_uv_tcp_close(&d->transport);
      uv_loop_close(&d->loop);
      d->loop.data = nullptr;
    }
    std::lock_guard<std::mutex> l(d->mu);
    d->stop = true;
    if (d->error.ok()) d->error = st;
    return st;
  }
  {
    std::lock_guard<std::mutex> l(d->mu);
    d->loop_running = true;
  }
  d->loop_thread = std::thread([d] { d->LoopMain(); });
  d->ordering_thread = std::thread([d] { d->OrderingLoop(); });
  d->forwarder_thread = std::thread([d] { d->ForwarderLoop(); });
  return Status::OK();
}

Status RaftChain::Order(CutterMessage tx) {
  Impl* d = impl_.get();
  std::unique_lock<std::mutex> lock(d->mu);
  d->space_cv.wait(lock, [&] { return d->stop || !d->error.ok() || d->queue.size() < d->opt.queue_capacity; });
  if (!d->error.ok()) return Status::Unavailable("the raft chain has stopped: " + d->error.ToString());
  if (d->stop) return Status::Unavailable("the raft chain is halted");
  d->queue.push_back(std::move(tx));
  lock.unlock();
  d->cv.notify_all();
  return Status::OK();
}

Status RaftChain::WaitReady() { return Errored(); }

Status RaftChain::Errored() const {
  std::lock_guard<std::mutex> l(impl_->mu);
  return impl_->error;
}

bool RaftChain::IsLeader() const {
  std::lock_guard<std::mutex> l(impl_->mu);
  return impl_->ready_term != 0;
}

uint64_t RaftChain::LeaderId() const {
  std::lock_guard<std::mutex> l(impl_->mu);
  return impl_->leader_id;
}

void RaftChain::Halt() {
  Impl* d = impl_.get();
  std::call_once(d->halt_once, [d] {
    {
      std::lock_guard<std::mutex> l(d->mu);
      d->stop = true;
    }
    d->cv.notify_all();
    d->space_cv.notify_all();
    {
      std::lock_guard<std::mutex> l(d->fwd_mu);
      if (d->fwd_ctx != nullptr) d->fwd_ctx->TryCancel();
    }
    if (d->forwarder_thread.joinable()) d->forwarder_thread.join();
    if (d->ordering_thread.joinable()) d->ordering_thread.join();
    if (d->loop_thread.joinable()) {
      {
        std::lock_guard<std::mutex> l(d->mu);
        d->WakeLocked();
      }
      d->loop_thread.join();
    }
  });
}

// ---------------------------------------------------------------- backend

namespace {

class RaftBackend final : public Backend {
 public:
  std::string Name() const override { return "raft"; }
  std::string Summary() const override {
    return "3 or 5 orderers replicate the chain with Raft (libraft); the leader cuts, followers forward to it";
  }
  void AddOptions(po::options_description* opts) override {
    opts->add_options()
        ("raft-id", po::value(&options_.id), "raft: this node's id (one of the --raft-node ids)")
        ("raft-node", po::value(&nodes_)->composing(),
         "raft: a cluster member ID,RAFT_IP:PORT,BROADCAST_HOST:PORT (repeat for every node, this one included; numeric IPv4 for Raft)")
        ("raft-dir", po::value(&options_.dir), "raft: folder of the Raft log and snapshots (default: LEDGER-DIR.raft)")
        ("raft-heartbeat", po::value(&options_.heartbeat_ms)->default_value(20),
         "raft: heartbeat interval in ms (followers learn of commits this late)")
        ("raft-election-timeout", po::value(&options_.election_timeout_ms)->default_value(1000),
         "raft: election timeout in ms")
        ("raft-snapshot-interval", po::value(&options_.snapshot_interval)->default_value(1024),
         "raft: entries (blocks) between snapshots of the Raft log")
        ("raft-queue", po::value(&options_.queue_capacity)->default_value(10000),
         "raft: transactions accepted but not yet ordered or forwarded before Broadcast waits")
        ("raft-inflight-blocks", po::value(&options_.max_inflight_blocks)->default_value(8),
         "raft: blocks the leader proposes ahead of their commit");
  }
  Status Configure(const po::variables_map& vm) override {
    options_.cluster.clear();
    for (const std::string& n : nodes_) {
      RaftNodeAddress a;
      ORDERING_RETURN_IF_ERROR(ParseNodeAddress(n, &a));
      options_.cluster.push_back(a);
    }
    if (options_.dir.empty() && vm.count("ledger-dir")) options_.dir = vm["ledger-dir"].as<std::string>() + ".raft";
    return options_.Check();
  }
  Status MakeConsenter(std::unique_ptr<Consenter>* out) override {
    *out = std::make_unique<RaftConsenter>(options_);
    return Status::OK();
  }
  ConsenterMetadataCheck MetadataCheck() const override { return &CheckMetadata; }
  nlohmann::json DescribeMetadata(const std::string& metadata) const override {
    return raft_backend::DescribeMetadata(metadata);
  }

 private:
  RaftOptions options_;
  std::vector<std::string> nodes_;
};

}  // namespace

std::unique_ptr<Backend> MakeBackend() { return std::make_unique<RaftBackend>(); }

}  // namespace ordering::raft_backend

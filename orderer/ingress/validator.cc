#include "orderer/ingress/validator.h"

#include "proto/common.pb.h"
#include "proto/kafka.pb.h"

namespace ordering {

const char* RejectCauseName(RejectCause cause) {
  switch (cause) {
    case RejectCause::kNone: return "none";
    case RejectCause::kMalformed: return "malformed";
    case RejectCause::kOversized: return "oversized";
    case RejectCause::kWrongChannel: return "wrong_channel";
    case RejectCause::kBadTxId: return "bad_tx_id";
    case RejectCause::kBadSignature: return "bad_signature";
    case RejectCause::kDuplicate: return "duplicate";
    case RejectCause::kCount: break;
  }
  return "unknown";
}

namespace {

CheckedMessage Reject(Offset offset, RejectCause cause, std::string detail) {
  CheckedMessage m;
  m.offset = offset;
  m.kind = CheckedMessage::Kind::kRejected;
  m.cause = cause;
  m.detail = std::move(detail);
  return m;
}

}  // namespace

CheckedMessage Validator::Check(const kafka::ConsumedRecord& record) {
  const Offset off = record.offset;
  // 1. Oversized before parsing.
  if (record.value.size() > options_.absolute_max_bytes + kFramingAllowance) {
    return Reject(off, RejectCause::kOversized,
                  "record of " + std::to_string(record.value.size()) + " bytes exceeds AbsoluteMaxBytes " +
                      std::to_string(options_.absolute_max_bytes));
  }
  // 2. Structure.
  KafkaMessage km;
  if (!km.ParseFromString(record.value)) return Reject(off, RejectCause::kMalformed, "not a KafkaMessage");
  CheckedMessage m;
  m.offset = off;
  switch (km.type_case()) {
    case KafkaMessage::kTimeToCut:
      m.kind = CheckedMessage::Kind::kTimeToCut;
      m.ttc_block_number = km.time_to_cut().block_number();
      return m;
    case KafkaMessage::kConnect:
      m.kind = CheckedMessage::Kind::kConnect;
      return m;
    case KafkaMessage::kRegular:
      break;
    default:
      return Reject(off, RejectCause::kMalformed, "KafkaMessage of no known type");
  }
  Envelope env;
  if (!env.ParseFromString(km.regular().payload())) return Reject(off, RejectCause::kMalformed, "envelope does not parse");
  Payload payload;
  if (!payload.ParseFromString(env.payload())) return Reject(off, RejectCause::kMalformed, "payload does not parse");
  if (!payload.has_header()) return Reject(off, RejectCause::kMalformed, "payload has no header");
  const Header& h = payload.header();
  if (h.tx_id().empty()) return Reject(off, RejectCause::kMalformed, "header has no tx id");
  if (h.creator().empty()) return Reject(off, RejectCause::kMalformed, "header has no creator");
  // 3. Size as the cutter counts it.
  const uint64_t size = env.payload().size() + env.signature().size();
  if (size > options_.absolute_max_bytes) {
    return Reject(off, RejectCause::kOversized,
                  "transaction of " + std::to_string(size) + " bytes exceeds AbsoluteMaxBytes " +
                      std::to_string(options_.absolute_max_bytes));
  }
  // 4. Channel.
  if (h.channel_id() != options_.channel_id) {
    return Reject(off, RejectCause::kWrongChannel,
                  "transaction for channel '" + h.channel_id() + "' on channel '" + options_.channel_id + "'");
  }
  // 5. Tx id derivation.
  if (h.tx_id() != ComputeTxId(h.nonce(), h.creator())) {
    return Reject(off, RejectCause::kBadTxId, "tx id " + h.tx_id() + " is not hex(SHA-256(nonce || creator))");
  }
  // 6. Signature.
  if (!verifier_.Verify(h.creator(), env.payload(), env.signature())) {
    return Reject(off, RejectCause::kBadSignature, "signature of tx " + h.tx_id() + " does not verify");
  }
  m.kind = CheckedMessage::Kind::kRegular;
  m.size = size;
  m.tx_id = h.tx_id();
  m.envelope = std::move(*km.mutable_regular()->mutable_payload());
  return m;
}

// ---------------------------------------------------------------------------
// OrderedValidationPool: a ring of max_in_flight result slots indexed by
// sequence number. Submit() takes sequence `next_in` (waiting while the ring
// is full), workers fill slots in any order, Next() hands out slot `next_out`
// once it is filled.

struct OrderedValidationPool::Slot {
  bool filled = false;
  CheckedMessage result;
};

struct OrderedValidationPool::Impl {
  IngressOptions options;
  size_t capacity = 0;
  std::mutex mu;
  std::condition_variable work_cv;   // workers: a job is queued, or shutdown
  std::condition_variable space_cv;  // Submit: a slot was taken by Next
  std::condition_variable ready_cv;  // Next: slot next_out was filled
  std::deque<std::pair<uint64_t, kafka::ConsumedRecord>> jobs;  // GUARDED_BY(mu)
  std::vector<Slot> slots;                                      // GUARDED_BY(mu)
  uint64_t next_in = 0;                                         // GUARDED_BY(mu)
  uint64_t next_out = 0;                                        // GUARDED_BY(mu)
  bool shutdown = false;                                        // GUARDED_BY(mu)
  size_t worker_count = 1;
  std::vector<std::thread> workers;

  void WorkerLoop() {
    Validator validator(options);
    std::vector<std::pair<uint64_t, kafka::ConsumedRecord>> batch;
    std::vector<std::pair<uint64_t, CheckedMessage>> done;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mu);
        work_cv.wait(lock, [&] { return shutdown || !jobs.empty(); });
        if (shutdown) return;
        // Take a few jobs at once to amortize locking; leave some for others.
        size_t take = std::min<size_t>(jobs.size(), std::max<size_t>(1, jobs.size() / worker_count));
        take = std::min<size_t>(take, 32);
        for (size_t i = 0; i < take; ++i) {
          batch.push_back(std::move(jobs.front()));
          jobs.pop_front();
        }
      }
      for (auto& [seq, record] : batch) done.emplace_back(seq, validator.Check(record));
      batch.clear();
      bool wake_next = false;
      {
        std::lock_guard<std::mutex> lock(mu);
        for (auto& [seq, result] : done) {
          Slot& s = slots[seq % capacity];
          s.result = std::move(result);
          s.filled = true;
          wake_next |= seq == next_out;
        }
      }
      done.clear();
      if (wake_next) ready_cv.notify_one();
    }
  }
};

OrderedValidationPool::OrderedValidationPool(const IngressOptions& options, int workers, size_t max_in_flight)
    : impl_(std::make_unique<Impl>()) {
  impl_->options = options;
  impl_->capacity = std::max<size_t>(1, max_in_flight);
  impl_->slots.resize(impl_->capacity);
  const int n = std::max(1, workers);
  impl_->worker_count = static_cast<size_t>(n);
  impl_->workers.reserve(n);
  for (int i = 0; i < n; ++i) impl_->workers.emplace_back([this] { impl_->WorkerLoop(); });
}

OrderedValidationPool::~OrderedValidationPool() { Shutdown(); }

bool OrderedValidationPool::Submit(kafka::ConsumedRecord record) {
  Impl& p = *impl_;
  {
    std::unique_lock<std::mutex> lock(p.mu);
    p.space_cv.wait(lock, [&] { return p.shutdown || p.next_in - p.next_out < p.capacity; });
    if (p.shutdown) return false;
    p.slots[p.next_in % p.capacity].filled = false;
    p.jobs.emplace_back(p.next_in++, std::move(record));
  }
  p.work_cv.notify_one();
  return true;
}

bool OrderedValidationPool::Next(std::chrono::nanoseconds timeout, CheckedMessage* out) {
  Impl& p = *impl_;
  {
    std::unique_lock<std::mutex> lock(p.mu);
    auto ready = [&] { return p.shutdown || (p.next_out < p.next_in && p.slots[p.next_out % p.capacity].filled); };
    if (!p.ready_cv.wait_for(lock, timeout, ready) || p.shutdown) return false;
    Slot& s = p.slots[p.next_out % p.capacity];
    *out = std::move(s.result);
    s.filled = false;
    s.result = CheckedMessage{};
    ++p.next_out;
  }
  p.space_cv.notify_one();
  return true;
}

void OrderedValidationPool::Shutdown() {
  Impl& p = *impl_;
  {
    std::lock_guard<std::mutex> lock(p.mu);
    if (p.shutdown && p.workers.empty()) return;
    p.shutdown = true;
  }
  p.work_cv.notify_all();
  p.space_cv.notify_all();
  p.ready_cv.notify_all();
  std::vector<std::thread> workers;
  {
    std::lock_guard<std::mutex> lock(p.mu);
    workers.swap(p.workers);
  }
  for (auto& t : workers) {
    if (t.joinable()) t.join();
  }
}

}  // namespace ordering

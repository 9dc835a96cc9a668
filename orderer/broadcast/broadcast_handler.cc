#include "orderer/broadcast/broadcast_handler.h"

#include <spdlog/spdlog.h>

#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "orderer/broadcast/stream_answers.h"

namespace ordering {
namespace {

using SteadyClock = std::chrono::steady_clock;

// An error from the chain or the backend, as a Broadcast answer: the
// envelope itself is at fault (InvalidArgument: too large for the brokers)
// or the service could not take it.
BroadcastStatus StatusFor(const Status& st) {
  if (st.ok()) return BROADCAST_STATUS_SUCCESS;
  return st.code() == Status::Code::kInvalidArgument ? BROADCAST_STATUS_BAD_REQUEST
                                                     : BROADCAST_STATUS_SERVICE_UNAVAILABLE;
}

}  // namespace

const char* AckModeName(AckMode mode) { return mode == AckMode::kAccepted ? "accepted" : "durable"; }

bool ParseAckMode(std::string_view name, AckMode* mode) {
  if (name == "accepted") {
    *mode = AckMode::kAccepted;
  } else if (name == "durable") {
    *mode = AckMode::kDurable;
  } else {
    return false;
  }
  return true;
}

// One Broadcast stream: this thread reads and checks; a writer thread
// answers in order.
class BroadcastHandler::Stream {
 public:
  Stream(BroadcastHandler* h, BroadcastStreamIo* io, std::string_view ack_request)
      : h_(h),
        io_(io),
        validator_(h->ingress_),
        answers_(std::make_shared<StreamAnswers>(std::max<uint32_t>(1, h->options_.window))),
        ack_(AckFor(h->options_.ack, ack_request)) {}

  void Run() {
    std::thread writer([this] { WriteAnswers(); });
    std::string frame;
    while (io_->Read(&frame)) {
      if (!answers_->WaitForRoom()) break;  // the client went away
      h_->metrics_->broadcast_received++;
      Take(std::move(frame), SteadyClock::now());
    }
    answers_->DoneReading();
    writer.join();
  }

 private:
  void Take(std::string bytes, SteadyClock::time_point read_at) {
    CheckedEnvelope checked = validator_.Check(std::move(bytes));
    if (!checked.ok()) {
      Reject(checked.cause, std::string(RejectCauseName(checked.cause)) + ": " + checked.detail, read_at);
      return;
    }
    Chain* chain = h_->chain_.load();
    ChainSupport* support = h_->support_.load();
    if (chain == nullptr || support == nullptr) {
      Ready(BROADCAST_STATUS_SERVICE_UNAVAILABLE, checked.tx.tx_id, "the chain is not started yet", read_at);
      return;
    }
    const std::string tx_id = checked.tx.tx_id;
    if (ack_ == AckMode::kAccepted) {
      if (InChain(support, tx_id)) return Duplicate(tx_id, "already in the chain", read_at);
      Status st = chain->Order(std::move(checked.tx));
      Ready(StatusFor(st), tx_id, st.ok() ? "" : st.ToString(), read_at);
      return;
    }
    // Durable: register for the acknowledgement before the chain can give
    // it; then the duplicate checks, in this order (a transaction leaves
    // the waiters only once it is in the chain).
    const uint64_t seq =
        answers_->PushWaiting(tx_id, read_at, read_at + std::chrono::milliseconds(h_->options_.ack_timeout_ms));
    std::shared_ptr<StreamAnswers> answers = answers_;
    AckWaiters* acks = support->acks();
    const uint64_t ticket = acks->Add(tx_id, [answers, seq](const Status& st) {
      answers->Resolve(seq, StatusFor(st), st.ok() ? "" : st.ToString());
    });
    if (ticket == 0) return DuplicateAt(seq, "in flight through this orderer");
    if (!answers_->SetTicket(seq, ticket)) {
      // Answered already (its ack timeout passed) or the client went away:
      // nobody waits for this transaction any more, and the stream's writer
      // did not see this waiter to drop it. Not handed to the chain: the
      // answer given, if any, promised nothing (SERVICE_UNAVAILABLE) or was
      // for a copy of it already durable (SUCCESS).
      acks->Remove(tx_id, ticket);
      return;
    }
    if (InChain(support, tx_id)) {
      acks->Remove(tx_id, ticket);
      return DuplicateAt(seq, "already in the chain");
    }
    Status st = chain->Order(std::move(checked.tx));
    if (!st.ok()) {
      acks->Remove(tx_id, ticket);
      answers_->Resolve(seq, StatusFor(st), st.ToString());
    }
  }

  // A client may ask for the weaker promise on its stream (kAckHeader:
  // "accepted"): a Raft follower forwarding to its leader, which learns of
  // durability from its own ledger and needs only to know the leader took
  // the transaction. Nothing may ask for more than the node's mode.
  static AckMode AckFor(AckMode node, std::string_view ack_request) {
    return ack_request == "accepted" ? AckMode::kAccepted : node;
  }

  static bool InChain(ChainSupport* support, const std::string& tx_id) {
    TxLocation loc;
    return support->ledger()->FindTx(tx_id, &loc).ok();
  }

  void Ready(BroadcastStatus status, const std::string& tx_id, std::string info, SteadyClock::time_point read_at) {
    BroadcastResponse r;
    r.set_status(status);
    if (!tx_id.empty()) r.set_tx_id(tx_id);
    if (!info.empty()) r.set_info(std::move(info));
    answers_->PushReady(std::move(r), read_at);
  }

  void Reject(RejectCause cause, std::string info, SteadyClock::time_point read_at, const std::string& tx_id = "") {
    h_->metrics_->Reject(cause);
    if (rejected_logged_++ == 0) {
      spdlog::warn("broadcast: rejected an envelope from {}: {} (further rejections on this stream are counted)",
                   io_->Peer(), info);
    }
    Ready(BROADCAST_STATUS_BAD_REQUEST, tx_id, std::move(info), read_at);
  }

  void Duplicate(const std::string& tx_id, const std::string& where, SteadyClock::time_point read_at) {
    Reject(RejectCause::kDuplicate, "duplicate: tx id " + tx_id + " is " + where, read_at, tx_id);
  }

  void DuplicateAt(uint64_t seq, const std::string& where) {
    h_->metrics_->Reject(RejectCause::kDuplicate);
    answers_->Resolve(seq, BROADCAST_STATUS_BAD_REQUEST, "duplicate: the tx id is " + where);
  }

  void WriteAnswers() {
    StreamAnswers::Answer a;
    while (answers_->Next(&a)) {
      if (a.timed_out) {
        if (ChainSupport* support = h_->support_.load(); support != nullptr)
          support->acks()->Remove(a.response.tx_id(), a.ticket);
        a.response.set_status(BROADCAST_STATUS_SERVICE_UNAVAILABLE);
        a.response.set_info("not durable within " + std::to_string(h_->options_.ack_timeout_ms) +
                            " ms (--ack-timeout); it may still be ordered: resending the same envelope is safe, a "
                            "copy of one in the chain is refused as a duplicate");
        if (timeouts_logged_++ == 0) {
          spdlog::warn(
              "broadcast: tx {} from {} was not durable within {} ms; answered SERVICE_UNAVAILABLE "
              "(further ones on this stream are counted)",
              a.response.tx_id(), io_->Peer(), h_->options_.ack_timeout_ms);
        }
        h_->metrics_->broadcast_ack_timeouts++;
      }
      Count(a);
      if (!io_->Write(a.response)) {
        ChainSupport* support = h_->support_.load();
        for (const auto& [tx_id, ticket] : answers_->Break()) {
          if (support != nullptr) support->acks()->Remove(tx_id, ticket);
        }
        return;
      }
    }
  }

  void Count(const StreamAnswers::Answer& a) {
    OrdererMetrics* m = h_->metrics_;
    switch (a.response.status()) {
      case BROADCAST_STATUS_SUCCESS:
        m->broadcast_accepted++;
        m->broadcast_ack_duration.ObserveNanos(
            std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now() - a.read_at).count());
        break;
      case BROADCAST_STATUS_SERVICE_UNAVAILABLE:
        m->broadcast_unavailable++;
        break;
      default:
        m->broadcast_bad_request++;
        break;
    }
  }

  BroadcastHandler* const h_;
  BroadcastStreamIo* const io_;
  Validator validator_;
  const std::shared_ptr<StreamAnswers> answers_;
  const AckMode ack_;
  uint64_t rejected_logged_ = 0;  // the reader's
  uint64_t timeouts_logged_ = 0;  // the writer's
};

void BroadcastHandler::Serve(BroadcastStreamIo* io, std::string_view ack_request) {
  SPDLOG_DEBUG("broadcast: stream from {}", io->Peer());
  Stream(this, io, ack_request).Run();
}

}  // namespace ordering

// Broadcast: the way in for transactions (after Fabric's broadcast handler);
// the Broadcast half of ordering.AtomicBroadcast (server.h).
//
// Per stream, each envelope, in order:
//   1. its bytes (gRPC hands them over raw, so a frame that is not an
//      Envelope is answered too) run ingress, the stateless checks; a
//      rejected one is answered BAD_REQUEST with its cause and counted;
//   2. a tx id already in the chain, or (with `--ack durable`) in flight
//      through this node, is answered BAD_REQUEST "duplicate" and counted;
//   3. it goes to the chain (Chain::Order), which blocks while the chain's
//      queue is full; refused: SERVICE_UNAVAILABLE (halted or failed);
//   4. SUCCESS, when the acknowledgement mode's promise holds:
//      * `accepted` (Fabric's meaning): the chain took it for ordering;
//      * `durable` (the default): the backend made it durable by its own
//        rule (orderer/ack/ack_waiters.h): solo, synced to the ledger in a
//        block; Raft, in a block a majority committed and this node wrote;
//        Kafka, acknowledged by the brokers (acks=all). If that does not
//        happen within the ack timeout the answer is SERVICE_UNAVAILABLE
//        (no promise: it may still be ordered; resending is safe).
// A stream whose client sent `ordering-ack: accepted` gets `accepted` (a
// Raft follower forwarding: it learns of durability from its own ledger).
// Answers keep the order of the envelopes. The stream reads ahead while
// answers wait, up to a window of unanswered envelopes; beyond it, reading
// stops and gRPC's flow control slows the client, so nothing is dropped.
// Each stream has its own Validator (and key cache) and a writer thread.
//
// The handler knows nothing of gRPC: a stream reaches it as a
// BroadcastStreamIo (frames in, answers out). server.cc adapts gRPC's raw
// ByteBuffer stream to it; the fuzz target (fuzz/broadcast_fuzz.cc) feeds it
// frames from memory, through the same Serve().
//
// Thread-safety: Serve() on any number of threads at once (gRPC's);
// SetChain() from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "orderer/chain_support.h"
#include "orderer/consensus/consensus.h"
#include "orderer/ingress/validator.h"
#include "orderer/metrics.h"
#include "proto/ab.pb.h"

namespace ordering {

// What Broadcast's SUCCESS promises.
enum class AckMode { kAccepted, kDurable };
const char* AckModeName(AckMode mode);  // "accepted", "durable"
// false for anything but those two names.
bool ParseAckMode(std::string_view name, AckMode* mode);

// Metadata a client sends with its Broadcast stream to take the weaker
// promise, "accepted", on that stream whatever the node's mode.
inline constexpr const char* kAckHeader = "ordering-ack";

// One Broadcast stream as the handler sees it, whatever carries it.
class BroadcastStreamIo {
 public:
  virtual ~BroadcastStreamIo() = default;
  // Replaces *frame with the next frame's bytes (an Envelope, if the client
  // is right); false once
  // the client has closed its side or gone. Called by Serve's thread.
  virtual bool Read(std::string* frame) = 0;
  // Sends one answer; false if the client has gone. Called by the stream's
  // writer thread.
  virtual bool Write(const BroadcastResponse& response) = 0;
  // Who the client is, for logs.
  virtual std::string Peer() const = 0;
};

struct BroadcastOptions {
  AckMode ack = AckMode::kDurable;  // Default: durable
  int64_t ack_timeout_ms = 30000;   // Default: 30 s (durable: answer SERVICE_UNAVAILABLE after this)
  uint32_t window = 4096;           // Default: 4096 envelopes read and not yet answered, per stream
};

class BroadcastHandler {
 public:
  // `metrics` must outlive the handler.
  BroadcastHandler(const BroadcastOptions& options, const IngressOptions& ingress, OrdererMetrics* metrics)
      : options_(options), ingress_(ingress), metrics_(metrics) {}

  // The chain envelopes go to and its support (the ledger for the duplicate
  // check, the acknowledgement waiters); until both are set, streams are
  // answered SERVICE_UNAVAILABLE. Both must outlive every stream (set
  // nullptr before destroying them).
  void SetChain(Chain* chain, ChainSupport* support) {
    support_.store(support);
    chain_.store(chain);
  }

  // Serves one stream: answers each frame `io` reads, in order, and returns
  // once the client has closed its side (or gone) and every answer is
  // written (or cannot be). `ack_request` is the value of the client's
  // kAckHeader metadata ("" if it sent none): "accepted" takes the weaker
  // promise on this stream.
  void Serve(BroadcastStreamIo* io, std::string_view ack_request);

  const BroadcastOptions& options() const { return options_; }

 private:
  class Stream;

  const BroadcastOptions options_;
  const IngressOptions ingress_;
  OrdererMetrics* metrics_;
  std::atomic<Chain*> chain_{nullptr};
  std::atomic<ChainSupport*> support_{nullptr};
};

}  // namespace ordering

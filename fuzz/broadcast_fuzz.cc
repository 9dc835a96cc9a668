// fuzz_broadcast: the Broadcast handler (orderer/broadcast/) on a stream of
// frames from bytes, through BroadcastHandler::Serve, the function server.cc
// hands each gRPC stream to: each frame runs ingress, the duplicate checks
// and goes to a solo chain (its ordering step on an in-memory ledger, a real
// clock and a 1 ms BatchTimeout, so blocks are written within milliseconds);
// answers leave in order through the stream's writer thread.
// What it expects, on any input:
//   * every frame read gets exactly one answer, in order (the answer's tx
//     id, when it has one, is its frame's), and each answer is SUCCESS,
//     BAD_REQUEST or SERVICE_UNAVAILABLE;
//   * a frame ingress rejects (one that is not an Envelope: `malformed`) is
//     answered BAD_REQUEST with that cause; a frame it accepts is never
//     answered BAD_REQUEST but as a duplicate;
//   * SUCCESS only for a frame ingress accepts, on a chain that takes it;
//     with the durable promise, only once its transaction is in the ledger,
//     and once per tx id; on a healthy chain (and a long ack timeout) the
//     first frame of each tx id is answered SUCCESS;
//   * the counters add up, and no acknowledgement waiter outlives its
//     stream.
// Input: two setting bytes (below), then frames as be32(length) || bytes
// (fuzz_util.h: SplitFrames).
//   byte 0: bit 0 node ack mode (0 durable, 1 accepted); bit 1 the client
//           asks for "accepted"; bit 2 signatures verified; bits 3-4 the
//           chain (0 healthy, 1 halted, 2 not started, 3 its ledger fails
//           appends); bits 5-6 window - 1; bit 7 ack timeout 1 ms (else 5 s)
//   byte 1: bits 0-1 MaxMessageCount - 1; bits 2-3 AbsoluteMaxBytes (10 MB,
//           4 KB, 600, 200 bytes); bits 4-6 the client goes away after that
//           many answers (7: never)
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <set>

#include "common/clock.h"
#include "fuzz/fuzz_util.h"
#include "ledger/memory_ledger.h"
#include "orderer/broadcast/broadcast_handler.h"
#include "orderer/chain_support.h"
#include "orderer/consensus/solo/solo_chain.h"
#include "orderer/consensus/testing/faulty_ledger.h"

using namespace ordering;

namespace {

constexpr size_t kMaxFrames = 24;
enum class ChainState { kHealthy, kHalted, kNotStarted, kAppendsFail };

struct Settings {
  AckMode node_ack = AckMode::kDurable;
  bool client_asks_accepted = false;
  bool verify_signatures = false;
  ChainState chain = ChainState::kHealthy;
  uint32_t window = 1;
  int64_t ack_timeout_ms = 5000;
  uint64_t max_message_count = 1;
  uint64_t absolute_max_bytes = 0;
  size_t client_gone_after = SIZE_MAX;  // answers the client takes before it goes away
};

Settings ReadSettings(uint8_t b0, uint8_t b1) {
  static constexpr uint64_t kMaxBytes[] = {10 * 1024 * 1024, 4096, 600, 200};
  Settings s;
  s.node_ack = (b0 & 1) != 0 ? AckMode::kAccepted : AckMode::kDurable;
  s.client_asks_accepted = (b0 & 2) != 0;
  s.verify_signatures = (b0 & 4) != 0;
  s.chain = static_cast<ChainState>((b0 >> 3) & 3);
  s.window = 1 + ((b0 >> 5) & 3);
  s.ack_timeout_ms = (b0 & 0x80) != 0 ? 1 : 5000;  // 1 ms: the least --ack-timeout takes
  s.max_message_count = 1 + (b1 & 3);
  s.absolute_max_bytes = kMaxBytes[(b1 >> 2) & 3];
  const size_t gone = (b1 >> 4) & 7;
  s.client_gone_after = gone == 7 ? SIZE_MAX : gone;
  return s;
}

// What ingress (a validator of the fuzzer's own) says of a frame.
struct Expected {
  RejectCause cause = RejectCause::kNone;
  std::string tx_id;
  bool first_of_its_id = false;  // the first accepted frame with this tx id
};

// The stream as the handler sees it: frames from the input; answers checked
// as they are written (on the handler's writer thread).
class FuzzIo final : public BroadcastStreamIo {
 public:
  FuzzIo(const Settings& s, std::vector<std::string> frames, std::vector<Expected> expected, const Ledger* ledger)
      : s_(s), frames_(std::move(frames)), expected_(std::move(expected)), ledger_(ledger) {}

  bool Read(std::string* frame) override {
    const size_t i = read_.load();
    if (i == frames_.size()) return false;
    *frame = frames_[i];
    read_.store(i + 1);
    return true;
  }

  bool Write(const BroadcastResponse& r) override {
    if (answers_.size() == s_.client_gone_after) return false;
    const size_t i = answers_.size();
    FUZZ_CHECK(i < read_.load());  // an answer belongs to a frame read
    const Expected& e = expected_[i];
    const BroadcastStatus st = r.status();
    FUZZ_CHECK(st == BROADCAST_STATUS_SUCCESS || st == BROADCAST_STATUS_BAD_REQUEST ||
               st == BROADCAST_STATUS_SERVICE_UNAVAILABLE);
    if (e.cause != RejectCause::kNone) {
      FUZZ_CHECK(st == BROADCAST_STATUS_BAD_REQUEST);
      FUZZ_CHECK(r.info().rfind(std::string(RejectCauseName(e.cause)) + ":", 0) == 0);
      FUZZ_CHECK(r.tx_id().empty());
    } else {
      FUZZ_CHECK(r.tx_id() == e.tx_id);
      if (st == BROADCAST_STATUS_BAD_REQUEST) FUZZ_CHECK(r.info().rfind("duplicate:", 0) == 0);
      if (s_.chain == ChainState::kHalted || s_.chain == ChainState::kNotStarted) {
        FUZZ_CHECK(st != BROADCAST_STATUS_SUCCESS);
      }
      if (st == BROADCAST_STATUS_SUCCESS && Durable()) {
        TxLocation where;
        FUZZ_CHECK(ledger_->FindTx(e.tx_id, &where).ok());
        FUZZ_CHECK(succeeded_.insert(e.tx_id).second);
      }
      if (e.first_of_its_id && s_.chain == ChainState::kHealthy && s_.ack_timeout_ms > 1) {
        FUZZ_CHECK(st == BROADCAST_STATUS_SUCCESS);
      }
    }
    answers_.push_back(r);
    return true;
  }

  std::string Peer() const override { return "fuzz"; }

  bool Durable() const { return s_.node_ack == AckMode::kDurable && !s_.client_asks_accepted; }
  size_t read() const { return read_.load(); }
  const std::vector<BroadcastResponse>& answers() const { return answers_; }

 private:
  const Settings s_;
  const std::vector<std::string> frames_;
  const std::vector<Expected> expected_;
  const Ledger* const ledger_;
  std::atomic<size_t> read_{0};             // written by Serve's thread
  std::vector<BroadcastResponse> answers_;  // the writer thread's
  std::set<std::string> succeeded_;         // the writer thread's
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = (fuzz::QuietLogs(), true);
  (void)quiet;
  if (size < 2) return 0;
  const Settings s = ReadSettings(data[0], data[1]);
  std::vector<std::string> frames =
      fuzz::SplitFrames(std::string_view(reinterpret_cast<const char*>(data) + 2, size - 2));
  if (frames.size() > kMaxFrames) frames.resize(kMaxFrames);

  ChannelOptions channel;
  channel.channel_id = fuzz::kChannel;
  channel.batch_size.max_message_count = s.max_message_count;
  channel.batch_size.absolute_max_bytes = s.absolute_max_bytes;
  channel.batch_size.preferred_max_bytes = s.absolute_max_bytes;
  channel.batch_timeout_ms = 1;
  MemoryLedger memory;
  testing::FaultyLedger ledger(&memory);
  OrdererMetrics metrics;
  SystemClock clock;
  std::unique_ptr<ChainSupport> support;
  FUZZ_CHECK(ChainSupport::Create(channel, "solo", &ledger, &metrics, &clock, &support).ok());
  IngressOptions ingress = support->ingress_options();
  ingress.verify_signatures = s.verify_signatures;

  // The oracle: ingress's verdict on each frame.
  std::vector<Expected> expected(frames.size());
  {
    Validator validator(ingress);
    std::set<std::string> ids;
    for (size_t i = 0; i < frames.size(); ++i) {
      CheckedEnvelope checked = validator.Check(frames[i]);
      expected[i].cause = checked.cause;
      if (!checked.ok()) {
        Envelope env;
        if (!env.ParseFromString(frames[i])) {
          FUZZ_CHECK(checked.cause == RejectCause::kMalformed || checked.cause == RejectCause::kOversized);
        }
        continue;
      }
      expected[i].tx_id = checked.tx.tx_id;
      expected[i].first_of_its_id = ids.insert(checked.tx.tx_id).second;
    }
  }

  solo::SoloChain chain(support.get(), solo::SoloOptions{});
  FUZZ_CHECK(chain.Start().ok());
  if (s.chain == ChainState::kHalted) chain.Halt();
  if (s.chain == ChainState::kAppendsFail) ledger.FailAppendsWith(Status::IOError("the disk is full"));

  BroadcastOptions options;
  options.ack = s.node_ack;
  options.ack_timeout_ms = s.ack_timeout_ms;
  options.window = s.window;
  BroadcastHandler handler(options, ingress, &metrics);
  if (s.chain != ChainState::kNotStarted) handler.SetChain(&chain, support.get());
  const size_t n = frames.size();
  FuzzIo io(s, std::move(frames), std::move(expected), &memory);
  handler.Serve(&io, s.client_asks_accepted ? "accepted" : "");

  // Every frame read was answered (up to the client's going away), and no
  // waiter is left behind by the stream.
  const size_t answered = io.answers().size();
  if (s.client_gone_after == SIZE_MAX) {
    FUZZ_CHECK(io.read() == n && answered == n);
    FUZZ_CHECK(metrics.broadcast_received.load() == n);
    FUZZ_CHECK(metrics.broadcast_accepted.load() + metrics.broadcast_unavailable.load() +
                   metrics.broadcast_bad_request.load() ==
               n);
  } else {
    FUZZ_CHECK(answered == std::min(n, s.client_gone_after));
  }
  FUZZ_CHECK(support->acks()->size() == 0);
  handler.SetChain(nullptr, nullptr);
  chain.Halt();
  return 0;
}

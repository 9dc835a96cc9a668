// fuzz_deliver: the Deliver service (orderer/deliver/) on a request from
// bytes, through DeliverService::Serve, the function server.cc hands each
// gRPC stream to, over a small chain (genesis and 7 blocks, built once) of
// which the ledger holds a prefix when the stream starts; some blocks are
// published to the service (its in-memory recent blocks), some only stored.
// Where the stream would wait for a block not committed yet, the service
// asks its `errored` probe first; the target's probe is the rest of the
// orderer: it commits the blocks the stream waits for, shuts the service
// down or reports the chain failed, so no input ever waits.
// What it expects, on any input:
//   * Serve refuses (writing nothing) only a start it does not know, or a
//     service shut down before the request;
//   * a stream is blocks, then at most one status (SERVICE_UNAVAILABLE),
//     last; the blocks are the chain's own, consecutive, from the start
//     asked for (OLDEST: 0, NEWEST: the last committed, SPECIFIED: number),
//     each committed when it was sent;
//   * the stream reaches the tail before it waits (it waits only for a
//     block beyond the height), and ends with a status only for a reason:
//     the chain failed, the service shut down, or the block due could not
//     be read.
// Input: three setting bytes (below), then a serialized SeekInfo.
//   byte 0: bits 0-2 blocks stored before the service starts (0-7); bits 3-5
//           blocks committed after it (published); bits 6-7 the service's
//           recent-block capacity (0, 1, 2, 64)
//   byte 1: bits 0-1 the probe (0 the chain has failed, 1 the service shuts
//           down, 2 commit what the stream waits for, shut down past the
//           chain's end); bits 2-4 a block the ledger cannot read (7: none)
//   byte 2: bits 0-2 the client cancels after that many blocks (7: never);
//           bits 3-5 its connection breaks at that block (7: never); bit 6
//           the service is shut down before the request
#include <cstddef>
#include <cstdint>
#include <memory>

#include "fuzz/fuzz_util.h"
#include "ledger/block_util.h"
#include "ledger/memory_ledger.h"
#include "orderer/deliver/deliver_service.h"

using namespace ordering;

namespace {

constexpr uint64_t kChainLength = 8;
constexpr uint64_t kNever = 7;

// The chain every input serves from: genesis, then a block of one
// transaction each.
const std::vector<Block>& Chain() {
  static const std::vector<Block> chain = [] {
    ChannelConfig config;
    config.set_channel_id(fuzz::kChannel);
    config.set_consensus_type("solo");
    std::vector<Block> blocks = {MakeGenesisBlock(config)};
    for (uint64_t n = 1; n < kChainLength; ++n) {
      Payload payload;
      payload.mutable_header()->set_tx_id("tx" + std::to_string(n));
      payload.mutable_header()->set_creator("fuzz");
      Envelope env;
      env.set_payload(payload.SerializeAsString());
      blocks.push_back(
          MakeBlock(BlockNumber(n), DigestBytes(BlockHash(blocks.back())), {env.SerializeAsString()}, BlockMetadata()));
    }
    return blocks;
  }();
  return chain;
}

// The orderer's ledger, but for one block it cannot read (a lost file).
class FuzzLedger final : public Ledger {
 public:
  explicit FuzzLedger(uint64_t unreadable) : unreadable_(unreadable) {}
  LedgerInfo Info() const override { return memory_.Info(); }
  Status Append(const Block& block) override { return memory_.Append(block); }
  Status GetBlock(BlockNumber number, Block* block) const override {
    if (number.value() == unreadable_) return Status::IOError("the block's file is gone");
    return memory_.GetBlock(number, block);
  }
  Status FindTx(std::string_view tx_id, TxLocation* location) const override { return memory_.FindTx(tx_id, location); }

 private:
  const uint64_t unreadable_;
  MemoryLedger memory_;
};

enum class Probe { kChainFailed, kShutDown, kCommit };

// The client's side of the stream: checks each response as it comes.
class FuzzIo final : public DeliverStreamIo {
 public:
  FuzzIo(const Ledger* ledger, uint64_t cancel_after, uint64_t break_at)
      : ledger_(ledger), cancel_after_(cancel_after), break_at_(break_at) {}

  void Start(uint64_t start) { next_ = start; }

  bool Write(const DeliverResponse& r) override {
    FUZZ_CHECK(!ended_);  // nothing after a status
    if (r.has_block()) {
      if (blocks_ == break_at_) return false;
      const uint64_t number = r.block().header().number();
      FUZZ_CHECK(number == next_);
      FUZZ_CHECK(number < ledger_->Info().height);  // committed
      FUZZ_CHECK(r.block().SerializeAsString() == Chain()[number].SerializeAsString());
      ++next_;
      ++blocks_;
      return true;
    }
    FUZZ_CHECK(r.type_case() == DeliverResponse::kStatus);
    FUZZ_CHECK(r.status() == DELIVER_STATUS_SERVICE_UNAVAILABLE);
    ended_ = true;
    return true;
  }
  bool IsCancelled() const override { return blocks_ >= cancel_after_; }
  std::string Peer() const override { return "fuzz"; }

  uint64_t next() const { return next_; }  // the block due
  uint64_t blocks() const { return blocks_; }
  bool ended() const { return ended_; }

 private:
  const Ledger* const ledger_;
  const uint64_t cancel_after_, break_at_;
  uint64_t next_ = 0;
  uint64_t blocks_ = 0;
  bool ended_ = false;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = (fuzz::QuietLogs(), true);
  (void)quiet;
  if (size < 3) return 0;
  SeekInfo request;
  if (!request.ParseFromArray(data + 3, static_cast<int>(size - 3))) return 0;  // gRPC refuses it
  const std::vector<Block>& chain = Chain();
  const uint64_t stored = data[0] & 7;
  const uint64_t published = std::min<uint64_t>((data[0] >> 3) & 7, kChainLength - stored);
  static constexpr size_t kRecent[] = {0, 1, 2, 64};
  const Probe probe = static_cast<Probe>(std::min(data[1] & 3, 2));
  const uint64_t unreadable = (data[1] >> 2) & 7;
  const uint64_t cancel_after = (data[2] & 7) == kNever ? UINT64_MAX : data[2] & 7;
  const uint64_t break_at = ((data[2] >> 3) & 7) == kNever ? UINT64_MAX : (data[2] >> 3) & 7;

  FuzzLedger ledger(unreadable == kNever ? UINT64_MAX : unreadable);
  for (uint64_t n = 0; n < stored; ++n) FUZZ_CHECK(ledger.Append(chain[n]).ok());
  FuzzIo io(&ledger, cancel_after, break_at);
  DeliverService* service_ptr = nullptr;
  bool probe_ended = false;  // the probe ended the stream (failed chain, shutdown)
  uint64_t blocks_at_last_probe = UINT64_MAX;
  auto commit = [&](uint64_t n) {
    FUZZ_CHECK(ledger.Append(chain[n]).ok());
    service_ptr->Publish(std::make_shared<Block>(chain[n]));
  };
  DeliverService service(&ledger, kRecent[data[0] >> 6], [&]() -> Status {
    // The stream would wait: it has every committed block it asked for.
    const uint64_t height = ledger.Info().height;
    FUZZ_CHECK(io.next() >= height);
    // And it waits only once per block it is sent (no spinning).
    FUZZ_CHECK(blocks_at_last_probe == UINT64_MAX || io.blocks() > blocks_at_last_probe);
    blocks_at_last_probe = io.blocks();
    if (probe == Probe::kChainFailed) {
      probe_ended = true;
      return Status::Internal("the chain failed");
    }
    if (probe == Probe::kCommit && io.next() < kChainLength) {
      while (ledger.Info().height <= io.next()) commit(ledger.Info().height);
      return Status::OK();
    }
    probe_ended = true;
    service_ptr->Shutdown();
    return Status::OK();
  });
  service_ptr = &service;
  for (uint64_t n = stored; n < stored + published; ++n) commit(n);
  const bool shut_before = (data[2] & 0x40) != 0;
  if (shut_before) service.Shutdown();

  const uint64_t height = ledger.Info().height;
  uint64_t start = 0;
  bool known_start = true;
  switch (request.start()) {
    case SeekInfo::NEWEST:
      start = height > 0 ? height - 1 : 0;
      break;
    case SeekInfo::OLDEST:
      start = 0;
      break;
    case SeekInfo::SPECIFIED:
      start = request.number();
      break;
    default:
      known_start = false;
  }
  io.Start(start);
  const Status st = service.Serve(request, &io);
  if (shut_before) {
    FUZZ_CHECK(st.code() == Status::Code::kUnavailable);
  } else if (!known_start) {
    FUZZ_CHECK(st.code() == Status::Code::kInvalidArgument);
  } else {
    FUZZ_CHECK(st.ok());
  }
  if (!st.ok()) {
    FUZZ_CHECK(io.blocks() == 0 && !io.ended());
    return 0;
  }
  // Why the stream ended.
  if (io.ended()) {
    // A status: the probe's doing, or the block due could not be read.
    FUZZ_CHECK(probe_ended || io.next() == unreadable);
  } else {
    // No status: the client cancelled or went away.
    FUZZ_CHECK(io.blocks() >= cancel_after || io.blocks() == break_at);
  }
  return 0;
}

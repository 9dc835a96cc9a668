// fuzz_genesis: the channel configuration a genesis block carries, as an
// orderer restarted on an existing ledger reads it: ReadGenesisConfig
// (ledger/block_util.h), then ChainSupport::Create on a ledger whose block 0
// is the input (the stored config wins over the requested one), then the
// ordering step under that config: transactions of sizes around its limits
// through the cutter and the batch timer, cut, written, and the result must
// verify.
// Input: a serialized Block (meant to be a genesis block).
#include <cstddef>
#include <cstdint>

#include "common/clock.h"
#include "fuzz/fuzz_util.h"
#include "ledger/block_store.h"
#include "ledger/block_util.h"
#include "ledger/memory_ledger.h"
#include "orderer/chain_support.h"
#include "orderer/ingress/validator.h"

using namespace ordering;

namespace {

CutterMessage Tx(int i, uint64_t size) {
  Payload payload;
  payload.mutable_header()->set_tx_id("tx" + std::to_string(i));
  payload.mutable_header()->set_creator("fuzz");
  Envelope env;
  env.set_payload(payload.SerializeAsString());
  return CutterMessage{env.SerializeAsString(), size, payload.header().tx_id()};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = (fuzz::QuietLogs(), true);
  (void)quiet;
  Block genesis;
  if (!genesis.ParseFromArray(data, static_cast<int>(size))) return 0;
  ChannelConfig config;
  const bool is_genesis = ReadGenesisConfig(genesis, &config).ok();

  MemoryLedger ledger;
  if (!ledger.Append(genesis).ok()) return 0;
  OrdererMetrics metrics;
  ManualClock clock;
  ChannelOptions requested;  // the orderer's defaults, for the ledger's channel
  if (is_genesis) requested.channel_id = config.channel_id();
  const std::string type = is_genesis ? config.consensus_type() : "solo";
  std::unique_ptr<ChainSupport> chain;
  std::string note;
  const Status created = ChainSupport::Create(requested, type, &ledger, &metrics, &clock, &chain, &note);
  if (!is_genesis) FUZZ_CHECK(!created.ok());
  if (!created.ok()) return 0;
  // The stored configuration is the one in force.
  const ChannelOptions& o = chain->options();
  FUZZ_CHECK(o.channel_id == config.channel_id());
  FUZZ_CHECK(o.batch_size.max_message_count == config.batch_size().max_message_count());
  FUZZ_CHECK(o.batch_size.preferred_max_bytes == config.batch_size().preferred_max_bytes());
  FUZZ_CHECK(o.batch_size.absolute_max_bytes == config.batch_size().absolute_max_bytes());
  FUZZ_CHECK(o.batch_timeout_ms == config.batch_timeout_ms());
  FUZZ_CHECK(chain->ingress_options().channel_id == config.channel_id());
  // The batch timer's deadlines (now + BatchTimeout, int64 nanoseconds) are
  // representable for a long while yet (said here too so that the replay
  // test catches an overflow without UBSan).
  int64_t timeout_ns = 0, deadline_ns = 0;
  FUZZ_CHECK(!__builtin_mul_overflow(o.batch_timeout_ms, 1'000'000, &timeout_ns));
  FUZZ_CHECK(!__builtin_add_overflow(clock.NowNanos() + 3'600'000'000'000, timeout_ns, &deadline_ns));

  // Ingress under this config takes a transaction for its channel that is
  // within AbsoluteMaxBytes (signatures aside: the tx is unsigned).
  {
    IngressOptions io = chain->ingress_options();
    io.verify_signatures = false;
    Payload payload;
    Header* h = payload.mutable_header();
    h->set_channel_id(config.channel_id());
    h->set_creator("fuzz");
    h->set_nonce("n");
    h->set_tx_id(ComputeTxId(h->nonce(), h->creator()));
    Envelope env;
    env.set_payload(payload.SerializeAsString());
    Validator validator(io);
    const CheckedEnvelope checked = validator.Check(env.SerializeAsString());
    FUZZ_CHECK(checked.ok() || env.payload().size() > io.absolute_max_bytes);
  }

  // Order transactions of sizes around the configured limits.
  const uint64_t preferred = o.batch_size.preferred_max_bytes;
  const uint64_t sizes[] = {1, preferred / 2 + 1, preferred, preferred + 1, 1, 1};
  int i = 0;
  std::vector<Batch> batches;
  for (uint64_t s : sizes) {
    OrderOutcome outcome = chain->Order(Tx(i++, s));
    FUZZ_CHECK(!outcome.duplicate && outcome.batches.size() <= 2);
    for (OrderedBatch& b : outcome.batches) batches.push_back(std::move(b.batch));
    clock.Advance(std::chrono::milliseconds(1));
  }
  // BatchTimeout fires (on the manual clock) for what is pending.
  const int64_t deadline = chain->BatchDeadline();
  if (deadline > clock.NowNanos()) clock.Advance(std::chrono::nanoseconds(deadline - clock.NowNanos()));
  OrderedBatch last = chain->CutPending();
  if (!last.batch.messages.empty()) batches.push_back(std::move(last.batch));
  size_t ordered = 0;
  for (Batch& b : batches) {
    FUZZ_CHECK(!b.messages.empty());
    ordered += b.messages.size();
    FUZZ_CHECK(chain->WriteBlock(chain->CreateNextBlock(std::move(b), "")).ok());
  }
  FUZZ_CHECK(ordered == std::size(sizes));

  // The blocks written under this configuration verify (genesis is the
  // input's, hashed as it came).
  const std::vector<Block> blocks = ledger.blocks();
  FUZZ_CHECK(blocks.size() == 1 + batches.size());
  std::string previous_hash = DigestBytes(BlockHash(blocks[0])), previous_consenter;
  for (uint64_t n = 1; n < blocks.size(); ++n) {
    Block parsed;
    std::vector<std::string> ids;
    FUZZ_CHECK(VerifyBlockBytes(n, blocks[n].SerializeAsString(), previous_hash, previous_consenter, {}, &parsed, &ids)
                   .empty());
    previous_hash = DigestBytes(BlockHash(parsed));
  }
  return 0;
}

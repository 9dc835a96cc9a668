// fuzz_raft: the raft backend's decoders of bytes from other nodes and from
// its own disk (orderer/consensus/raft/): the Raft entry that carries a
// block, snapshots, the block metadata, the transactions of a block; then
// its state machine (BlockStateMachine, through the raft_fsm callbacks
// libraft calls) applying entries and restoring snapshots on a node whose
// ledger starts at the genesis of a reference chain that node 2 of a fake
// peer network serves for catch-up.
// What it expects, on any input:
//   * each decoder takes exactly what its format allows, and what it
//     decodes encodes back to the same bytes (an entry: up to its padding);
//   * applying an entry writes at most the next block, and exactly that
//     block; an entry that is not a block, or holds a block beyond the
//     height, or a stored block's number with other contents, stops the
//     node (RaftShared::Fail); a stopped node writes nothing more;
//   * a restored snapshot leaves the ledger at (at least) its height, ending
//     in its hash, or stops the node; a snapshot taken decodes to the
//     ledger's height and last hash.
// Input: the whole input to the decoders; then, as steps for the state
// machine, frames as be32(length) || bytes (fuzz_util.h: SplitFrames),
// each an operation byte and its argument:
//   0, 7: apply the argument as an entry, as is
//   1: apply an entry of the argument parsed as a Block, made the next
//      block (number, previous hash and data hash set right)
//   2: apply an entry of the reference chain's block argument[0] % 10
//   3: restore the argument as a snapshot, as is
//   4: restore the reference chain's snapshot at height argument[0] % 11
//   5: take a snapshot
//   6: node 2 refuses fetches (argument[0] odd) or serves them
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "common/clock.h"
#include "common/envelope.h"
#include "fuzz/fuzz_util.h"
#include "ledger/block_util.h"
#include "ledger/memory_ledger.h"
#include "orderer/chain_support.h"
#include "orderer/consensus/raft/raft_format.h"
#include "orderer/consensus/raft/raft_parts.h"
#include "orderer/consensus/raft/testing/fake_raft_peers.h"

using namespace ordering;
using namespace ordering::raft_backend;

namespace {

constexpr uint64_t kReference = 10;  // blocks in the reference chain
constexpr size_t kMaxSteps = 16;

// A chain of kReference blocks ordered by raft, genesis first.
const MemoryLedger& Reference() {
  static const MemoryLedger* ledger = [] {
    auto* l = new MemoryLedger();
    ChannelConfig config;
    config.set_channel_id(fuzz::kChannel);
    config.mutable_batch_size()->set_max_message_count(10);
    config.mutable_batch_size()->set_absolute_max_bytes(4096);
    config.mutable_batch_size()->set_preferred_max_bytes(2048);
    config.set_batch_timeout_ms(200);
    config.set_consensus_type("raft");
    Block previous = MakeGenesisBlock(config);
    FUZZ_CHECK(l->Append(previous).ok());
    for (uint64_t n = 1; n < kReference; ++n) {
      Payload payload;
      payload.mutable_header()->set_tx_id("tx" + std::to_string(n));
      payload.mutable_header()->set_creator("fuzz");
      Envelope env;
      env.set_payload(payload.SerializeAsString());
      BlockMetadata md;
      md.set_consenter(EncodeMetadata({1, 2}));
      previous = MakeBlock(BlockNumber(n), DigestBytes(BlockHash(previous)), {env.SerializeAsString()}, md);
      FUZZ_CHECK(l->Append(previous).ok());
    }
    return l;
  }();
  return *ledger;
}

Block ReferenceBlock(uint64_t n) {
  Block b;
  FUZZ_CHECK(Reference().GetBlock(BlockNumber(n), &b).ok());
  return b;
}

std::string Entry(const std::string& block) {
  std::string entry(EntrySize(block.size()), '\0');
  EncodeEntry(block, entry.data());
  return entry;
}

// The decoders on `in`.
void Decoders(const std::string& in) {
  std::string_view block;
  const bool decoded = DecodeEntry(in.data(), in.size(), &block);
  if (decoded) {
    FUZZ_CHECK(EntrySize(block.size()) == in.size());
    const std::string again = Entry(std::string(block));
    FUZZ_CHECK(again.compare(0, 8 + block.size(), in, 0, 8 + block.size()) == 0);
    std::string_view block_again;
    FUZZ_CHECK(DecodeEntry(again.data(), again.size(), &block_again) && block_again == block);
  }
  // The format: be64(n) || n bytes || padding to a multiple of 8 (not read).
  const uint64_t n = in.size() >= 8 ? ReadBe(in, 0, 8) : 0;
  const bool well_formed = in.size() >= 8 && in.size() % 8 == 0 && n <= in.size() - 8 && EntrySize(n) == in.size();
  FUZZ_CHECK(decoded == well_formed);
  RaftSnapshot snap;
  const bool snap_ok = DecodeSnapshot(in, &snap).ok();
  FUZZ_CHECK(snap_ok == (in.size() >= 8));
  if (snap_ok) FUZZ_CHECK(EncodeSnapshot(snap) == in);
  RaftMetadata md;
  const bool md_ok = DecodeMetadata(in, &md);
  FUZZ_CHECK(md_ok == (in.size() == 16));
  if (md_ok) FUZZ_CHECK(EncodeMetadata(md) == in);
  Block parsed;
  if (parsed.ParseFromString(in)) {
    std::vector<CutterMessage> txs;
    if (TransactionsOf(parsed, &txs).ok()) {
      FUZZ_CHECK(txs.size() == static_cast<size_t>(parsed.data().data_size()));
      for (size_t i = 0; i < txs.size(); ++i) {
        DecodedTx tx;
        FUZZ_CHECK(DecodeTx(txs[i].envelope, &tx).ok() && tx.tx_id() == txs[i].tx_id);
        FUZZ_CHECK(txs[i].envelope == parsed.data().data(static_cast<int>(i)));
      }
    }
  }
}

// One raft node's state machine over a ledger that holds the reference
// genesis, with node 2 serving the reference chain.
struct Node {
  Node() {
    FUZZ_CHECK(ledger.Append(ReferenceBlock(0)).ok());
    ChannelOptions channel;
    channel.channel_id = fuzz::kChannel;
    FUZZ_CHECK(ChainSupport::Create(channel, "raft", &ledger, &metrics, &clock, &support).ok());
    network.Add(2, {nullptr, &Reference()});
    RaftOptions o;
    o.id = 1;
    for (uint64_t id = 1; id <= 3; ++id) o.cluster.push_back({id, "127.0.0.1:1", "127.0.0.1:1"});
    parts = std::make_unique<RaftParts>(support.get(), o, network.PeersOf(1));
  }
  uint64_t height() const { return ledger.Info().height; }
  bool failed() const { return !parts->shared.error().ok(); }
  std::string HashAt(uint64_t n) const {
    std::string h;
    FUZZ_CHECK(support->BlockHashAt(BlockNumber(n), &h).ok());
    return h;
  }

  int Apply(std::string entry) {
    raft_buffer buf{entry.data(), entry.size()};
    void* result = nullptr;
    return parts->fsm.fsm()->apply(parts->fsm.fsm(), &buf, &result);
  }
  int Restore(const std::string& bytes) {
    raft_buffer buf{raft_malloc(bytes.size() + 1), bytes.size()};  // +1: raft_malloc(0) may be null
    FUZZ_CHECK(buf.base != nullptr);
    if (!bytes.empty()) std::memcpy(buf.base, bytes.data(), bytes.size());
    const int rv = parts->fsm.fsm()->restore(parts->fsm.fsm(), &buf);
    if (rv != 0) raft_free(buf.base);  // taken only on success
    return rv;
  }

  MemoryLedger ledger;
  OrdererMetrics metrics;
  ManualClock clock;
  std::unique_ptr<ChainSupport> support;
  testing::FakeRaftNetwork network;
  std::unique_ptr<RaftParts> parts;
};

// Applies `entry`; checks what became of it.
void ApplyStep(Node* node, const std::string& entry) {
  const uint64_t h = node->height();
  const bool was_failed = node->failed();
  FUZZ_CHECK(node->Apply(entry) == 0);
  if (was_failed) {
    FUZZ_CHECK(node->height() == h);
    return;
  }
  std::string_view bytes;
  Block block;
  if (!DecodeEntry(entry.data(), entry.size(), &bytes) ||
      !block.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    FUZZ_CHECK(node->failed() && node->height() == h);
    return;
  }
  const uint64_t number = block.header().number();
  if (number < h) {
    FUZZ_CHECK(node->height() == h);
    FUZZ_CHECK(node->failed() == (node->HashAt(number) != DigestBytes(BlockHash(block))));
  } else if (number > h) {
    FUZZ_CHECK(node->failed() && node->height() == h);
  } else if (node->height() == h + 1) {
    Block stored;
    FUZZ_CHECK(node->ledger.GetBlock(BlockNumber(h), &stored).ok());
    FUZZ_CHECK(stored.SerializeAsString() == block.SerializeAsString());
    FUZZ_CHECK(!node->failed());
  } else {
    FUZZ_CHECK(node->failed() && node->height() == h);  // the ledger refused it
  }
}

void RestoreStep(Node* node, const std::string& bytes) {
  const uint64_t h = node->height();
  const bool was_failed = node->failed();
  const int rv = node->Restore(bytes);
  if (was_failed) {
    FUZZ_CHECK(node->height() == h);
    return;
  }
  RaftSnapshot snap;
  if (!DecodeSnapshot(bytes, &snap).ok()) {
    FUZZ_CHECK(rv != 0 && node->failed() && node->height() == h);
    return;
  }
  if (rv != 0) {
    FUZZ_CHECK(node->failed());
    return;
  }
  FUZZ_CHECK(!node->failed());
  FUZZ_CHECK(node->height() >= snap.height);
  if (snap.height > 0) FUZZ_CHECK(node->HashAt(snap.height - 1) == snap.last_hash);
  if (snap.height <= h) FUZZ_CHECK(node->height() == h);
}

void SnapshotStep(Node* node) {
  raft_buffer* bufs = nullptr;
  unsigned n = 0;
  const int rv = node->parts->fsm.fsm()->snapshot(node->parts->fsm.fsm(), &bufs, &n);
  FUZZ_CHECK(rv == 0 && n == 1);
  RaftSnapshot snap;
  FUZZ_CHECK(DecodeSnapshot(std::string_view(static_cast<const char*>(bufs[0].base), bufs[0].len), &snap).ok());
  FUZZ_CHECK(snap.height == node->height());
  FUZZ_CHECK(snap.last_hash == node->ledger.Info().last_hash);
  raft_free(bufs[0].base);
  raft_free(bufs);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = (fuzz::QuietLogs(), true);
  (void)quiet;
  const std::string in = fuzz::Bytes(data, size);
  Decoders(in);

  std::vector<std::string> steps = fuzz::SplitFrames(in);
  if (steps.size() > kMaxSteps) steps.resize(kMaxSteps);
  Node node;
  for (const std::string& step : steps) {
    if (step.empty()) continue;
    const std::string arg = step.substr(1);
    const uint8_t a0 = arg.empty() ? 0 : static_cast<uint8_t>(arg[0]);
    switch (step[0] & 7) {
      case 1: {
        Block block;
        if (!block.ParseFromString(arg)) break;
        block.DiscardUnknownFields();
        block.mutable_header()->set_number(node.height());
        block.mutable_header()->set_previous_hash(node.ledger.Info().last_hash);
        block.mutable_header()->set_data_hash(DigestBytes(DataHash(block.data())));
        ApplyStep(&node, Entry(block.SerializeAsString()));
        break;
      }
      case 2:
        ApplyStep(&node, Entry(ReferenceBlock(a0 % kReference).SerializeAsString()));
        break;
      case 3:
        RestoreStep(&node, arg);
        break;
      case 4: {
        RaftSnapshot snap;
        snap.height = a0 % (kReference + 1);
        if (snap.height > 0) snap.last_hash = DigestBytes(BlockHash(ReferenceBlock(snap.height - 1)));
        RestoreStep(&node, EncodeSnapshot(snap));
        break;
      }
      case 5:
        SnapshotStep(&node);
        break;
      case 6:
        node.network.RefuseFetches(2, (a0 & 1) != 0);
        break;
      default:
        ApplyStep(&node, arg);
        break;
    }
  }
  return 0;
}

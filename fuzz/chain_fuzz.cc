// fuzz_chain: `ledger verify` over a chain of blocks from bytes (the checks
// of BlockStore::Verify without RocksDB: VerifyBlockBytes block by block,
// the backend named in genesis for the metadata rule, the tx index, every
// signature) on what the in-memory ledger's Append stored of them: a chain
// that verifies is one the ledger took, and the index catches every
// duplicate tx id. Run on the blocks as given, then with every data
// hash and previous hash made right, so the later blocks' own checks see
// fuzzed blocks too.
// Input: blocks framed as be32(length) || serialized Block, genesis first
// (fuzz_util.h: SplitFrames).
#include <cstddef>
#include <cstdint>
#include <set>

#include "common/envelope.h"
#include "fuzz/fuzz_util.h"
#include "ledger/block_store.h"
#include "ledger/block_util.h"
#include "ledger/memory_ledger.h"
#include "orderer/consensus/registry.h"

using namespace ordering;

namespace {

constexpr size_t kMaxBlocks = 16;

void VerifyChain(const std::vector<std::string>& blocks) {
  // What the orderer would have stored: each block that parses, while the
  // ledger takes it (Append: numbering and previous hash), with its index.
  MemoryLedger ledger;
  for (const std::string& bytes : blocks) {
    Block block;
    if (!block.ParseFromString(bytes) || !ledger.Append(block).ok()) break;
  }
  const uint64_t height = ledger.Info().height;

  // BlockStore::Verify over it.
  VerifyOptions options;
  Block genesis;
  ChannelConfig config;
  if (!blocks.empty() && genesis.ParseFromString(blocks[0]) && ReadGenesisConfig(genesis, &config).ok()) {
    std::unique_ptr<Backend> backend = MakeBackend(config.consensus_type());
    if (!backend) return;  // `ledger verify` refuses a chain of an unknown backend
    options.check_consenter = backend->MetadataCheck();
  }
  Verifier verifier;
  std::set<std::string> seen;
  std::string previous_hash, previous_consenter;
  for (size_t n = 0; n < blocks.size(); ++n) {
    Block block;
    std::vector<std::string> ids;
    if (!VerifyBlockBytes(n, blocks[n], previous_hash, previous_consenter, options, &block, &ids).empty()) return;
    // A chain verify accepts so far is one the ledger took.
    FUZZ_CHECK(n < height);
    for (size_t i = 0; i < ids.size(); ++i) {
      TxLocation found;
      if (!ledger.FindTx(ids[i], &found).ok() || found.block.value() != n || found.index != i) return;
      // The index's positions catch every duplicate tx id.
      FUZZ_CHECK(seen.insert(ids[i]).second);
      DecodedTx tx;
      FUZZ_CHECK(DecodeTx(block.data().data(static_cast<int>(i)), &tx).ok());
      if (!verifier.Verify(tx.header().creator(), tx.envelope.payload(), tx.envelope.signature())) return;
    }
    previous_consenter = block.metadata().consenter();
    previous_hash = DigestBytes(BlockHash(block));
  }
  // All of it verified, and it is all the ledger holds (nothing beyond).
  FUZZ_CHECK(height == blocks.size());
  const LedgerInfo info = ledger.Info();
  FUZZ_CHECK(info.last_hash == previous_hash && info.last_consenter == previous_consenter);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = (fuzz::QuietLogs(), true);
  (void)quiet;
  std::vector<std::string> blocks = fuzz::SplitFrames(std::string_view(reinterpret_cast<const char*>(data), size));
  if (blocks.size() > kMaxBlocks) blocks.resize(kMaxBlocks);
  VerifyChain(blocks);

  // Every block that parses, linked: data hash and previous hash recomputed.
  std::string previous_hash;
  for (std::string& bytes : blocks) {
    Block block;
    if (!block.ParseFromString(bytes)) break;
    block.DiscardUnknownFields();
    block.mutable_header()->set_previous_hash(previous_hash);
    block.mutable_header()->set_data_hash(DigestBytes(DataHash(block.data())));
    bytes = block.SerializeAsString();
    previous_hash = DigestBytes(BlockHash(block));
  }
  VerifyChain(blocks);
  return 0;
}

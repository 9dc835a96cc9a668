// fuzz_block: one block from bytes, as the ledger and `ledger show` /
// `ledger verify` read it (ledger/block_util.h, ledger/block_store.h):
// parsing, DataHash and BlockHash, tx-id extraction, the genesis config,
// BlockToJson with every backend's metadata view, and VerifyBlockBytes (the
// per-block part of `ledger verify`) with every backend's metadata rule, on
// the bytes as given and with the block's data hash made right (so the
// checks after it see fuzzed blocks too).
// Input: a serialized Block.
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_util.h"
#include "ledger/block_store.h"
#include "ledger/block_util.h"
#include "orderer/consensus/registry.h"

using namespace ordering;

namespace {

// VerifyBlockBytes as `ledger verify` runs it on a block whose predecessor
// had `previous_hash` and metadata `previous_consenter`, with backend
// `check`. Returns whether the block passed.
bool Verify(const std::string& bytes, uint64_t number, const std::string& previous_hash,
            const std::string& previous_consenter, const ConsenterMetadataCheck& check) {
  VerifyOptions options;
  options.check_consenter = check;
  Block block;
  std::vector<std::string> ids;
  const std::string problem = VerifyBlockBytes(number, bytes, previous_hash, previous_consenter, options, &block, &ids);
  if (!problem.empty()) return false;
  // What passed is exactly these bytes, canonical, linked and hashed right.
  FUZZ_CHECK(block.SerializeAsString() == bytes);
  FUZZ_CHECK(block.header().number() == number);
  FUZZ_CHECK(block.header().previous_hash() == previous_hash);
  FUZZ_CHECK(block.header().data_hash() == DigestBytes(DataHash(block.data())));
  ChannelConfig config;
  if (number == 0) {
    FUZZ_CHECK(ReadGenesisConfig(block, &config).ok());
    FUZZ_CHECK(ids.empty());
  } else {
    FUZZ_CHECK(!ReadGenesisConfig(block, &config).ok());
    FUZZ_CHECK(!ids.empty() && ids.size() == static_cast<size_t>(block.data().data_size()));
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = (fuzz::QuietLogs(), true);
  (void)quiet;
  const std::string input = fuzz::Bytes(data, size);
  Block block;
  if (!block.ParseFromString(input)) {
    FUZZ_CHECK(!Verify(input, 0, "", "", {}));
    return 0;
  }
  const Digest data_hash = DataHash(block.data());
  const Digest block_hash = BlockHash(block);
  FUZZ_CHECK(BlockHash(block) == block_hash);  // deterministic
  std::vector<std::string> ids;
  if (ExtractTxIds(block, &ids).ok()) FUZZ_CHECK(ids.size() == static_cast<size_t>(block.data().data_size()));
  ChannelConfig config;
  (void)ReadGenesisConfig(block, &config);

  const uint64_t number = block.header().number();
  const std::string& previous = block.header().previous_hash();
  (void)BlockToJson(block, false).dump();
  for (const RegisteredBackend& b : Backends()) {
    std::unique_ptr<Backend> backend = b.make();
    auto describe = [&](const std::string& md) { return backend->DescribeMetadata(md); };
    (void)BlockToJson(block, true, describe).dump(2);
    Verify(input, number, previous, "", backend->MetadataCheck());
    (void)backend->MetadataCheck()(number, block.metadata().consenter(), block.metadata().consenter());
  }

  // The same block with its data hash right, canonically encoded.
  block.DiscardUnknownFields();
  block.mutable_header()->set_data_hash(DigestBytes(data_hash));
  const std::string repaired = block.SerializeAsString();
  Verify(repaired, number, previous, "", {});
  for (const RegisteredBackend& b : Backends()) Verify(repaired, number, previous, "", b.make()->MetadataCheck());
  return 0;
}

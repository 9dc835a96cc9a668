#include "ledger/block_util.h"

#include <gtest/gtest.h>

#include "common/clock.h"
#include "common/tx_factory.h"

namespace ordering {
namespace {

// Expected values computed independently (Python hashlib over the documented
// encodings), so a change to the format fails here.
TEST(BlockUtil, DataHashOfEmptyBlockIsHashOfEmptyString) {
  BlockData d;
  EXPECT_EQ(ToHex(DataHash(d)), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(BlockUtil, DataHashLengthPrefixesEveryEntry) {
  BlockData d;
  d.add_data("abc");
  d.add_data("");
  EXPECT_EQ(ToHex(DataHash(d)), "2ddb14a1438cb06f0658085e174f50efba5cfb97b27cfcc9d5c69735e9602e1e");
  // Moving the boundary between entries changes the hash.
  BlockData e;
  e.add_data("ab");
  e.add_data("c");
  EXPECT_NE(DataHash(d), DataHash(e));
}

TEST(BlockUtil, BlockHashMatchesVectorAndCoversMetadata) {
  Block b;
  b.mutable_header()->set_number(258);
  b.mutable_header()->set_previous_hash("pq");
  b.mutable_header()->set_data_hash("xyz");
  b.mutable_metadata()->set_cut_reason(CUT_REASON_TIMEOUT);
  // Vectors computed independently (Python hashlib over the documented encoding).
  EXPECT_EQ(ToHex(BlockHash(b)), "be54a72963ed33aa6bea248558e0976467d5b1b6b9b2f600c6400f4b0027ec0f");
  b.mutable_metadata()->set_cut_reason(CUT_REASON_OVERSIZED_MESSAGE);
  EXPECT_EQ(ToHex(BlockHash(b)), "8651fe9a3ec7b4de0ffa7b5b39f04e096c35095fbc37f9ec38f280640313a24c");
  b.mutable_metadata()->set_consenter(std::string("\x08\x07", 2));
  EXPECT_EQ(ToHex(BlockHash(b)), "6e663f65ebb66947537aa5f80979f95410f7502a7d066c2a7af6a61dfa399620");
  Block zero;
  EXPECT_EQ(ToHex(BlockHash(zero)), "aaaa62c5e8d4b302658c3971f1faeab950ffc923c721f1f98b842b5dfbd31cde");
}

ChannelConfig TestConfig() {
  ChannelConfig c;
  c.set_channel_id("ch");
  c.set_consensus_type("kafka");
  c.set_batch_timeout_ms(2000);
  c.mutable_batch_size()->set_max_message_count(10);
  c.mutable_batch_size()->set_preferred_max_bytes(1000);
  c.mutable_batch_size()->set_absolute_max_bytes(5000);
  return c;
}

TEST(BlockUtil, GenesisIsDeterministicAndDescribesTheChannel) {
  Block a = MakeGenesisBlock(TestConfig());
  Block b = MakeGenesisBlock(TestConfig());
  EXPECT_EQ(a.SerializeAsString(), b.SerializeAsString());
  EXPECT_EQ(a.header().number(), 0u);
  EXPECT_TRUE(a.header().previous_hash().empty());
  EXPECT_TRUE(a.metadata().consenter().empty());
  EXPECT_EQ(a.metadata().cut_reason(), CUT_REASON_GENESIS);
  ASSERT_EQ(a.data().data_size(), 1);
  ChannelConfig parsed;
  ASSERT_TRUE(parsed.ParseFromString(a.data().data(0)));
  EXPECT_EQ(parsed.channel_id(), "ch");
  EXPECT_EQ(a.header().data_hash().size(), 32u);
  nlohmann::json j = BlockToJson(a, false);
  EXPECT_EQ(j["channel_config"]["max_message_count"], 10);
  EXPECT_EQ(j["tx_count"], 0);
}

TEST(BlockUtil, MakeBlockLinksAndExtractsTxIds) {
  std::unique_ptr<Signer> signer;
  ASSERT_TRUE(Signer::Generate(&signer).ok());
  TxFactory f(signer.get(), TxFactoryOptions{"ch", 1024}, SystemClock::Default());
  std::vector<std::string> envs, ids;
  for (int i = 0; i < 3; ++i) {
    BuiltTx tx;
    ASSERT_TRUE(f.Build(&tx).ok());
    envs.push_back(tx.envelope);
    ids.push_back(tx.tx_id);
  }
  Block g = MakeGenesisBlock(TestConfig());
  std::string prev(reinterpret_cast<const char*>(BlockHash(g).data()), 32);
  BlockMetadata md;
  md.set_consenter("opaque");
  md.set_cut_reason(CUT_REASON_MAX_MESSAGE_COUNT);
  Block b = MakeBlock(BlockNumber(1), prev, envs, md);
  EXPECT_EQ(b.header().previous_hash(), prev);
  EXPECT_EQ(b.header().data_hash(), std::string(reinterpret_cast<const char*>(DataHash(b.data()).data()), 32));
  std::vector<std::string> got;
  ASSERT_TRUE(ExtractTxIds(b, &got).ok());
  EXPECT_EQ(got, ids);
  nlohmann::json j = BlockToJson(b, true);
  EXPECT_EQ(j["tx_count"], 3);
  EXPECT_EQ(j["tx_ids"][1], ids[1]);
  EXPECT_EQ(j["envelopes"][0]["channel_id"], "ch");
  EXPECT_EQ(j["cut_reason"], "CUT_REASON_MAX_MESSAGE_COUNT");

  b.mutable_data()->add_data("not an envelope");
  Status s = ExtractTxIds(b, &got);
  EXPECT_TRUE(s.IsCorruption());
  EXPECT_NE(s.message().find("entry 3"), std::string::npos) << s.ToString();
}

}  // namespace
}  // namespace ordering

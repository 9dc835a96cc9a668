// The raft backend's formats and flags: node addresses, the option checks
// that name the flag at fault, the block metadata and its ledger rule, the
// entry framing and snapshots.
#include "orderer/consensus/raft/raft_options.h"

#include <gtest/gtest.h>

#include "orderer/consensus/raft/raft_format.h"
#include "orderer/consensus/raft/snapshot_pacer.h"
#include "orderer/consensus/registry.h"
#include "orderer/consensus/testing/test_channel.h"

namespace ordering::raft_backend {
namespace {

TEST(RaftOptionsTest, NodeAddressesParseOrNameTheProblem) {
  RaftNodeAddress a;
  ASSERT_TRUE(ParseNodeAddress("2,127.0.0.1:7101,127.0.0.1:7051", &a).ok());
  EXPECT_EQ(a.id, 2u);
  EXPECT_EQ(a.raft_address, "127.0.0.1:7101");
  EXPECT_EQ(a.broadcast_address, "127.0.0.1:7051");
  ASSERT_TRUE(ParseNodeAddress("3,10.0.0.3:7100,orderer3:7050", &a).ok());  // Broadcast may use a name
  EXPECT_NE(ParseNodeAddress("3,orderer3:7100,orderer3:7050", &a).message().find("numeric IPv4"), std::string::npos);
  for (const char* bad : {"", "2", "2,127.0.0.1:7101", "0,1.2.3.4:1,b:2", "x,1.2.3.4:1,b:2", "1,1.2.3.4:1,b",
                          "1,1.2.3.4:1,b:2,c:3", "1,:1,b:2", "1,orderer1:7100,b:2"}) {
    Status st = ParseNodeAddress(bad, &a);
    EXPECT_TRUE(st.IsInvalidArgument()) << bad;
    EXPECT_NE(st.message().find("--raft-node"), std::string::npos) << st.message();
  }
}

TEST(RaftOptionsTest, ChecksNameTheFlagAtFault) {
  RaftOptions o;
  o.dir = "/tmp/x";
  EXPECT_NE(o.Check().message().find("--raft-id"), std::string::npos);
  o.id = 4;
  EXPECT_NE(o.Check().message().find("--raft-node"), std::string::npos);
  o.cluster = {{1, "127.0.0.1:1", "127.0.0.1:2"}, {2, "127.0.0.1:3", "127.0.0.1:4"}, {3, "127.0.0.1:5", "127.0.0.1:6"}};
  EXPECT_NE(o.Check().message().find("--raft-id 4"), std::string::npos);
  o.id = 2;
  EXPECT_TRUE(o.Check().ok()) << o.Check().ToString();
  o.cluster.push_back({2, "127.0.0.1:7", "127.0.0.1:8"});
  EXPECT_NE(o.Check().message().find("id 2 twice"), std::string::npos);
  o.cluster.pop_back();
  o.cluster.pop_back();
  EXPECT_NE(o.Check().message().find("a cluster of 2"), std::string::npos) << o.Check().ToString();
  o.cluster.push_back({3, "127.0.0.1:5", "127.0.0.1:6"});
  o.heartbeat_ms = 2000;
  EXPECT_NE(o.Check().message().find("--raft-election-timeout"), std::string::npos);
  o.heartbeat_ms = 20;
  o.bind_address = "10.77.0.2:7000";  // listen here; the others dial the --raft-node address (a proxy)
  EXPECT_TRUE(o.Check().ok()) << o.Check().ToString();
  for (const char* bad : {"node2:7000", "10.77.0.2", "10.77.0.2:", "10.77.0.2:x", ":7000"}) {
    o.bind_address = bad;
    EXPECT_NE(o.Check().message().find("--raft-bind"), std::string::npos) << bad;
  }
}

TEST(SnapshotPacerTest, SpacesSnapshotsByBytesWithinTheEntryBounds) {
  SnapshotPacer p(16 << 20, 1024, 256);
  EXPECT_EQ(p.threshold(), 1024u);                      // nothing seen yet: the entry bound
  for (int i = 0; i < 200; ++i) p.Observe(512 * 1024);  // blocks of 500 transactions of 1 KiB
  EXPECT_EQ(p.threshold(), 32u);
  EXPECT_EQ(p.trailing(), 8u);
  for (int i = 0; i < 200; ++i) p.Observe(4 * 1024);  // blocks of a few transactions: the entry bounds
  EXPECT_EQ(p.threshold(), 1024u);
  EXPECT_EQ(p.trailing(), 256u);
  for (int i = 0; i < 200; ++i) p.Observe(64 << 20);  // entries larger than the byte bound: one each
  EXPECT_EQ(p.threshold(), 1u);
  EXPECT_EQ(p.trailing(), 1u);
}

TEST(RaftOptionsTest, SnapshotBytesParseOrNameTheFlag) {
  auto backend = MakeBackend("raft");
  ASSERT_NE(backend, nullptr);
  namespace po = boost::program_options;
  for (const auto& [value, want] : std::vector<std::pair<std::string, std::string>>{
           {"64MB", ""}, {"0", "--raft-snapshot-bytes"}, {"lots", "--raft-snapshot-bytes"}}) {
    po::options_description opts;
    backend->AddOptions(&opts);
    po::variables_map vm;
    const std::vector<std::string> args = {"--raft-id",  "1",      "--raft-node",           "1,127.0.0.1:1,a:1",
                                           "--raft-dir", "/tmp/x", "--raft-snapshot-bytes", value};
    po::store(po::command_line_parser(args).options(opts).run(), vm);
    po::notify(vm);
    const Status st = backend->Configure(vm);
    if (want.empty()) {
      EXPECT_TRUE(st.ok()) << value << ": " << st.ToString();
    } else {
      EXPECT_NE(st.message().find(want), std::string::npos) << value << ": " << st.ToString();
    }
  }
}

TEST(RaftMetadataTest, RoundTripsAndTermsNeverGoBack) {
  RaftMetadata m{7, 3}, back;
  ASSERT_TRUE(DecodeMetadata(EncodeMetadata(m), &back));
  EXPECT_EQ(back.term, 7u);
  EXPECT_EQ(back.leader, 3u);
  EXPECT_EQ(CheckMetadata(1, "", EncodeMetadata({1, 1})), "");
  EXPECT_EQ(CheckMetadata(5, EncodeMetadata({2, 1}), EncodeMetadata({2, 1})), "");
  EXPECT_EQ(CheckMetadata(5, EncodeMetadata({2, 1}), EncodeMetadata({3, 2})), "");
  EXPECT_NE(CheckMetadata(5, EncodeMetadata({3, 1}), EncodeMetadata({2, 2})).find("went back"), std::string::npos);
  EXPECT_NE(CheckMetadata(5, "", "short"), "");
  EXPECT_NE(CheckMetadata(5, "", EncodeMetadata({0, 1})), "");
  // The registry knows it, and `ledger verify` gets the same rule.
  auto backend = MakeBackend("raft");
  ASSERT_TRUE(backend);
  EXPECT_NE(backend->MetadataCheck()(2, EncodeMetadata({3, 1}), EncodeMetadata({2, 1})), "");
  EXPECT_EQ(backend->DescribeMetadata(EncodeMetadata({4, 2}))["term"], 4);
}

TEST(RaftFormatTest, EntriesArePaddedToEightBytesAndDecodeBack) {
  for (size_t n : {0u, 1u, 7u, 8u, 9u, 1000u}) {
    const std::string block(n, 'b');
    std::string entry(EntrySize(n), '?');
    EXPECT_EQ(entry.size() % 8, 0u) << n;
    EncodeEntry(block, entry.data());
    std::string_view back;
    ASSERT_TRUE(DecodeEntry(entry.data(), entry.size(), &back)) << n;
    EXPECT_EQ(back, block);
    EXPECT_FALSE(DecodeEntry(entry.data(), entry.size() - 1, &back)) << n;  // not a multiple of 8
  }
  std::string lying(16, '\0');
  lying[7] = 100;  // says 100 bytes follow; 8 do
  std::string_view back;
  EXPECT_FALSE(DecodeEntry(lying.data(), lying.size(), &back));
}

TEST(RaftFormatTest, SnapshotsAndTheTransactionsOfABlock) {
  RaftSnapshot s{12, std::string(32, 'h')}, back;
  ASSERT_TRUE(DecodeSnapshot(EncodeSnapshot(s), &back).ok());
  EXPECT_EQ(back.height, 12u);
  EXPECT_EQ(back.last_hash, s.last_hash);
  EXPECT_TRUE(DecodeSnapshot("short", &back).IsCorruption());

  Block block;
  for (const char* id : {"a", "b"}) block.mutable_data()->add_data(ordering::testing::TestTx(id).envelope);
  std::vector<CutterMessage> txs;
  ASSERT_TRUE(TransactionsOf(block, &txs).ok());
  ASSERT_EQ(txs.size(), 2u);
  EXPECT_EQ(txs[1].tx_id, "b");
  EXPECT_EQ(txs[1].envelope, block.data().data(1));
  block.mutable_data()->add_data("not an envelope");
  EXPECT_FALSE(TransactionsOf(block, &txs).ok());
}

}  // namespace
}  // namespace ordering::raft_backend

#include "ledger/block_store.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <unistd.h>

#include <filesystem>
#include <tuple>

#include "common/clock.h"
#include "common/tx_factory.h"
#include "ledger/block_util.h"

namespace ordering {
namespace {

class BlockStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::path(::testing::TempDir()) / ("ledger-" + std::to_string(::getpid()) + "-" +
                                                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    ASSERT_TRUE(Signer::Generate(&signer_).ok());
    factory_ = std::make_unique<TxFactory>(signer_.get(), TxFactoryOptions{"ch", 300}, SystemClock::Default());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  LedgerOptions Opts(bool read_only = false) {
    LedgerOptions o;
    o.path = dir_.string();
    o.read_only = read_only;
    o.sync_writes = false;
    return o;
  }

  static ChannelConfig Config() {
    ChannelConfig c;
    c.set_channel_id("ch");
    c.set_consensus_type("kafka");
    return c;
  }

  // Appends genesis and `blocks` blocks of `per_block` transactions; block n
  // has consenter metadata "m<10*n>".
  void Fill(BlockStore* store, int blocks, int per_block) {
    ASSERT_TRUE(store->Append(MakeGenesisBlock(Config())).ok());
    for (int n = 1; n <= blocks; ++n) ASSERT_TRUE(store->Append(NextBlock(store, per_block)).ok());
  }

  Block NextBlock(BlockStore* store, int txs, std::vector<std::string>* ids = nullptr) {
    LedgerInfo info = store->Info();
    std::vector<std::string> envs;
    for (int i = 0; i < txs; ++i) {
      BuiltTx tx;
      EXPECT_TRUE(factory_->Build(&tx).ok());
      envs.push_back(tx.envelope);
      if (ids) ids->push_back(tx.tx_id);
    }
    BlockMetadata md;
    md.set_consenter("m" + std::to_string(info.height * 10));
    md.set_cut_reason(CUT_REASON_MAX_MESSAGE_COUNT);
    return MakeBlock(BlockNumber(info.height), info.last_hash, envs, md);
  }

  // Rewrites stored block `n` with one byte flipped, bypassing BlockStore.
  void FlipByteOfStoredBlock(uint64_t n, size_t byte) {
    rocksdb::DB* raw = nullptr;
    rocksdb::Options o;
    ASSERT_TRUE(rocksdb::DB::Open(o, dir_.string(), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    std::string key(1, 'b');
    for (int s = 56; s >= 0; s -= 8) key.push_back(static_cast<char>((n >> s) & 0xff));
    std::string v;
    ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), key, &v).ok());
    v[byte % v.size()] ^= 0x01;
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), key, v).ok());
  }

  std::filesystem::path dir_;
  std::unique_ptr<Signer> signer_;
  std::unique_ptr<TxFactory> factory_;
};

TEST_F(BlockStoreTest, EmptyLedgerHasNoBlocks) {
  std::unique_ptr<BlockStore> store;
  ASSERT_TRUE(BlockStore::Open(Opts(), &store).ok());
  LedgerInfo info = store->Info();
  EXPECT_EQ(info.height, 0u);
  EXPECT_TRUE(info.last_hash.empty());
  EXPECT_TRUE(info.last_consenter.empty());
  Block b;
  EXPECT_TRUE(store->GetBlock(BlockNumber(0), &b).IsNotFound());
  VerifyResult r;
  EXPECT_TRUE(store->Verify({}, &r).ok());
}

TEST_F(BlockStoreTest, AppendsAndReopensWithSameInfo) {
  std::vector<std::string> ids;
  LedgerInfo before;
  {
    std::unique_ptr<BlockStore> store;
    ASSERT_TRUE(BlockStore::Open(Opts(), &store).ok());
    Fill(store.get(), 3, 4);
    ASSERT_TRUE(store->Append(NextBlock(store.get(), 2, &ids)).ok());
    before = store->Info();
  }
  std::unique_ptr<BlockStore> store;
  ASSERT_TRUE(BlockStore::Open(Opts(), &store).ok());
  LedgerInfo info = store->Info();
  EXPECT_EQ(info.height, 5u);
  EXPECT_EQ(info.last_hash, before.last_hash);
  EXPECT_EQ(info.last_consenter, "m40");
  Block last;
  ASSERT_TRUE(store->GetBlock(BlockNumber(4), &last).ok());
  EXPECT_EQ(ToHex(BlockHash(last)), ToHex(info.last_hash));
  TxLocation loc;
  ASSERT_TRUE(store->FindTx(ids[1], &loc).ok());
  EXPECT_EQ(loc.block, BlockNumber(4));
  EXPECT_EQ(loc.index, 1u);
  EXPECT_TRUE(store->FindTx("no-such-tx", &loc).IsNotFound());
  VerifyResult r;
  ASSERT_TRUE(store->Verify(VerifyOptions{true, {}}, &r).ok()) << r.problem;
  EXPECT_EQ(r.blocks_checked, 5u);
  EXPECT_EQ(r.transactions, 14u);
}

// Serialized blocks are kept in RocksDB blob files (so compaction never rewrites them); the
// transaction index stays inline. Reopening replays the write-ahead log into the first table
// files, which is when the blob files appear. The read-only open (as `ledger verify` does)
// must read them too: with one table file RocksDB's read-only fast path could not.
TEST_F(BlockStoreTest, BlocksLiveInBlobFilesAndReadBackAfterReopen) {
  LedgerInfo before;
  {
    std::unique_ptr<BlockStore> store;
    ASSERT_TRUE(BlockStore::Open(Opts(), &store).ok());
    Fill(store.get(), 5, 3);
    before = store->Info();
  }
  {
    std::unique_ptr<BlockStore> store;
    ASSERT_TRUE(BlockStore::Open(Opts(), &store).ok());
  }
  size_t blob_files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir_)) blob_files += e.path().extension() == ".blob";
  EXPECT_GE(blob_files, 1u);
  std::unique_ptr<BlockStore> store;
  ASSERT_TRUE(BlockStore::Open(Opts(true), &store).ok());
  EXPECT_EQ(store->Info().height, before.height);
  VerifyResult r;
  Status vs = store->Verify(VerifyOptions{true, {}}, &r);
  ASSERT_TRUE(vs.ok()) << vs.ToString();
  EXPECT_EQ(r.blocks_checked, 6u);
  EXPECT_EQ(r.transactions, 15u);
}

// The tx-id index's filter and index blocks live in the bounded block cache,
// not in each open table file: the table readers' own memory does not grow
// with the chain (with RocksDB's defaults it grew 5 -> 26 KB here, about
// 1.8 bytes per transaction; now 2 -> 4 KB, ~1 KB per table file), and a
// lookup still finds every transaction.
TEST_F(BlockStoreTest, TheTableReadersMemoryDoesNotGrowWithTheChain) {
  LedgerOptions o = Opts();
  o.block_cache_bytes = 1 << 20;
  std::unique_ptr<BlockStore> store;
  ASSERT_TRUE(BlockStore::Open(o, &store).ok());
  ASSERT_TRUE(store->Append(MakeGenesisBlock(Config())).ok());
  std::vector<std::string> ids;
  auto add = [&](int blocks) {
    for (int n = 0; n < blocks; ++n) ASSERT_TRUE(store->Append(NextBlock(store.get(), 500, &ids)).ok());
    ASSERT_TRUE(store->Flush().ok());
  };
  add(4);
  const LedgerMemory first = store->Memory();
  add(24);  // six times the transactions, in more table files
  const LedgerMemory later = store->Memory();
  EXPECT_LT(later.table_readers, first.table_readers + 8 * 1024)
      << "table readers " << first.table_readers << " -> " << later.table_readers << " bytes for " << ids.size()
      << " transactions";
  EXPECT_LE(later.block_cache, 1u << 20);
  TxLocation loc;
  for (size_t i = 0; i < ids.size(); i += 997) EXPECT_TRUE(store->FindTx(ids[i], &loc).ok()) << ids[i];
}

TEST_F(BlockStoreTest, RejectsWrongNumberOrLinkAndWritesNothing) {
  std::unique_ptr<BlockStore> store;
  ASSERT_TRUE(BlockStore::Open(Opts(), &store).ok());
  Fill(store.get(), 1, 2);
  std::vector<std::string> ids;
  Block b = NextBlock(store.get(), 2, &ids);
  Block wrong_number = b;
  wrong_number.mutable_header()->set_number(5);
  EXPECT_TRUE(store->Append(wrong_number).IsInvalidArgument());
  Block wrong_link = b;
  wrong_link.mutable_header()->set_previous_hash(std::string(32, 'x'));
  EXPECT_TRUE(store->Append(wrong_link).IsInvalidArgument());
  EXPECT_EQ(store->Info().height, 2u);
  TxLocation loc;
  EXPECT_TRUE(store->FindTx(ids[0], &loc).IsNotFound());
  EXPECT_TRUE(store->Append(b).ok());
}

TEST_F(BlockStoreTest, ReadOnlyOpenReadsButCannotAppend) {
  {
    std::unique_ptr<BlockStore> store;
    ASSERT_TRUE(BlockStore::Open(Opts(), &store).ok());
    Fill(store.get(), 2, 1);
  }
  std::unique_ptr<BlockStore> ro;
  ASSERT_TRUE(BlockStore::Open(Opts(true), &ro).ok());
  EXPECT_EQ(ro->Info().height, 3u);
  Block g = MakeGenesisBlock(Config());
  EXPECT_TRUE(ro->Append(g).IsInvalidArgument());

  LedgerOptions missing = Opts(true);
  missing.path += "-missing";
  std::unique_ptr<BlockStore> none;
  EXPECT_FALSE(BlockStore::Open(missing, &none).ok());
}

// A flipped byte anywhere in any stored block is found, and blamed on that block.
TEST_F(BlockStoreTest, VerifyFindsAFlippedByteInEveryBlock) {
  constexpr int kBlocks = 4;
  {
    std::unique_ptr<BlockStore> store;
    ASSERT_TRUE(BlockStore::Open(Opts(), &store).ok());
    Fill(store.get(), kBlocks, 2);
    VerifyResult r;
    ASSERT_TRUE(store->Verify({}, &r).ok());
  }
  for (uint64_t n = 0; n <= kBlocks; ++n) {
    for (size_t byte : {size_t{0}, size_t{5}, size_t{40}, size_t{97}, size_t{400}, size_t{100000}}) {
      FlipByteOfStoredBlock(n, byte);
      {
        std::unique_ptr<BlockStore> store;
        LedgerOptions o = Opts();
        // Open checks the last block against the ledger info: the damage is
        // refused there (Verify below is what finds the others).
        if (n == kBlocks) {
          Status refused = BlockStore::Open(o, &store);
          EXPECT_TRUE(refused.IsCorruption()) << "byte " << byte << ": " << refused.ToString();
          store.reset();
          o.check_at_open = false;
        }
        Status opened = BlockStore::Open(o, &store);
        ASSERT_TRUE(opened.ok()) << opened.ToString();
        VerifyResult r;
        Status s = store->Verify({}, &r);
        ASSERT_TRUE(s.IsCorruption()) << "block " << n << " byte " << byte;
        ASSERT_TRUE(r.first_bad_block.has_value());
        EXPECT_EQ(r.first_bad_block->value(), n) << "byte " << byte << ": " << r.problem;
        EXPECT_EQ(r.blocks_checked, n);
      }
      FlipByteOfStoredBlock(n, byte);  // flip back
    }
  }
  std::unique_ptr<BlockStore> store;
  ASSERT_TRUE(BlockStore::Open(Opts(), &store).ok());
  VerifyResult r;
  EXPECT_TRUE(store->Verify({}, &r).ok()) << r.problem;
}

TEST_F(BlockStoreTest, SignatureCheckIsOptional) {
  std::unique_ptr<BlockStore> store;
  ASSERT_TRUE(BlockStore::Open(Opts(), &store).ok());
  Fill(store.get(), 1, 2);
  // A block whose second envelope carries a signature over other bytes.
  Block b = NextBlock(store.get(), 2);
  Envelope env;
  ASSERT_TRUE(env.ParseFromString(b.data().data(1)));
  std::string sig;
  ASSERT_TRUE(signer_->Sign("something else", &sig).ok());
  env.set_signature(sig);
  std::vector<std::string> envs = {b.data().data(0), env.SerializeAsString()};
  LedgerInfo info = store->Info();
  ASSERT_TRUE(store->Append(MakeBlock(BlockNumber(info.height), info.last_hash, envs, b.metadata())).ok());
  VerifyResult r;
  EXPECT_TRUE(store->Verify(VerifyOptions{false, {}}, &r).ok());
  Status s = store->Verify(VerifyOptions{true, {}}, &r);
  EXPECT_TRUE(s.IsCorruption());
  ASSERT_TRUE(r.first_bad_block.has_value());
  EXPECT_EQ(r.first_bad_block->value(), 2u);
  EXPECT_NE(r.problem.find("bad signature"), std::string::npos);
}

TEST_F(BlockStoreTest, VerifyCatchesATxIdRepeatedAcrossBlocks) {
  std::unique_ptr<BlockStore> store;
  ASSERT_TRUE(BlockStore::Open(Opts(), &store).ok());
  Fill(store.get(), 1, 1);
  Block b1;
  ASSERT_TRUE(store->GetBlock(BlockNumber(1), &b1).ok());
  LedgerInfo info = store->Info();
  std::vector<std::string> envs = {b1.data().data(0)};
  BlockMetadata md;
  md.set_consenter("m99");
  md.set_cut_reason(CUT_REASON_TIMEOUT);
  ASSERT_TRUE(store->Append(MakeBlock(BlockNumber(info.height), info.last_hash, envs, md)).ok());
  VerifyResult r;
  EXPECT_TRUE(store->Verify({}, &r).IsCorruption());
  ASSERT_TRUE(r.first_bad_block.has_value());
  EXPECT_EQ(r.first_bad_block->value(), 1u);  // its index entry now points at block 2
}

TEST_F(BlockStoreTest, VerifyRunsTheBackendsMetadataCheck) {
  std::unique_ptr<BlockStore> store;
  ASSERT_TRUE(BlockStore::Open(Opts(), &store).ok());
  Fill(store.get(), 3, 1);
  std::vector<std::tuple<uint64_t, std::string, std::string>> seen;
  VerifyOptions vo;
  vo.check_consenter = [&](uint64_t n, const std::string& prev, const std::string& cur) {
    seen.emplace_back(n, prev, cur);
    return n == 3 ? std::string("offset went backwards") : std::string();
  };
  VerifyResult r;
  EXPECT_TRUE(store->Verify(vo, &r).IsCorruption());
  ASSERT_TRUE(r.first_bad_block.has_value());
  EXPECT_EQ(r.first_bad_block->value(), 3u);
  EXPECT_EQ(r.problem, "offset went backwards");
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0], std::make_tuple(uint64_t{1}, std::string(), std::string("m10")));
  EXPECT_EQ(seen[2], std::make_tuple(uint64_t{3}, std::string("m20"), std::string("m30")));
}

TEST_F(BlockStoreTest, AFormatOneLedgerIsRefusedByName) {
  {
    std::unique_ptr<BlockStore> store;
    ASSERT_TRUE(BlockStore::Open(Opts(), &store).ok());
    Fill(store.get(), 1, 1);
  }
  {
    // Format 1 had no format record.
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::Options(), dir_.string(), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), "f").ok());
  }
  std::unique_ptr<BlockStore> store;
  Status st = BlockStore::Open(Opts(), &store);
  EXPECT_TRUE(st.IsInvalidArgument()) << st.ToString();
  EXPECT_NE(st.message().find("format 1"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("new ledger directory"), std::string::npos) << st.message();
  EXPECT_TRUE(BlockStore::Open(Opts(true), &store).IsInvalidArgument());
}

TEST_F(BlockStoreTest, AnUnknownFormatIsRefused) {
  {
    std::unique_ptr<BlockStore> store;
    ASSERT_TRUE(BlockStore::Open(Opts(), &store).ok());
  }
  {
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::Options(), dir_.string(), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "f", "3").ok());
  }
  std::unique_ptr<BlockStore> store;
  Status st = BlockStore::Open(Opts(), &store);
  EXPECT_TRUE(st.IsInvalidArgument());
  EXPECT_NE(st.message().find("format 3"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace ordering

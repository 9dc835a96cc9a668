// A ledger whose files were damaged while it was closed (a flipped byte, an
// end cut off) is refused at open, naming the file and the reason, by the
// read-write open (the orderer) and the read-only one (`ledger verify`);
// never opened shorter in silence. The one exception is an incomplete last
// record of the write-ahead log, which only a write that never completed
// leaves: dropped, with a warning naming the log.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "common/clock.h"
#include "common/tx_factory.h"
#include "ledger/block_store.h"
#include "ledger/block_util.h"
#include "ledger/testing/damage.h"

namespace ordering {
namespace {

using testing::CutEnd;
using testing::DirFiles;
using testing::FileSize;
using testing::FlipByte;

class BlockStoreDamageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (std::filesystem::path(::testing::TempDir()) /
            ("ledger-damage-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name()))
               .string();
    std::filesystem::remove_all(dir_);
    ASSERT_TRUE(Signer::Generate(&signer_).ok());
    factory_ = std::make_unique<TxFactory>(signer_.get(), TxFactoryOptions{"ch", 300}, SystemClock::Default());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  LedgerOptions Opts(bool read_only = false) {
    LedgerOptions o;
    o.path = dir_;
    o.read_only = read_only;
    o.create_if_missing = !read_only;
    return o;
  }

  // Genesis and `blocks` blocks of 3 transactions. With `flushed` they end
  // up in table and blob files (a MANIFEST edit each flush); otherwise they
  // stay in the write-ahead log, which a clean close keeps.
  void Write(int blocks, bool flushed, int flushes = 1, int per_block = 3) {
    std::unique_ptr<BlockStore> store;
    ASSERT_TRUE(BlockStore::Open(Opts(), &store).ok());
    ChannelConfig c;
    c.set_channel_id("ch");
    c.set_consensus_type("solo");
    ASSERT_TRUE(store->Append(MakeGenesisBlock(c)).ok());
    for (int f = 0; f < flushes; ++f) {
      for (int i = 0; i < blocks; ++i) ASSERT_TRUE(store->Append(NextBlock(*store, per_block)).ok());
      if (flushed) {
        ASSERT_TRUE(store->Flush().ok());
        if (f == 0) manifest_after_first_flush_ = FileSize(Only("MANIFEST-", true));
      }
    }
    height_ = store->Info().height;
  }

  Block NextBlock(const BlockStore& store, int txs) {
    const LedgerInfo info = store.Info();
    std::vector<std::string> envs;
    for (int i = 0; i < txs; ++i) {
      BuiltTx tx;
      EXPECT_TRUE(factory_->Build(&tx).ok());
      envs.push_back(tx.envelope);
    }
    BlockMetadata md;
    md.set_cut_reason(CUT_REASON_MAX_MESSAGE_COUNT);
    return MakeBlock(BlockNumber(info.height), info.last_hash, envs, md);
  }

  // The one file in the ledger named `suffix` (or beginning with it).
  std::string Only(const std::string& suffix, bool prefix = false) {
    std::vector<std::string> files = DirFiles(dir_, suffix, prefix);
    EXPECT_EQ(files.size(), 1u) << suffix;
    return files.empty() ? dir_ + "/none" + suffix : files.back();
  }

  // Both opens refuse, with Corruption naming each of `parts`.
  void ExpectRefused(const std::vector<std::string>& parts) {
    for (bool read_only : {true, false}) {
      SCOPED_TRACE(read_only ? "read-only (ledger verify)" : "read-write (orderer)");
      std::unique_ptr<BlockStore> store;
      Status st = BlockStore::Open(Opts(read_only), &store);
      ASSERT_FALSE(st.ok()) << "opened at height " << store->Info().height << " of " << height_;
      EXPECT_TRUE(st.IsCorruption()) << st.ToString();
      for (const std::string& p : parts)
        EXPECT_NE(st.message().find(p), std::string::npos) << p << " in " << st.ToString();
    }
  }

  std::string dir_;
  std::unique_ptr<Signer> signer_;
  std::unique_ptr<TxFactory> factory_;
  uint64_t height_ = 0;
  uint64_t manifest_after_first_flush_ = 0;
};

// RocksDB's default recovery (kPointInTimeRecovery) opened this ledger with
// every block after the flipped byte gone.
TEST_F(BlockStoreDamageTest, AFlippedByteInTheWriteAheadLogIsRefusedNamingIt) {
  Write(8, /*flushed=*/false);
  const std::string wal = Only(".log");
  ASSERT_TRUE(FlipByte(wal, static_cast<int64_t>(FileSize(wal) / 2)));
  ExpectRefused({std::filesystem::path(wal).filename().string(), "checksum mismatch"});
}

// A torn last record: what a write that never completed leaves (power loss,
// a crash mid-write). It was never acknowledged; dropping it is the recovery.
TEST_F(BlockStoreDamageTest, AnIncompleteLastLogRecordIsDroppedWithAWarningNamingTheLog) {
  Write(8, /*flushed=*/false);
  const std::string wal = Only(".log");
  CutEnd(wal, 200);
  testing::LogCapture log;
  std::unique_ptr<BlockStore> store;
  Status st = BlockStore::Open(Opts(), &store);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(store->Info().height, height_ - 1);
  VerifyResult r;
  EXPECT_TRUE(store->Verify({}, &r).ok()) << r.problem;
  EXPECT_NE(log.Find({std::filesystem::path(wal).filename().string(), "incomplete record", "never acknowledged"}), "")
      << log.All();
}

// Opening reads only a few keys (the ledger info, its format, the last
// block), so the damage must be found by checking the table files whole:
// here a data block of the tx index in the middle of the file.
TEST_F(BlockStoreDamageTest, AFlippedByteInATableFileIsRefusedNamingIt) {
  Write(30, /*flushed=*/true, /*flushes=*/1, /*per_block=*/10);
  const std::string sst = Only(".sst");
  ASSERT_GT(FileSize(sst), 16u * 1024) << "the index should span several data blocks";
  ASSERT_TRUE(FlipByte(sst, static_cast<int64_t>(FileSize(sst) / 2)));
  ExpectRefused({std::filesystem::path(sst).filename().string(), "checksum mismatch"});
}

TEST_F(BlockStoreDamageTest, ATableFileCutShortIsRefusedNamingIt) {
  Write(8, /*flushed=*/true);
  const std::string sst = Only(".sst");
  CutEnd(sst, 100);
  ExpectRefused({std::filesystem::path(sst).filename().string()});
}

// The blocks live in blob files. RocksDB 7.8 checks their size at open only
// when paranoid about table files; the ledger does it.
TEST_F(BlockStoreDamageTest, ABlobFileCutShortIsRefusedNamingIt) {
  Write(8, /*flushed=*/true);
  const std::string blob = Only(".blob");
  CutEnd(blob, 100);
  ExpectRefused({std::filesystem::path(blob).filename().string(), "MANIFEST records"});
}

// A flipped byte inside a block's record: opening reads only the last block,
// so the damage is found when the block is read, by Deliver or `ledger
// verify`, which names the block, the ledger and RocksDB's reason.
TEST_F(BlockStoreDamageTest, AFlippedByteInABlobRecordIsNamedWhenTheBlockIsRead) {
  Write(8, /*flushed=*/true);
  const std::string blob = Only(".blob");
  ASSERT_TRUE(FlipByte(blob, static_cast<int64_t>(FileSize(blob) / 2)));
  std::unique_ptr<BlockStore> store;
  Status st = BlockStore::Open(Opts(true), &store);
  ASSERT_TRUE(st.ok()) << st.ToString();
  VerifyResult r;
  st = store->Verify({}, &r);
  ASSERT_TRUE(st.IsCorruption()) << st.ToString();
  ASSERT_TRUE(r.first_bad_block.has_value());
  EXPECT_GT(r.first_bad_block->value(), 0u);
  EXPECT_LT(r.first_bad_block->value(), height_ - 1);
  EXPECT_NE(r.problem.find("cannot be read"), std::string::npos) << r.problem;
  EXPECT_NE(r.problem.find(dir_), std::string::npos) << r.problem;
  Block b;
  EXPECT_TRUE(store->GetBlock(*r.first_bad_block, &b).IsCorruption());
}

TEST_F(BlockStoreDamageTest, TheLastBlockNotMatchingTheLedgerInfoIsRefused) {
  Write(8, /*flushed=*/true);
  const std::string blob = Only(".blob");
  // The footer (32 bytes) follows the last record: its last bytes are the
  // last block's.
  ASSERT_TRUE(FlipByte(blob, -40));
  ExpectRefused({"block " + std::to_string(height_ - 1)});
}

TEST_F(BlockStoreDamageTest, ADamagedCurrentIsRefused) {
  Write(8, /*flushed=*/true);
  ASSERT_TRUE(FlipByte(dir_ + "/CURRENT", 3));
  ExpectRefused({"CURRENT", dir_});
  CutEnd(dir_ + "/CURRENT", 100);
  ExpectRefused({"CURRENT", dir_});
}

TEST_F(BlockStoreDamageTest, AFlippedByteInTheManifestIsRefusedNamingIt) {
  Write(8, /*flushed=*/true);
  const std::string manifest = Only("MANIFEST-", true);
  ASSERT_TRUE(FlipByte(manifest, static_cast<int64_t>(FileSize(manifest) / 2)));
  ExpectRefused({std::filesystem::path(manifest).filename().string(), "checksum mismatch"});
}

// RocksDB reads a MANIFEST cut short as one whose last edits were never
// written, and opened this ledger empty (then deleted its files as
// obsolete): the orderer would have written a new genesis over the chain.
TEST_F(BlockStoreDamageTest, AManifestCutShortIsRefusedNotOpenedEmpty) {
  Write(8, /*flushed=*/true);
  const std::string manifest = Only("MANIFEST-", true);
  CutEnd(manifest, FileSize(manifest) / 2);
  ExpectRefused({"MANIFEST", ".sst"});
  EXPECT_FALSE(DirFiles(dir_, ".sst").empty()) << "the table files are gone";
}

// The same when only the last flush's edit is lost: the ledger would open
// at the height of the flush before, its last blocks gone.
TEST_F(BlockStoreDamageTest, AManifestThatLostItsLastEditIsRefusedNotOpenedShorter) {
  Write(4, /*flushed=*/true, /*flushes=*/2);
  const std::string manifest = Only("MANIFEST-", true);
  ASSERT_GT(FileSize(manifest), manifest_after_first_flush_);
  std::filesystem::resize_file(manifest, manifest_after_first_flush_);
  ExpectRefused({"MANIFEST", ".sst", "height " + std::to_string(height_)});
}

}  // namespace
}  // namespace ordering

// BlockStore under write faults injected behind RocksDB (FaultyFileSystem):
// a write-ahead log append or fdatasync that fails, a full disk, a
// background flush that cannot write its files. Each must fail the Append
// naming the file operation and the file, store nothing partial (after a
// reopen without the fault the ledger verifies, and the failed block is
// there whole or not at all), and stop the store: later Appends fail too,
// even once RocksDB has recovered by itself.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "common/clock.h"
#include "common/tx_factory.h"
#include "ledger/block_store.h"
#include "ledger/block_util.h"
#include "ledger/testing/faulty_file_system.h"

namespace ordering {
namespace {

using testing::FaultyFileSystem;
using testing::FileOp;

class BlockStoreFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::path(::testing::TempDir()) / ("ledger-fault-" + std::to_string(::getpid()) + "-" +
                                                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    ASSERT_TRUE(Signer::Generate(&signer_).ok());
    factory_ = std::make_unique<TxFactory>(signer_.get(), TxFactoryOptions{"ch", 300}, SystemClock::Default());
    fs_ = std::make_shared<FaultyFileSystem>();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  LedgerOptions Opts(bool faulty) {
    LedgerOptions o;
    o.path = dir_.string();
    o.sync_writes = true;
    if (faulty) o.file_system = fs_;
    return o;
  }

  // Genesis and `blocks` blocks of two transactions, on the faulty file system.
  std::unique_ptr<BlockStore> OpenFilled(int blocks) {
    std::unique_ptr<BlockStore> store;
    Status st = BlockStore::Open(Opts(true), &store);
    EXPECT_TRUE(st.ok()) << st.ToString();
    if (!st.ok()) return nullptr;
    ChannelConfig c;
    c.set_channel_id("ch");
    c.set_consensus_type("solo");
    EXPECT_TRUE(store->Append(MakeGenesisBlock(c)).ok());
    for (int i = 0; i < blocks; ++i) EXPECT_TRUE(store->Append(NextBlock(*store)).ok());
    return store;
  }

  Block NextBlock(const BlockStore& store, std::vector<std::string>* ids = nullptr) {
    const LedgerInfo info = store.Info();
    std::vector<std::string> envs;
    for (int i = 0; i < 2; ++i) {
      BuiltTx tx;
      EXPECT_TRUE(factory_->Build(&tx).ok());
      envs.push_back(tx.envelope);
      if (ids != nullptr) ids->push_back(tx.tx_id);
    }
    BlockMetadata md;
    md.set_cut_reason(CUT_REASON_MAX_MESSAGE_COUNT);
    return MakeBlock(BlockNumber(info.height), info.last_hash, envs, md);
  }

  // Reopens without the fault: the ledger verifies, holds `height` or
  // `height` + 1 blocks, and `failed` (with its tx ids) whole or not at all.
  void ExpectWholeOrNothing(uint64_t height, const Block& failed, const std::vector<std::string>& ids,
                            bool may_hold_it) {
    std::unique_ptr<BlockStore> store;
    Status st = BlockStore::Open(Opts(false), &store);
    ASSERT_TRUE(st.ok()) << st.ToString();
    VerifyResult r;
    st = store->Verify({}, &r);
    EXPECT_TRUE(st.ok()) << st.ToString();
    const uint64_t got = store->Info().height;
    if (may_hold_it) {
      EXPECT_TRUE(got == height || got == height + 1) << got;
    } else {
      EXPECT_EQ(got, height);
    }
    const bool holds = got == height + 1;
    if (holds) {
      Block stored;
      ASSERT_TRUE(store->GetBlock(BlockNumber(height), &stored).ok());
      EXPECT_EQ(BlockHash(stored), BlockHash(failed));
    }
    for (const std::string& id : ids) {
      TxLocation loc;
      EXPECT_EQ(store->FindTx(id, &loc).ok(), holds) << id;
    }
    // And the chain goes on from there.
    EXPECT_TRUE(store->Append(NextBlock(*store)).ok());
  }

  static void ExpectNames(const Status& st, const std::vector<std::string>& parts) {
    for (const std::string& p : parts)
      EXPECT_NE(st.message().find(p), std::string::npos) << p << " in " << st.ToString();
  }

  std::filesystem::path dir_;
  std::unique_ptr<Signer> signer_;
  std::unique_ptr<TxFactory> factory_;
  std::shared_ptr<FaultyFileSystem> fs_;
};

TEST_F(BlockStoreFaultTest, AFailedWalAppendStoresNothingNamesItAndStopsTheStore) {
  std::unique_ptr<BlockStore> store = OpenFilled(3);
  ASSERT_NE(store, nullptr);
  std::vector<std::string> ids;
  const Block b4 = NextBlock(*store, &ids);
  fs_->Fail(FileOp::kAppend, ".log");
  Status st = store->Append(b4);
  ASSERT_TRUE(st.IsIOError()) << st.ToString();
  ExpectNames(st, {"block 4", dir_.string(), "While appending to file", ".log", "injected fault"});
  EXPECT_EQ(store->Info().height, 4u);

  // Healed, the store still takes nothing: the first failure stopped it.
  fs_->Heal();
  const int64_t appends = fs_->calls(FileOp::kAppend, ".log");
  st = store->Append(b4);
  ASSERT_TRUE(st.IsIOError()) << st.ToString();
  ExpectNames(st, {"takes no more writes", "While appending to file"});
  EXPECT_EQ(fs_->calls(FileOp::kAppend, ".log"), appends) << "a stopped store wrote to its log";
  store.reset();
  ExpectWholeOrNothing(4, b4, ids, /*may_hold_it=*/false);
}

// fdatasync failed after the record was written: the record may survive in
// the log (it was never acknowledged), but only whole.
TEST_F(BlockStoreFaultTest, AFailedWalSyncLeavesTheWholeBlockOrNothing) {
  std::unique_ptr<BlockStore> store = OpenFilled(3);
  ASSERT_NE(store, nullptr);
  std::vector<std::string> ids;
  const Block b4 = NextBlock(*store, &ids);
  fs_->Fail(FileOp::kSync, ".log");
  Status st = store->Append(b4);
  ASSERT_TRUE(st.IsIOError()) << st.ToString();
  ExpectNames(st, {"block 4", "While fdatasync", ".log", "not acknowledged"});
  EXPECT_EQ(store->Info().height, 4u);
  store.reset();
  ExpectWholeOrNothing(4, b4, ids, /*may_hold_it=*/true);
}

// ENOSPC on the log. RocksDB recovers from a full disk by itself once there
// is room (its SstFileManager polls), and would take writes again; the store
// must not.
TEST_F(BlockStoreFaultTest, AFullDiskIsNamedAndTheStoreStaysStoppedAfterRocksDbRecovers) {
  std::unique_ptr<BlockStore> store = OpenFilled(2);
  ASSERT_NE(store, nullptr);
  std::vector<std::string> ids;
  const Block b3 = NextBlock(*store, &ids);
  fs_->Fail(FileOp::kAppend, ".log", /*no_space=*/true);
  Status st = store->Append(b3);
  ASSERT_TRUE(st.IsIOError()) << st.ToString();
  ExpectNames(st, {"block 3", "No space left on device", ".log"});
  fs_->Heal();
  // RocksDB's recovery from a full disk took about 2 s here (measured).
  std::this_thread::sleep_for(std::chrono::seconds(4));
  st = store->Append(b3);
  ASSERT_FALSE(st.ok()) << "the store took a write after a failed one";
  ExpectNames(st, {"takes no more writes", "No space left on device"});
  store.reset();
  ExpectWholeOrNothing(3, b3, ids, /*may_hold_it=*/false);
}

// A flush (memtable to table and blob files) that fails in the background
// stops RocksDB's writes; the next Append fails naming the flush and its file.
TEST_F(BlockStoreFaultTest, AFailedBackgroundFlushFailsTheNextAppendNamingIt) {
  for (const char* suffix : {".sst", ".blob"}) {
    SCOPED_TRACE(suffix);
    std::filesystem::remove_all(dir_);
    fs_ = std::make_shared<FaultyFileSystem>();
    std::unique_ptr<BlockStore> store = OpenFilled(3);
    ASSERT_NE(store, nullptr);
    fs_->Fail(FileOp::kAppend, suffix);
    EXPECT_FALSE(store->Flush().ok());
    fs_->Heal();
    std::vector<std::string> ids;
    const Block b4 = NextBlock(*store, &ids);
    Status st = store->Append(b4);
    ASSERT_TRUE(st.IsIOError()) << st.ToString();
    ExpectNames(st, {"block 4", "background flush", suffix, "injected fault"});
    store.reset();
    // Blocks 1-3 were in the write-ahead log all along.
    ExpectWholeOrNothing(4, b4, ids, /*may_hold_it=*/false);
  }
}

// A failed fsync of a new table file at flush time: the same.
TEST_F(BlockStoreFaultTest, AFailedTableFileSyncFailsTheNextAppend) {
  std::unique_ptr<BlockStore> store = OpenFilled(2);
  ASSERT_NE(store, nullptr);
  fs_->Fail(FileOp::kSync, ".sst");
  EXPECT_FALSE(store->Flush().ok());
  std::vector<std::string> ids;
  const Block b3 = NextBlock(*store, &ids);
  Status st = store->Append(b3);
  ASSERT_TRUE(st.IsIOError()) << st.ToString();
  ExpectNames(st, {"block 3", "background flush", ".sst"});
  store.reset();
  ExpectWholeOrNothing(3, b3, ids, /*may_hold_it=*/false);
}

}  // namespace
}  // namespace ordering

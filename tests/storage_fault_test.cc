// A solo orderer, in-process, whose ledger's file operations fail on
// command (FaultyFileSystem behind RocksDB): a write-ahead log append or
// fdatasync that fails, a full disk, a background flush that cannot write
// its table file. The node must stop its chain cleanly: the log line and
// Errored() name the file operation and say it stopped; Broadcast answers
// every transaction it owes SERVICE_UNAVAILABLE at once (never SUCCESS for
// one the ledger does not hold); the ledger, reopened without the fault,
// verifies and holds every transaction answered SUCCESS, and no block in
// part; a restart without the fault resumes the chain.
#include <gtest/gtest.h>

#include <chrono>

#include "ledger/testing/damage.h"
#include "ledger/testing/faulty_file_system.h"
#include "tests/storage_harness.h"

namespace ordering::testing {
namespace {

struct WriteFault {
  const char* name;
  FileOp op;
  const char* suffix;
  bool no_space;
  const char* named;  // what the error says of the file operation
};

void PrintTo(const WriteFault& f, std::ostream* os) { *os << f.name; }

class StorageFaultTest : public ::testing::TestWithParam<WriteFault> {
 protected:
  TempDir dir_{"storage-fault"};
  TestPeer peer_{"mychannel"};
};

TEST_P(StorageFaultTest, AFailedLedgerWriteStopsTheNodeAndNothingUnstoredIsAnsweredSuccess) {
  const WriteFault& f = GetParam();
  auto fs = std::make_shared<FaultyFileSystem>();
  OrdererOptions o = SoloStorageOptions(dir_.path("ledger"));
  o.ledger_file_system = fs;
  LogCapture log;
  std::unique_ptr<OrdererNode> node;
  ASSERT_TRUE(OrdererNode::Start(o, SystemClock::Default(), &node).ok());
  std::set<std::string> acked, owed;
  std::vector<BuiltTx> failed;
  {
    AnsweredStream s(node->deliver_port());
    ASSERT_TRUE(s.SendAndAnswer(peer_, 30));
    ASSERT_EQ(s.With(BROADCAST_STATUS_SUCCESS).size(), 30u);

    fs->Fail(f.op, f.suffix, f.no_space);
    ASSERT_TRUE(s.SendAndAnswer(peer_, 30));
    EXPECT_EQ(node->metrics().broadcast_ack_timeouts.load(), 0u)
        << "answers owed waited for --ack-timeout instead of the failure";
    EXPECT_GT(fs->injected(), 0);
    acked = s.With(BROADCAST_STATUS_SUCCESS);
    owed = s.With(BROADCAST_STATUS_SERVICE_UNAVAILABLE);
    EXPECT_EQ(acked.size(), 30u) << "answered SUCCESS after the ledger failed";
    EXPECT_EQ(owed.size(), 30u);
    for (const std::string& id : owed) EXPECT_NE(s.InfoOf(id), "");
    failed = s.Envelopes(owed);
  }
  const Status err = node->Errored();
  ASSERT_FALSE(err.ok());
  for (const std::string& part :
       {std::string(f.named), std::string(f.suffix), dir_.path("ledger"), std::string("takes no more writes")}) {
    EXPECT_NE(err.message().find(part), std::string::npos) << part << " in " << err.ToString();
  }
  EXPECT_NE(log.Find({"solo chain stopped", f.named, f.suffix}), "") << log.All();
  {
    AnsweredStream late(node->deliver_port());
    ASSERT_TRUE(late.SendAndAnswer(peer_, 1));
    EXPECT_EQ(late.With(BROADCAST_STATUS_SERVICE_UNAVAILABLE).size(), 1u);
  }
  node->Stop();
  node.reset();

  const std::set<std::string> held = ExpectHoldsEveryAcked(o.ledger_dir, acked);
  size_t failed_held = 0;
  for (const std::string& id : owed) failed_held += held.count(id);
  // Only a sync that failed after the write may leave the block behind (whole).
  if (f.op != FileOp::kSync) {
    EXPECT_EQ(failed_held, 0u);
  }
  std::cout << "fault " << f.name << ": " << fs->injected() << " faults injected, " << held.size()
            << " transactions in the ledger, " << failed_held << " of the " << owed.size()
            << " answered SERVICE_UNAVAILABLE among them\n";
  ExpectRestartResumes(o, peer_, failed);
}

INSTANTIATE_TEST_SUITE_P(
    Faults, StorageFaultTest,
    ::testing::Values(WriteFault{"wal_append", FileOp::kAppend, ".log", false, "While appending to file"},
                      WriteFault{"wal_fdatasync", FileOp::kSync, ".log", false, "While fdatasync"},
                      WriteFault{"wal_no_space", FileOp::kAppend, ".log", true, "No space left on device"}),
    [](const auto& info) { return std::string(info.param.name); });

// A flush (the memtable to table and blob files) that fails in the
// background puts RocksDB in read-only mode; the next block's write fails
// and stops the chain, naming the flush: not retried, not a crash.
TEST(StorageBackgroundFaultTest, AFailedBackgroundFlushStopsTheChainAtTheNextBlock) {
  TempDir dir("storage-flush");
  TestPeer peer("mychannel");
  auto fs = std::make_shared<FaultyFileSystem>();
  OrdererOptions o = SoloStorageOptions(dir.path("ledger"));
  o.ledger_file_system = fs;
  LogCapture log;
  std::unique_ptr<OrdererNode> node;
  ASSERT_TRUE(OrdererNode::Start(o, SystemClock::Default(), &node).ok());
  std::set<std::string> acked;
  std::vector<BuiltTx> failed;
  {
    AnsweredStream s(node->deliver_port());
    ASSERT_TRUE(s.SendAndAnswer(peer, 20));
    fs->Fail(FileOp::kAppend, ".sst");
    // RocksDB flushes by itself when its memtable fills (64 MB); the test
    // asks for it.
    EXPECT_FALSE(const_cast<BlockStore*>(node->ledger())->Flush().ok());
    EXPECT_NE(log.Find({"background flush", ".sst"}), "") << log.All();
    fs->Heal();
    ASSERT_TRUE(s.SendAndAnswer(peer, 20));
    acked = s.With(BROADCAST_STATUS_SUCCESS);
    EXPECT_EQ(acked.size(), 20u);
    failed = s.Envelopes(s.With(BROADCAST_STATUS_SERVICE_UNAVAILABLE));
    EXPECT_EQ(failed.size(), 20u);
  }
  const Status err = node->Errored();
  ASSERT_FALSE(err.ok());
  EXPECT_NE(err.message().find("background flush"), std::string::npos) << err.ToString();
  EXPECT_NE(err.message().find(".sst"), std::string::npos) << err.ToString();
  node.reset();
  ExpectHoldsEveryAcked(o.ledger_dir, acked);
  ExpectRestartResumes(o, peer, failed);
}

}  // namespace
}  // namespace ordering::testing

// A solo orderer whose ledger lives on a 4 MB tmpfs that fills up: the node
// stops with "No space left on device" named, Broadcast answers nothing
// SUCCESS that the ledger does not hold, nothing is stored in part, and a
// restart resumes the chain once there is room: after the mount is enlarged
// (mount -o remount,size=64m), or with the ledger copied to a larger place.
//
// Mounting needs root (CAP_SYS_ADMIN); where it is refused each test is
// skipped, saying so (ctest reports it as skipped: label `mount`, and
// `ctest -LE mount` leaves these out). The fixture unmounts in every case.
#include <gtest/gtest.h>
#include <sys/mount.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "ledger/testing/damage.h"
#include "tests/storage_harness.h"

namespace ordering::testing {
namespace {

class StorageFullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    mnt_ = dir_.path("mnt");
    std::filesystem::create_directories(mnt_);
    if (::mount("tmpfs", mnt_.c_str(), "tmpfs", 0, "size=4m") != 0) {
      GTEST_SKIP() << "cannot mount a tmpfs at " << mnt_ << ": " << std::strerror(errno)
                   << " (the full-disk tests need root or CAP_SYS_ADMIN)";
    }
    mounted_ = true;
  }
  // Unmounts even when the test failed; lazily if something still holds it.
  void TearDown() override {
    if (mounted_ && ::umount2(mnt_.c_str(), 0) != 0) {
      ADD_FAILURE() << "umount " << mnt_ << ": " << std::strerror(errno) << "; detaching it";
      ::umount2(mnt_.c_str(), MNT_DETACH);
    }
    mounted_ = false;
  }
  bool Remount(const std::string& size) {
    const std::string data = "size=" + size;
    return ::mount("tmpfs", mnt_.c_str(), "tmpfs", MS_REMOUNT, data.c_str()) == 0;
  }

  // Runs a solo node on the tmpfs until its ledger fills it. Returns the
  // transactions answered SUCCESS and those answered SERVICE_UNAVAILABLE
  // (as envelopes, to send again).
  void FillUp(const OrdererOptions& o, std::set<std::string>* acked, std::vector<BuiltTx>* refused) {
    LogCapture log;
    std::unique_ptr<OrdererNode> node;
    Status st = OrdererNode::Start(o, SystemClock::Default(), &node);
    ASSERT_TRUE(st.ok()) << st.ToString();
    AnsweredStream s(node->deliver_port());
    // About 1.1 KB per transaction in the write-ahead log: 4 MB is ~3,700.
    for (int round = 0; round < 100 && node->Errored().ok(); ++round) ASSERT_TRUE(s.SendAndAnswer(peer_, 100));
    EXPECT_EQ(node->metrics().broadcast_ack_timeouts.load(), 0u)
        << "an answer owed waited for --ack-timeout instead of the failure";
    const Status err = node->Errored();
    ASSERT_FALSE(err.ok()) << "the 4 MB tmpfs never filled";
    EXPECT_NE(err.message().find("No space left on device"), std::string::npos) << err.ToString();
    EXPECT_NE(err.message().find(o.ledger_dir), std::string::npos) << err.ToString();
    EXPECT_NE(log.Find({"solo chain stopped", "No space left on device"}), "") << log.All();
    *acked = s.With(BROADCAST_STATUS_SUCCESS);
    *refused = s.Envelopes(s.With(BROADCAST_STATUS_SERVICE_UNAVAILABLE));
    EXPECT_EQ(acked->size() + refused->size(), s.answered()) << "an answer other than SUCCESS or SERVICE_UNAVAILABLE";
    EXPECT_GT(acked->size(), 1000u);
    EXPECT_FALSE(refused->empty());
    std::cout << "tmpfs of 4 MB full after " << acked->size() << " transactions answered SUCCESS; " << refused->size()
              << " answered SERVICE_UNAVAILABLE\n";
  }

  TempDir dir_{"storage-full"};
  TestPeer peer_{"mychannel"};
  std::string mnt_;
  bool mounted_ = false;
};

TEST_F(StorageFullTest, AFullDiskStopsTheNodeAndARestartResumesOnceTheMountIsEnlarged) {
  OrdererOptions o = SoloStorageOptions(mnt_ + "/ledger");
  std::set<std::string> acked;
  std::vector<BuiltTx> refused;
  FillUp(o, &acked, &refused);
  if (HasFatalFailure()) return;
  {
    // Still full: a restart fails cleanly, naming the cause (opening the
    // ledger writes its log into table and blob files).
    std::unique_ptr<OrdererNode> node;
    Status st = OrdererNode::Start(o, SystemClock::Default(), &node);
    EXPECT_FALSE(st.ok()) << "started on a full disk";
    EXPECT_NE(st.message().find("No space left on device"), std::string::npos) << st.ToString();
  }
  ASSERT_TRUE(Remount("64m")) << std::strerror(errno);
  ExpectHoldsEveryAcked(o.ledger_dir, acked);
  ExpectRestartResumes(o, peer_, refused);
}

TEST_F(StorageFullTest, AFullDiskStopsTheNodeAndARestartResumesFromACopyInALargerPlace) {
  OrdererOptions o = SoloStorageOptions(mnt_ + "/ledger");
  std::set<std::string> acked;
  std::vector<BuiltTx> refused;
  FillUp(o, &acked, &refused);
  if (HasFatalFailure()) return;
  const std::string moved = dir_.path("ledger-moved");
  std::filesystem::copy(o.ledger_dir, moved, std::filesystem::copy_options::recursive);
  o.ledger_dir = moved;
  ExpectHoldsEveryAcked(o.ledger_dir, acked);
  ExpectRestartResumes(o, peer_, refused);
}

}  // namespace
}  // namespace ordering::testing

// An orderer started on a ledger or Raft log whose files were damaged while
// it was stopped (a flipped byte, an end cut off) refuses to start: the real
// `orderer` binary exits 1 (no signal, never "ready") with a message naming
// the file and the reason, and `ledger verify` on a damaged ledger does the
// same. The ledger is written by the test itself through Broadcast: part of
// it in RocksDB's table and blob files, the rest in its write-ahead log.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <thread>

#include "ledger/testing/damage.h"
#include "orderer/consensus/raft/raft_chain.h"
#include "tests/child_process.h"
#include "tests/raft_cluster.h"
#include "tests/storage_harness.h"

namespace ordering::testing {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

struct Outcome {
  int code = -1;       // exit code; 128 + signal if killed; -2 if it started ("orderer ready") or ran on
  std::string output;  // stdout and stderr
};

// Runs `argv` until it exits, says it is ready (then it is stopped: -2), or
// 20 s pass (-2 too).
Outcome RunBinary(const std::vector<std::string>& argv, const std::string& log) {
  ChildProcess p;
  Outcome out;
  if (!p.Start(argv, log)) return out;
  for (int i = 0; i < 200; ++i) {
    out.code = p.WaitAtMost(100);
    if (out.code != -2) break;
    if (ReadAll(log).find("orderer ready") != std::string::npos) break;
  }
  if (out.code == -2) {
    p.Signal(SIGTERM);
    p.Wait();
  }
  out.output = ReadAll(log);
  return out;
}

struct Damage {
  const char* name;
  bool raft;                                                 // the Raft log, else the ledger
  std::function<std::string(const std::string& dir)> do_it;  // damages the folder; returns what must be named
};

std::string Largest(const std::vector<std::string>& files) {
  std::string best;
  for (const std::string& f : files) {
    if (best.empty() || FileSize(f) > FileSize(best)) best = f;
  }
  return best;
}
std::string Name(const std::string& path) { return std::filesystem::path(path).filename().string(); }

// Every libraft metadata file, each changed by `change`.
std::string EachMetadata(const std::string& dir, const std::function<void(const std::string&)>& change) {
  std::vector<std::string> files = DirFiles(dir, "metadata", /*prefix=*/true);
  for (const std::string& f : files) change(f);
  return files.empty() ? "no metadata file" : "metadata";
}

void WriteLe64(const std::string& path, size_t at, uint64_t v) {
  std::fstream io(path, std::ios::in | std::ios::out | std::ios::binary);
  io.seekp(static_cast<std::streamoff>(at));
  for (int i = 0; i < 8; ++i) io.put(static_cast<char>((v >> (8 * i)) & 0xff));
}

const std::vector<Damage>& Damages() {
  static const std::vector<Damage> all = {
      {"wal_flipped_byte", false,
       [](const std::string& d) {
         const std::string f = DirFiles(d, ".log").back();
         FlipByte(f, static_cast<int64_t>(FileSize(f) / 2));
         return Name(f);
       }},
      {"sst_flipped_byte", false,
       [](const std::string& d) {
         const std::string f = DirFiles(d, ".sst").front();
         FlipByte(f, static_cast<int64_t>(FileSize(f) / 2));  // the tx index, not read at open
         return Name(f);
       }},
      {"sst_cut_short", false,
       [](const std::string& d) {
         const std::string f = DirFiles(d, ".sst").front();
         CutEnd(f, 100);
         return Name(f);
       }},
      {"blob_cut_short", false,
       [](const std::string& d) {
         const std::string f = DirFiles(d, ".blob").front();
         CutEnd(f, 100);
         return Name(f);
       }},
      {"current_flipped_byte", false,
       [](const std::string& d) {
         FlipByte(d + "/CURRENT", 2);
         return std::string("CURRENT");
       }},
      {"manifest_flipped_byte", false,
       [](const std::string& d) {
         const std::string f = DirFiles(d, "MANIFEST-", true).back();
         FlipByte(f, static_cast<int64_t>(FileSize(f) / 2));
         return Name(f);
       }},
      {"manifest_cut_short", false,
       [](const std::string& d) {
         const std::string f = DirFiles(d, "MANIFEST-", true).back();
         CutEnd(f, FileSize(f) / 2);
         return std::string("MANIFEST");
       }},
      {"raft_segment_flipped_byte", true,
       [](const std::string& d) {
         const std::string f = Largest(DirFiles(d, "00000000", true));
         FlipByte(f, static_cast<int64_t>(FileSize(f) / 2));
         return Name(f);
       }},
      {"raft_segment_cut_short", true,
       [](const std::string& d) {
         const std::string f = Largest(DirFiles(d, "00000000", true));
         CutEnd(f, 1000);
         return Name(f);
       }},
      {"raft_metadata_cut_short", true,
       [](const std::string& d) { return EachMetadata(d, [](const std::string& f) { CutEnd(f, 16); }); }},
      {"raft_metadata_flipped_format", true,
       [](const std::string& d) { return EachMetadata(d, [](const std::string& f) { FlipByte(f, 0); }); }},
      {"raft_metadata_version_zeroed", true,
       [](const std::string& d) {
         EachMetadata(d, [](const std::string& f) { WriteLe64(f, 8, 0); });
         return std::string("metadata1 has version 0");
       }},
      {"raft_metadata_term_zeroed", true,
       [](const std::string& d) {
         EachMetadata(d, [](const std::string& f) { WriteLe64(f, 16, 0); });
         return std::string("term 0");
       }},
      {"raft_segment_set_aside_before", true,
       [](const std::string& d) {
         const std::string f = Largest(DirFiles(d, "00000000", true));
         const std::string aside = d + "/corrupt-1796608292889994631-" + Name(f);
         std::filesystem::rename(f, aside);
         return Name(aside);
       }},
  };
  return all;
}

class StorageDamageTest : public ::testing::TestWithParam<size_t> {
 protected:
  // A solo ledger: 30 blocks from a first run (in table and blob files after
  // the second run's open; the tx index spans several data blocks), 3 more
  // from the second (in the write-ahead log).
  void WriteSolo() {
    OrdererOptions o = SoloStorageOptions(ledger_);
    for (int n : {300, 30}) {
      std::unique_ptr<OrdererNode> node;
      ASSERT_TRUE(OrdererNode::Start(o, SystemClock::Default(), &node).ok());
      AnsweredStream s(node->deliver_port());
      ASSERT_TRUE(s.SendAndAnswer(peer_, n));
      ASSERT_EQ(s.With(BROADCAST_STATUS_SUCCESS).size(), static_cast<size_t>(n));
    }
    args_ = {ORDERER_BIN, "--ledger-dir", ledger_, "--listen", "127.0.0.1:0", "--summary-interval", "0"};
  }
  // One raft node (a cluster of one), 3 blocks.
  void WriteRaft() {
    OrdererOptions base = SoloStorageOptions(ledger_);
    RaftCluster cluster(dir_.path("raft"), 1, base);
    ASSERT_TRUE(cluster.StartAll().ok());
    ASSERT_TRUE(WaitFor([&] { return cluster.chain(0)->IsLeader(); }));
    {
      AnsweredStream s(cluster.port(0));
      ASSERT_TRUE(s.SendAndAnswer(peer_, 30));
      ASSERT_EQ(s.With(BROADCAST_STATUS_SUCCESS).size(), 30u);
    }
    cluster.StopAll();
    ledger_ = cluster.ledger(0);
    const std::string raft_node = "1," + std::string("127.0.0.1:") + std::to_string(PickFreePort()) +
                                  ",127.0.0.1:" + std::to_string(PickFreePort());
    args_ = {ORDERER_BIN,
             "--ledger-dir",
             ledger_,
             "--raft-dir",
             ledger_ + ".raft",
             "--raft-id",
             "1",
             "--raft-node",
             raft_node,
             "--listen",
             raft_node.substr(raft_node.rfind(',') + 1),
             "--summary-interval",
             "0"};
  }

  TempDir dir_{"storage-damage"};
  TestPeer peer_{"mychannel"};
  std::string ledger_ = dir_.path("ledger");
  std::vector<std::string> args_;
};

TEST_P(StorageDamageTest, TheOrdererRefusesToStartNamingTheFile) {
  const Damage& d = Damages()[GetParam()];
  if (d.raft) {
    WriteRaft();
  } else {
    WriteSolo();
  }
  if (HasFatalFailure()) return;
  const std::string named = d.do_it(d.raft ? ledger_ + ".raft" : ledger_);
  const Outcome o = RunBinary(args_, dir_.path("orderer.log"));
  EXPECT_EQ(o.code, 1) << (o.code == -2 ? "it started on the damaged files" : "") << "\n" << o.output;
  EXPECT_NE(o.output.find("cannot start"), std::string::npos) << o.output;
  EXPECT_NE(o.output.find(named), std::string::npos) << "the message does not name " << named << ":\n" << o.output;
  EXPECT_EQ(o.output.find("orderer ready"), std::string::npos) << o.output;
  const size_t at = o.output.find("cannot start");
  if (at != std::string::npos) std::cout << d.name << ": " << o.output.substr(at, o.output.find('\n', at) - at) << "\n";
  if (d.raft) return;  // `ledger verify` reads the ledger, not the Raft log
  const Outcome v = RunBinary({LEDGER_BIN, "--path", ledger_, "verify"}, dir_.path("verify.log"));
  EXPECT_EQ(v.code, 1) << v.output;
  EXPECT_NE(v.output.find(named), std::string::npos) << "ledger verify does not name " << named << ":\n" << v.output;
}

// The same ledgers, undamaged, start (so a refusal above is the damage's).
TEST_F(StorageDamageTest, UndamagedTheyStart) {
  WriteSolo();
  ASSERT_FALSE(HasFatalFailure());
  Outcome o = RunBinary(args_, dir_.path("solo.log"));
  EXPECT_NE(o.output.find("orderer ready"), std::string::npos) << o.output;
  WriteRaft();
  ASSERT_FALSE(HasFatalFailure());
  o = RunBinary(args_, dir_.path("raft.log"));
  EXPECT_NE(o.output.find("orderer ready"), std::string::npos) << o.output;
}

INSTANTIATE_TEST_SUITE_P(Files, StorageDamageTest, ::testing::Range(size_t{0}, Damages().size()),
                         [](const auto& info) { return std::string(Damages()[info.param].name); });

}  // namespace
}  // namespace ordering::testing

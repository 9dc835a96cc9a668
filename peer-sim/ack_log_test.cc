// The acknowledgement log: its one line format (written and read back), a
// torn line told from a whole one, appending after a torn line, writers on
// many threads, and lines reaching the file while the run goes on.
#include "peer-sim/ack_log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

namespace ordering {
namespace {

class AckLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::path(::testing::TempDir()) / ("acklog-" + std::to_string(::getpid()) + "-" +
                                                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "acks.log").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::vector<std::string> Lines() const {
    std::ifstream in(path_);
    std::vector<std::string> lines;
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    return lines;
  }

  std::filesystem::path dir_;
  std::string path_;
};

TEST(AckLine, IsWrittenAndReadBack) {
  std::string text;
  AppendAckLine("9f86d081884c7d65", "SUCCESS", 1700000000123456789, 1700000000223456789, 3, &text);
  EXPECT_EQ(text, "9f86d081884c7d65 SUCCESS 1700000000123456789 1700000000223456789 3 END\n");
  AckLine l;
  ASSERT_EQ(ParseAckLine(std::string_view(text).substr(0, text.size() - 1), &l), AckLineKind::kLine);
  EXPECT_EQ(l, (AckLine{"9f86d081884c7d65", "SUCCESS", 1700000000123456789, 1700000000223456789, 3}));
}

// Every proper prefix of a line (what a kill mid-write can leave) is torn,
// and so is anything malformed; '#' lines and empty ones are comments.
TEST(AckLine, ATornOrMalformedLineIsNeverReadAsALine) {
  std::string text;
  AppendAckLine("abc123", "UNANSWERED_STREAM_BROKEN", 10, 20, 0, &text);
  text.pop_back();  // the newline
  AckLine l;
  ASSERT_EQ(ParseAckLine(text, &l), AckLineKind::kLine);
  for (size_t n = 1; n < text.size(); ++n) {
    EXPECT_EQ(ParseAckLine(text.substr(0, n), &l), AckLineKind::kTorn) << text.substr(0, n);
  }
  for (const char* bad : {"abc123 SUCCESS 10 20 0 END END", "abc123 SUCCESS 10 20 0 ENDX", "xyz SUCCESS 10 20 0 END",
                          "abc123 success 10 20 0 END", "abc123 SUCCESS 1x 20 0 END", "abc123 SUCCESS 10 20 -1 END",
                          "abc123  SUCCESS 10 20 0 END", "abc123 SUCCESS 10 20 END"}) {
    EXPECT_EQ(ParseAckLine(bad, &l), AckLineKind::kTorn) << bad;
  }
  EXPECT_EQ(ParseAckLine("# peer-sim ack log v1", &l), AckLineKind::kComment);
  EXPECT_EQ(ParseAckLine("", &l), AckLineKind::kComment);
}

TEST_F(AckLogTest, AppendsAfterATornLineWithoutJoiningIt) {
  {
    std::ofstream f(path_);
    f << "# an earlier run\nabc SUCCESS 1 2 0 END\nabd SUCC";  // killed mid-line
  }
  std::unique_ptr<AckLog> log;
  ASSERT_TRUE(AckLog::Open(path_, &log).ok());
  log->Record("abe", "BAD_REQUEST", 3, 4, 1);
  ASSERT_TRUE(log->Close().ok());
  EXPECT_EQ(log->lines(), 1u);
  std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 5u);
  AckLine l;
  EXPECT_EQ(ParseAckLine(lines[1], &l), AckLineKind::kLine);
  EXPECT_EQ(lines[2], "abd SUCC");
  EXPECT_EQ(ParseAckLine(lines[2], &l), AckLineKind::kTorn);
  EXPECT_EQ(ParseAckLine(lines[3], &l), AckLineKind::kComment);
  EXPECT_NE(lines[3].find("ack log v1"), std::string::npos);
  ASSERT_EQ(ParseAckLine(lines[4], &l), AckLineKind::kLine);
  EXPECT_EQ(l, (AckLine{"abe", "BAD_REQUEST", 3, 4, 1}));
}

TEST_F(AckLogTest, ManyThreadsWriteWholeLinesEachOnce) {
  std::unique_ptr<AckLog> log;
  ASSERT_TRUE(AckLog::Open(path_, &log, /*flush_interval_ms=*/1).ok());
  constexpr int kThreads = 4, kEach = 5000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        std::ostringstream id;
        id << std::hex << (t * kEach + i + 0x1000);
        log->Record(id.str(), i % 2 ? "SUCCESS" : "SERVICE_UNAVAILABLE", i, i + 1, static_cast<uint32_t>(t));
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE(log->Close().ok());
  std::set<std::string> ids;
  int comments = 0;
  for (const std::string& text : Lines()) {
    AckLine l;
    AckLineKind kind = ParseAckLine(text, &l);
    ASSERT_NE(kind, AckLineKind::kTorn) << text;
    if (kind == AckLineKind::kComment) {
      ++comments;
      continue;
    }
    EXPECT_TRUE(ids.insert(l.tx_id).second) << l.tx_id;
    EXPECT_EQ(l.answer_unix_ns, l.submit_unix_ns + 1);
  }
  EXPECT_EQ(comments, 1);
  EXPECT_EQ(ids.size(), static_cast<size_t>(kThreads * kEach));
  // Closing again changes nothing; a line after closing is dropped.
  log->Record("fff", "SUCCESS", 1, 2, 0);
  EXPECT_TRUE(log->Close().ok());
  EXPECT_EQ(Lines().size(), static_cast<size_t>(kThreads * kEach + 1));
}

// Lines reach the file every flush interval, not only at the end, so a
// process killed mid-run leaves what it had recorded up to about then.
TEST_F(AckLogTest, LinesReachTheFileWhileTheLogIsOpen) {
  std::unique_ptr<AckLog> log;
  ASSERT_TRUE(AckLog::Open(path_, &log).ok());
  log->Record("a1", "ACKED", 1, 2, 0);
  log->Record("a2", "FAILED", 1, 2, 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (Lines().size() < 3 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(Lines().size(), 3u) << "not written within 10 s (the interval is " << kAckLogFlushIntervalMs << " ms)";
  ASSERT_TRUE(log->Close().ok());
}

TEST_F(AckLogTest, AFileThatCannotBeOpenedIsAnError) {
  std::unique_ptr<AckLog> log;
  Status st = AckLog::Open((dir_ / "missing-dir" / "acks.log").string(), &log);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("missing-dir"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace ordering

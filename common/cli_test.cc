// The shared flag handling: a minus sign for an unsigned option is a usage
// error on the command line and in a --config file (Boost would wrap it).
#include "common/cli.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

namespace ordering::cli {
namespace {

namespace po = boost::program_options;

struct Flags {
  uint32_t count = 0;
  uint64_t bytes = 0;
  int64_t offset = 0;
  std::string config;
  po::options_description desc{"test"};
  Flags() {
    desc.add_options()("count", po::value(&count))("bytes", po::value(&bytes))("offset", po::value(&offset))(
        "config", po::value(&config));
  }
  std::optional<int> Parse(std::vector<std::string> args) {
    args.insert(args.begin(), "prog");
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    po::variables_map vm;
    return ParseFlags(static_cast<int>(argv.size()), argv.data(), "prog", desc, &vm);
  }
};

TEST(CliTest, ANegativeValueForAnUnsignedOptionIsAUsageError) {
  EXPECT_EQ(Flags().Parse({"--count", "-5"}), 2);
  EXPECT_EQ(Flags().Parse({"--count=-5"}), 2);
  EXPECT_EQ(Flags().Parse({"--bytes", " -1"}), 2);
  Flags ok;
  EXPECT_EQ(ok.Parse({"--count", "5", "--offset", "-5"}), std::nullopt);  // a signed option may be negative
  EXPECT_EQ(ok.count, 5u);
  EXPECT_EQ(ok.offset, -5);
}

TEST(CliTest, ANegativeValueInAConfigFileIsAUsageErrorToo) {
  const std::string path = ::testing::TempDir() + "/cli_test_" + std::to_string(::getpid()) + ".conf";
  {
    std::ofstream out(path);
    out << "count = -5\n";
  }
  EXPECT_EQ(Flags().Parse({"--config", path}), 2);
  {
    std::ofstream out(path);
    out << "count = 7\n";
  }
  Flags ok;
  EXPECT_EQ(ok.Parse({"--config", path}), std::nullopt);
  EXPECT_EQ(ok.count, 7u);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace ordering::cli

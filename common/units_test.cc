#include "common/units.h"

#include <gtest/gtest.h>

namespace ordering {
namespace {

using namespace std::chrono_literals;

TEST(Units, Durations) {
  std::chrono::nanoseconds d;
  ASSERT_TRUE(ParseDuration("2s", &d).ok());
  EXPECT_EQ(d, 2s);
  ASSERT_TRUE(ParseDuration("250ms", &d).ok());
  EXPECT_EQ(d, 250ms);
  ASSERT_TRUE(ParseDuration("1500", &d).ok());  // bare = milliseconds
  EXPECT_EQ(d, 1500ms);
  ASSERT_TRUE(ParseDuration("30", &d, 1s).ok());
  EXPECT_EQ(d, 30s);
  ASSERT_TRUE(ParseDuration("2M", &d).ok());
  EXPECT_EQ(d, 2min);
  EXPECT_FALSE(ParseDuration("", &d).ok());
  EXPECT_FALSE(ParseDuration("s", &d).ok());
  EXPECT_FALSE(ParseDuration("-1s", &d).ok());
  EXPECT_FALSE(ParseDuration("3 days", &d).ok());
  EXPECT_FALSE(ParseDuration("99999999999999999999s", &d).ok());
}

TEST(Units, ByteSizes) {
  uint64_t n;
  ASSERT_TRUE(ParseByteSize("2MB", &n).ok());
  EXPECT_EQ(n, 2u * 1024 * 1024);
  ASSERT_TRUE(ParseByteSize("512kb", &n).ok());
  EXPECT_EQ(n, 512u * 1024);
  ASSERT_TRUE(ParseByteSize("1048576", &n).ok());
  EXPECT_EQ(n, 1048576u);
  EXPECT_FALSE(ParseByteSize("2TB", &n).ok());
  EXPECT_FALSE(ParseByteSize("MB", &n).ok());
}

}  // namespace
}  // namespace ordering

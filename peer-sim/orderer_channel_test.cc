// The streams' retry waits (bounded and doubling) and the orderer list they
// fail over along.
#include "peer-sim/orderer_channel.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace ordering {
namespace {

TEST(Backoff, DoublesFromTheInitialWaitUpToTheMaximumAndResets) {
  Backoff b(ReconnectOptions{100, 1000});
  std::vector<int64_t> waits;
  for (int i = 0; i < 6; ++i) waits.push_back(b.NextMs());
  EXPECT_EQ(waits, (std::vector<int64_t>{100, 200, 400, 800, 1000, 1000}));
  b.Reset();
  EXPECT_EQ(b.NextMs(), 100);
  Backoff small(ReconnectOptions{100, 50});  // a maximum under the initial wait bounds it too
  EXPECT_EQ(small.NextMs(), 50);
  EXPECT_EQ(small.NextMs(), 50);
}

TEST(ParseOrdererList, OneAddressOrACommaListInOrder) {
  std::vector<std::string> a;
  ASSERT_TRUE(ParseOrdererList("127.0.0.1:7050", &a).ok());
  EXPECT_EQ(a, std::vector<std::string>{"127.0.0.1:7050"});
  ASSERT_TRUE(ParseOrdererList("b.example:1,a.example:2,[::1]:3", &a).ok());
  EXPECT_EQ(a, (std::vector<std::string>{"b.example:1", "a.example:2", "[::1]:3"}));
}

TEST(ParseOrdererList, RefusesEmptyEntriesMissingPortsAndRepeats) {
  std::vector<std::string> a{"untouched:1"};
  for (const char* bad : {"", "a:1,", ",a:1", "a:1,,b:2", "a", "a:", ":1", "a:x1", "a:1,a:1"}) {
    Status st = ParseOrdererList(bad, &a);
    EXPECT_TRUE(st.IsInvalidArgument()) << "'" << bad << "': " << st.ToString();
  }
  EXPECT_EQ(a, std::vector<std::string>{"untouched:1"});
}

TEST(OrdererRotation, OneAddressNeverSwitches) {
  OrdererRotation r({"a:1"});
  EXPECT_FALSE(r.several());
  EXPECT_FALSE(r.serving().has_value());
  EXPECT_FALSE(r.Serving());
  EXPECT_EQ(r.Advance(), "a:1");
  EXPECT_FALSE(r.Serving());
  EXPECT_TRUE(r.switches().empty());
  EXPECT_EQ(r.serving(), "a:1");
}

TEST(OrdererRotation, MovesRoundRobinAndCountsSwitchesOntoEachAddress) {
  OrdererRotation r({"a:1", "b:2", "c:3"});
  EXPECT_TRUE(r.several());
  EXPECT_EQ(r.current(), "a:1");
  EXPECT_FALSE(r.Serving()) << "the first stream is not a switch";
  EXPECT_EQ(r.Advance(), "b:2");
  EXPECT_EQ(r.Advance(), "c:3");  // b did not serve: passed over
  EXPECT_TRUE(r.Serving());
  EXPECT_FALSE(r.Serving()) << "a new stream on the same orderer is no switch";
  EXPECT_EQ(r.Advance(), "a:1");
  EXPECT_TRUE(r.Serving());
  EXPECT_EQ(r.switches(), (std::map<std::string, uint64_t>{{"a:1", 1}, {"c:3", 1}}));
  EXPECT_EQ(r.serving(), "a:1");
}

}  // namespace
}  // namespace ordering

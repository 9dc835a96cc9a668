#include "orderer/cutter/block_cutter.h"

#include <gtest/gtest.h>

namespace ordering {
namespace {

CutterMessage Msg(const std::string& id, uint64_t size) { return CutterMessage{"env-" + id, size, id}; }

std::vector<std::string> Ids(const Batch& b) {
  std::vector<std::string> ids;
  for (const auto& m : b.messages) ids.push_back(m.tx_id);
  return ids;
}

BatchSizeOptions Opts(uint32_t count, uint64_t preferred) {
  BatchSizeOptions o;
  o.max_message_count = count;
  o.preferred_max_bytes = preferred;
  o.absolute_max_bytes = 10 * preferred;
  return o;
}

TEST(BlockCutter, BelowLimitsStaysPending) {
  BlockCutter c(Opts(3, 100));
  OrderedResult r = c.Ordered(Msg("a", 10));
  EXPECT_TRUE(r.batches.empty());
  EXPECT_TRUE(r.pending);
  EXPECT_FALSE(r.message_in_batches);
  EXPECT_EQ(c.pending_count(), 1u);
  EXPECT_EQ(c.pending_bytes(), 10u);
}

TEST(BlockCutter, CutsAtMaxMessageCount) {
  BlockCutter c(Opts(3, 1000));
  c.Ordered(Msg("a", 10));
  c.Ordered(Msg("b", 10));
  OrderedResult r = c.Ordered(Msg("c", 10));
  ASSERT_EQ(r.batches.size(), 1u);
  EXPECT_EQ(Ids(r.batches[0]), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(r.batches[0].reason, CUT_REASON_MAX_MESSAGE_COUNT);
  EXPECT_FALSE(r.pending);
  EXPECT_TRUE(r.message_in_batches);
  EXPECT_EQ(c.pending_count(), 0u);
  EXPECT_EQ(c.pending_bytes(), 0u);
}

TEST(BlockCutter, PreferredBytesOverflowCutsPendingAndStartsAnew) {
  BlockCutter c(Opts(10, 100));
  c.Ordered(Msg("a", 40));
  c.Ordered(Msg("b", 40));
  OrderedResult r = c.Ordered(Msg("c", 30));  // 80 + 30 > 100
  ASSERT_EQ(r.batches.size(), 1u);
  EXPECT_EQ(Ids(r.batches[0]), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(r.batches[0].reason, CUT_REASON_PREFERRED_MAX_BYTES);
  EXPECT_TRUE(r.pending);
  EXPECT_FALSE(r.message_in_batches);
  EXPECT_EQ(Ids(Batch{c.pending(), {}}), (std::vector<std::string>{"c"}));
  EXPECT_EQ(c.pending_bytes(), 30u);
}

TEST(BlockCutter, ExactlyPreferredBytesFits) {
  BlockCutter c(Opts(10, 100));
  c.Ordered(Msg("a", 60));
  OrderedResult r = c.Ordered(Msg("b", 40));  // 100, not > 100
  EXPECT_TRUE(r.batches.empty());
  EXPECT_EQ(c.pending_count(), 2u);
}

TEST(BlockCutter, OversizedMessageAloneWhenNothingPending) {
  BlockCutter c(Opts(10, 100));
  OrderedResult r = c.Ordered(Msg("big", 101));
  ASSERT_EQ(r.batches.size(), 1u);
  EXPECT_EQ(Ids(r.batches[0]), (std::vector<std::string>{"big"}));
  EXPECT_EQ(r.batches[0].reason, CUT_REASON_OVERSIZED_MESSAGE);
  EXPECT_FALSE(r.pending);
  EXPECT_TRUE(r.message_in_batches);
}

TEST(BlockCutter, OversizedMessageIsolatedFromPending) {
  BlockCutter c(Opts(10, 100));
  c.Ordered(Msg("a", 10));
  OrderedResult r = c.Ordered(Msg("big", 500));
  ASSERT_EQ(r.batches.size(), 2u);
  EXPECT_EQ(Ids(r.batches[0]), (std::vector<std::string>{"a"}));
  EXPECT_EQ(r.batches[0].reason, CUT_REASON_PREFERRED_MAX_BYTES);
  EXPECT_EQ(Ids(r.batches[1]), (std::vector<std::string>{"big"}));
  EXPECT_EQ(r.batches[1].reason, CUT_REASON_OVERSIZED_MESSAGE);
  EXPECT_FALSE(r.pending);
  EXPECT_TRUE(r.message_in_batches);
  EXPECT_EQ(c.pending_bytes(), 0u);
}

TEST(BlockCutter, MaxMessageCountOneCutsEveryMessage) {
  BlockCutter c(Opts(1, 100));
  for (const char* id : {"x", "y"}) {
    OrderedResult r = c.Ordered(Msg(id, 90));
    ASSERT_EQ(r.batches.size(), 1u);
    EXPECT_EQ(Ids(r.batches[0]), (std::vector<std::string>{id}));
    EXPECT_EQ(r.batches[0].reason, CUT_REASON_MAX_MESSAGE_COUNT);
    EXPECT_FALSE(r.pending);
  }
}

// Over a long mixed input: nothing lost, reordered or duplicated; no batch
// breaks a limit except a lone oversized message; batches are never empty.
TEST(BlockCutter, InvariantsHoldOverMixedInput) {
  BatchSizeOptions o = Opts(5, 200);
  BlockCutter c(o);
  std::vector<std::string> in, out;
  uint64_t seed = 12345;
  for (int i = 0; i < 2000; ++i) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    uint64_t size = (seed >> 33) % 260;  // some exceed preferred_max_bytes
    std::string id = std::to_string(i);
    in.push_back(id);
    OrderedResult r = c.Ordered(Msg(id, size));
    EXPECT_LE(r.batches.size(), 2u);
    bool found = false;
    for (const Batch& b : r.batches) {
      ASSERT_FALSE(b.messages.empty());
      EXPECT_LE(b.messages.size(), o.max_message_count);
      uint64_t bytes = 0;
      for (const auto& m : b.messages) bytes += m.size;
      if (b.messages.size() > 1) {
        EXPECT_LE(bytes, o.preferred_max_bytes);
      }
      if (b.reason == CUT_REASON_OVERSIZED_MESSAGE) {
        EXPECT_EQ(b.messages.size(), 1u);
      }
      for (const auto& m : b.messages) {
        out.push_back(m.tx_id);
        found |= m.tx_id == id;
      }
    }
    EXPECT_EQ(found, r.message_in_batches);
    EXPECT_EQ(r.pending, c.pending_count() > 0);
    if (i % 97 == 96) {
      for (const auto& m : c.Cut(CUT_REASON_TIMEOUT).messages) out.push_back(m.tx_id);
    }
  }
  for (const auto& m : c.Cut(CUT_REASON_TIMEOUT).messages) out.push_back(m.tx_id);
  EXPECT_EQ(in, out);
}

TEST(BlockCutter, TimeoutCutReturnsPendingWithReason) {
  BlockCutter c(Opts(10, 1000));
  c.Ordered(Msg("a", 10));
  c.Ordered(Msg("b", 10));
  Batch b = c.Cut(CUT_REASON_TIMEOUT);
  EXPECT_EQ(Ids(b), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(b.reason, CUT_REASON_TIMEOUT);
  EXPECT_EQ(c.pending_count(), 0u);
  EXPECT_EQ(c.pending_bytes(), 0u);
  Batch empty = c.Cut(CUT_REASON_TIMEOUT);
  EXPECT_TRUE(empty.messages.empty());
}

TEST(BlockCutter, SameInputSameBlocks) {
  auto run = [] {
    BlockCutter c(Opts(4, 100));
    std::vector<std::vector<std::string>> out;
    for (int i = 0; i < 50; ++i) {
      OrderedResult r = c.Ordered(Msg(std::to_string(i), static_cast<uint64_t>((i * 37) % 130)));
      for (auto& b : r.batches) out.push_back(Ids(b));
      if (i % 11 == 10) out.push_back(Ids(c.Cut(CUT_REASON_TIMEOUT)));
    }
    return out;
  };
  EXPECT_EQ(run(), run());
}

}  // namespace
}  // namespace ordering

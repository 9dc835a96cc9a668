// The one transaction decoder: what it accepts, and the first fault it
// names for each kind of broken input.
#include "common/envelope.h"

#include <gtest/gtest.h>

namespace ordering {
namespace {

std::string Serialized(const Payload& p, const std::string& signature = "sig") {
  Envelope env;
  env.set_payload(p.SerializeAsString());
  env.set_signature(signature);
  return env.SerializeAsString();
}

Payload GoodPayload() {
  Payload p;
  p.mutable_header()->set_channel_id("ch");
  p.mutable_header()->set_tx_id("abc");
  p.mutable_header()->set_creator("key");
  p.set_data("data");
  return p;
}

TEST(DecodeTx, ReadsHeaderPayloadAndSignature) {
  DecodedTx tx;
  ASSERT_TRUE(DecodeTx(Serialized(GoodPayload()), &tx).ok());
  EXPECT_EQ(tx.tx_id(), "abc");
  EXPECT_EQ(tx.header().channel_id(), "ch");
  EXPECT_EQ(tx.payload.data(), "data");
  EXPECT_EQ(tx.envelope.signature(), "sig");
}

TEST(DecodeTx, NamesTheFirstFault) {
  DecodedTx tx;
  auto message = [&](const std::string& bytes) {
    Status st = DecodeTx(bytes, &tx);
    EXPECT_TRUE(st.IsInvalidArgument()) << st.ToString();
    return st.message();
  };
  EXPECT_EQ(message(std::string("\xff\xff\xff", 3)), "envelope does not parse");
  Envelope bad_payload;
  bad_payload.set_payload(std::string("\xff\xff\xff", 3));
  EXPECT_EQ(message(bad_payload.SerializeAsString()), "payload does not parse");
  Payload p = GoodPayload();
  p.clear_header();
  EXPECT_EQ(message(Serialized(p)), "payload has no header");
  p = GoodPayload();
  p.mutable_header()->clear_tx_id();
  EXPECT_EQ(message(Serialized(p)), "header has no tx id");
  p = GoodPayload();
  p.mutable_header()->clear_creator();
  EXPECT_EQ(message(Serialized(p)), "header has no creator");
  // A reused DecodedTx decodes the next good one.
  ASSERT_TRUE(DecodeTx(Serialized(GoodPayload()), &tx).ok());
  EXPECT_EQ(tx.tx_id(), "abc");
}

TEST(DecodePayload, DecodesAnEnvelopeParsedElsewhere) {
  Envelope env;
  ASSERT_TRUE(env.ParseFromString(Serialized(GoodPayload())));
  DecodedTx tx;
  ASSERT_TRUE(DecodePayload(env, &tx).ok());
  EXPECT_EQ(tx.tx_id(), "abc");
  env.set_payload("\xff");
  EXPECT_FALSE(DecodePayload(env, &tx).ok());
}

}  // namespace
}  // namespace ordering

#include "orderer/ingress/validator.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/tx_factory.h"
#include "orderer/ingress/ordered_pool.h"

namespace ordering {
namespace {

class ValidatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(Signer::Generate(&signer_).ok());
    ASSERT_TRUE(Signer::Generate(&other_).ok());
    factory_ = std::make_unique<TxFactory>(signer_.get(), TxFactoryOptions{"ch", 1024}, SystemClock::Default());
    options_.channel_id = "ch";
    options_.absolute_max_bytes = 4096;
  }

  // An envelope whose payload has been changed by `edit` and then signed by `signer`.
  std::string Crafted(const std::function<void(Payload*)>& edit, const Signer* signer = nullptr) {
    Payload p;
    *p.mutable_header() = factory_->NewHeader();
    p.set_data(std::string(100, 'd'));
    edit(&p);
    Envelope env;
    std::string bytes = p.SerializeAsString();
    std::string sig;
    EXPECT_TRUE((signer ? signer : signer_.get())->Sign(bytes, &sig).ok());
    env.set_payload(bytes);
    env.set_signature(sig);
    return env.SerializeAsString();
  }

  CheckedEnvelope Check(std::string envelope) {
    Validator v(options_);
    return v.Check(std::move(envelope));
  }

  std::unique_ptr<Signer> signer_, other_;
  std::unique_ptr<TxFactory> factory_;
  IngressOptions options_;
};

TEST_F(ValidatorTest, AcceptsAValidTransaction) {
  BuiltTx tx;
  ASSERT_TRUE(factory_->Build(&tx).ok());
  CheckedEnvelope m = Check(tx.envelope);
  ASSERT_TRUE(m.ok()) << m.detail;
  EXPECT_EQ(m.tx.tx_id, tx.tx_id);
  EXPECT_EQ(m.tx.envelope, tx.envelope);
  Envelope env;
  ASSERT_TRUE(env.ParseFromString(m.tx.envelope));
  EXPECT_EQ(m.tx.size, env.payload().size() + env.signature().size());
}

TEST_F(ValidatorTest, RandomBytesAreMalformed) {
  std::string junk = "\xff\xfe\x01 this is not protobuf \x07";
  CheckedEnvelope m = Check(junk);
  EXPECT_FALSE(m.ok());
  EXPECT_EQ(m.cause, RejectCause::kMalformed);
  EXPECT_FALSE(m.detail.empty());
  EXPECT_EQ(Check("").cause, RejectCause::kMalformed);              // an empty envelope: no header
  EXPECT_EQ(Check("\x0a\x05garb").cause, RejectCause::kMalformed);  // payload is not a Payload
}

TEST_F(ValidatorTest, MissingHeaderFieldsAreMalformed) {
  EXPECT_EQ(Check(Crafted([](Payload* p) { p->clear_header(); })).cause, RejectCause::kMalformed);
  EXPECT_EQ(Check(Crafted([](Payload* p) { p->mutable_header()->clear_tx_id(); })).cause, RejectCause::kMalformed);
  EXPECT_EQ(Check(Crafted([](Payload* p) { p->mutable_header()->clear_creator(); })).cause, RejectCause::kMalformed);
}

TEST_F(ValidatorTest, OversizedBeforeAndAfterParsing) {
  // Far too big: rejected unparsed.
  EXPECT_EQ(Check(std::string(5000 + kFramingAllowance, 'x')).cause, RejectCause::kOversized);
  // Within the framing allowance but payload + signature over the limit.
  options_.absolute_max_bytes = 1000;
  std::string rec = Crafted([](Payload* p) { p->set_data(std::string(760, 'd')); });
  ASSERT_LE(rec.size(), 1000 + kFramingAllowance);
  CheckedEnvelope m = Check(rec);
  EXPECT_EQ(m.cause, RejectCause::kOversized) << m.detail;
}

TEST_F(ValidatorTest, WrongChannel) {
  CheckedEnvelope m = Check(Crafted([](Payload* p) { p->mutable_header()->set_channel_id("other"); }));
  EXPECT_EQ(m.cause, RejectCause::kWrongChannel);
  EXPECT_NE(m.detail.find("other"), std::string::npos);
}

TEST_F(ValidatorTest, TxIdNotDerivedFromNonceAndCreator) {
  EXPECT_EQ(Check(Crafted([](Payload* p) { p->mutable_header()->set_tx_id(std::string(64, 'a')); })).cause,
            RejectCause::kBadTxId);
  EXPECT_EQ(Check(Crafted([](Payload* p) { p->mutable_header()->set_nonce("different"); })).cause,
            RejectCause::kBadTxId);
}

TEST_F(ValidatorTest, SignedWithAnotherKey) {
  EXPECT_EQ(Check(Crafted([](Payload*) {}, other_.get())).cause, RejectCause::kBadSignature);
}

TEST_F(ValidatorTest, TruncatedSignature) {
  BuiltTx tx;
  ASSERT_TRUE(factory_->Build(&tx).ok());
  Envelope env;
  ASSERT_TRUE(env.ParseFromString(tx.envelope));
  env.set_signature(env.signature().substr(0, env.signature().size() - 3));
  EXPECT_EQ(Check(env.SerializeAsString()).cause, RejectCause::kBadSignature);
  env.clear_signature();
  EXPECT_EQ(Check(env.SerializeAsString()).cause, RejectCause::kBadSignature);
}

TEST_F(ValidatorTest, AlteredPayloadAfterSigning) {
  BuiltTx tx;
  ASSERT_TRUE(factory_->Build(&tx).ok());
  Envelope env;
  ASSERT_TRUE(env.ParseFromString(tx.envelope));
  Payload p;
  ASSERT_TRUE(p.ParseFromString(env.payload()));
  p.set_data(p.data() + "!");
  env.set_payload(p.SerializeAsString());
  EXPECT_EQ(Check(env.SerializeAsString()).cause, RejectCause::kBadSignature);
}

// For a trusted source (a topic only orderers write) the signature is not
// verified again; every other check still applies.
TEST_F(ValidatorTest, WithoutSignatureVerificationTheOtherChecksStillApply) {
  options_.verify_signatures = false;
  EXPECT_TRUE(Check(Crafted([](Payload*) {}, other_.get())).ok());
  EXPECT_EQ(Check(Crafted([](Payload* p) { p->mutable_header()->set_channel_id("other"); })).cause,
            RejectCause::kWrongChannel);
  EXPECT_EQ(Check(Crafted([](Payload* p) { p->mutable_header()->set_nonce("different"); })).cause,
            RejectCause::kBadTxId);
  EXPECT_EQ(Check("not an envelope").cause, RejectCause::kMalformed);
  EXPECT_EQ(Check(Crafted([](Payload* p) { p->set_data(std::string(5000, 'x')); })).cause, RejectCause::kOversized);
}

TEST(RejectCause, NamesAreMetricLabels) {
  EXPECT_STREQ(RejectCauseName(RejectCause::kMalformed), "malformed");
  EXPECT_STREQ(RejectCauseName(RejectCause::kOversized), "oversized");
  EXPECT_STREQ(RejectCauseName(RejectCause::kWrongChannel), "wrong_channel");
  EXPECT_STREQ(RejectCauseName(RejectCause::kBadTxId), "bad_tx_id");
  EXPECT_STREQ(RejectCauseName(RejectCause::kBadSignature), "bad_signature");
  EXPECT_STREQ(RejectCauseName(RejectCause::kDuplicate), "duplicate");
}

// Results come back in submission order whatever order workers finish in;
// good and bad envelopes are interleaved so work per input varies.
TEST_F(ValidatorTest, PoolPreservesOrderAcrossWorkers) {
  constexpr int kInputs = 600;
  std::vector<std::string> values;
  for (int i = 0; i < kInputs; ++i) {
    if (i % 5 == 3) {
      values.push_back("junk" + std::to_string(i));
    } else {
      BuiltTx tx;
      ASSERT_TRUE(factory_->Build(&tx).ok());
      values.push_back(tx.envelope);
    }
  }
  using Pool = OrderedPool<std::pair<int, std::string>, std::pair<int, CheckedEnvelope>>;
  Pool pool(3, 16, [this]() -> Pool::Work {
    auto v = std::make_shared<Validator>(options_);
    return [v](std::pair<int, std::string>& in) { return std::make_pair(in.first, v->Check(std::move(in.second))); };
  });
  std::thread producer([&] {
    for (int i = 0; i < kInputs; ++i) ASSERT_TRUE(pool.Submit({i, values[i]}));
  });
  for (int i = 0; i < kInputs; ++i) {
    std::pair<int, CheckedEnvelope> m;
    ASSERT_TRUE(pool.Next(std::chrono::seconds(30), &m)) << "at " << i;
    ASSERT_EQ(m.first, i);
    EXPECT_EQ(m.second.ok(), i % 5 != 3);
  }
  producer.join();
  std::pair<int, CheckedEnvelope> m;
  EXPECT_FALSE(pool.Next(std::chrono::milliseconds(20), &m));  // nothing more
}

TEST(OrderedPool, SubmitBlocksWhenFullAndShutdownReleasesEveryone) {
  using Pool = OrderedPool<int, int>;
  auto pool = std::make_unique<Pool>(2, 2, [] { return Pool::Work([](int& x) { return x * 10; }); });
  ASSERT_TRUE(pool->Submit(0));
  ASSERT_TRUE(pool->Submit(1));
  std::atomic<int> third{-1};
  std::thread t([&] { third = pool->Submit(2) ? 1 : 0; });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(third.load(), -1);  // still blocked: two results not taken
  int m = -1;
  ASSERT_TRUE(pool->Next(std::chrono::seconds(5), &m));
  EXPECT_EQ(m, 0);
  t.join();
  EXPECT_EQ(third.load(), 1);

  std::thread blocked([&] { third = pool->Submit(4) ? 1 : 0; });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  pool->Shutdown();
  blocked.join();
  EXPECT_EQ(third.load(), 0);
  EXPECT_FALSE(pool->Next(std::chrono::milliseconds(10), &m));
  pool->Shutdown();  // idempotent
  EXPECT_FALSE(pool->Submit(5));
}

}  // namespace
}  // namespace ordering

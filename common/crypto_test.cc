#include "common/crypto.h"

#include <gtest/gtest.h>

namespace ordering {
namespace {

TEST(Sha256, KnownVectors) {
  // FIPS 180-2 test vectors.
  EXPECT_EQ(ToHex(Sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(ToHex(Sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Hex, RoundTripAndRejectsBadInput) {
  std::string bytes;
  ASSERT_TRUE(FromHex("00ff10Ab", &bytes));
  EXPECT_EQ(ToHex(bytes), "00ff10ab");
  EXPECT_FALSE(FromHex("abc", &bytes));
  EXPECT_FALSE(FromHex("zz", &bytes));
}

class SignatureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(Signer::Generate(&alice_).ok());
    ASSERT_TRUE(Signer::Generate(&bob_).ok());
    ASSERT_TRUE(alice_->Sign(kMessage, &sig_).ok());
  }
  static constexpr const char* kMessage = "a payload worth ordering";
  std::unique_ptr<Signer> alice_, bob_;
  std::string sig_;
  Verifier verifier_;
};

TEST_F(SignatureTest, ValidSignatureAccepted) {
  EXPECT_EQ(alice_->public_key_der().size(), 91u);  // P-256 SubjectPublicKeyInfo
  EXPECT_TRUE(verifier_.Verify(alice_->public_key_der(), kMessage, sig_));
  // Again, now through the key cache.
  EXPECT_TRUE(verifier_.Verify(alice_->public_key_der(), kMessage, sig_));
}

TEST_F(SignatureTest, WrongKeyRejected) { EXPECT_FALSE(verifier_.Verify(bob_->public_key_der(), kMessage, sig_)); }

TEST_F(SignatureTest, TruncatedSignatureRejected) {
  EXPECT_FALSE(verifier_.Verify(alice_->public_key_der(), kMessage, sig_.substr(0, sig_.size() - 1)));
  EXPECT_FALSE(verifier_.Verify(alice_->public_key_der(), kMessage, ""));
}

TEST_F(SignatureTest, AlteredPayloadRejected) {
  std::string altered = kMessage;
  altered[0] ^= 1;
  EXPECT_FALSE(verifier_.Verify(alice_->public_key_der(), altered, sig_));
}

TEST_F(SignatureTest, MalformedKeyRejected) {
  std::string key = alice_->public_key_der();
  EXPECT_FALSE(verifier_.Verify(key.substr(0, 40), kMessage, sig_));
  EXPECT_FALSE(verifier_.Verify(key + "x", kMessage, sig_));
  EXPECT_FALSE(verifier_.Verify("", kMessage, sig_));
}

TEST_F(SignatureTest, PemRoundTripKeepsIdentity) {
  std::unique_ptr<Signer> copy;
  ASSERT_TRUE(Signer::FromPem(alice_->PrivateKeyPem(), &copy).ok());
  EXPECT_EQ(copy->public_key_der(), alice_->public_key_der());
  std::string sig;
  ASSERT_TRUE(copy->Sign(kMessage, &sig).ok());
  EXPECT_TRUE(verifier_.Verify(alice_->public_key_der(), kMessage, sig));
  EXPECT_FALSE(Signer::FromPem("not a key", &copy).ok());
}

}  // namespace
}  // namespace ordering

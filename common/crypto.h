// SHA-256 and ECDSA P-256 (Fabric's signature scheme) on OpenSSL 3's EVP API.
// Every OpenSSL handle is owned by an RAII wrapper; nothing here throws.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/status.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace ordering {

using Digest = std::array<uint8_t, 32>;

Digest Sha256(std::string_view data);
// A digest as the raw 32 bytes stored in block headers.
inline std::string DigestBytes(const Digest& d) {
  return std::string(reinterpret_cast<const char*>(d.data()), d.size());
}
// Lower-case hex of arbitrary bytes.
std::string ToHex(std::string_view bytes);
std::string ToHex(const Digest& d);
// Returns false if `hex` is not an even-length hex string.
bool FromHex(std::string_view hex, std::string* out);

// A transaction id as Fabric derives it: hex(SHA-256(nonce || creator)).
std::string ComputeTxId(std::string_view nonce, std::string_view creator);

struct EvpPkeyDeleter {
  void operator()(EVP_PKEY* k) const;
};
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyDeleter>;

// An ECDSA P-256 key pair that signs. Thread-compatible: Sign() may be
// called from one thread at a time per Signer.
class Signer {
 public:
  // Generates a fresh key pair.
  [[nodiscard]] static Status Generate(std::unique_ptr<Signer>* out);
  // Loads a key pair from a PKCS#8 PEM private key.
  [[nodiscard]] static Status FromPem(std::string_view pem, std::unique_ptr<Signer>* out);

  // DER SubjectPublicKeyInfo; goes into Header.creator.
  const std::string& public_key_der() const { return public_key_der_; }
  std::string PrivateKeyPem() const;

  // DER ECDSA signature over SHA-256(data).
  [[nodiscard]] Status Sign(std::string_view data, std::string* signature) const;

 private:
  explicit Signer(EvpPkeyPtr key);
  EvpPkeyPtr key_;
  std::string public_key_der_;
};

// Checks ECDSA P-256/SHA-256 signatures. Parsed public keys are cached by
// their DER bytes (peers reuse one key for many transactions), so a Verifier
// is meant to live as long as its worker thread. Not thread-safe: give each
// thread its own Verifier.
class Verifier {
 public:
  explicit Verifier(size_t max_cached_keys = 1024) : max_cached_keys_(max_cached_keys) {}

  // True iff `signature` is a valid signature of `data` by the P-256 key
  // `public_key_der`. A malformed key or signature is simply invalid.
  bool Verify(std::string_view public_key_der, std::string_view data, std::string_view signature);

 private:
  EVP_PKEY* LookupKey(std::string_view public_key_der);
  size_t max_cached_keys_;
  std::unordered_map<std::string, EvpPkeyPtr> keys_;
};

}  // namespace ordering

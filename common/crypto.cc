#include "common/crypto.h"

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

namespace ordering {
namespace {

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;
struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter>;
struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

std::string OpenSslError() {
  unsigned long e = ERR_get_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof(buf));
  ERR_clear_error();
  return buf;
}

bool IsP256(EVP_PKEY* key) {
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) return false;
  char group[64];
  size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(key, "group", group, sizeof(group), &len) != 1) return false;
  return std::string_view(group, len) == "prime256v1";
}

}  // namespace

void EvpPkeyDeleter::operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }

Digest Sha256(std::string_view data) {
  Digest d;
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), d.data(), &len, EVP_sha256(), nullptr);
  return d;
}

std::string ToHex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xf]);
  }
  return out;
}

std::string ToHex(const Digest& d) {
  return ToHex(std::string_view(reinterpret_cast<const char*>(d.data()), d.size()));
}

bool FromHex(std::string_view hex, std::string* out) {
  if (hex.size() % 2 != 0) return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  out->clear();
  out->reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi << 4 | lo));
  }
  return true;
}

Signer::Signer(EvpPkeyPtr key) : key_(std::move(key)) {
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(key_.get(), &der);
  if (len > 0) {
    public_key_der_.assign(reinterpret_cast<char*>(der), len);
    OPENSSL_free(der);
  }
}

Status Signer::Generate(std::unique_ptr<Signer>* out) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  if (key == nullptr) return Status::Internal("generating P-256 key: " + OpenSslError());
  out->reset(new Signer(EvpPkeyPtr(key)));
  return Status::OK();
}

Status Signer::FromPem(std::string_view pem, std::unique_ptr<Signer>* out) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Status::Internal("BIO_new_mem_buf failed");
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (key == nullptr) return Status::InvalidArgument("not a PEM private key: " + OpenSslError());
  EvpPkeyPtr owned(key);
  if (!IsP256(key)) return Status::InvalidArgument("private key is not ECDSA P-256");
  out->reset(new Signer(std::move(owned)));
  return Status::OK();
}

std::string Signer::PrivateKeyPem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return {};
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, len);
}

Status Signer::Sign(std::string_view data, std::string* signature) const {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_.get()) != 1) {
    return Status::Internal("EVP_DigestSignInit: " + OpenSslError());
  }
  size_t len = 0;
  auto in = reinterpret_cast<const unsigned char*>(data.data());
  if (EVP_DigestSign(ctx.get(), nullptr, &len, in, data.size()) != 1) {
    return Status::Internal("EVP_DigestSign (size): " + OpenSslError());
  }
  signature->resize(len);
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature->data()), &len, in, data.size()) != 1) {
    return Status::Internal("EVP_DigestSign: " + OpenSslError());
  }
  signature->resize(len);
  return Status::OK();
}

EVP_PKEY* Verifier::LookupKey(std::string_view public_key_der) {
  auto it = keys_.find(std::string(public_key_der));
  if (it != keys_.end()) return it->second.get();
  auto p = reinterpret_cast<const unsigned char*>(public_key_der.data());
  EVP_PKEY* key = d2i_PUBKEY(nullptr, &p, static_cast<long>(public_key_der.size()));
  if (key == nullptr) {
    ERR_clear_error();
    return nullptr;
  }
  EvpPkeyPtr owned(key);
  // Trailing bytes after the DER structure make the key malformed.
  if (p != reinterpret_cast<const unsigned char*>(public_key_der.data()) + public_key_der.size() || !IsP256(key)) {
    return nullptr;
  }
  if (keys_.size() >= max_cached_keys_) keys_.clear();
  return keys_.emplace(std::string(public_key_der), std::move(owned)).first->second.get();
}

bool Verifier::Verify(std::string_view public_key_der, std::string_view data, std::string_view signature) {
  EVP_PKEY* key = LookupKey(public_key_der);
  if (key == nullptr) return false;
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1) {
    ERR_clear_error();
    return false;
  }
  int rc = EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                            reinterpret_cast<const unsigned char*>(data.data()), data.size());
  if (rc != 1) ERR_clear_error();
  return rc == 1;
}

std::string ComputeTxId(std::string_view nonce, std::string_view creator) {
  std::string buf;
  buf.reserve(nonce.size() + creator.size());
  buf.append(nonce).append(creator);
  return ToHex(Sha256(buf));
}

}  // namespace ordering

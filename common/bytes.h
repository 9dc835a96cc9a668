// Big-endian integer encodings used by the chain's hash inputs and the
// ledger's keys (fixed formats: see ledger/block_util.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ordering {

inline void AppendBe32(std::string* out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<char>((v >> shift) & 0xff));
}

inline void AppendBe64(std::string* out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>((v >> shift) & 0xff));
}

// Reads `bytes` (<= 8) big-endian bytes of `s` starting at `pos`. REQUIRES
// pos + bytes <= s.size().
inline uint64_t ReadBe(std::string_view s, size_t pos, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<uint8_t>(s[pos + i]);
  return v;
}

}  // namespace ordering

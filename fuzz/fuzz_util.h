// Helpers shared by the fuzz targets (fuzz/*_fuzz.cc), their seed generator
// (seeds_main.cc) and the replay driver (replay_main.cc).
//
// A target defines LLVMFuzzerTestOneInput. Built with ORDERING_FUZZ (clang,
// the `fuzz` preset) it links libFuzzer; in every other build it links
// replay_main.cc, which feeds it each file of its corpus and regressions.
// FUZZ_CHECK states a property the target expects; a violation aborts, which
// libFuzzer reports as a crash like any sanitizer finding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"

#define FUZZ_CHECK(cond)                                                                 \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                      \
    }                                                                                    \
  } while (0)

namespace ordering::fuzz {

// The channel the ingress targets check transactions against (and the seeds'
// transactions name).
inline constexpr const char* kChannel = "mychannel";

inline std::string Bytes(const uint8_t* data, size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

// Several byte strings in one input (the chain target's blocks): each is
// be32(length) then that many bytes. A length running past the end takes
// what is left, so no input is wasted.
inline std::vector<std::string> SplitFrames(std::string_view in) {
  std::vector<std::string> frames;
  size_t pos = 0;
  while (pos + 4 <= in.size()) {
    const uint64_t len = ReadBe(in, pos, 4);
    pos += 4;
    const size_t take = len < in.size() - pos ? static_cast<size_t>(len) : in.size() - pos;
    frames.emplace_back(in.substr(pos, take));
    pos += take;
  }
  return frames;
}

inline std::string JoinFrames(const std::vector<std::string>& frames) {
  std::string out;
  for (const std::string& f : frames) {
    AppendBe32(&out, static_cast<uint32_t>(f.size()));
    out += f;
  }
  return out;
}

// Silences the libraries' own logging (spdlog, protobuf's parse warnings):
// at millions of inputs it would be most of the run's time and output.
void QuietLogs();

}  // namespace ordering::fuzz

// Parsing of human-friendly durations ("2s", "250ms", "1m") and byte sizes
// ("2MB", "512KB", "1048576") for flags and config files. Sizes use binary
// multiples (1 KB = 1024 bytes), as Fabric's orderer config does.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "common/status.h"

namespace ordering {

// Accepts an integer with an optional unit: ns, us, ms, s, m, h. A bare
// number means `bare_unit`.
[[nodiscard]] Status ParseDuration(const std::string& text, std::chrono::nanoseconds* out,
                                   std::chrono::nanoseconds bare_unit = std::chrono::milliseconds(1));

// Accepts an integer with an optional unit: B, KB, MB, GB (also K, M, G,
// KiB, MiB, GiB), case-insensitive.
[[nodiscard]] Status ParseByteSize(const std::string& text, uint64_t* out);

}  // namespace ordering

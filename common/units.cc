#include "common/units.h"

#include <algorithm>
#include <cctype>
#include <limits>

namespace ordering {
namespace {

// Splits "250ms" into 250 and "ms". False if there are no leading digits or
// the number overflows.
bool SplitNumber(const std::string& text, uint64_t* number, std::string* unit) {
  size_t i = 0;
  uint64_t n = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
    uint64_t d = text[i] - '0';
    if (n > (std::numeric_limits<uint64_t>::max() - d) / 10) return false;
    n = n * 10 + d;
    ++i;
  }
  if (i == 0) return false;
  *number = n;
  *unit = text.substr(i);
  std::transform(unit->begin(), unit->end(), unit->begin(), [](unsigned char c) { return std::tolower(c); });
  return true;
}

}  // namespace

Status ParseDuration(const std::string& text, std::chrono::nanoseconds* out, std::chrono::nanoseconds bare_unit) {
  uint64_t n = 0;
  std::string unit;
  if (!SplitNumber(text, &n, &unit)) {
    return Status::InvalidArgument("'" + text + "' is not a duration (e.g. 2s, 250ms)");
  }
  int64_t per;
  if (unit.empty())
    per = bare_unit.count();
  else if (unit == "ns")
    per = 1;
  else if (unit == "us")
    per = 1'000;
  else if (unit == "ms")
    per = 1'000'000;
  else if (unit == "s")
    per = 1'000'000'000;
  else if (unit == "m")
    per = 60'000'000'000;
  else if (unit == "h")
    per = 3'600'000'000'000;
  else
    return Status::InvalidArgument("'" + text + "': unknown duration unit '" + unit + "'");
  if (n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max() / per)) {
    return Status::InvalidArgument("'" + text + "' is too long a duration");
  }
  *out = std::chrono::nanoseconds(static_cast<int64_t>(n) * per);
  return Status::OK();
}

Status ParseByteSize(const std::string& text, uint64_t* out) {
  uint64_t n = 0;
  std::string unit;
  if (!SplitNumber(text, &n, &unit)) {
    return Status::InvalidArgument("'" + text + "' is not a byte size (e.g. 2MB, 1048576)");
  }
  uint64_t per;
  if (unit.empty() || unit == "b")
    per = 1;
  else if (unit == "k" || unit == "kb" || unit == "kib")
    per = 1ull << 10;
  else if (unit == "m" || unit == "mb" || unit == "mib")
    per = 1ull << 20;
  else if (unit == "g" || unit == "gb" || unit == "gib")
    per = 1ull << 30;
  else
    return Status::InvalidArgument("'" + text + "': unknown size unit '" + unit + "'");
  if (n > std::numeric_limits<uint64_t>::max() / per) {
    return Status::InvalidArgument("'" + text + "' is too large");
  }
  *out = n * per;
  return Status::OK();
}

}  // namespace ordering

// fuzz_properties: the .properties parser (common/properties.h) that reads
// the producer profiles, client configs and --*-prop overrides: whole texts
// (ParseProperties), each line as an override (ParsePropertyOverride) and
// lookups (GetProperty). What it accepts must print back as key=value lines
// that parse to the same properties.
// Input: the text of a .properties file.
#include <cstddef>
#include <cstdint>
#include <sstream>

#include "common/properties.h"
#include "fuzz/fuzz_util.h"

using namespace ordering;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = fuzz::Bytes(data, size);
  Properties props;
  const Status parsed = ParseProperties(text, "fuzz", &props);
  FUZZ_CHECK(parsed.ok() || parsed.IsInvalidArgument());
  if (parsed.ok()) {
    std::string printed;
    for (const Property& p : props) {
      FUZZ_CHECK(!p.key.empty());
      FUZZ_CHECK(p.key.find_first_of("=:\n") == std::string::npos && p.value.find('\n') == std::string::npos);
      FUZZ_CHECK(GetProperty(props, p.key, "") == GetProperty(props, p.key, "unset"));
      printed += p.key + "=" + p.value + "\n";
    }
    Properties again;
    FUZZ_CHECK(ParseProperties(printed, "printed", &again).ok());
    FUZZ_CHECK(again.size() == props.size());
    for (size_t i = 0; i < props.size(); ++i) {
      FUZZ_CHECK(again[i].key == props[i].key && again[i].value == props[i].value);
    }
  }
  // Each line as a command-line override (`--producer-prop KEY=VALUE`).
  std::istringstream lines(text);
  std::string line;
  Properties overrides;
  while (std::getline(lines, line)) {
    const size_t before = overrides.size();
    const Status st = ParsePropertyOverride(line, "--producer-prop", &overrides);
    FUZZ_CHECK(st.ok() || st.IsInvalidArgument());
    FUZZ_CHECK(overrides.size() <= before + 1);
    if (overrides.size() > before) FUZZ_CHECK(GetProperty(overrides, overrides.back().key) == overrides.back().value);
  }
  return 0;
}

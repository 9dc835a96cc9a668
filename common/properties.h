// Java-style .properties files (the format of Kafka client and broker
// configs): `key=value` or `key: value`, `#`/`!` comments, blank lines.
// Line continuations and unicode escapes are not supported and are rejected
// rather than misread.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace ordering {

struct Property {
  std::string key;
  std::string value;
  std::string origin;  // "file.properties:12" or "--producer-prop"
};
using Properties = std::vector<Property>;

// Appends the properties of `path` to `out`, in file order.
[[nodiscard]] Status LoadPropertiesFile(const std::string& path, Properties* out);
// Parses text (for tests and inline overrides). `origin` names the source.
[[nodiscard]] Status ParseProperties(const std::string& text, const std::string& origin, Properties* out);
// Parses one "key=value" override, e.g. from a command-line flag.
[[nodiscard]] Status ParsePropertyOverride(const std::string& kv, const std::string& origin, Properties* out);

// Last value of `key`, or `fallback`. Later entries override earlier ones.
std::string GetProperty(const Properties& props, const std::string& key, const std::string& fallback = "");

}  // namespace ordering

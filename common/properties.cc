#include "common/properties.h"

#include <fstream>
#include <sstream>

namespace ordering {
namespace {

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

Status ParseLine(const std::string& raw, const std::string& origin, Properties* out) {
  std::string line = Trim(raw);
  if (line.empty() || line[0] == '#' || line[0] == '!') return Status::OK();
  if (line.back() == '\\') {
    return Status::InvalidArgument(origin + ": line continuations are not supported");
  }
  size_t sep = line.find_first_of("=:");
  if (sep == std::string::npos) {
    return Status::InvalidArgument(origin + ": expected key=value, got '" + line + "'");
  }
  std::string key = Trim(line.substr(0, sep));
  std::string value = Trim(line.substr(sep + 1));
  if (key.empty()) return Status::InvalidArgument(origin + ": empty key in '" + line + "'");
  out->push_back({key, value, origin});
  return Status::OK();
}

}  // namespace

Status ParseProperties(const std::string& text, const std::string& origin, Properties* out) {
  std::istringstream in(text);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    ORDERING_RETURN_IF_ERROR(ParseLine(line, origin + ":" + std::to_string(n), out));
  }
  return Status::OK();
}

Status LoadPropertiesFile(const std::string& path, Properties* out) {
  std::ifstream in(path);
  if (!in) return Status::IOError("cannot open properties file '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseProperties(ss.str(), path, out);
}

Status ParsePropertyOverride(const std::string& kv, const std::string& origin, Properties* out) {
  if (kv.find('=') == std::string::npos) {
    return Status::InvalidArgument(origin + ": expected key=value, got '" + kv + "'");
  }
  return ParseLine(kv, origin, out);
}

std::string GetProperty(const Properties& props, const std::string& key, const std::string& fallback) {
  std::string v = fallback;
  for (const auto& p : props) {
    if (p.key == key) v = p.value;
  }
  return v;
}

}  // namespace ordering

#include "orderer/consensus/registry.h"

#include "common/crypto.h"
#include "orderer/consensus/kafka/kafka_backend.h"
#include "orderer/consensus/raft/raft_backend.h"
#include "orderer/consensus/solo/solo_backend.h"

namespace ordering {

const std::vector<RegisteredBackend>& Backends() {
  static const std::vector<RegisteredBackend> kBackends = {
      {"solo", &solo::MakeBackend},            // one node, no replication: the reference
      {"kafka", &kafka_backend::MakeBackend},  // a Kafka partition orders the channel
      {"raft", &raft_backend::MakeBackend},    // 3 or 5 orderers replicate blocks with Raft
  };
  return kBackends;
}

std::unique_ptr<Backend> MakeBackend(const std::string& name) {
  for (const RegisteredBackend& b : Backends()) {
    if (name == b.name) return b.make();
  }
  return nullptr;
}

std::string BackendNames() {
  std::string names;
  for (const RegisteredBackend& b : Backends()) names += (names.empty() ? "" : ", ") + std::string(b.name);
  return names;
}

ConsenterMetadataCheck Backend::MetadataCheck() const {
  return [](uint64_t, const std::string&, const std::string& current) {
    return current.empty() ? std::string()
                           : "unexpected consenter metadata (" + std::to_string(current.size()) + " bytes)";
  };
}

nlohmann::json Backend::DescribeMetadata(const std::string& metadata) const {
  if (metadata.empty()) return nullptr;
  return {{"bytes_hex", ToHex(metadata)}};
}

}  // namespace ordering

#include "peer-sim/profile.h"

namespace ordering {

Status SplitProfile(const Properties& props, ProducerProfile* out) {
  for (const Property& p : props) {
    if (!p.key.starts_with(kBrokerSettingPrefix)) {
      out->producer.push_back(p);
      continue;
    }
    Property broker = p;
    broker.key = p.key.substr(kBrokerSettingPrefix.size());
    if (broker.key.empty()) return Status::InvalidArgument(p.origin + ": broker setting '" + p.key + "' has no name");
    out->broker.push_back(std::move(broker));
  }
  return Status::OK();
}

Status LoadProducerProfile(const std::string& path, ProducerProfile* out) {
  Properties props;
  ORDERING_RETURN_IF_ERROR(LoadPropertiesFile(path, &props));
  return SplitProfile(props, out);
}

}  // namespace ordering

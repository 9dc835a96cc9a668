// Producer profiles (configs/profiles/*.properties): librdkafka properties
// for the peers' producers, plus an optional broker part. Keys that start
// with `broker.` (e.g. `broker.num.network.threads=8`) are broker settings
// the bench applies to the brokers before the run; they are not librdkafka
// properties and are never passed to a producer.
#pragma once

#include <string>
#include <string_view>

#include "common/properties.h"
#include "common/status.h"

namespace ordering {

inline constexpr std::string_view kBrokerSettingPrefix = "broker.";

struct ProducerProfile {
  Properties producer;  // for librdkafka, in file order
  Properties broker;    // the `broker.` keys, prefix removed, in file order
};

// Sorts `props` into out->producer and out->broker (appending). A key that
// is the bare prefix ("broker.") is InvalidArgument naming its origin.
[[nodiscard]] Status SplitProfile(const Properties& props, ProducerProfile* out);

// Loads a profile file and splits it as above.
[[nodiscard]] Status LoadProducerProfile(const std::string& path, ProducerProfile* out);

}  // namespace ordering

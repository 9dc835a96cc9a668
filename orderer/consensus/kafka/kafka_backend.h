// The Kafka backend as the registry sees it: flags, consenter, metadata.
#pragma once

#include <memory>

#include "orderer/consensus/registry.h"

namespace ordering::kafka_backend {

std::unique_ptr<Backend> MakeBackend();

}  // namespace ordering::kafka_backend

// The raft backend as the registry sees it: flags, consenter, metadata.
#pragma once

#include <memory>

#include "orderer/consensus/registry.h"

namespace ordering::raft_backend {

std::unique_ptr<Backend> MakeBackend();

}  // namespace ordering::raft_backend

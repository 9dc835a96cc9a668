// The solo backend's flags and consenter, for the registry.
#pragma once

#include <memory>

#include "orderer/consensus/registry.h"

namespace ordering::solo {

std::unique_ptr<Backend> MakeBackend();

}  // namespace ordering::solo

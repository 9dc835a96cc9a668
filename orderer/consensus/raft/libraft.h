// libraft 0.15's C headers (they do not declare C linkage themselves).
#pragma once

extern "C" {
#include <raft.h>
}

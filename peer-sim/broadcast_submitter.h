// The broadcast submit path (submitter.h): a gRPC Broadcast stream to the
// orderer, pipelined (envelopes go out without waiting for answers; the
// orderer answers each, in order).
#pragma once

#include <memory>

#include "common/status.h"
#include "peer-sim/submitter.h"

namespace ordering {

// Connects (fails fast, naming the address, when the orderer cannot be
// reached within options.connect_timeout_ms) and opens the stream.
[[nodiscard]] Status MakeBroadcastSubmitter(const SubmitterOptions& options, std::unique_ptr<Submitter>* out);

}  // namespace ordering

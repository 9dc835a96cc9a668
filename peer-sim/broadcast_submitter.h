// The broadcast submit path (submitter.h): one gRPC Broadcast stream at a
// time to the orderer, pipelined (envelopes go out without waiting for
// answers; the orderer answers each, in order, whenever it is ready).
//
// When the stream breaks (the orderer stopped, crashed or restarted):
//   - every transaction sent on it and not yet answered is reported
//     kUnanswered (UNANSWERED_STREAM_BROKEN) and not resent: some of them
//     may still be ordered, which the Deliver side sees; resending would be
//     a client's policy, with its own duplicates to count;
//   - the next Submit waits a bounded, doubling backoff (ReconnectOptions),
//     then opens a new stream on a fresh channel, waiting for it to connect
//     for up to connect_timeout_ms from the break (or until give_up());
//     after that, transactions fail at once (not sent) until the orderer is
//     reachable again;
//   - one line is logged when the stream breaks, one when it is back, and
//     Streams() counts breaks, reconnects and the unanswered.
// A transaction whose Write finds the stream already broken was not sent:
// Submit returns non-OK for it.
//
// Several orderers (SubmitterOptions::orderer a comma list, serving one
// channel): the first stream goes to the first address that connects, in
// order; a stream that breaks moves to the next address, round robin, and
// an address that does not connect within
// ReconnectOptions::attempt_timeout_ms is passed over for the next, all
// within the same connect timeout. Streams() counts the switches per
// address, and which address the last stream was on.
//
// Answers are matched to transactions in stream order, checked against the
// tx id the answer carries: an answer naming a transaction other than the
// oldest outstanding goes to the one it names (and is logged), so an
// outcome is never given to the wrong transaction.
#pragma once

#include <memory>

#include "common/status.h"
#include "peer-sim/submitter.h"

namespace ordering {

// Connects (fails fast, naming the address, when the orderer cannot be
// reached within options.connect_timeout_ms) and opens the first stream.
[[nodiscard]] Status MakeBroadcastSubmitter(const SubmitterOptions& options, std::unique_ptr<Submitter>* out);

// The ack log's name for a Broadcast status: BROADCAST_STATUS_SUCCESS ->
// SUCCESS, ...; an unknown number -> STATUS_<n>.
std::string BroadcastStatusCode(int status);

}  // namespace ordering

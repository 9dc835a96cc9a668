// The load generator: N simulated peers, each with its own ECDSA key and its
// own submit path (submitter.h: its own librdkafka producer with the
// profile's settings writing to the channel's topic, or its own Broadcast
// stream to the orderer), submit signed transactions; a Deliver listener on
// the orderer sees every committed block, so each transaction is timed from
// submit to delivery. "Acknowledged" below means the path's answer: the
// broker's ack (kafka) or Broadcast's SUCCESS (broadcast).
//
// Signing: by default each peer builds and signs every transaction it will
// send before the clock starts (one thread per peer), so the measured
// window only hands pre-built records to the producers; signing costs
// ~20 us of CPU per transaction and would otherwise make the generator the
// limit. `sign_inline` signs each one just before producing it instead.
// A pre-signed transaction's header timestamp is the time it was signed
// (the orderer does not check it); tx ids stay unique (TxFactory).
//
// Pacing: with a rate, sending is open-loop. Transaction k is due at
// start + k / rate and its latency is measured from that due time, so a
// stalled producer or generator shows up as latency rather than quietly
// lowering the offered load (no coordinated omission). Without a rate,
// peers send flat out, limited to `max_in_flight` transactions submitted but
// not yet delivered (acknowledged in raw mode).
//
// Phases: warm-up (fixed length, or until steady: see SteadyDetector), then
// the measured window of `duration_ms`, then an optional cool-down, then the
// drain. The cool-down keeps submitting (unmeasured) after the window, so
// the window's last transactions share their block with the traffic that
// follows them, as in a system that does not stop; without it the last,
// partial block waits for BatchTimeout and inflates the window's tail. Transactions due in
// the warm-up are checked for loss and duplicates like all others but left
// out of rates and latencies. The drain (flush, waiting for deliveries,
// closing the producers) is bounded by `drain_timeout_ms` as a whole; what
// is still unacknowledged then is purged from the producers.
//
// Raw mode measures the producer alone (the research's setting): no orderer,
// latency is submit -> broker acknowledgement.
//
// The parts: load_options.h (what a run is asked to do), tracker.h (what it
// knows about each transaction, the phases and the figures), pool.h (the
// peers, the pre-signed pool and signing), load_report.h (the report, its
// diagnosis, JSON and text). This file: RunLoad, the pacing and the threads.
#pragma once

#include <atomic>

#include "common/status.h"
#include "peer-sim/load_options.h"
#include "peer-sim/load_report.h"

namespace ordering {

// Runs the load until count/duration is reached or *stop becomes true, then
// drains. Returns non-OK only when the run could not be carried out (bad
// options: InvalidArgument; broker or orderer unreachable); loss and
// duplicates are reported in *report. Blocks the calling thread for the
// whole run; `stop` (optional) is read from other threads and must outlive
// the call.
// `stop` ends submitting early (the drain still waits for what is owed, up
// to drain_timeout_ms); `abort` also cuts the drain short.
[[nodiscard]] Status RunLoad(const LoadOptions& options, LoadReport* report, const std::atomic<bool>* stop = nullptr,
                             const std::atomic<bool>* abort = nullptr);

}  // namespace ordering

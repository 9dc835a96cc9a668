// The simulated peers and their transactions: how many each peer signs
// before the clock starts (PlanPool, the pre-signed pool and its memory
// limit), the signing itself (PreSign, a thread per peer) and the one way a
// transaction is built for its submit path (SignInto), used by pre-signing
// and by inline signing alike.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/crypto.h"
#include "common/status.h"
#include "common/tx_factory.h"
#include "peer-sim/load_options.h"
#include "peer-sim/submitter.h"
#include "peer-sim/tracker.h"

namespace ordering {

// Estimated bytes a pre-signed pool holds per transaction beyond the record
// itself (ids, bookkeeping), for the memory check.
inline constexpr uint64_t kPoolOverheadBytesPerTx = 320;
// The largest pool (estimated memory) RunLoad accepts.
inline constexpr uint64_t kPoolMemoryLimitBytes = uint64_t{8} << 30;

struct PoolPlan {
  std::vector<uint64_t> per_peer;  // pre-signed transactions per peer; empty when signing inline
  uint64_t total = 0;
  uint64_t estimated_bytes = 0;
};

// The pre-signed pool RunLoad would build for `options` (see
// LoadOptions::pool_size). InvalidArgument, naming --pool-size, --rate and
// --duration, when its estimated memory exceeds kPoolMemoryLimitBytes.
[[nodiscard]] Status PlanPool(const LoadOptions& options, PoolPlan* plan);

// Peer `peer`'s share of `total` spread over `peers` (the first
// total % peers get one more). REQUIRES: peers > 0.
uint64_t ShareOf(uint64_t total, uint64_t peers, uint64_t peer);

// "1,234,567": counts in notices and messages.
std::string FormatCount(uint64_t n);

// One simulated peer: its own key, its transaction factory (signing with
// that key) and its own submit path. Owns all three.
struct SimulatedPeer {
  std::unique_ptr<Signer> signer;
  std::unique_ptr<TxFactory> factory;
  std::unique_ptr<Submitter> submitter;
};

// A built transaction, owned by its peer's pool for the whole run: the
// submitter's outcome finds it through the opaque pointer, and the Tracker
// keys on its tx_id, so neither may move (a deque keeps them in place).
struct PooledTx {
  TxRef ref;
  std::string tx_id;
  std::string bytes;         // what the submit path sends; released once sent
  int64_t sent_unix_ns = 0;  // when it was handed to the submit path (wall clock): the ack log's submit time
};
using TxPool = std::deque<PooledTx>;

// Builds and signs the transaction at `ref` with `peer`'s factory and
// appends it to *pool in the form `peer`'s submit path sends. `scratch` is
// reused between calls. Thread-compatible: one thread per peer.
[[nodiscard]] Status SignInto(SimulatedPeer* peer, TxRef ref, BuiltTx* scratch, TxPool* pool);

// Fills each peer's pool with plan.per_peer[i] transactions, one thread per
// peer. Stops early (OK, pools short) once `stopping` returns true.
// REQUIRES: plan, peers and pools have one entry per peer.
[[nodiscard]] Status PreSign(const PoolPlan& plan, std::vector<SimulatedPeer>* peers, std::vector<TxPool>* pools,
                             const std::function<bool()>& stopping);

}  // namespace ordering

#include "peer-sim/pool.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <thread>
#include <utility>

namespace ordering {

uint64_t ShareOf(uint64_t total, uint64_t peers, uint64_t peer) {
  return total / peers + (peer < total % peers ? 1 : 0);
}

std::string FormatCount(uint64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

Status PlanPool(const LoadOptions& o, PoolPlan* plan) {
  *plan = PoolPlan();
  if (o.sign_inline) return Status::OK();
  const uint64_t n = static_cast<uint64_t>(std::max(o.peers, 1));
  const double warmup_bound_s = o.warmup_mode == WarmupMode::kAuto
                                    ? std::ceil(static_cast<double>(o.warmup_max_ms) / 1000.0)
                                    : static_cast<double>(o.warmup_ms) / 1000.0;
  const double run_s = warmup_bound_s + static_cast<double>(o.duration_ms + o.cooldown_ms) / 1000.0;
  uint64_t total = 0;
  if (o.pool_size > 0) {
    total = o.pool_size;
  } else if (o.rate > 0) {
    // Every due time in the run, plus one per peer for rounding.
    total = o.duration_ms > 0 ? static_cast<uint64_t>(std::ceil(o.rate * run_s)) + n : UINT64_MAX;
  } else {
    constexpr uint64_t kFlatOutPerSecond = 20000, kFlatOutCap = 4'000'000;
    total = o.count > 0 ? o.count : std::min(kFlatOutCap, static_cast<uint64_t>(std::ceil(run_s)) * kFlatOutPerSecond);
  }
  if (o.count > 0) total = std::min(total, o.count);  // never more than will be sent
  plan->total = total;
  if (total > kPoolMemoryLimitBytes / (o.tx_size + kPoolOverheadBytesPerTx)) {
    char buf[160];
    const double gib =
        static_cast<double>(total) * static_cast<double>(o.tx_size + kPoolOverheadBytesPerTx) / (1u << 30);
    std::snprintf(buf, sizeof(buf), "%.1f GiB", gib);
    return Status::InvalidArgument("a pre-signed pool of " + FormatCount(total) + " transactions of " +
                                   std::to_string(o.tx_size) + " bytes needs about " + buf +
                                   ", over the 8 GiB limit: lower --pool-size, or --rate or --duration "
                                   "(the pool covers warm-up + duration at the rate), or sign inside the "
                                   "window with --sign-inline");
  }
  plan->estimated_bytes = total * (o.tx_size + kPoolOverheadBytesPerTx);
  for (uint64_t p = 0; p < n; ++p) plan->per_peer.push_back(ShareOf(total, n, p));
  return Status::OK();
}

Status SignInto(SimulatedPeer* peer, TxRef ref, BuiltTx* scratch, TxPool* pool) {
  ORDERING_RETURN_IF_ERROR(peer->factory->Build(scratch));
  std::string id = scratch->tx_id;
  pool->push_back(PooledTx{ref, std::move(id), peer->submitter->WireBytes(std::move(*scratch))});
  return Status::OK();
}

Status PreSign(const PoolPlan& plan, std::vector<SimulatedPeer>* peers, std::vector<TxPool>* pools,
               const std::function<bool()>& stopping) {
  std::vector<Status> results(peers->size());
  std::vector<std::thread> threads;
  for (size_t pi = 0; pi < peers->size(); ++pi) {
    threads.emplace_back([&, pi] {
      BuiltTx tx;
      for (uint64_t k = 0; k < plan.per_peer[pi]; ++k) {
        if (k % 1024 == 0 && stopping()) return;
        Status st = SignInto(&(*peers)[pi], TxRef{static_cast<uint32_t>(pi), k}, &tx, &(*pools)[pi]);
        if (!st.ok()) {
          results[pi] = st.WithContext("peer " + std::to_string(pi) + ": pre-signing");
          return;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const Status& st : results) ORDERING_RETURN_IF_ERROR(st);
  return Status::OK();
}

}  // namespace ordering

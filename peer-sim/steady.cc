#include "peer-sim/steady.h"

#include <cmath>

namespace ordering {

bool SteadyDetector::AddSecond(uint64_t completed, const LatencyHistogram& latencies) {
  ++seconds_;
  const size_t w = static_cast<size_t>(options_.window_seconds);
  recent_.push_back(Second{completed, latencies});
  if (recent_.size() > 2 * w) recent_.pop_front();
  if (recent_.size() < 2 * w) return false;

  uint64_t prev_n = 0, cur_n = 0;
  LatencyHistogram prev_h, cur_h;
  for (size_t i = 0; i < w; ++i) {
    prev_n += recent_[i].completed;
    prev_h.Merge(recent_[i].latencies);
    cur_n += recent_[w + i].completed;
    cur_h.Merge(recent_[w + i].latencies);
  }
  if (prev_n == 0 || prev_h.count() == 0 || cur_h.count() == 0) return false;
  const double prev_p50 = static_cast<double>(prev_h.Percentile(0.5));
  const double cur_p50 = static_cast<double>(cur_h.Percentile(0.5));
  if (prev_p50 <= 0) return false;
  auto within = [&](double cur, double prev) { return std::abs(cur - prev) <= options_.tolerance * prev; };
  // Both windows are equally long, so comparing counts compares rates.
  return within(static_cast<double>(cur_n), static_cast<double>(prev_n)) && within(cur_p50, prev_p50);
}

}  // namespace ordering

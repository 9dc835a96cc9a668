// Latency samples and their summary (percentiles by nearest rank).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace ordering {

struct LatencySummary {
  uint64_t count = 0;
  double mean_ms = 0, p50_ms = 0, p90_ms = 0, p95_ms = 0, p99_ms = 0, p999_ms = 0, max_ms = 0;
  // The distribution as (quantile, ms) points: every percent, then the tail
  // (99.1 .. 99.9, 99.99) and the maximum; enough for a CDF plot without
  // keeping every sample. Empty when there are no samples.
  std::vector<std::pair<double, double>> cdf;
};

// The quantiles LatencySummary::cdf holds, ascending, ending at 1.
inline std::vector<double> CdfQuantiles() {
  std::vector<double> q;
  for (int i = 1; i <= 99; ++i) q.push_back(i / 100.0);
  for (int i = 991; i <= 999; ++i) q.push_back(i / 1000.0);
  q.push_back(0.9999);
  q.push_back(1.0);
  return q;
}

// Nearest-rank percentile of sorted samples (q in [0, 1]).
inline int64_t Percentile(const std::vector<int64_t>& sorted, double q) {
  if (sorted.empty()) return 0;
  size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

// Summarizes nanosecond samples in milliseconds. Sorts `samples`.
inline LatencySummary Summarize(std::vector<int64_t>* samples) {
  LatencySummary s;
  if (samples->empty()) return s;
  std::sort(samples->begin(), samples->end());
  double sum = 0;
  for (int64_t v : *samples) sum += static_cast<double>(v);
  constexpr double kMs = 1e6;
  s.count = samples->size();
  s.mean_ms = sum / static_cast<double>(samples->size()) / kMs;
  s.p50_ms = static_cast<double>(Percentile(*samples, 0.50)) / kMs;
  s.p90_ms = static_cast<double>(Percentile(*samples, 0.90)) / kMs;
  s.p95_ms = static_cast<double>(Percentile(*samples, 0.95)) / kMs;
  s.p99_ms = static_cast<double>(Percentile(*samples, 0.99)) / kMs;
  s.p999_ms = static_cast<double>(Percentile(*samples, 0.999)) / kMs;
  s.max_ms = static_cast<double>(samples->back()) / kMs;
  s.cdf.push_back({0.0, static_cast<double>(samples->front()) / kMs});
  for (double q : CdfQuantiles()) s.cdf.push_back({q, static_cast<double>(Percentile(*samples, q)) / kMs});
  return s;
}

inline nlohmann::json ToJson(const LatencySummary& s) {
  return {{"count", s.count}, {"mean", s.mean_ms}, {"p50", s.p50_ms}, {"p90", s.p90_ms},
          {"p95", s.p95_ms},  {"p99", s.p99_ms},  {"p999", s.p999_ms}, {"max", s.max_ms},
          {"cdf", s.cdf}};
}

}  // namespace ordering

#include "common/prometheus_util.h"

#include <unistd.h>

#include <fstream>
#include <limits>
#include <sstream>
#include <string>

namespace ordering {

prometheus::MetricFamily MakeFamily(const char* name, const char* help, prometheus::MetricType type) {
  prometheus::MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = type;
  return f;
}

prometheus::ClientMetric& AddSample(prometheus::MetricFamily* family,
                                    std::vector<prometheus::ClientMetric::Label> labels, double value) {
  prometheus::ClientMetric m;
  m.label = std::move(labels);
  switch (family->type) {
    case prometheus::MetricType::Counter:
      m.counter.value = value;
      break;
    case prometheus::MetricType::Gauge:
      m.gauge.value = value;
      break;
    default:
      m.untyped.value = value;
      break;
  }
  family->metric.push_back(std::move(m));
  return family->metric.back();
}

void AddHistogram(prometheus::MetricFamily* family, std::vector<prometheus::ClientMetric::Label> labels,
                  const AtomicHistogram::Snapshot& snapshot) {
  prometheus::ClientMetric m;
  m.label = std::move(labels);
  m.histogram.sample_count = snapshot.count;
  m.histogram.sample_sum = snapshot.sum_seconds;
  for (size_t i = 0; i < snapshot.cumulative.size(); ++i) {
    prometheus::ClientMetric::Bucket b;
    b.cumulative_count = snapshot.cumulative[i];
    b.upper_bound =
        i < snapshot.upper_bounds.size() ? snapshot.upper_bounds[i] : std::numeric_limits<double>::infinity();
    m.histogram.bucket.push_back(b);
  }
  family->metric.push_back(std::move(m));
}

std::vector<prometheus::MetricFamily> ProcessCollector::Collect() const {
  using prometheus::MetricType;
  std::vector<prometheus::MetricFamily> out;
  // /proc/self/stat: fields after the command (which may hold spaces) start at ')'.
  std::ifstream stat_file("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
  const size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return out;
  std::istringstream fields(stat.substr(paren + 2));
  std::vector<std::string> f;
  for (std::string x; fields >> x;) f.push_back(x);
  // f[0] is field 3 (state): utime = field 14, stime = 15, num_threads = 20,
  // starttime = 22, rss = 24 (pages).
  auto field = [&](int n) { return static_cast<size_t>(n - 3) < f.size() ? std::stod(f[n - 3]) : 0.0; };
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));

  auto cpu = MakeFamily("process_cpu_seconds_total", "User and system CPU time spent in seconds.", MetricType::Counter);
  AddSample(&cpu, {}, (field(14) + field(15)) / ticks);
  out.push_back(std::move(cpu));
  auto rss = MakeFamily("process_resident_memory_bytes", "Resident memory size in bytes.", MetricType::Gauge);
  AddSample(&rss, {}, field(24) * page);
  out.push_back(std::move(rss));
  auto threads = MakeFamily("process_threads", "Number of OS threads in the process.", MetricType::Gauge);
  AddSample(&threads, {}, field(20));
  out.push_back(std::move(threads));

  // Start time: boot time (btime in /proc/stat) + starttime ticks.
  std::ifstream proc_stat("/proc/stat");
  double btime = 0;
  for (std::string line; std::getline(proc_stat, line);) {
    if (line.rfind("btime ", 0) == 0) btime = std::stod(line.substr(6));
  }
  if (btime > 0) {
    auto start = MakeFamily("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
                            MetricType::Gauge);
    AddSample(&start, {}, btime + field(22) / ticks);
    out.push_back(std::move(start));
  }
  return out;
}

}  // namespace ordering

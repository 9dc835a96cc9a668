// The monitoring endpoints over real HTTP on loopback: /metrics renders the
// registered collectables in Prometheus's text format, /healthz and /readyz
// answer 200 or 503 from their callbacks, and the lock-free histogram
// exports cumulative buckets.
#include <gtest/gtest.h>
#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <atomic>
#include <string>

#include "common/histogram.h"
#include "common/monitoring_server.h"
#include "common/prometheus_util.h"

namespace ordering {
namespace {

struct Response {
  int status = 0;
  std::string body;
};
Response Get(int port, const std::string& path) {
  Response r;
  if (!LocalHttpGet(port, path, &r.status, &r.body).ok()) r.status = -1;
  return r;
}

class HistogramCollector : public prometheus::Collectable {
 public:
  explicit HistogramCollector(const AtomicHistogram* h) : h_(h) {}
  std::vector<prometheus::MetricFamily> Collect() const override {
    auto f = MakeFamily("test_duration_seconds", "A test histogram.", prometheus::MetricType::Histogram);
    AddHistogram(&f, {{"channel", "ch"}}, h_->Read());
    return {f};
  }

 private:
  const AtomicHistogram* h_;
};

TEST(MonitoringServerTest, ServesMetricsHealthAndReadiness) {
  auto registry = std::make_shared<prometheus::Registry>();
  auto& counter = prometheus::BuildCounter().Name("test_events_total").Help("Events.").Register(*registry).Add({});
  counter.Increment(3);
  AtomicHistogram hist({0.001, 0.01, 0.1});
  hist.ObserveNanos(500'000);        // 0.5 ms: first bucket
  hist.ObserveNanos(5'000'000);      // 5 ms: second
  hist.ObserveNanos(2'000'000'000);  // 2 s: +Inf only
  std::atomic<bool> ready{false}, healthy{true};
  MonitoringOptions o;
  o.listen = "127.0.0.1:0";
  o.healthy = [&] { return healthy ? Status::OK() : Status::Unavailable("the chain stopped"); };
  o.ready = [&] { return ready ? Status::OK() : Status::Unavailable("starting"); };
  std::unique_ptr<MonitoringServer> server;
  ASSERT_TRUE(
      MonitoringServer::Start(
          o, {registry, std::make_shared<HistogramCollector>(&hist), std::make_shared<ProcessCollector>()}, &server)
          .ok());
  ASSERT_GT(server->port(), 0);

  Response got = Get(server->port(), "/metrics");
  EXPECT_EQ(got.status, 200) << got.body;
  const std::string& metrics = got.body;
  EXPECT_NE(metrics.find("test_events_total 3"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("# TYPE test_duration_seconds histogram"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("test_duration_seconds_bucket{channel=\"ch\",le=\"0.001\"} 1"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("test_duration_seconds_bucket{channel=\"ch\",le=\"0.01\"} 2"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("test_duration_seconds_bucket{channel=\"ch\",le=\"0.1\"} 2"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("test_duration_seconds_bucket{channel=\"ch\",le=\"+Inf\"} 3"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("test_duration_seconds_count{channel=\"ch\"} 3"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("process_resident_memory_bytes"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("process_cpu_seconds_total"), std::string::npos) << metrics;

  EXPECT_EQ(Get(server->port(), "/healthz").status, 200);
  Response r = Get(server->port(), "/readyz");
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("starting"), std::string::npos) << r.body;
  ready = true;
  EXPECT_EQ(Get(server->port(), "/readyz").status, 200);
  healthy = false;
  r = Get(server->port(), "/healthz");
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("the chain stopped"), std::string::npos) << r.body;
  EXPECT_EQ(Get(server->port(), "/nothing-here").status, 404);
  const int port = server->port();
  server->Stop();
  EXPECT_EQ(Get(port, "/healthz").status, -1);  // nothing answers
}

TEST(MonitoringServerTest, ABadOrBusyAddressIsAClearError) {
  std::unique_ptr<MonitoringServer> a, b;
  MonitoringOptions o;
  o.listen = "nonsense";
  Status st = MonitoringServer::Start(o, {}, &a);
  EXPECT_TRUE(st.IsInvalidArgument()) << st.ToString();
  o.listen = "127.0.0.1:0";
  ASSERT_TRUE(MonitoringServer::Start(o, {}, &a).ok());
  o.listen = "127.0.0.1:" + std::to_string(a->port());
  st = MonitoringServer::Start(o, {}, &b);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find(o.listen), std::string::npos) << st.ToString();
}

}  // namespace
}  // namespace ordering

// The HTTP side of monitoring: /metrics (Prometheus text format), /healthz
// and /readyz, on one address. civetweb serves HTTP (the server
// prometheus-cpp's own Exposer is built on: the Exposer alone cannot answer
// health checks with a status code); prometheus-cpp's core renders the
// metrics from the Collectables registered.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

class CivetServer;
namespace prometheus {
class Collectable;
}

namespace ordering {

struct MonitoringOptions {
  std::string listen;  // HOST:PORT; port 0 picks a free port
  // /healthz: 200 "ok" while this returns OK, else 503 and its message
  // (the process is up but cannot do its work: a failed chain).
  std::function<Status()> healthy;
  // /readyz: 200 once this returns OK (ready to take traffic), else 503.
  std::function<Status()> ready;
};

class MonitoringServer {
 public:
  // Starts serving; `collectables` are read on every scrape (from
  // civetweb's threads: they must be thread-safe) and must outlive the server.
  [[nodiscard]] static Status Start(const MonitoringOptions& options,
                                    std::vector<std::shared_ptr<prometheus::Collectable>> collectables,
                                    std::unique_ptr<MonitoringServer>* out);
  ~MonitoringServer();
  int port() const { return port_; }
  // Stops answering (waits for requests being served). Idempotent.
  void Stop();

  class Handler;

 private:
  MonitoringServer() = default;
  MonitoringOptions options_;
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables_;
  std::vector<std::unique_ptr<Handler>> handlers_;
  std::unique_ptr<CivetServer> server_;
  int port_ = 0;
};

// GETs http://127.0.0.1:port/path (a health probe, or a test reading its
// own server): the status code in *status and the body in *body.
// Unavailable when nothing answers.
[[nodiscard]] Status LocalHttpGet(int port, const std::string& path, int* status, std::string* body);

// Renders collectables in the Prometheus text exposition format (what
// /metrics answers; for tests and files).
std::string RenderMetrics(const std::vector<std::shared_ptr<prometheus::Collectable>>& collectables);

}  // namespace ordering

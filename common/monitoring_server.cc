#include "common/monitoring_server.h"

#include <CivetServer.h>
#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <sstream>

namespace ordering {

std::string RenderMetrics(const std::vector<std::shared_ptr<prometheus::Collectable>>& collectables) {
  std::vector<prometheus::MetricFamily> families;
  for (const auto& c : collectables) {
    std::vector<prometheus::MetricFamily> f = c->Collect();
    families.insert(families.end(), std::make_move_iterator(f.begin()), std::make_move_iterator(f.end()));
  }
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

namespace {

void Respond(mg_connection* conn, int code, const char* reason, const char* content_type, const std::string& body) {
  mg_printf(conn,
            "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nCache-Control: no-store\r\n"
            "Connection: close\r\n\r\n",
            code, reason, content_type, body.size());
  mg_write(conn, body.data(), body.size());
}

void RespondStatus(mg_connection* conn, const Status& st) {
  if (st.ok()) {
    Respond(conn, 200, "OK", "text/plain; charset=utf-8", "ok\n");
  } else {
    Respond(conn, 503, "Service Unavailable", "text/plain; charset=utf-8", st.ToString() + "\n");
  }
}

}  // namespace

class MonitoringServer::Handler : public CivetHandler {
 public:
  enum class Kind { kMetrics, kHealthz, kReadyz };
  Handler(Kind kind, const MonitoringServer* server) : kind_(kind), server_(server) {}

  bool handleGet(CivetServer*, mg_connection* conn) override {
    switch (kind_) {
      case Kind::kMetrics:
        Respond(conn, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", RenderMetrics(server_->collectables_));
        break;
      case Kind::kHealthz:
        RespondStatus(conn, server_->options_.healthy ? server_->options_.healthy() : Status::OK());
        break;
      case Kind::kReadyz:
        RespondStatus(conn, server_->options_.ready ? server_->options_.ready() : Status::OK());
        break;
    }
    return true;
  }

 private:
  Kind kind_;
  const MonitoringServer* server_;
};

Status MonitoringServer::Start(const MonitoringOptions& options,
                               std::vector<std::shared_ptr<prometheus::Collectable>> collectables,
                               std::unique_ptr<MonitoringServer>* out) {
  if (options.listen.empty()) return Status::InvalidArgument("monitoring: no listen address");
  const size_t colon = options.listen.rfind(':');
  if (colon == std::string::npos || colon + 1 == options.listen.size()) {
    return Status::InvalidArgument("monitoring: listen address '" + options.listen + "' is not HOST:PORT");
  }
  std::unique_ptr<MonitoringServer> s(new MonitoringServer());
  s->options_ = options;
  s->collectables_ = std::move(collectables);
  // civetweb's "listening_ports" takes IP:PORT (no host names).
  std::string host = options.listen.substr(0, colon);
  if (host == "localhost") host = "127.0.0.1";
  const std::string port = options.listen.substr(colon + 1);
  const std::string ports = host.empty() || host == "0.0.0.0" ? port : host + ":" + port;
  try {
    s->server_ = std::make_unique<CivetServer>(
        std::vector<std::string>{"listening_ports", ports, "num_threads", "2", "enable_keep_alive", "no"});
  } catch (const CivetException& e) {
    return Status::Unavailable("monitoring: cannot listen on " + options.listen + ": " + e.what());
  }
  std::vector<int> bound = s->server_->getListeningPorts();
  if (bound.empty()) return Status::Unavailable("monitoring: civetweb reports no listening port for " + options.listen);
  s->port_ = bound[0];
  using K = Handler::Kind;
  for (auto [uri, kind] : {std::pair{"/metrics$", K::kMetrics}, {"/healthz$", K::kHealthz}, {"/readyz$", K::kReadyz}}) {
    s->handlers_.push_back(std::make_unique<Handler>(kind, s.get()));
    s->server_->addHandler(uri, s->handlers_.back().get());
  }
  *out = std::move(s);
  return Status::OK();
}

MonitoringServer::~MonitoringServer() { Stop(); }

Status LocalHttpGet(int port, const std::string& path, int* status, std::string* body) {
  char err[256] = {0};
  mg_connection* conn = mg_download("127.0.0.1", port, 0, err, sizeof(err),
                                    "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path.c_str());
  if (conn == nullptr) return Status::Unavailable("GET 127.0.0.1:" + std::to_string(port) + path + ": " + err);
  const mg_response_info* info = mg_get_response_info(conn);
  *status = info != nullptr ? info->status_code : 0;
  body->clear();
  char buf[8192];
  for (int n; (n = mg_read(conn, buf, sizeof(buf))) > 0;) body->append(buf, static_cast<size_t>(n));
  mg_close_connection(conn);
  return Status::OK();
}

void MonitoringServer::Stop() {
  if (!server_) return;
  server_->close();
  server_.reset();
}

}  // namespace ordering

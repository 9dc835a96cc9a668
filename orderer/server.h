// The orderer's gRPC server: ordering.AtomicBroadcast with its two handlers,
// Broadcast (transactions in) and Deliver (blocks out), on one port.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "common/status.h"
#include "orderer/broadcast/broadcast_handler.h"
#include "orderer/deliver/deliver_service.h"

namespace ordering {

// HTTP/2 keepalive on every client connection: the server pings a
// connection that has streams open every `time_ms` and closes it (ending its
// streams, so their handlers return) when a ping is not answered within
// `timeout_ms`. Without it a client whose network vanished keeps its streams
// open here until TCP gives up (about 15 minutes with answers unacknowledged,
// never on an idle one). Clients may ping as often as every
// `min_client_ping_ms` (peer-sim pings every 10 s) without being sent away.
struct ServerKeepalive {
  int time_ms = 20'000;            // Default: 20 s
  int timeout_ms = 10'000;         // Default: 10 s
  int min_client_ping_ms = 5'000;  // Default: 5 s
};

class AtomicBroadcastServer {
 public:
  // Listens on `listen_address` ("127.0.0.1:7050"; port 0 picks one).
  // Messages larger than `max_receive_bytes` end their stream in gRPC
  // (RESOURCE_EXHAUSTED); set it above AbsoluteMaxBytes so that ingress sees,
  // rejects and counts oversized envelopes below that. Both handlers must
  // outlive the server.
  [[nodiscard]] static Status Start(const std::string& listen_address, BroadcastHandler* broadcast,
                                    DeliverService* deliver, int max_receive_bytes,
                                    std::unique_ptr<AtomicBroadcastServer>* out,
                                    const ServerKeepalive& keepalive = ServerKeepalive{});
  ~AtomicBroadcastServer();
  int port() const { return port_; }
  // Cancels open streams (after a 2 s grace) and stops. Idempotent.
  void Stop();

 private:
  class Service;
  AtomicBroadcastServer() = default;
  std::unique_ptr<Service> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace ordering

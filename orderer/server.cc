#include "orderer/server.h"

#include <chrono>

namespace ordering {

class AtomicBroadcastServer::Service final : public AtomicBroadcast::Service {
 public:
  Service(BroadcastHandler* broadcast, DeliverService* deliver) : broadcast_(broadcast), deliver_(deliver) {}
  grpc::Status Broadcast(grpc::ServerContext* context,
                         grpc::ServerReaderWriter<BroadcastResponse, Envelope>* stream) override {
    return broadcast_->Handle(context, stream);
  }
  grpc::Status Deliver(grpc::ServerContext* context, const SeekInfo* request,
                       grpc::ServerWriter<DeliverResponse>* writer) override {
    return deliver_->Handle(context, request, writer);
  }

 private:
  BroadcastHandler* broadcast_;
  DeliverService* deliver_;
};

Status AtomicBroadcastServer::Start(const std::string& listen_address, BroadcastHandler* broadcast,
                                    DeliverService* deliver, int max_receive_bytes,
                                    std::unique_ptr<AtomicBroadcastServer>* out) {
  std::unique_ptr<AtomicBroadcastServer> s(new AtomicBroadcastServer());
  s->service_ = std::make_unique<Service>(broadcast, deliver);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(listen_address, grpc::InsecureServerCredentials(), &s->port_);
  builder.RegisterService(s->service_.get());
  builder.SetMaxSendMessageSize(-1);
  builder.SetMaxReceiveMessageSize(max_receive_bytes);
  s->server_ = builder.BuildAndStart();
  if (!s->server_ || s->port_ == 0) {
    return Status::Unavailable("cannot listen on " + listen_address + " (address in use or invalid?)");
  }
  *out = std::move(s);
  return Status::OK();
}

AtomicBroadcastServer::~AtomicBroadcastServer() { Stop(); }

void AtomicBroadcastServer::Stop() {
  if (server_) {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    server_.reset();
  }
}

}  // namespace ordering

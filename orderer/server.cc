#include "orderer/server.h"

#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/sync_stream.h>

#include <chrono>
#include <string_view>
#include <vector>

#include "proto/ab.grpc.pb.h"

namespace ordering {
namespace {

// A Broadcast stream of raw frames, as BroadcastHandler reads and answers it.
class GrpcBroadcastIo final : public BroadcastStreamIo {
 public:
  GrpcBroadcastIo(grpc::ServerContext* context, grpc::ServerReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>* stream)
      : context_(context), stream_(stream) {}

  bool Read(std::string* frame) override {
    grpc::ByteBuffer buffer;
    if (!stream_->Read(&buffer)) return false;
    // A frame gRPC cannot hand over whole is answered as what is left of it
    // (nothing): ingress rejects it as malformed.
    frame->clear();
    std::vector<grpc::Slice> slices;
    if (!buffer.Dump(&slices).ok()) return true;
    frame->reserve(buffer.Length());
    for (const grpc::Slice& s : slices) frame->append(reinterpret_cast<const char*>(s.begin()), s.size());
    return true;
  }
  bool Write(const BroadcastResponse& response) override {
    const std::string bytes = response.SerializeAsString();
    grpc::Slice slice(bytes);
    return stream_->Write(grpc::ByteBuffer(&slice, 1));
  }
  std::string Peer() const override { return context_->peer(); }

  // The client's kAckHeader metadata ("" if none).
  std::string_view AckRequest() const {
    const auto& md = context_->client_metadata();
    auto it = md.find(kAckHeader);
    return it == md.end() ? std::string_view() : std::string_view(it->second.data(), it->second.size());
  }

 private:
  grpc::ServerContext* const context_;
  grpc::ServerReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>* const stream_;
};

class GrpcDeliverIo final : public DeliverStreamIo {
 public:
  GrpcDeliverIo(grpc::ServerContext* context, grpc::ServerWriter<DeliverResponse>* writer)
      : context_(context), writer_(writer) {}
  bool Write(const DeliverResponse& response) override { return writer_->Write(response); }
  bool IsCancelled() const override { return context_->IsCancelled(); }
  std::string Peer() const override { return context_->peer(); }

 private:
  grpc::ServerContext* const context_;
  grpc::ServerWriter<DeliverResponse>* const writer_;
};

grpc::Status Broadcast(BroadcastHandler* handler, grpc::ServerContext* context,
                       grpc::ServerReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>* stream) {
  GrpcBroadcastIo io(context, stream);
  handler->Serve(&io, io.AckRequest());
  return grpc::Status::OK;
}

grpc::Status Deliver(DeliverService* service, grpc::ServerContext* context, const SeekInfo* request,
                     grpc::ServerWriter<DeliverResponse>* writer) {
  GrpcDeliverIo io(context, writer);
  const Status st = service->Serve(*request, &io);
  if (st.ok()) return grpc::Status::OK;
  return grpc::Status(
      st.code() == Status::Code::kInvalidArgument ? grpc::StatusCode::INVALID_ARGUMENT : grpc::StatusCode::UNAVAILABLE,
      st.message());
}

}  // namespace

// ordering.AtomicBroadcast as generated code would register it, except that
// Broadcast takes and gives raw frames: the handler parses each envelope
// itself, once, and so can answer a frame that is not an Envelope (gRPC
// would end such a stream unanswered).
class AtomicBroadcastServer::Service final : public grpc::Service {
 public:
  Service(BroadcastHandler* broadcast, DeliverService* deliver) {
    // gRPC keeps the names' pointers: they must live as long as the process.
    static const std::string kBroadcast = std::string("/") + AtomicBroadcast::service_full_name() + "/Broadcast";
    static const std::string kDeliver = std::string("/") + AtomicBroadcast::service_full_name() + "/Deliver";
    AddMethod(new grpc::internal::RpcServiceMethod(
        kBroadcast.c_str(), grpc::internal::RpcMethod::BIDI_STREAMING,
        new grpc::internal::BidiStreamingHandler<BroadcastHandler, grpc::ByteBuffer, grpc::ByteBuffer>(&Broadcast,
                                                                                                       broadcast)));
    AddMethod(new grpc::internal::RpcServiceMethod(
        kDeliver.c_str(), grpc::internal::RpcMethod::SERVER_STREAMING,
        new grpc::internal::ServerStreamingHandler<DeliverService, SeekInfo, DeliverResponse>(&Deliver, deliver)));
  }
};

Status AtomicBroadcastServer::Start(const std::string& listen_address, BroadcastHandler* broadcast,
                                    DeliverService* deliver, int max_receive_bytes,
                                    std::unique_ptr<AtomicBroadcastServer>* out, const ServerKeepalive& keepalive) {
  std::unique_ptr<AtomicBroadcastServer> s(new AtomicBroadcastServer());
  s->service_ = std::make_unique<Service>(broadcast, deliver);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(listen_address, grpc::InsecureServerCredentials(), &s->port_);
  builder.RegisterService(s->service_.get());
  // gRPC sets SO_REUSEPORT by default: a second orderer on a taken port
  // would start and share the clients with the first. Refuse instead.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, keepalive.time_ms);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, keepalive.timeout_ms);
  // Keep pinging a connection whose streams are quiet (a Deliver stream
  // between blocks, a client that stopped sending): gRPC's default stops
  // after two pings without data, and a dead quiet client is never noticed.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, keepalive.min_client_ping_ms);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
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

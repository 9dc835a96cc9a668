// Broadcast: the way in for transactions (after Fabric's broadcast handler);
// the Broadcast half of ordering.AtomicBroadcast (server.h).
//
// Per stream, in order: each envelope runs ingress (the stateless checks);
// a rejected one is answered BAD_REQUEST with its cause and counted; an
// accepted one goes to the chain (Chain::Order) and is answered SUCCESS
// (accepted for ordering) or SERVICE_UNAVAILABLE (the chain is halted or has
// failed). Order() blocks while the chain's queue is full, so a slow chain
// stops this stream's reads and gRPC's flow control slows the client: no
// envelope is dropped. Each stream has its own Validator (and key cache).
//
// Thread-safety: Handle() on gRPC's threads; SetChain() from any thread.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>

#include "orderer/consensus/consensus.h"
#include "orderer/ingress/validator.h"
#include "orderer/metrics.h"
#include "proto/ab.grpc.pb.h"

namespace ordering {

class BroadcastHandler {
 public:
  // `metrics` must outlive the handler.
  BroadcastHandler(const IngressOptions& ingress, OrdererMetrics* metrics) : ingress_(ingress), metrics_(metrics) {}

  // The chain envelopes go to; until it is set, streams are answered
  // SERVICE_UNAVAILABLE. `chain` must outlive every stream (set nullptr
  // before destroying it).
  void SetChain(Chain* chain) { chain_.store(chain); }

  grpc::Status Handle(grpc::ServerContext* context, grpc::ServerReaderWriter<BroadcastResponse, Envelope>* stream);

 private:
  const IngressOptions ingress_;
  OrdererMetrics* metrics_;
  std::atomic<Chain*> chain_{nullptr};
};

}  // namespace ordering

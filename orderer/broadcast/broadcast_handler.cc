#include "orderer/broadcast/broadcast_handler.h"

#include <spdlog/spdlog.h>

namespace ordering {

grpc::Status BroadcastHandler::Handle(grpc::ServerContext* context,
                                      grpc::ServerReaderWriter<BroadcastResponse, Envelope>* stream) {
  SPDLOG_DEBUG("broadcast: stream from {}", context->peer());
  Validator validator(ingress_);
  Envelope env;
  BroadcastResponse response;
  uint64_t rejected_logged = 0;
  while (stream->Read(&env)) {
    metrics_->broadcast_received++;
    response.Clear();
    CheckedEnvelope checked = validator.Check(env);
    if (!checked.ok()) {
      metrics_->Reject(checked.cause);
      response.set_status(BROADCAST_STATUS_BAD_REQUEST);
      response.set_info(std::string(RejectCauseName(checked.cause)) + ": " + checked.detail);
      if (rejected_logged++ == 0) {
        spdlog::warn("broadcast: rejected an envelope from {}: {} (further rejections on this stream are counted)",
                     context->peer(), response.info());
      }
    } else {
      response.set_tx_id(checked.tx.tx_id);
      Chain* chain = chain_.load();
      Status st =
          chain != nullptr ? chain->Order(std::move(checked.tx)) : Status::Unavailable("the chain is not started yet");
      if (st.ok()) {
        metrics_->broadcast_accepted++;
        response.set_status(BROADCAST_STATUS_SUCCESS);
      } else {
        metrics_->broadcast_unavailable++;
        response.set_status(BROADCAST_STATUS_SERVICE_UNAVAILABLE);
        response.set_info(st.ToString());
      }
    }
    if (!stream->Write(response)) break;  // the client went away
  }
  return grpc::Status::OK;
}

}  // namespace ordering

#include "common/envelope.h"

namespace ordering {

Status DecodePayload(const Envelope& envelope, DecodedTx* out) {
  if (!out->payload.ParseFromString(envelope.payload())) return Status::InvalidArgument("payload does not parse");
  if (!out->payload.has_header()) return Status::InvalidArgument("payload has no header");
  const Header& h = out->payload.header();
  if (h.tx_id().empty()) return Status::InvalidArgument("header has no tx id");
  if (h.creator().empty()) return Status::InvalidArgument("header has no creator");
  return Status::OK();
}

Status DecodeTx(std::string_view envelope_bytes, DecodedTx* out) {
  if (!out->envelope.ParseFromArray(envelope_bytes.data(), static_cast<int>(envelope_bytes.size()))) {
    return Status::InvalidArgument("envelope does not parse");
  }
  return DecodePayload(out->envelope, out);
}

}  // namespace ordering

// The one decoder of the transaction wire format (proto/common.proto):
// Envelope{payload bytes, signature} -> Payload{header, data} -> Header{tx id,
// creator, ...}. Ingress, the ledger, peer-sim and the backends all read
// transactions through it, so what counts as "a transaction" is decided in
// one place.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "proto/common.pb.h"

namespace ordering {

// A transaction decoded down to its header.
struct DecodedTx {
  Envelope envelope;
  Payload payload;
  const Header& header() const { return payload.header(); }
  const std::string& tx_id() const { return payload.header().tx_id(); }
};

// Parses serialized Envelope bytes and its payload. InvalidArgument names
// the first thing wrong: "envelope does not parse", "payload does not
// parse", "payload has no header", "header has no tx id", "header has no
// creator". `out` may be reused across calls (it is overwritten).
[[nodiscard]] Status DecodeTx(std::string_view envelope_bytes, DecodedTx* out);

// The same for an Envelope that is already parsed (gRPC's Broadcast hands
// one over): decodes only its payload; `out->envelope` is left untouched.
[[nodiscard]] Status DecodePayload(const Envelope& envelope, DecodedTx* out);

}  // namespace ordering

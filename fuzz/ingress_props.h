// What the ingress targets (envelope_fuzz.cc, ingress_fuzz.cc) expect of
// Validator on any input, beyond not crashing:
//   * an accepted envelope is stored as received, its tx id and size are the
//     decoder's, and its size is within AbsoluteMaxBytes;
//   * Check(bytes) and Check(parsed Envelope) (Broadcast's path) reach the
//     same verdict on the same envelope, and what the latter stores
//     decodes to the same transaction.
#pragma once

#include <string>

#include "common/envelope.h"
#include "fuzz/fuzz_util.h"
#include "orderer/ingress/validator.h"

namespace ordering::fuzz {

// Runs both Check()s on `bytes` (and `parsed`, the Envelope DecodeTx made of
// them, or nullptr if they do not decode); returns Check(bytes)'s verdict.
inline RejectCause CheckIngress(const IngressOptions& options, const std::string& bytes, const Envelope* parsed) {
  Validator validator(options);
  const CheckedEnvelope checked = validator.Check(std::string(bytes));
  FUZZ_CHECK(checked.ok() == checked.detail.empty());
  if (checked.ok()) {
    DecodedTx tx;
    FUZZ_CHECK(DecodeTx(bytes, &tx).ok());
    FUZZ_CHECK(checked.tx.envelope == bytes);
    FUZZ_CHECK(checked.tx.tx_id == tx.tx_id());
    FUZZ_CHECK(checked.tx.size == tx.envelope.payload().size() + tx.envelope.signature().size());
    FUZZ_CHECK(checked.tx.size <= options.absolute_max_bytes);
  }
  if (parsed == nullptr) {
    FUZZ_CHECK(checked.cause == RejectCause::kMalformed || checked.cause == RejectCause::kOversized);
    return checked.cause;
  }
  // Check(bytes) rejects oversized input before parsing; an envelope may
  // carry bytes (unknown fields) that Check(Envelope)'s size rule ignores.
  if (bytes.size() > options.absolute_max_bytes + kFramingAllowance) return checked.cause;
  Validator broadcast(options);
  const CheckedEnvelope parsed_checked = broadcast.Check(*parsed);
  FUZZ_CHECK(parsed_checked.cause == checked.cause);
  if (parsed_checked.ok()) {
    DecodedTx tx;
    FUZZ_CHECK(DecodeTx(parsed_checked.tx.envelope, &tx).ok());
    FUZZ_CHECK(tx.tx_id() == checked.tx.tx_id);
    FUZZ_CHECK(parsed_checked.tx.size == checked.tx.size);
  }
  return checked.cause;
}

// `tx` with its channel and tx id made right, serialized: the input that
// gets past checks 4 and 5, so what follows them (signature verification on
// fuzzed keys and signatures) sees fuzzed data too.
inline std::string WithValidIds(const DecodedTx& tx, Envelope* envelope) {
  Payload payload = tx.payload;
  Header* h = payload.mutable_header();
  h->set_channel_id(kChannel);
  h->set_tx_id(ComputeTxId(h->nonce(), h->creator()));
  *envelope = tx.envelope;
  envelope->set_payload(payload.SerializeAsString());
  return envelope->SerializeAsString();
}

}  // namespace ordering::fuzz

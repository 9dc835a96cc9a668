#include "orderer/ingress/validator.h"

#include <chrono>

#include "common/envelope.h"

namespace ordering {

const char* RejectCauseName(RejectCause cause) {
  switch (cause) {
    case RejectCause::kNone:
      return "none";
    case RejectCause::kMalformed:
      return "malformed";
    case RejectCause::kOversized:
      return "oversized";
    case RejectCause::kWrongChannel:
      return "wrong_channel";
    case RejectCause::kBadTxId:
      return "bad_tx_id";
    case RejectCause::kBadSignature:
      return "bad_signature";
    case RejectCause::kDuplicate:
      return "duplicate";
    case RejectCause::kCount:
      break;
  }
  return "unknown";
}

namespace {

CheckedEnvelope Reject(RejectCause cause, std::string detail) {
  CheckedEnvelope m;
  m.cause = cause;
  m.detail = std::move(detail);
  return m;
}

}  // namespace

CheckedEnvelope Validator::Check(std::string envelope) {
  // 1. Oversized before parsing.
  if (envelope.size() > options_.absolute_max_bytes + kFramingAllowance) {
    return Reject(RejectCause::kOversized, "envelope of " + std::to_string(envelope.size()) +
                                               " bytes exceeds AbsoluteMaxBytes " +
                                               std::to_string(options_.absolute_max_bytes));
  }
  // 2. Structure.
  Status st = DecodeTx(envelope, &decoded_);
  if (!st.ok()) return Reject(RejectCause::kMalformed, st.message());
  return CheckDecoded(decoded_.envelope, &envelope);
}

CheckedEnvelope Validator::Check(const Envelope& envelope) {
  // 1. gRPC bounds what it parses (max receive size); 2. its payload.
  Status st = DecodePayload(envelope, &decoded_);
  if (!st.ok()) return Reject(RejectCause::kMalformed, st.message());
  return CheckDecoded(envelope, nullptr);
}

CheckedEnvelope Validator::CheckDecoded(const Envelope& env, std::string* bytes) {
  const Header& h = decoded_.header();
  // 3. Size as the cutter counts it.
  const uint64_t size = env.payload().size() + env.signature().size();
  if (size > options_.absolute_max_bytes) {
    return Reject(RejectCause::kOversized, "transaction of " + std::to_string(size) +
                                               " bytes exceeds AbsoluteMaxBytes " +
                                               std::to_string(options_.absolute_max_bytes));
  }
  // 4. Channel.
  if (h.channel_id() != options_.channel_id) {
    return Reject(RejectCause::kWrongChannel,
                  "transaction for channel '" + h.channel_id() + "' on channel '" + options_.channel_id + "'");
  }
  // 5. Tx id derivation.
  if (h.tx_id() != ComputeTxId(h.nonce(), h.creator())) {
    return Reject(RejectCause::kBadTxId, "tx id " + h.tx_id() + " is not hex(SHA-256(nonce || creator))");
  }
  // 6. Signature (unless the source is trusted to have verified it).
  if (options_.verify_signatures) {
    const auto verify_start = std::chrono::steady_clock::now();
    const bool verified = verifier_.Verify(h.creator(), env.payload(), env.signature());
    if (options_.verify_duration != nullptr) {
      options_.verify_duration->ObserveNanos(
          std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - verify_start)
              .count());
    }
    if (!verified) {
      return Reject(RejectCause::kBadSignature, "signature of tx " + h.tx_id() + " does not verify");
    }
  }
  CheckedEnvelope m;
  m.tx.size = size;
  m.tx.tx_id = h.tx_id();
  // The block stores the envelope's bytes: those received, or (gRPC parsed
  // them) the envelope serialized once, here.
  m.tx.envelope = bytes != nullptr ? std::move(*bytes) : env.SerializeAsString();
  return m;
}

}  // namespace ordering

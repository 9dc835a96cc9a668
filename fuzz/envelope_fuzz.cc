// fuzz_envelope: the transaction decoder (common/envelope.h: DecodeTx,
// DecodePayload) and ingress as Broadcast runs it: channel "mychannel",
// signatures verified (orderer/ingress/validator.h).
// Input: a serialized Envelope, as a peer submits it.
#include <cstddef>
#include <cstdint>

#include "common/envelope.h"
#include "fuzz/fuzz_util.h"
#include "fuzz/ingress_props.h"

using namespace ordering;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = (fuzz::QuietLogs(), true);
  (void)quiet;
  const std::string input = fuzz::Bytes(data, size);
  DecodedTx tx;
  const Status decoded = DecodeTx(input, &tx);
  FUZZ_CHECK(decoded.ok() || decoded.IsInvalidArgument());
  if (decoded.ok()) {
    FUZZ_CHECK(!tx.tx_id().empty() && !tx.header().creator().empty());
    // The payload decoder alone, on the envelope already parsed (the path
    // Broadcast takes), finds the same transaction.
    DecodedTx again;
    FUZZ_CHECK(DecodePayload(tx.envelope, &again).ok());
    FUZZ_CHECK(again.tx_id() == tx.tx_id());
  }

  IngressOptions options;
  options.channel_id = fuzz::kChannel;
  options.verify_signatures = true;
  fuzz::CheckIngress(options, input, decoded.ok() ? &tx.envelope : nullptr);
  if (decoded.ok()) {
    // Past the channel and tx id checks: the signature check on fuzzed
    // creators (DER public keys) and signatures.
    Envelope fixed;
    const std::string bytes = fuzz::WithValidIds(tx, &fixed);
    const RejectCause cause = fuzz::CheckIngress(options, bytes, &fixed);
    FUZZ_CHECK(cause == RejectCause::kNone || cause == RejectCause::kBadSignature || cause == RejectCause::kOversized);
  }
  return 0;
}

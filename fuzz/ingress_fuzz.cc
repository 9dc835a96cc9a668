// fuzz_ingress: ingress with signature checks off (IngressOptions::
// verify_signatures = false, the Kafka backend when only orderers may write
// its topic) and a small AbsoluteMaxBytes (2 KB), so inputs get past the
// signature to the size rules and the accepted path.
// Input: a serialized Envelope.
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
  IngressOptions options;
  options.channel_id = fuzz::kChannel;
  options.absolute_max_bytes = 2048;
  options.verify_signatures = false;
  DecodedTx tx;
  const bool decoded = DecodeTx(input, &tx).ok();
  fuzz::CheckIngress(options, input, decoded ? &tx.envelope : nullptr);
  if (decoded) {
    // With the channel and tx id right and no signature check, only the
    // size rules may reject it.
    Envelope fixed;
    const std::string bytes = fuzz::WithValidIds(tx, &fixed);
    const RejectCause cause = fuzz::CheckIngress(options, bytes, &fixed);
    FUZZ_CHECK(cause == RejectCause::kNone || cause == RejectCause::kOversized);
  }
  return 0;
}

// fuzz_kafka_record: how the Kafka backend turns a consumed partition record
// into a regular / time-to-cut / connect record or a rejection
// (orderer/consensus/kafka/kafka_record.h: CheckRecord), with signatures
// verified (anyone may write the topic) and not (only orderers may), and its
// block metadata codec (DecodeMetadata, CheckMetadata, DescribeMetadata) on
// the same bytes.
// Input: a record's value (a serialized KafkaMessage), or KafkaMetadata bytes.
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_util.h"
#include "orderer/consensus/kafka/kafka_record.h"
#include "proto/kafka.pb.h"

using namespace ordering;
using namespace ordering::kafka_backend;

namespace {

void CheckOneRecord(const std::string& input, bool verify_signatures) {
  IngressOptions options;
  options.channel_id = fuzz::kChannel;
  options.absolute_max_bytes = 4096;
  options.verify_signatures = verify_signatures;
  Validator validator(options);
  kafka::ConsumedRecord record{Offset(41), input};
  const CheckedRecord r = CheckRecord(validator, record);
  FUZZ_CHECK(r.offset == Offset(41));
  FUZZ_CHECK(record.value == input);  // the consumed record is left as it was
  FUZZ_CHECK((r.kind == CheckedRecord::Kind::kRejected) == (r.cause != RejectCause::kNone));
  FUZZ_CHECK((r.kind == CheckedRecord::Kind::kRejected) == !r.detail.empty());
  KafkaMessage km;
  const bool parses = km.ParseFromString(input);
  switch (r.kind) {
    case CheckedRecord::Kind::kTimeToCut:
      FUZZ_CHECK(parses && km.has_time_to_cut() && km.time_to_cut().block_number() == r.ttc_block_number);
      break;
    case CheckedRecord::Kind::kConnect:
      FUZZ_CHECK(parses && km.has_connect());
      break;
    case CheckedRecord::Kind::kRegular: {
      // What ingress alone says of the envelope inside.
      FUZZ_CHECK(parses && km.has_regular());
      FUZZ_CHECK(r.tx.envelope == km.regular().payload());
      Validator alone(options);
      const CheckedEnvelope e = alone.Check(km.regular().payload());
      FUZZ_CHECK(e.ok() && e.tx.tx_id == r.tx.tx_id && e.tx.size == r.tx.size);
      break;
    }
    case CheckedRecord::Kind::kRejected:
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = (fuzz::QuietLogs(), true);
  (void)quiet;
  const std::string input = fuzz::Bytes(data, size);
  CheckOneRecord(input, /*verify_signatures=*/false);
  CheckOneRecord(input, /*verify_signatures=*/true);

  // The same bytes as a block's consenter metadata.
  Offset offset;
  if (DecodeMetadata(input, &offset).ok()) {
    Offset back;
    FUZZ_CHECK(DecodeMetadata(EncodeMetadata(offset), &back).ok() && back == offset);
  }
  (void)DescribeMetadata(input).dump();
  // A block never advances past itself; genesis (empty) comes before any.
  FUZZ_CHECK(!CheckMetadata(1, input, input).empty());
  (void)CheckMetadata(1, "", input);
  return 0;
}

// The Kafka backend's own wire: the records of a channel's partition
// (KafkaMessage: regular / time-to-cut / connect) and the block metadata it
// keeps (KafkaMetadata: the last offset a block accounts for).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "common/kafka.h"
#include "common/status.h"
#include "common/types.h"
#include "orderer/ingress/validator.h"

namespace ordering::kafka_backend {

// A partition record, decoded and (if regular) checked by ingress.
struct CheckedRecord {
  enum class Kind { kRegular, kTimeToCut, kConnect, kRejected };
  Offset offset{-1};
  Kind kind = Kind::kRejected;
  RejectCause cause = RejectCause::kNone;  // kRejected
  std::string detail;                      // kRejected: why
  CutterMessage tx;                        // kRegular
  uint64_t ttc_block_number = 0;           // kTimeToCut
};

// Decodes `record` and runs ingress on a regular message's envelope. A
// record larger than AbsoluteMaxBytes + framing is rejected unparsed; one
// that is not a KafkaMessage of a known type is malformed.
CheckedRecord CheckRecord(Validator& validator, kafka::ConsumedRecord& record);

// BlockMetadata.consenter for a block that accounts for records up to
// `last_offset`.
std::string EncodeMetadata(Offset last_offset);
// The last offset recorded in `metadata`; "" (genesis) is kBeforeFirstOffset.
// Corruption if the bytes are not a KafkaMetadata.
[[nodiscard]] Status DecodeMetadata(const std::string& metadata, Offset* last_offset);

// `ledger verify`'s check for this backend: every block's metadata decodes
// and its offset advances past the previous block's.
std::string CheckMetadata(uint64_t number, const std::string& previous, const std::string& current);
// {"last_offset": N} (or {"error": ...}) for `ledger show`.
nlohmann::json DescribeMetadata(const std::string& metadata);

}  // namespace ordering::kafka_backend

#include "orderer/consensus/kafka/kafka_record.h"

#include "proto/kafka.pb.h"

namespace ordering::kafka_backend {
namespace {

CheckedRecord Reject(Offset offset, RejectCause cause, std::string detail) {
  CheckedRecord m;
  m.offset = offset;
  m.kind = CheckedRecord::Kind::kRejected;
  m.cause = cause;
  m.detail = std::move(detail);
  return m;
}

}  // namespace

CheckedRecord CheckRecord(Validator& validator, kafka::ConsumedRecord& record) {
  const Offset off = record.offset;
  const uint64_t limit = validator.options().absolute_max_bytes + kFramingAllowance;
  if (record.value.size() > limit) {
    return Reject(off, RejectCause::kOversized,
                  "record of " + std::to_string(record.value.size()) + " bytes exceeds AbsoluteMaxBytes " +
                      std::to_string(validator.options().absolute_max_bytes));
  }
  KafkaMessage km;
  if (!km.ParseFromString(record.value)) return Reject(off, RejectCause::kMalformed, "not a KafkaMessage");
  CheckedRecord m;
  m.offset = off;
  switch (km.type_case()) {
    case KafkaMessage::kTimeToCut:
      m.kind = CheckedRecord::Kind::kTimeToCut;
      m.ttc_block_number = km.time_to_cut().block_number();
      return m;
    case KafkaMessage::kConnect:
      m.kind = CheckedRecord::Kind::kConnect;
      return m;
    case KafkaMessage::kRegular:
      break;
    default:
      return Reject(off, RejectCause::kMalformed, "KafkaMessage of no known type");
  }
  CheckedEnvelope e = validator.Check(std::move(*km.mutable_regular()->mutable_payload()));
  if (!e.ok()) return Reject(off, e.cause, std::move(e.detail));
  m.kind = CheckedRecord::Kind::kRegular;
  m.tx = std::move(e.tx);
  return m;
}

std::string EncodeMetadata(Offset last_offset) {
  KafkaMetadata md;
  md.set_last_offset(last_offset.value());
  return md.SerializeAsString();
}

Status DecodeMetadata(const std::string& metadata, Offset* last_offset) {
  if (metadata.empty()) {
    *last_offset = kBeforeFirstOffset;
    return Status::OK();
  }
  KafkaMetadata md;
  if (!md.ParseFromString(metadata) || !md.has_last_offset()) {
    return Status::Corruption("block metadata is not a KafkaMetadata");
  }
  *last_offset = Offset(md.last_offset());
  return Status::OK();
}

std::string CheckMetadata(uint64_t /*number*/, const std::string& previous, const std::string& current) {
  Offset prev, cur;
  if (!DecodeMetadata(previous, &prev).ok()) return "the previous block's metadata is not a KafkaMetadata";
  if (current.empty()) return "has no Kafka offset in its metadata";
  if (!DecodeMetadata(current, &cur).ok()) return "metadata is not a KafkaMetadata";
  if (cur <= prev) {
    return "last_offset " + std::to_string(cur.value()) + " does not advance past " + std::to_string(prev.value());
  }
  return "";
}

nlohmann::json DescribeMetadata(const std::string& metadata) {
  Offset off;
  Status st = DecodeMetadata(metadata, &off);
  if (!st.ok()) return {{"error", st.message()}};
  return {{"last_offset", off.value()}};
}

}  // namespace ordering::kafka_backend

#include "orderer/metrics.h"

#include <sstream>

namespace ordering {
const char* CutReasonLabel(CutReason reason) {
  switch (reason) {
    case CUT_REASON_GENESIS:
      return "genesis";
    case CUT_REASON_MAX_MESSAGE_COUNT:
      return "max_message_count";
    case CUT_REASON_PREFERRED_MAX_BYTES:
      return "preferred_max_bytes";
    case CUT_REASON_OVERSIZED_MESSAGE:
      return "oversized_message";
    case CUT_REASON_TIMEOUT:
      return "timeout";
    default:
      return "unspecified";
  }
}

nlohmann::json OrdererMetrics::ToJson() const {
  nlohmann::json j;
  j["received"] = received.load();
  j["broadcast_received"] = broadcast_received.load();
  j["broadcast_accepted"] = broadcast_accepted.load();
  j["broadcast_unavailable"] = broadcast_unavailable.load();
  j["broadcast_bad_request"] = broadcast_bad_request.load();
  j["broadcast_ack_timeouts"] = broadcast_ack_timeouts.load();
  j["txs_ordered"] = txs_ordered.load();
  j["bytes_ordered"] = bytes_ordered.load();
  nlohmann::json rej = nlohmann::json::object();
  for (int c = 1; c < static_cast<int>(RejectCause::kCount); ++c) {
    rej[RejectCauseName(static_cast<RejectCause>(c))] = rejected[c].load();
  }
  j["rejected"] = rej;
  j["rejected_total"] = rejected_total();
  j["blocks_written"] = blocks_written.load();
  nlohmann::json cuts = nlohmann::json::object();
  for (size_t r = kFirstCutReason; r < cuts_by_reason.size(); ++r) {
    cuts[CutReasonLabel(static_cast<CutReason>(r))] = cuts_by_reason[r].load();
  }
  j["cuts"] = cuts;
  nlohmann::json over = nlohmann::json::object();
  for (size_t i = 0; i < kBlockWriteThresholdsMs.size(); ++i) {
    over[std::to_string(kBlockWriteThresholdsMs[i])] = block_writes_over[i].load();
  }
  const uint64_t writes = blocks_written.load();
  j["block_write"] = {{"mean_ms", writes ? static_cast<double>(block_write_ns_sum.load()) / writes / 1e6 : 0.0},
                      {"max_ms", static_cast<double>(block_write_ns_max.load()) / 1e6},
                      {"over_ms", over}};
  j["consenter"] = consenter.ToJson();
  j["height"] = height.load();
  uint64_t blocks = blocks_written.load();
  j["mean_block_cut_latency_ms"] = blocks ? static_cast<double>(cut_latency_ns_sum.load()) / blocks / 1e6 : 0.0;
  return j;
}

std::string OrdererMetrics::Summary() const {
  std::ostringstream os;
  uint64_t blocks = blocks_written.load();
  os << "height=" << height.load() << " blocks=" << blocks << " txs=" << txs_ordered.load()
     << " received=" << received.load() << " rejected=" << rejected_total();
  bool first = true;
  for (int c = 1; c < static_cast<int>(RejectCause::kCount); ++c) {
    uint64_t n = rejected[c].load();
    if (n == 0) continue;
    os << (first ? " (" : " ") << RejectCauseName(static_cast<RejectCause>(c)) << "=" << n;
    first = false;
  }
  if (!first) os << ")";
  if (blocks) os << " txs/block=" << static_cast<double>(txs_ordered.load()) / blocks;
  if (blocks) os << " block_write_max_ms=" << static_cast<double>(block_write_ns_max.load()) / 1e6;
  const nlohmann::json own = consenter.ToJson();
  for (const auto& item : own.items()) os << " " << item.key() << "=" << item.value().get<int64_t>();
  return os.str();
}

}  // namespace ordering

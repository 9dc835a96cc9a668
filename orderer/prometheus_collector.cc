#include "orderer/prometheus_collector.h"

#include <algorithm>
#include <cctype>

#include "common/prometheus_util.h"

namespace ordering {

std::string ConsenterMetricName(const std::string& backend, const std::string& counter) {
  std::string name = counter;
  const std::string own = backend + "_";
  if (name.rfind(own, 0) == 0) name = name.substr(own.size());
  std::string out = "consensus_" + backend + "_" + name;
  std::replace_if(
      out.begin(), out.end(), [](unsigned char c) { return !std::isalnum(c) && c != '_'; }, '_');
  return out;
}

std::vector<prometheus::MetricFamily> OrdererCollector::Collect() const {
  using prometheus::MetricType;
  const OrdererMetrics& m = *metrics_;
  const std::vector<prometheus::ClientMetric::Label> ch = {{"channel", channel_}};
  auto with = [&](const char* name, std::string value) {
    auto l = ch;
    l.push_back({name, std::move(value)});
    return l;
  };
  std::vector<prometheus::MetricFamily> out;

  // Broadcast: one count per envelope answered, by status (Fabric's name).
  auto bc = MakeFamily("broadcast_processed_count", "Envelopes answered on Broadcast, by status.", MetricType::Counter);
  AddSample(&bc, with("status", "SUCCESS"), static_cast<double>(m.broadcast_accepted.load()));
  AddSample(&bc, with("status", "SERVICE_UNAVAILABLE"), static_cast<double>(m.broadcast_unavailable.load()));
  AddSample(&bc, with("status", "BAD_REQUEST"), static_cast<double>(m.broadcast_bad_request.load()));
  out.push_back(std::move(bc));
  auto bt = MakeFamily("orderer_broadcast_ack_timeouts_total",
                       "Envelopes answered SERVICE_UNAVAILABLE because they were not durable within --ack-timeout.",
                       MetricType::Counter);
  AddSample(&bt, ch, static_cast<double>(m.broadcast_ack_timeouts.load()));
  out.push_back(std::move(bt));

  auto rec = MakeFamily("orderer_transactions_received_total",
                        "Inputs the consensus backend read (envelopes, or records from Kafka).", MetricType::Counter);
  AddSample(&rec, ch, static_cast<double>(m.received.load()));
  out.push_back(std::move(rec));
  auto ord = MakeFamily("orderer_transactions_ordered_total", "Transactions written into blocks.", MetricType::Counter);
  AddSample(&ord, ch, static_cast<double>(m.txs_ordered.load()));
  out.push_back(std::move(ord));
  auto bytes = MakeFamily("orderer_bytes_ordered_total", "Envelope bytes written into blocks.", MetricType::Counter);
  AddSample(&bytes, ch, static_cast<double>(m.bytes_ordered.load()));
  out.push_back(std::move(bytes));
  auto rej = MakeFamily("orderer_transactions_rejected_total", "Transactions rejected, by cause.", MetricType::Counter);
  for (int c = 1; c < static_cast<int>(RejectCause::kCount); ++c) {
    AddSample(&rej, with("cause", RejectCauseName(static_cast<RejectCause>(c))),
              static_cast<double>(m.rejected[c].load()));
  }
  out.push_back(std::move(rej));
  auto cuts = MakeFamily("orderer_blocks_cut_total", "Blocks written, by why the block was cut.", MetricType::Counter);
  for (size_t r = kFirstCutReason; r < m.cuts_by_reason.size(); ++r) {
    AddSample(&cuts, with("reason", CutReasonLabel(static_cast<CutReason>(r))),
              static_cast<double>(m.cuts_by_reason[r].load()));
  }
  out.push_back(std::move(cuts));

  const uint64_t height = m.height.load();
  auto h =
      MakeFamily("ledger_blockchain_height", "Height of the chain in blocks (genesis included).", MetricType::Gauge);
  AddSample(&h, ch, static_cast<double>(height));
  out.push_back(std::move(h));
  const std::string committed_name = ConsenterMetricName(consensus_, "committed_block_number");
  auto committed =
      MakeFamily(committed_name.c_str(), "Number of the last block this node committed.", MetricType::Gauge);
  AddSample(&committed, ch, height > 0 ? static_cast<double>(height - 1) : 0.0);
  out.push_back(std::move(committed));

  // The backend's own counters (Kafka: last offset, time-to-cut; Raft: leader, term, ...).
  const nlohmann::json own = m.consenter.ToJson();  // a named value: items() refers to it
  for (const auto& item : own.items()) {
    const std::string name = ConsenterMetricName(consensus_, item.key());
    if (name == committed_name) continue;
    auto f =
        MakeFamily(name.c_str(), "A counter of the consensus backend (see docs/operations.md).", MetricType::Gauge);
    AddSample(&f, ch, static_cast<double>(item.value().get<int64_t>()));
    out.push_back(std::move(f));
  }

  struct H {
    const char* name;
    const char* help;
    const AtomicHistogram* histogram;
  };
  for (const H& x :
       {H{"blockcutter_block_fill_duration",
          "Seconds from the first transaction of a block being read to the block being cut.", &m.block_fill_duration},
        H{"orderer_broadcast_ack_duration_seconds",
          "Seconds from an envelope read on Broadcast to its SUCCESS answer (--ack durable: until it was durable).",
          &m.broadcast_ack_duration},
        H{"orderer_signature_verify_duration_seconds", "Seconds per ECDSA signature verification at ingress.",
          &m.verify_duration},
        H{"ledger_blockstorage_commit_time", "Seconds per synced block write to the ledger.", &m.block_write_duration},
        H{"deliver_block_send_duration_seconds", "Seconds to hand one block to a Deliver stream.",
          &m.deliver_send_duration}}) {
    auto f = MakeFamily(x.name, x.help, MetricType::Histogram);
    AddHistogram(&f, ch, x.histogram->Read());
    out.push_back(std::move(f));
  }
  for (const auto& c : m.collectables()) {
    std::vector<prometheus::MetricFamily> more = c->Collect();
    out.insert(out.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
  }
  return out;
}

std::vector<prometheus::MetricFamily> LedgerCollector::Collect() const {
  const LedgerMemory m = ledger_->Memory();
  auto f = MakeFamily("orderer_ledger_memory_bytes",
                      "The ledger's memory beside its data: RocksDB table readers, block cache, memtables.",
                      prometheus::MetricType::Gauge);
  for (const auto& [part, bytes] : {std::pair<const char*, uint64_t>{"table_readers", m.table_readers},
                                    {"block_cache", m.block_cache},
                                    {"memtables", m.memtables}}) {
    AddSample(&f, {{"channel", channel_}, {"part", part}}, static_cast<double>(bytes));
  }
  std::vector<prometheus::MetricFamily> out;
  out.push_back(std::move(f));
  return out;
}

}  // namespace ordering

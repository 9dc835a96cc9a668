#include "peer-sim/load_collector.h"

#include "common/prometheus_util.h"

namespace ordering {

std::vector<prometheus::MetricFamily> LoadCollector::Collect() const {
  using prometheus::MetricType;
  const LoadMetrics& m = *metrics_;
  const std::vector<prometheus::ClientMetric::Label> labels = {{"channel", channel_}, {"submit", submit_}};
  std::vector<prometheus::MetricFamily> out;
  struct C {
    const char* name;
    const char* help;
    const std::atomic<uint64_t>* value;
  };
  for (const C& c :
       {C{"peersim_transactions_submitted_total", "Transactions handed to the submit path.", &m.submitted},
        C{"peersim_transactions_acked_total",
          "Transactions the submit path acknowledged (the broker, or Broadcast SUCCESS).", &m.acked},
        C{"peersim_transactions_delivered_total", "Transactions seen in a delivered block, once each.", &m.delivered},
        C{"peersim_transactions_failed_total", "Transactions the submit path refused or lost.", &m.failed},
        C{"peersim_transactions_duplicated_total", "Transactions seen in a second block.", &m.duplicates},
        C{"peersim_blocks_received_total", "Blocks delivered to the peers during the run.", &m.blocks}}) {
    auto f = MakeFamily(c.name, c.help, MetricType::Counter);
    AddSample(&f, labels, static_cast<double>(c.value->load(std::memory_order_relaxed)));
    out.push_back(std::move(f));
  }
  auto e2e = MakeFamily("peersim_e2e_latency_seconds",
                        "Seconds from a transaction's due time to the arrival of its block.", MetricType::Histogram);
  AddHistogram(&e2e, labels, m.e2e_latency.Read());
  out.push_back(std::move(e2e));
  auto ack =
      MakeFamily("peersim_ack_latency_seconds",
                 "Seconds from a transaction's due time to the submit path's acknowledgement.", MetricType::Histogram);
  AddHistogram(&ack, labels, m.ack_latency.Read());
  out.push_back(std::move(ack));
  return out;
}

}  // namespace ordering

#include "common/kafka_stats.h"

#include <nlohmann/json.hpp>

namespace ordering::kafka {
namespace {

double Num(const nlohmann::json& j, const char* key, bool* valid = nullptr) {
  auto it = j.find(key);
  const bool ok = it != j.end() && it->is_number();
  if (valid != nullptr && (!ok || it->get<double>() < 0)) *valid = false;
  return ok ? it->get<double>() : 0.0;
}

std::optional<StatsWindow> Window(const nlohmann::json& parent, const char* key) {
  auto it = parent.find(key);
  if (it == parent.end() || !it->is_object()) return std::nullopt;
  StatsWindow w;
  w.counts_valid = true;
  w.cnt = Num(*it, "cnt", &w.counts_valid);
  w.sum = Num(*it, "sum", &w.counts_valid);
  w.avg = Num(*it, "avg");
  w.p50 = Num(*it, "p50");
  w.p99 = Num(*it, "p99");
  return w;
}

}  // namespace

const TopicStats* ClientStats::Topic(std::string_view name) const {
  for (const TopicStats& t : topics) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

bool ParseClientStats(std::string_view json, ClientStats* out) {
  const nlohmann::json j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  *out = ClientStats{};
  if (!j.is_object()) return false;
  out->ts_us = static_cast<int64_t>(Num(j, "ts"));
  out->msg_cnt = Num(j, "msg_cnt");
  out->txmsgs = Num(j, "txmsgs");
  out->rxmsgs = Num(j, "rxmsgs");
  if (auto brokers = j.find("brokers"); brokers != j.end() && brokers->is_object()) {
    for (const auto& [name, b] : brokers->items()) {
      if (!b.is_object()) continue;
      BrokerStats s;
      s.name = name;
      s.node_id = static_cast<int64_t>(Num(b, "nodeid"));
      if (b.find("nodeid") == b.end()) s.node_id = -1;
      if (auto n = b.find("nodename"); n != b.end() && n->is_string()) s.nodename = n->get<std::string>();
      if (auto st = b.find("state"); st != b.end() && st->is_string()) s.state = st->get<std::string>();
      if (auto age = b.find("stateage"); age != b.end() && age->is_number()) {
        s.stateage_us = static_cast<int64_t>(age->get<double>());
      }
      s.rtt = Window(b, "rtt");
      s.int_latency = Window(b, "int_latency");
      s.outbuf_latency = Window(b, "outbuf_latency");
      s.tx = Num(b, "tx");
      s.rx = Num(b, "rx");
      s.txretries = Num(b, "txretries");
      out->brokers.push_back(std::move(s));
    }
  }
  if (auto topics = j.find("topics"); topics != j.end() && topics->is_object()) {
    for (const auto& [name, t] : topics->items()) {
      if (!t.is_object()) continue;
      out->topics.push_back(TopicStats{name, Window(t, "batchsize"), Window(t, "batchcnt")});
    }
  }
  return true;
}

}  // namespace ordering::kafka

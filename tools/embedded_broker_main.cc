// embedded-broker: librdkafka's mock cluster on loopback, so the demo and
// tests need no installed Kafka. It speaks the real Kafka protocol but has no
// log segments, replication or broker tuning, and keeps only the last ~5 MB
// of each partition: a demo and fault-injection harness, never a
// performance reference.
#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/program_options.hpp>
#include <csignal>
#include <fstream>
#include <iostream>
#include <thread>

#include "common/cli.h"
#include "common/kafka.h"

namespace po = boost::program_options;

namespace {
std::atomic<int> g_signal{0};
void OnSignal(int sig) { g_signal = sig; }
}  // namespace

int main(int argc, char** argv) {
  int broker_count = 1, partitions = 1, rtt_ms = 0;
  std::vector<std::string> topics;
  std::string bootstrap_file;
  po::options_description desc(
      "Usage: embedded-broker [options]\n\n"
      "Starts librdkafka's in-process mock Kafka cluster on 127.0.0.1, prints\n"
      "'bootstrap.servers=HOST:PORT' and serves until SIGINT/SIGTERM.\n"
      "Not a performance reference: use a real broker for benchmarks");
  desc.add_options()("help,h", "show this help and exit")("brokers-count", po::value(&broker_count)->default_value(1),
                                                          "number of mock brokers")(
      "topic", po::value(&topics)->composing(), "create TOPIC up front (repeatable); default: mychannel")(
      "partitions", po::value(&partitions)->default_value(1), "partitions per created topic")(
      "rtt-ms", po::value(&rtt_ms)->default_value(0), "add this round-trip time to every broker (fault injection)")(
      "bootstrap-file", po::value(&bootstrap_file), "also write the bootstrap address to FILE");
  po::variables_map vm;
  if (auto code = ordering::cli::ParseFlags(argc, argv, "embedded-broker", desc, &vm)) return *code;
  if (broker_count < 1 || partitions < 1 || rtt_ms < 0) {
    return ordering::cli::UsageError("embedded-broker", "--brokers-count and --partitions must be >= 1, --rtt-ms >= 0");
  }
  if (topics.empty()) topics.push_back("mychannel");

  std::unique_ptr<ordering::kafka::MockCluster> cluster;
  ordering::Status st = ordering::kafka::MockCluster::Start(broker_count, &cluster);
  if (!st.ok()) {
    spdlog::error("{}", st.ToString());
    return 1;
  }
  for (const auto& t : topics) {
    st = cluster->CreateTopic(t, partitions, std::min(broker_count, 3));
    if (!st.ok()) {
      spdlog::error("topic {}: {}", t, st.ToString());
      return 1;
    }
  }
  if (rtt_ms > 0) {
    for (int b = 1; b <= broker_count; ++b) {
      st = cluster->SetBrokerRtt(b, rtt_ms);
      if (!st.ok()) {
        spdlog::error("{}", st.ToString());
        return 1;
      }
    }
  }
  std::cout << "bootstrap.servers=" << cluster->bootstrap() << std::endl;
  if (!bootstrap_file.empty()) {
    std::string tmp = bootstrap_file + ".tmp";
    std::ofstream(tmp) << cluster->bootstrap() << "\n";
    std::rename(tmp.c_str(), bootstrap_file.c_str());
  }
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  while (g_signal.load() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  spdlog::info("embedded broker: signal {}, stopping", g_signal.load());
  return 0;
}

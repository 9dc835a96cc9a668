// delete-topics: deletes Kafka topics with the admin API. The bench runner
// removes each finished run's topics with it, so a long study does not fill
// the broker's disk.
#include <boost/program_options.hpp>
#include <iostream>

#include "common/cli.h"
#include "common/kafka.h"

namespace po = boost::program_options;

int main(int argc, char** argv) {
  std::string brokers;
  std::vector<std::string> topics;
  int timeout_ms = 30000;
  po::options_description desc(
      "Usage: delete-topics --brokers HOST:PORT[,...] TOPIC...\n\n"
      "Deletes the topics and waits until the controller has accepted it; the\n"
      "broker removes their files shortly after. Exits 1 naming any topic that\n"
      "could not be deleted (e.g. one that does not exist); the others are deleted");
  desc.add_options()("help,h", "show this help and exit")("brokers", po::value(&brokers)->required(),
                                                          "bootstrap servers")(
      "topic", po::value(&topics)->composing(), "a topic to delete (also positional, repeatable)")(
      "timeout-ms", po::value(&timeout_ms)->default_value(30000), "how long to wait for the brokers");
  po::positional_options_description pos;
  pos.add("topic", -1);
  po::variables_map vm;
  if (auto code = ordering::cli::ParseFlags(argc, argv, "delete-topics", desc, &vm, &pos)) return *code;
  if (topics.empty()) return ordering::cli::UsageError("delete-topics", "no topic given");
  if (timeout_ms <= 0) return ordering::cli::UsageError("delete-topics", "--timeout-ms must be > 0");
  ordering::Status st = ordering::kafka::DeleteTopics(brokers, {}, topics, timeout_ms);
  if (!st.ok()) {
    std::cerr << "delete-topics: " << st.ToString() << "\n";
    return 1;
  }
  return 0;
}

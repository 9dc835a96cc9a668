// fuzz_orderer_config: the orderer's `--config FILE` (configs/orderer.conf):
// Boost.Program_options' config-file parser over the orderer's options, the
// values main() then parses itself (ParseDuration, ParseByteSize:
// common/units.h) and every backend's own check of its options
// (Backend::Configure: raft's --raft-node addresses and timings, kafka's
// brokers and client properties). The general and channel options are
// declared here as orderer/main.cc declares them (main has no entry point
// to call); the backends' come from the registry itself. File-valued options
// (--consumer-config, --producer-config) and Kafka property overrides are
// dropped before Configure: the one would read any path, the other load
// librdkafka plugins; their parser has its own target (fuzz_properties).
// Only po::error may come out of the parser, as main() catches only that.
// Input: the text of a config file.
#include <boost/program_options.hpp>
#include <cstddef>
#include <cstdint>
#include <sstream>

#include "common/units.h"
#include "fuzz/fuzz_util.h"
#include "orderer/consensus/registry.h"

namespace po = boost::program_options;
using namespace ordering;

namespace {

// orderer/main.cc's values.
struct Flags {
  std::string consensus, channel, ledger_dir, listen, log_level, summary_interval, metrics_file, metrics_listen,
      ready_file, preferred_max_bytes, absolute_max_bytes, batch_timeout;
  bool no_sync = false;
  uint32_t max_message_count = 0;
};

void AddOrdererOptions(po::options_description* all, Flags* f) {
  all->add_options()("consensus", po::value(&f->consensus))("channel",
                                                            po::value(&f->channel)->default_value("mychannel"))(
      "ledger-dir", po::value(&f->ledger_dir)->default_value("orderer-ledger"))(
      "listen", po::value(&f->listen)->default_value("127.0.0.1:7050"))("no-sync", po::bool_switch(&f->no_sync))(
      "log-level", po::value(&f->log_level)->default_value("info"))(
      "summary-interval", po::value(&f->summary_interval)->default_value("10s"))(
      "metrics-file", po::value(&f->metrics_file))("metrics-listen", po::value(&f->metrics_listen))(
      "ready-file", po::value(&f->ready_file))("max-message-count",
                                               po::value(&f->max_message_count)->default_value(500))(
      "preferred-max-bytes", po::value(&f->preferred_max_bytes)->default_value("2MB"))(
      "absolute-max-bytes", po::value(&f->absolute_max_bytes)->default_value("10MB"))(
      "batch-timeout", po::value(&f->batch_timeout)->default_value("2s"));
}

bool Dropped(const std::string& key) {
  return key == "consumer-config" || key == "producer-config" || key == "consumer-prop" || key == "producer-prop";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = (fuzz::QuietLogs(), true);
  (void)quiet;
  Flags flags;
  po::options_description all;
  AddOrdererOptions(&all, &flags);
  std::vector<std::unique_ptr<Backend>> backends;
  for (const RegisteredBackend& r : Backends()) {
    backends.push_back(r.make());
    backends.back()->AddOptions(&all);
  }
  std::istringstream in(fuzz::Bytes(data, size));
  po::variables_map vm;
  try {
    po::parsed_options parsed = po::parse_config_file(in, all);
    std::erase_if(parsed.options, [](const po::option& o) { return Dropped(o.string_key); });
    po::store(parsed, vm);
    po::notify(vm);
  } catch (const po::error&) {
    return 0;  // a usage error, exit 2
  }

  std::chrono::nanoseconds timeout, interval;
  if (ParseDuration(flags.batch_timeout, &timeout).ok()) {
    FUZZ_CHECK(timeout.count() >= 0);
    (void)std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count();
  }
  if (ParseDuration(flags.summary_interval, &interval, std::chrono::seconds(1)).ok()) {
    FUZZ_CHECK(interval.count() >= 0);
  }
  uint64_t bytes = 0;
  (void)ParseByteSize(flags.preferred_max_bytes, &bytes);
  (void)ParseByteSize(flags.absolute_max_bytes, &bytes);
  for (auto& backend : backends) {
    const Status st = backend->Configure(vm);
    FUZZ_CHECK(st.ok() || st.IsInvalidArgument());
  }
  return 0;
}

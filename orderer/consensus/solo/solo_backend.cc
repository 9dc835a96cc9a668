#include "orderer/consensus/solo/solo_backend.h"

#include "orderer/consensus/solo/solo_chain.h"

namespace ordering::solo {
namespace {

class SoloBackend final : public Backend {
 public:
  std::string Name() const override { return "solo"; }
  std::string Summary() const override { return "one orderer orders by arrival, no replication (the reference)"; }
  void AddOptions(boost::program_options::options_description* opts) override {
    opts->add_options()("solo-queue", boost::program_options::value(&options_.queue_capacity)->default_value(10000),
                        "solo: transactions accepted but not yet ordered before Broadcast waits");
  }
  Status Configure(const boost::program_options::variables_map&) override {
    if (options_.queue_capacity == 0) return Status::InvalidArgument("--solo-queue must be at least 1");
    return Status::OK();
  }
  Status MakeConsenter(std::unique_ptr<Consenter>* out) override {
    *out = std::make_unique<SoloConsenter>(options_);
    return Status::OK();
  }

 private:
  SoloOptions options_;
};

}  // namespace

std::unique_ptr<Backend> MakeBackend() { return std::make_unique<SoloBackend>(); }

}  // namespace ordering::solo

// The consensus backends the orderer knows, by name.
//
// A backend is a sibling folder of this one (solo/, kafka/, ...) that
// provides a Backend: its command-line options, its Consenter, and its own
// view of the block metadata it writes (for `ledger verify` and `ledger
// show`). Adding one is one line in registry.cc. The backend that orders a
// channel is named in its genesis block (ChannelConfig.consensus_type); an
// existing ledger keeps its own.
#pragma once

#include <boost/program_options.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"
#include "ledger/block_store.h"
#include "orderer/consensus/consensus.h"

namespace ordering {

class Backend {
 public:
  virtual ~Backend() = default;
  // "solo", "kafka", ...: what genesis records.
  virtual std::string Name() const = 0;
  // One line for --help.
  virtual std::string Summary() const = 0;
  // The backend's flags, bound to this object's members. Their names must
  // not clash with another backend's unless they mean the same.
  virtual void AddOptions(boost::program_options::options_description* /*options*/) {}
  // Checks the parsed flags once this backend is chosen; InvalidArgument
  // names the flag at fault.
  [[nodiscard]] virtual Status Configure(const boost::program_options::variables_map& /*vm*/) { return Status::OK(); }
  [[nodiscard]] virtual Status MakeConsenter(std::unique_ptr<Consenter>* out) = 0;
  // The backend's check of its block metadata, run by `ledger verify` (none:
  // the metadata must be empty).
  virtual ConsenterMetadataCheck MetadataCheck() const;
  // A JSON view of a block's consenter metadata, for `ledger show`.
  virtual nlohmann::json DescribeMetadata(const std::string& metadata) const;
};

using BackendMaker = std::unique_ptr<Backend> (*)();

struct RegisteredBackend {
  const char* name;
  BackendMaker make;
};

// Every backend, in the order --help lists them.
const std::vector<RegisteredBackend>& Backends();
// nullptr if no backend has that name.
std::unique_ptr<Backend> MakeBackend(const std::string& name);
// "solo, kafka": for messages.
std::string BackendNames();

}  // namespace ordering

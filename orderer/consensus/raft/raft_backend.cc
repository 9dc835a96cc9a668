#include "orderer/consensus/raft/raft_backend.h"

#include "common/units.h"
#include "orderer/consensus/raft/raft_chain.h"
#include "orderer/consensus/raft/raft_format.h"

namespace po = boost::program_options;

namespace ordering::raft_backend {
namespace {

class RaftBackend final : public Backend {
 public:
  std::string Name() const override { return "raft"; }
  std::string Summary() const override {
    return "3 or 5 orderers replicate the chain with Raft (libraft); the leader cuts, followers forward to it";
  }
  void AddOptions(po::options_description* opts) override {
    opts->add_options()("raft-id", po::value(&options_.id), "raft: this node's id (one of the --raft-node ids)")(
        "raft-node", po::value(&nodes_)->composing(),
        "raft: a cluster member ID,RAFT_IP:PORT,BROADCAST_HOST:PORT (repeat for every node, this one included; "
        "numeric IPv4 for Raft)")(
        "raft-bind", po::value(&options_.bind_address),
        "raft: listen for Raft on this IPv4:PORT instead of this node's --raft-node address (which the others "
        "dial: set it when a proxy or NAT sits in between)")(
        "raft-dir", po::value(&options_.dir), "raft: folder of the Raft log and snapshots (default: LEDGER-DIR.raft)")(
        "raft-heartbeat", po::value(&options_.heartbeat_ms)->default_value(20),
        "raft: heartbeat interval in ms (followers learn of commits this late)")(
        "raft-election-timeout", po::value(&options_.election_timeout_ms)->default_value(1000),
        "raft: election timeout in ms")(
        "raft-snapshot-bytes", po::value(&snapshot_bytes_)->default_value("16MB"),
        "raft: a snapshot of the Raft log after about this much of it (B, KB, MB, GB), which bounds the log a "
        "node holds in memory (Fabric's SnapshotIntervalSize)")(
        "raft-snapshot-interval", po::value(&options_.snapshot_interval)->default_value(1024),
        "raft: at most this many entries (blocks) between snapshots of the Raft log")(
        "raft-queue", po::value(&options_.queue_capacity)->default_value(10000),
        "raft: transactions accepted but not yet ordered or forwarded before Broadcast waits")(
        "raft-inflight-blocks", po::value(&options_.max_inflight_blocks)->default_value(8),
        "raft: blocks the leader proposes ahead of their commit");
  }
  Status Configure(const po::variables_map& vm) override {
    options_.cluster.clear();
    for (const std::string& n : nodes_) {
      RaftNodeAddress a;
      ORDERING_RETURN_IF_ERROR(ParseNodeAddress(n, &a));
      options_.cluster.push_back(a);
    }
    if (Status st = ParseByteSize(snapshot_bytes_, &options_.snapshot_bytes); !st.ok()) {
      return Status::InvalidArgument("--raft-snapshot-bytes: " + st.message());
    }
    if (options_.dir.empty() && vm.count("ledger-dir")) options_.dir = vm["ledger-dir"].as<std::string>() + ".raft";
    return options_.Check();
  }
  Status MakeConsenter(std::unique_ptr<Consenter>* out) override {
    *out = std::make_unique<RaftConsenter>(options_);
    return Status::OK();
  }
  ConsenterMetadataCheck MetadataCheck() const override { return &CheckMetadata; }
  nlohmann::json DescribeMetadata(const std::string& metadata) const override {
    return raft_backend::DescribeMetadata(metadata);
  }

 private:
  RaftOptions options_;
  std::vector<std::string> nodes_;
  std::string snapshot_bytes_;
};

}  // namespace

std::unique_ptr<Backend> MakeBackend() { return std::make_unique<RaftBackend>(); }

}  // namespace ordering::raft_backend

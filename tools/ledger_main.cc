// ledger: inspect and verify an orderer's RocksDB ledger. See --help.
#include <boost/program_options.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "common/cli.h"
#include "common/crypto.h"
#include "ledger/block_store.h"
#include "ledger/block_util.h"
#include "orderer/consensus/registry.h"

namespace po = boost::program_options;
using namespace ordering;

namespace {

constexpr const char* kUsage =
    "Usage: ledger --path DIR COMMAND [ARGS] [--json]\n"
    "\n"
    "Commands:\n"
    "  info               height, consensus, last block hash and the backend's last metadata\n"
    "  show N             block N (header, metadata, tx ids; --envelopes for each envelope)\n"
    "  verify             recompute data hashes and the hash chain, check numbering, the tx\n"
    "                     index and the backend's own metadata rule (kafka: offsets advance);\n"
    "                     --signatures also checks every signature\n"
    "  export [FROM [TO]] one JSON object per line for blocks FROM..TO (default all)\n"
    "\n"
    "The ledger is opened read-only, so a running orderer's directory can be inspected.\n"
    "Exit status: 0 ok, 1 the ledger is missing, unreadable or fails verification, 2 usage error.\n";

int UsageError(const std::string& msg) { return cli::UsageError("ledger", msg); }

int DataError(const Status& s) {
  std::cerr << "ledger: " << s.ToString() << "\n";
  return 1;
}

// The backend named in genesis ("" and nullptr for an empty ledger).
Status ChainBackend(const BlockStore& store, std::string* type, std::unique_ptr<Backend>* backend) {
  type->clear();
  backend->reset();
  if (store.Info().height == 0) return Status::OK();
  Block genesis;
  ChannelConfig config;
  ORDERING_RETURN_IF_ERROR(store.GetBlock(BlockNumber(0), &genesis));
  ORDERING_RETURN_IF_ERROR(ReadGenesisConfig(genesis, &config));
  *type = config.consensus_type();
  *backend = MakeBackend(*type);
  if (!*backend) {
    return Status::InvalidArgument("the ledger was ordered by '" + *type + "', which this tool does not know (" +
                                   BackendNames() + ")");
  }
  return Status::OK();
}

bool ParseNumber(const std::string& s, uint64_t* out) {
  if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos || s.size() > 19) return false;
  *out = std::stoull(s);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::string path, command;
  std::vector<std::string> args;
  bool json = false, envelopes = false, signatures = false;

  po::options_description opts("Options");
  opts.add_options()("help,h", "show this help and exit")("path", po::value(&path),
                                                          "ledger directory (the orderer's --ledger-dir)")(
      "json", po::bool_switch(&json), "machine-readable output")("envelopes", po::bool_switch(&envelopes),
                                                                 "show: include every envelope's fields")(
      "signatures", po::bool_switch(&signatures), "verify: also check every transaction signature");
  po::options_description hidden;
  hidden.add_options()("command", po::value(&command))("args", po::value(&args));
  po::options_description all;
  all.add(opts).add(hidden);
  po::positional_options_description pos;
  pos.add("command", 1).add("args", -1);

  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return UsageError(e.what());
  }
  if (vm.count("help")) {
    std::cout << kUsage << "\n" << opts;
    return 0;
  }
  if (path.empty()) return UsageError("--path is required");
  if (command.empty()) return UsageError("a command is required (info, show, verify, export)");

  LedgerOptions lo;
  lo.path = path;
  lo.read_only = true;
  lo.create_if_missing = false;
  // verify first checks every file it can afford to (a damaged one is named);
  // the other commands open a running orderer's ledger as cheaply as they can.
  lo.check_at_open = command == "verify";
  std::unique_ptr<BlockStore> store;
  if (command != "info" && command != "show" && command != "verify" && command != "export") {
    return UsageError("unknown command '" + command + "'");
  }
  Status s = BlockStore::Open(lo, &store);
  if (!s.ok()) return DataError(s);
  const LedgerInfo info = store->Info();
  std::string consensus;
  std::unique_ptr<Backend> backend;
  s = ChainBackend(*store, &consensus, &backend);
  if (!s.ok()) return DataError(s);
  auto describe = [&](const std::string& md) { return backend ? backend->DescribeMetadata(md) : nlohmann::json(); };

  if (command == "info") {
    if (!args.empty()) return UsageError("info takes no arguments");
    if (json) {
      std::cout << nlohmann::json{{"height", info.height},
                                  {"consensus", consensus},
                                  {"last_hash", ToHex(info.last_hash)},
                                  {"last_consenter", describe(info.last_consenter)}}
                       .dump()
                << "\n";
    } else {
      std::cout << "height:         " << info.height << "\n"
                << "consensus:      " << (consensus.empty() ? "-" : consensus) << "\n"
                << "last hash:      " << (info.last_hash.empty() ? "-" : ToHex(info.last_hash)) << "\n"
                << "last consenter: " << (info.last_consenter.empty() ? "-" : describe(info.last_consenter).dump())
                << "\n";
    }
    return 0;
  }

  if (command == "show") {
    uint64_t n = 0;
    if (args.size() != 1 || !ParseNumber(args[0], &n)) return UsageError("show takes one block number");
    Block block;
    s = store->GetBlock(BlockNumber(n), &block);
    if (!s.ok()) return DataError(s);
    nlohmann::json j = BlockToJson(block, envelopes, describe);
    std::cout << (json ? j.dump() : j.dump(2)) << "\n";
    return 0;
  }

  if (command == "export") {
    uint64_t from = 0, to = info.height == 0 ? 0 : info.height - 1;
    if (args.size() > 2) return UsageError("export takes at most FROM and TO");
    if (args.size() >= 1 && !ParseNumber(args[0], &from)) return UsageError("FROM must be a block number");
    if (args.size() == 2 && !ParseNumber(args[1], &to)) return UsageError("TO must be a block number");
    if (info.height == 0) return 0;
    if (to >= info.height) return UsageError("TO is past the last block " + std::to_string(info.height - 1));
    for (uint64_t n = from; n <= to; ++n) {
      Block block;
      s = store->GetBlock(BlockNumber(n), &block);
      if (!s.ok()) return DataError(s);
      std::cout << BlockToJson(block, envelopes, describe).dump() << "\n";
    }
    return 0;
  }

  // verify
  if (!args.empty()) return UsageError("verify takes no arguments (use --signatures)");
  VerifyOptions vo;
  vo.check_signatures = signatures;
  if (backend) vo.check_consenter = backend->MetadataCheck();
  VerifyResult r;
  s = store->Verify(vo, &r);
  if (json) {
    nlohmann::json j{{"ok", s.ok()},
                     {"blocks_checked", r.blocks_checked},
                     {"transactions", r.transactions},
                     {"signatures_checked", signatures}};
    if (r.first_bad_block) {
      j["first_bad_block"] = r.first_bad_block->value();
      j["problem"] = r.problem;
    }
    if (!s.ok() && !r.first_bad_block) j["problem"] = s.ToString();
    std::cout << j.dump() << "\n";
  } else if (s.ok()) {
    std::cout << "OK: " << r.blocks_checked << " blocks, " << r.transactions << " transactions"
              << (signatures ? ", all signatures valid" : "") << "\n";
  } else {
    std::cout << "FAILED: " << s.ToString() << " (" << r.blocks_checked << " blocks verified before it)\n";
  }
  return s.ok() ? 0 : 1;
}

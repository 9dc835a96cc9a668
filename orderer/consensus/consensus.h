// The consensus interface (after Fabric's orderer/consensus/consensus.go).
//
// A Consenter creates one Chain per channel. A Chain decides the order of
// transactions and when to cut; through its ConsenterSupport it turns
// ordered batches into blocks. Everything that is not consensus (ingress
// checks, the block cutter, block assembly, the ledger, delivery, metrics)
// lives behind ConsenterSupport and is shared by every backend, so a new
// backend implements only ordering. Backends live in sibling folders
// (consensus/solo, consensus/kafka, ...) and are registered in one line each
// in consensus/registry.cc.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/status.h"
#include "orderer/cutter/block_cutter.h"

namespace ordering {

class ConsenterSupport;

class Chain {
 public:
  virtual ~Chain() = default;

  // Begins ordering in the background. Called once.
  [[nodiscard]] virtual Status Start() = 0;

  // Submits a transaction for ordering through this node (the Broadcast
  // path). `tx` has passed ingress (Broadcast runs the stateless checks);
  // the chain still rejects duplicates. Blocks while the chain's own queue is
  // full (backpressure); Unavailable once halted or errored. OK means
  // accepted for ordering, not yet ordered. Thread-safe.
  [[nodiscard]] virtual Status Order(CutterMessage tx) = 0;

  // Blocks until the chain can accept Order() calls, or fails.
  [[nodiscard]] virtual Status WaitReady() = 0;

  // OK while the chain is healthy; otherwise the error that stopped it
  // (e.g. the partition lost records the ledger still needs). Thread-safe.
  virtual Status Errored() const = 0;

  // Stops ordering and returns once background work has ended. Idempotent;
  // safe to call from any thread and from the destructor.
  virtual void Halt() = 0;
};

class Consenter {
 public:
  virtual ~Consenter() = default;
  // "solo", "kafka", ...; recorded in the genesis block's ChannelConfig.
  virtual std::string Type() const = 0;
  // `support` outlives the chain.
  [[nodiscard]] virtual Status HandleChain(ConsenterSupport* support, std::unique_ptr<Chain>* chain) = 0;
};

// Makes the consenter for a consensus type ("solo", "kafka", ...).
using ConsenterFactory = std::function<Status(const std::string& type, std::unique_ptr<Consenter>* out)>;

// A factory that makes only consenter C, from `options`, for the type
// `name` and refuses any other (tests and programs that embed an
// OrdererNode: each backend's OnlySolo(), OnlyKafka(), OnlyRaft()).
template <typename C, typename Options>
ConsenterFactory OnlyConsenter(std::string name, Options options) {
  return
      [name = std::move(name), options = std::move(options)](const std::string& type, std::unique_ptr<Consenter>* out) {
        if (type != name) {
          return Status::InvalidArgument("only the " + name + " backend is available here, not '" + type + "'");
        }
        *out = std::make_unique<C>(options);
        return Status::OK();
      };
}

}  // namespace ordering

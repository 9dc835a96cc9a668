// The consensus interface (after Fabric's orderer/consensus/consensus.go).
//
// A Consenter creates one Chain per channel. A Chain decides the order of
// transactions and, through its ChainSupport, turns ordered batches into
// blocks. Everything that is not consensus (ingress checks, the block
// cutter, block assembly, the ledger, delivery, metrics) lives in
// ChainSupport and is shared by every backend, so a new backend
// (`kafka` today, `raft` next, experiments later) implements only ordering.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"

namespace ordering {

class ChainSupport;

class Chain {
 public:
  virtual ~Chain() = default;

  // Begins ordering in the background. Called once.
  [[nodiscard]] virtual Status Start() = 0;

  // Submits a serialized Envelope for ordering through this node (the
  // Broadcast path). Peers of the Kafka backend may also write to the
  // partition directly. Thread-safe.
  [[nodiscard]] virtual Status Order(const std::string& envelope) = 0;

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
  // "kafka", "raft", ...; recorded in the genesis block's ChannelConfig.
  virtual std::string Type() const = 0;
  // `support` outlives the chain.
  [[nodiscard]] virtual Status HandleChain(ChainSupport* support, std::unique_ptr<Chain>* chain) = 0;
};

}  // namespace ordering

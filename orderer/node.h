// OrdererNode: one ordering node for one channel, wired together: ledger,
// chain support, consensus backend, Deliver server and metrics. The
// `orderer` binary is a thin command-line shell around it; integration tests
// run it in-process.
#pragma once

#include <memory>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "ledger/block_store.h"
#include "orderer/chain_support.h"
#include "orderer/consensus/consensus.h"
#include "orderer/consensus/kafka/kafka_chain.h"
#include "orderer/deliver/deliver_service.h"
#include "orderer/metrics.h"

namespace ordering {

struct OrdererOptions {
  std::string ledger_dir = "orderer-ledger";  // Default: ./orderer-ledger
  bool sync_writes = true;                    // Default: true (fsync every block)
  std::string listen = "127.0.0.1:7050";      // Default: Deliver on 127.0.0.1:7050 (port 0 = any)
  std::string consensus = "kafka";            // Default: "kafka" (the only backend so far)
  ChannelOptions channel;
  KafkaChainOptions kafka;
};

class OrdererNode {
 public:
  // Opens (or creates) the ledger, starts Deliver and the chain, and waits
  // until the chain is ready. `clock` must outlive the node.
  [[nodiscard]] static Status Start(const OrdererOptions& options, const Clock* clock,
                                    std::unique_ptr<OrdererNode>* out);
  ~OrdererNode();

  // Stops ordering, ends Deliver streams, closes the ledger. Idempotent.
  void Stop();

  // OK while ordering; the chain's error once it has failed.
  Status Errored() const;
  int deliver_port() const;
  const OrdererMetrics& metrics() const { return metrics_; }
  const BlockStore* ledger() const { return ledger_.get(); }
  Chain* chain() const { return chain_.get(); }
  const ChannelOptions& channel() const { return support_->options(); }

 private:
  OrdererNode() = default;
  OrdererMetrics metrics_;
  std::unique_ptr<BlockStore> ledger_;
  std::unique_ptr<ChainSupport> support_;
  std::unique_ptr<DeliverService> deliver_;
  std::unique_ptr<DeliverServer> server_;
  std::unique_ptr<Consenter> consenter_;
  std::unique_ptr<Chain> chain_;
  bool stopped_ = false;
};

}  // namespace ordering

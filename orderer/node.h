// OrdererNode: one ordering node for one channel, wired together: ledger,
// chain support, consensus backend, the AtomicBroadcast server (Broadcast
// and Deliver) and metrics. The
// `orderer` binary is a thin command-line shell around it; integration tests
// run it in-process.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "common/clock.h"
#include "common/monitoring_server.h"
#include "common/mutex.h"
#include "common/status.h"
#include "ledger/block_store.h"
#include "orderer/broadcast/broadcast_handler.h"
#include "orderer/chain_support.h"
#include "orderer/consensus/consensus.h"
#include "orderer/deliver/deliver_service.h"
#include "orderer/metrics.h"
#include "orderer/server.h"

namespace ordering {

inline constexpr const char* kDefaultConsensus = "kafka";

struct OrdererOptions {
  std::string ledger_dir = "orderer-ledger";  // Default: ./orderer-ledger
  bool sync_writes = true;                    // Default: true (fsync every block)
  std::string listen = "127.0.0.1:7050";      // Default: Broadcast + Deliver on 127.0.0.1:7050 (port 0 = any)
  // The backend. Default "": the one the ledger's genesis names, or
  // kDefaultConsensus for a new ledger. Naming one that differs from an
  // existing ledger's is an error.
  std::string consensus;
  ChannelOptions channel;
  // What Broadcast's SUCCESS promises, how long it waits for it, and how
  // far each stream reads ahead (see broadcast_handler.h).
  BroadcastOptions broadcast;
  ConsenterFactory make_consenter;  // required
  // /metrics (Prometheus), /healthz and /readyz on HOST:PORT (port 0 = any).
  // Default "": not served.
  std::string metrics_listen;
  // HTTP/2 keepalive of Broadcast and Deliver connections (server.h).
  ServerKeepalive keepalive;
  // Tests only (LedgerOptions::file_system). Default: null, the OS's.
  std::shared_ptr<rocksdb::FileSystem> ledger_file_system;
};

class OrdererNode {
 public:
  // Opens (or creates) the ledger, starts the server and the chain, and
  // waits until the chain is ready (Broadcast answers SERVICE_UNAVAILABLE
  // until then). `clock` must outlive the node. A start that fails leaves
  // no ledger folder it created behind (unless blocks beyond genesis were
  // written to it meanwhile: those came from the backend and are kept).
  [[nodiscard]] static Status Start(const OrdererOptions& options, const Clock* clock,
                                    std::unique_ptr<OrdererNode>* out);
  ~OrdererNode();

  // Stops ordering, ends Broadcast and Deliver streams, closes the ledger.
  // Idempotent.
  void Stop();

  // OK while ordering; the chain's error once it has failed.
  Status Errored() const;
  // The AtomicBroadcast port (Broadcast and Deliver).
  int deliver_port() const;
  // The port of /metrics, /healthz and /readyz; 0 when not served.
  int metrics_port() const;
  const OrdererMetrics& metrics() const { return metrics_; }
  const BlockStore* ledger() const { return ledger_.get(); }
  Chain* chain() const { return chain_.get(); }
  // The backend ordering this node's channel.
  const std::string& consensus() const { return consensus_; }
  const ChannelOptions& channel() const { return support_->options(); }

 private:
  OrdererNode() = default;
  [[nodiscard]] static Status StartIn(const OrdererOptions& options, const Clock* clock,
                                      std::unique_ptr<OrdererNode>* out);
  OrdererMetrics metrics_;
  std::unique_ptr<BlockStore> ledger_;
  std::unique_ptr<ChainSupport> support_;
  std::unique_ptr<DeliverService> deliver_;
  std::unique_ptr<BroadcastHandler> broadcast_;
  std::unique_ptr<AtomicBroadcastServer> server_;
  std::unique_ptr<Consenter> consenter_;
  std::unique_ptr<Chain> chain_;
  std::string consensus_;
  // Deliver's streams ask Errored() on gRPC threads while Start/Stop set the chain.
  mutable Mutex chain_mu_;
  bool chain_started_ GUARDED_BY(chain_mu_) = false;
  bool stopped_ = false;
  std::atomic<bool> ready_{false};
  // Last: destroyed first, so no scrape reads a member being destroyed.
  std::unique_ptr<MonitoringServer> monitoring_;
};

}  // namespace ordering

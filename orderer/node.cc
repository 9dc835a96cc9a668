#include "orderer/node.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>

#include "common/prometheus_util.h"
#include "ledger/block_util.h"
#include "orderer/prometheus_collector.h"

namespace ordering {

Status OrdererNode::Start(const OrdererOptions& options, const Clock* clock, std::unique_ptr<OrdererNode>* out) {
  if (!options.make_consenter) return Status::InvalidArgument("no consenter factory given");
  // Settings that cannot work are refused before anything is created.
  ORDERING_RETURN_IF_ERROR(ChainSupport::CheckOptions(options.channel));
  std::error_code ec;
  const bool created = !std::filesystem::exists(options.ledger_dir, ec);
  Status st = StartIn(options, clock, out);
  if (st.ok() || !created) return st;
  uint64_t height = 0;
  {
    LedgerOptions lo;
    lo.path = options.ledger_dir;
    lo.read_only = true;
    std::unique_ptr<BlockStore> left;
    if (std::filesystem::exists(options.ledger_dir, ec) && BlockStore::Open(lo, &left).ok()) {
      height = left->Info().height;
    }
  }
  if (height <= 1) {
    std::filesystem::remove_all(options.ledger_dir, ec);
    if (ec)
      spdlog::warn("removing the ledger folder {} this failed start created: {}", options.ledger_dir, ec.message());
  }
  return st;
}

Status OrdererNode::StartIn(const OrdererOptions& options, const Clock* clock, std::unique_ptr<OrdererNode>* out) {
  std::unique_ptr<OrdererNode> node(new OrdererNode());

  LedgerOptions lo;
  lo.path = options.ledger_dir;
  lo.sync_writes = options.sync_writes;
  lo.file_system = options.ledger_file_system;
  ORDERING_RETURN_IF_ERROR(BlockStore::Open(lo, &node->ledger_));  // its errors name the ledger

  // The genesis block names the backend of an existing chain.
  std::string type = options.consensus;
  if (node->ledger_->Info().height > 0) {
    Block genesis;
    ChannelConfig config;
    ORDERING_RETURN_IF_ERROR(node->ledger_->GetBlock(BlockNumber(0), &genesis).WithContext("reading genesis"));
    ORDERING_RETURN_IF_ERROR(ReadGenesisConfig(genesis, &config));
    if (!type.empty() && type != config.consensus_type()) {
      return Status::InvalidArgument("ledger " + options.ledger_dir + " was ordered by '" + config.consensus_type() +
                                     "', not '" + type + "'");
    }
    type = config.consensus_type();
  } else if (type.empty()) {
    type = kDefaultConsensus;
  }
  ORDERING_RETURN_IF_ERROR(options.make_consenter(type, &node->consenter_).WithContext("consensus '" + type + "'"));
  node->consensus_ = type;

  if (!options.metrics_listen.empty()) {
    OrdererNode* n = node.get();
    MonitoringOptions mo;
    mo.listen = options.metrics_listen;
    mo.healthy = [n] { return n->Errored(); };
    mo.ready = [n] {
      Status st = n->Errored();
      if (!st.ok()) return st;
      return n->ready_.load() ? Status::OK() : Status::Unavailable("the chain is not ready yet");
    };
    ORDERING_RETURN_IF_ERROR(
        MonitoringServer::Start(mo,
                                {std::make_shared<OrdererCollector>(&n->metrics_, options.channel.channel_id, type),
                                 std::make_shared<LedgerCollector>(n->ledger_.get(), options.channel.channel_id),
                                 std::make_shared<ProcessCollector>()},
                                &node->monitoring_)
            .WithContext("--metrics-listen"));
    spdlog::info("metrics on http://{}:{}/metrics (and /healthz, /readyz)",
                 options.metrics_listen.substr(0, options.metrics_listen.rfind(':')), node->monitoring_->port());
  }

  std::string note;
  ORDERING_RETURN_IF_ERROR(ChainSupport::Create(options.channel, node->consenter_->Type(), node->ledger_.get(),
                                                &node->metrics_, clock, &node->support_, &note));
  if (!note.empty()) spdlog::warn("{}", note);

  OrdererNode* self = node.get();
  node->deliver_ = std::make_unique<DeliverService>(
      node->ledger_.get(), 64, [self] { return self->Errored(); }, &node->metrics_.deliver_send_duration);
  DeliverService* deliver = node->deliver_.get();
  node->support_->AddListener([deliver](std::shared_ptr<const Block> b) { deliver->Publish(std::move(b)); });
  node->broadcast_ =
      std::make_unique<BroadcastHandler>(options.broadcast, node->support_->ingress_options(), &node->metrics_);
  const uint64_t max_receive = node->support_->options().batch_size.absolute_max_bytes + 1024 * 1024;
  ORDERING_RETURN_IF_ERROR(AtomicBroadcastServer::Start(options.listen, node->broadcast_.get(), deliver,
                                                        static_cast<int>(std::min<uint64_t>(max_receive, INT32_MAX)),
                                                        &node->server_, options.keepalive)
                               .WithContext("atomic broadcast server"));

  ORDERING_RETURN_IF_ERROR(node->consenter_->HandleChain(node->support_.get(), &node->chain_));
  {
    MutexLock l(&node->chain_mu_);
    node->chain_started_ = true;
  }
  ORDERING_RETURN_IF_ERROR(node->chain_->Start());
  ORDERING_RETURN_IF_ERROR(node->chain_->WaitReady());
  // A chain that failed while it became ready (a Kafka offset the broker no
  // longer holds, say) is a failed start, not a ready orderer.
  ORDERING_RETURN_IF_ERROR(node->chain_->Errored());
  node->broadcast_->SetChain(node->chain_.get(), node->support_.get());
  node->ready_ = true;
  LedgerInfo info = node->ledger_->Info();
  spdlog::info("orderer ready: channel {} consensus {} height {} deliver on port {}; Broadcast answers SUCCESS {}",
               node->support_->options().channel_id, type, info.height, node->server_->port(),
               options.broadcast.ack == AckMode::kDurable
                   ? "once a transaction is durable (--ack durable)"
                   : "once a transaction is queued for ordering (--ack accepted)");
  *out = std::move(node);
  return Status::OK();
}

OrdererNode::~OrdererNode() { Stop(); }

void OrdererNode::Stop() {
  if (stopped_) return;
  stopped_ = true;
  ready_ = false;
  if (chain_) chain_->Halt();  // a Broadcast waiting in Order() is refused now
  // Streams waiting for their transactions to be durable are answered now.
  if (support_) support_->acks()->ResolveAll(Status::Unavailable("the orderer is stopping"));
  if (deliver_) deliver_->Shutdown();
  if (server_) server_->Stop();  // no stream runs past this
  if (broadcast_) broadcast_->SetChain(nullptr, nullptr);
  {
    MutexLock l(&chain_mu_);
    chain_started_ = false;
  }
  chain_.reset();
  support_.reset();
  if (monitoring_) monitoring_->Stop();  // its collectors read the ledger
  ledger_.reset();
}

Status OrdererNode::Errored() const {
  MutexLock l(&chain_mu_);
  return chain_started_ && chain_ ? chain_->Errored() : Status::OK();
}

int OrdererNode::deliver_port() const { return server_ ? server_->port() : 0; }

int OrdererNode::metrics_port() const { return monitoring_ ? monitoring_->port() : 0; }

}  // namespace ordering

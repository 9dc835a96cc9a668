#include "orderer/node.h"

#include <spdlog/spdlog.h>

namespace ordering {

Status OrdererNode::Start(const OrdererOptions& options, const Clock* clock,
                          std::unique_ptr<OrdererNode>* out) {
  std::unique_ptr<OrdererNode> node(new OrdererNode());
  if (options.consensus == "kafka") {
    node->consenter_ = std::make_unique<KafkaConsenter>(options.kafka);
  } else {
    return Status::InvalidArgument("unknown consensus type '" + options.consensus +
                                   "' (available: kafka)");
  }

  LedgerOptions lo;
  lo.path = options.ledger_dir;
  lo.sync_writes = options.sync_writes;
  ORDERING_RETURN_IF_ERROR(
      BlockStore::Open(lo, &node->ledger_).WithContext("opening ledger " + options.ledger_dir));

  std::string note;
  ORDERING_RETURN_IF_ERROR(ChainSupport::Create(options.channel, node->consenter_->Type(),
                                                node->ledger_.get(), &node->metrics_, clock,
                                                &node->support_, &note));
  if (!note.empty()) spdlog::warn("{}", note);

  node->deliver_ = std::make_unique<DeliverService>(node->ledger_.get());
  DeliverService* deliver = node->deliver_.get();
  node->support_->AddListener([deliver](std::shared_ptr<const Block> b) { deliver->Publish(std::move(b)); });
  ORDERING_RETURN_IF_ERROR(DeliverServer::Start(options.listen, deliver, &node->server_)
                               .WithContext("deliver service"));

  ORDERING_RETURN_IF_ERROR(node->consenter_->HandleChain(node->support_.get(), &node->chain_));
  ORDERING_RETURN_IF_ERROR(node->chain_->Start());
  ORDERING_RETURN_IF_ERROR(node->chain_->WaitReady());
  LedgerInfo info = node->ledger_->Info();
  spdlog::info("orderer ready: channel {} height {} deliver on port {}",
               node->support_->options().channel_id, info.height, node->server_->port());
  *out = std::move(node);
  return Status::OK();
}

OrdererNode::~OrdererNode() { Stop(); }

void OrdererNode::Stop() {
  if (stopped_) return;
  stopped_ = true;
  if (chain_) chain_->Halt();
  if (deliver_) deliver_->Shutdown();
  if (server_) server_->Stop();
  chain_.reset();
  support_.reset();
  ledger_.reset();
}

Status OrdererNode::Errored() const { return chain_ ? chain_->Errored() : Status::OK(); }

int OrdererNode::deliver_port() const { return server_ ? server_->port() : 0; }

}  // namespace ordering

// The Kafka consensus backend (after Fabric's orderer/consensus/kafka).
//
// The channel is one partition; its offsets are the total order. Two
// threads run per chain:
//   consumer thread:  reads the partition from (ledger's last offset + 1)
//                     and submits each record to the ordered validation pool
//                     (decode, size filter, signature check on N workers);
//   ordering thread:  takes checked records back in partition order, rejects
//                     duplicates, feeds the cutter, writes blocks, and runs
//                     the batch timer.
// The batch timer never cuts by itself: when BatchTimeout expires with
// messages pending it posts time-to-cut(N) for block N = next block, and the
// chain cuts block N when it reads the first TTC(N). So every orderer of the
// partition writes byte-identical blocks, and a restarted orderer replays
// exactly the decisions it made before.
//
// Crash resume: each block's metadata.last_offset is the offset of the last
// record the block accounts for (Fabric's rule: when the record that
// triggered a cut is not inside the cut batch, the batch accounts for
// offset - 1). It is written atomically with the block, so a restart
// consumes from last_offset + 1: nothing lost, nothing ordered twice.
#pragma once

#include <atomic>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/kafka.h"
#include "common/properties.h"
#include "orderer/chain_support.h"
#include "orderer/consensus/consensus.h"
#include "orderer/ingress/validator.h"

namespace ordering {

struct KafkaChainOptions {
  std::string brokers;                 // required: "host:port,..."
  std::string topic;                   // Default: "" = the channel id
  Properties consumer_properties;      // passed to librdkafka after our defaults
  Properties producer_properties;      // for connect / time-to-cut / Order()
  bool create_topic = true;            // Default: true; create (1 partition) if missing
  int replication_factor = 0;          // when creating the topic; <= 0: the brokers' default
  int verify_workers = 0;              // Default: 0 = one per hardware thread
  size_t max_in_flight = 4096;         // Default: 4096 records being checked at once
  int ready_timeout_ms = 30000;        // Default: 30 s for the broker to accept `connect`
};

class KafkaChain final : public Chain {
 public:
  KafkaChain(ChainSupport* support, const KafkaChainOptions& options);
  ~KafkaChain() override;

  Status Start() override;
  Status Order(const std::string& envelope) override;
  Status WaitReady() override;
  Status Errored() const override;
  void Halt() override;

 private:
  void ConsumeLoop(Offset start);
  void OrderLoop();
  Status Process(CheckedMessage& m);
  Status ProcessRegular(CheckedMessage& m);
  Status ProcessTimeToCut(const CheckedMessage& m);
  void SendTimeToCut();
  void Fail(const Status& st);
  void LogRejection(const CheckedMessage& m);

  ChainSupport* support_;
  KafkaChainOptions options_;
  std::string topic_;
  std::unique_ptr<kafka::Producer> producer_;
  std::unique_ptr<OrderedValidationPool> pool_;
  std::thread consumer_thread_;
  std::thread ordering_thread_;
  std::atomic<bool> stop_{false};
  std::once_flag halt_once_;

  std::promise<Status> connect_acked_;
  std::shared_future<Status> connect_future_;

  mutable std::mutex error_mu_;
  Status error_;  // GUARDED_BY(error_mu_)

  // Ordering-thread state.
  int64_t timer_deadline_ = 0;      // NowNanos when TTC is due; 0 = no timer
  int64_t batch_first_seen_ = 0;    // NowNanos when the pending batch began
  uint64_t rejections_logged_[static_cast<size_t>(RejectCause::kCount)] = {};
};

class KafkaConsenter final : public Consenter {
 public:
  explicit KafkaConsenter(const KafkaChainOptions& options) : options_(options) {}
  std::string Type() const override { return "kafka"; }
  Status HandleChain(ChainSupport* support, std::unique_ptr<Chain>* chain) override {
    chain->reset(new KafkaChain(support, options_));
    return Status::OK();
  }

 private:
  KafkaChainOptions options_;
};

}  // namespace ordering

// Shared by the storage-fault tests: a solo orderer's options, a Broadcast
// stream that records what each transaction was answered, and the checks
// every fault ends with (nothing answered SUCCESS is missing from the
// ledger reopened without the fault, the ledger verifies, a restart
// resumes the chain).
#pragma once

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "orderer/consensus/solo/solo_chain.h"
#include "orderer/node.h"
#include "proto/ab.grpc.pb.h"
#include "tests/pipeline_harness.h"

namespace ordering::testing {

inline OrdererOptions SoloStorageOptions(const std::string& ledger) {
  OrdererOptions o;
  o.ledger_dir = ledger;
  o.listen = "127.0.0.1:0";
  o.consensus = "solo";
  o.channel.channel_id = "mychannel";
  o.channel.batch_size.max_message_count = 10;
  o.channel.batch_timeout_ms = 100;
  o.sync_writes = true;
  // Long, so that an answer owed after a fault comes from the node stopping
  // its chain, not from the acknowledgement timing out.
  o.broadcast.ack_timeout_ms = 60'000;
  o.make_consenter = solo::OnlySolo();
  return o;
}

// One Broadcast stream; remembers every transaction's answer by tx id.
class AnsweredStream {
 public:
  explicit AnsweredStream(int port)
      : stub_(AtomicBroadcast::NewStub(
            grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()))) {
    ctx_.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
    stream_ = stub_->Broadcast(&ctx_);
  }
  ~AnsweredStream() {
    stream_->WritesDone();
    BroadcastResponse r;
    while (stream_->Read(&r)) {
    }
    stream_->Finish();
  }

  // Sends `n` new transactions from `peer`, then reads their `n` answers;
  // false if the stream ended first. Their envelopes are kept by tx id.
  bool SendAndAnswer(TestPeer& peer, int n) {
    std::vector<BuiltTx> txs;
    for (int i = 0; i < n; ++i) txs.push_back(peer.Next());
    return Resend(txs);
  }
  bool Resend(const std::vector<BuiltTx>& txs) {
    for (const BuiltTx& tx : txs) {
      Envelope env;
      EXPECT_TRUE(env.ParseFromString(tx.envelope));
      envelopes_[tx.tx_id] = tx;
      if (!stream_->Write(env)) return false;
    }
    for (size_t i = 0; i < txs.size(); ++i) {
      BroadcastResponse r;
      if (!stream_->Read(&r)) return false;
      answers_[r.tx_id()] = r.status();
      info_[r.tx_id()] = r.info();
    }
    return true;
  }

  std::set<std::string> With(BroadcastStatus status) const {
    std::set<std::string> out;
    for (const auto& [id, s] : answers_) {
      if (s == status) out.insert(id);
    }
    return out;
  }
  std::vector<BuiltTx> Envelopes(const std::set<std::string>& ids) const {
    std::vector<BuiltTx> out;
    for (const std::string& id : ids) out.push_back(envelopes_.at(id));
    return out;
  }
  const std::string& InfoOf(const std::string& id) { return info_[id]; }
  size_t answered() const { return answers_.size(); }

 private:
  std::unique_ptr<AtomicBroadcast::Stub> stub_;
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReaderWriter<Envelope, BroadcastResponse>> stream_;
  std::map<std::string, BroadcastStatus> answers_;
  std::map<std::string, std::string> info_;
  std::map<std::string, BuiltTx> envelopes_;
};

// The ledger at `path`, reopened (without any fault): it verifies, with
// every signature (ReadLedger), and holds every transaction in `acked`.
// Returns the tx ids it holds.
inline std::set<std::string> ExpectHoldsEveryAcked(const std::string& path, const std::set<std::string>& acked) {
  LedgerContents c = ReadLedger(path);
  std::set<std::string> held(c.tx_ids.begin(), c.tx_ids.end());
  EXPECT_EQ(held.size(), c.tx_ids.size()) << "a transaction is in the ledger twice";
  for (const std::string& id : acked) EXPECT_TRUE(held.count(id)) << "answered SUCCESS but not in the ledger: " << id;
  return held;
}

// Restarts a solo node on `options` (no fault): it resumes at the ledger's
// height; transactions resent are ordered once (or refused as duplicates if
// the ledger has them) and new ones are answered SUCCESS and stored.
inline void ExpectRestartResumes(OrdererOptions options, TestPeer& peer, const std::vector<BuiltTx>& resend) {
  options.ledger_file_system = nullptr;
  const uint64_t before = ReadLedger(options.ledger_dir).blocks.size();
  std::set<std::string> acked;
  {
    std::unique_ptr<OrdererNode> node;
    Status st = OrdererNode::Start(options, SystemClock::Default(), &node);
    ASSERT_TRUE(st.ok()) << st.ToString();
    EXPECT_EQ(node->ledger()->Info().height, before);
    AnsweredStream s(node->deliver_port());
    ASSERT_TRUE(s.Resend(resend));
    ASSERT_TRUE(s.SendAndAnswer(peer, 12));
    EXPECT_EQ(s.With(BROADCAST_STATUS_SUCCESS).size() + s.With(BROADCAST_STATUS_BAD_REQUEST).size(), s.answered());
    acked = s.With(BROADCAST_STATUS_SUCCESS);
    EXPECT_GE(acked.size(), 12u);
    EXPECT_TRUE(node->Errored().ok()) << node->Errored().ToString();
  }
  const std::set<std::string> held = ExpectHoldsEveryAcked(options.ledger_dir, acked);
  for (const BuiltTx& tx : resend) EXPECT_TRUE(held.count(tx.tx_id)) << "resent but not ordered: " << tx.tx_id;
  EXPECT_GT(ReadLedger(options.ledger_dir).blocks.size(), before);
}

}  // namespace ordering::testing

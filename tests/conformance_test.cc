// The conformance suite every consensus backend passes, through the same
// client path (Broadcast in, Deliver out) and the same checks:
//   * exactly once: every accepted envelope is in the chain once;
//   * order kept: each Broadcast stream's envelopes appear in the order sent
//     (one stream is one client: no backend may reorder it);
//   * the chain verifies: hashes, index, signatures and the backend's own
//     metadata rule (ledger verify);
//   * restart resumes: a stopped and restarted node continues the same
//     chain, nothing lost or doubled;
//   * replicas agree: where a backend has several ordering nodes, their
//     chains are byte-identical.
// A backend is added to the suite with one line in Backends() below; the
// backends' own logic has unit tests on fakes beside their code.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <set>
#include <thread>

#include "orderer/consensus/kafka/kafka_chain.h"
#include "orderer/consensus/kafka/kafka_record.h"
#include "orderer/consensus/raft/raft_chain.h"
#include "orderer/consensus/registry.h"
#include "orderer/consensus/solo/solo_chain.h"
#include "orderer/node.h"
#include "proto/ab.grpc.pb.h"
#include "tests/pipeline_harness.h"
#include "tests/raft_cluster.h"
#include "tests/test_broker.h"

namespace ordering::testing {
namespace {

// How the suite runs one backend: it may need a broker, some have replicas
// (several nodes ordering one channel), and an ordering service may be a
// cluster of nodes (raft: clients talk to any node, followers forward).
struct BackendUnderTest {
  std::string name;
  bool needs_broker = false;
  bool has_replicas = false;
  int nodes = 1;  // nodes of one ordering service
  // SUCCESS (--ack durable) means the answering node has written the
  // transaction in a block (solo; raft: committed by a majority); false:
  // the backend's durability is elsewhere (kafka: the brokers' ack).
  bool durable_in_own_ledger = true;
};

void PrintTo(const BackendUnderTest& b, std::ostream* os) { *os << b.name; }

std::vector<BackendUnderTest> Backends() {
  return {
      {"solo", false, false, 1, true},
      {"kafka", true, true, 1, false},
      {"raft", false, true, 3, true},
  };
}

class ConformanceTest : public ::testing::TestWithParam<BackendUnderTest> {
 protected:
  void SetUp() override {
    if (GetParam().needs_broker) {
      broker_ = TestBroker::Start();
      ASSERT_TRUE(broker_);
      channel_ = broker_->NewChannelName();
      Status st = broker_->CreateChannel(channel_);
      ASSERT_TRUE(st.ok()) << st.ToString();
    }
  }

  OrdererOptions Options(const std::string& ledger) {
    OrdererOptions o;
    o.ledger_dir = ledger;
    o.listen = "127.0.0.1:0";
    o.consensus = GetParam().name;
    o.channel.channel_id = channel_;
    o.channel.batch_size.max_message_count = 40;
    o.channel.batch_timeout_ms = 250;
    o.sync_writes = false;
    const std::string brokers = broker_ ? broker_->bootstrap() : "";
    o.make_consenter = [brokers](const std::string& type, std::unique_ptr<Consenter>* out) {
      if (type == "solo") {
        *out = std::make_unique<solo::SoloConsenter>(solo::SoloOptions{});
        return Status::OK();
      }
      if (type == "kafka") {
        KafkaChainOptions k;
        k.brokers = brokers;
        k.verify_workers = 2;
        *out = std::make_unique<KafkaConsenter>(k);
        return Status::OK();
      }
      // raft: RaftCluster sets its own factory per node.
      return Status::InvalidArgument("no backend '" + type + "' in the suite");
    };
    return o;
  }

  // Starts (or restarts) the ordering service `name`: one node, or a raft
  // cluster (same addresses on a restart) once it has a leader.
  void StartService(const std::string& name) {
    if (GetParam().nodes == 1) {
      single_[name] = Start(Options(dir_.path(name)));
      ASSERT_TRUE(single_[name]);
      return;
    }
    auto& c = clusters_[name];
    if (!c) c = std::make_unique<RaftCluster>(dir_.path(name), GetParam().nodes, Options(""));
    Status st = c->StartAll();
    ASSERT_TRUE(st.ok()) << st.ToString();
    ASSERT_TRUE(c->WaitForLeader()) << "no raft leader";
  }
  void StopService(const std::string& name) {
    if (GetParam().nodes == 1) {
      single_[name].reset();
    } else {
      clusters_[name]->StopAll();
    }
  }
  // Node i of the service (clients may talk to any).
  OrdererNode* Node(const std::string& name, int i = 0) {
    return GetParam().nodes == 1 ? single_[name].get() : clusters_[name]->node(i);
  }
  std::vector<OrdererNode*> Nodes(const std::string& name) {
    std::vector<OrdererNode*> out;
    for (int i = 0; i < GetParam().nodes; ++i) out.push_back(Node(name, i));
    return out;
  }
  // Every node of the service has ordered at least `n` transactions.
  bool WaitOrdered(const std::string& name, uint64_t n) {
    return WaitFor([&] {
      for (OrdererNode* node : Nodes(name)) {
        if (node->metrics().txs_ordered.load() < n) return false;
      }
      return true;
    });
  }
  std::string LedgerPath(const std::string& name, int i = 0) {
    return GetParam().nodes == 1 ? dir_.path(name) : clusters_[name]->ledger(i);
  }
  std::string Summaries(const std::string& name) {
    std::string s;
    for (OrdererNode* node : Nodes(name)) s += node->metrics().Summary() + " / ";
    return s;
  }

  std::unique_ptr<OrdererNode> Start(const OrdererOptions& o) {
    std::unique_ptr<OrdererNode> node;
    Status st = OrdererNode::Start(o, SystemClock::Default(), &node);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return node;
  }

  // Sends `per_stream` envelopes on each of `streams` Broadcast streams at
  // once; returns each stream's tx ids in send order. Every envelope must be
  // answered SUCCESS; `on_answer` sees each answer as it arrives.
  std::vector<std::vector<std::string>> Broadcast(
      int port, int streams, int per_stream, const std::function<void(const BroadcastResponse&)>& on_answer = nullptr) {
    std::vector<std::vector<std::string>> sent(streams);
    std::vector<std::thread> threads;
    for (int s = 0; s < streams; ++s) {
      threads.emplace_back([&, s] {
        TestPeer peer(channel_);
        auto stub = AtomicBroadcast::NewStub(
            grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
        grpc::ClientContext ctx;
        auto stream = stub->Broadcast(&ctx);
        std::thread writer([&] {
          for (int i = 0; i < per_stream; ++i) {
            BuiltTx tx = peer.Next();
            Envelope env;
            ASSERT_TRUE(env.ParseFromString(tx.envelope));
            sent[s].push_back(tx.tx_id);
            ASSERT_TRUE(stream->Write(env));
          }
          stream->WritesDone();
        });
        BroadcastResponse r;
        int answers = 0;
        while (stream->Read(&r)) {
          EXPECT_EQ(r.status(), BROADCAST_STATUS_SUCCESS) << r.info();
          if (on_answer) on_answer(r);
          ++answers;
        }
        writer.join();
        EXPECT_TRUE(stream->Finish().ok());
        EXPECT_EQ(answers, per_stream);
      });
    }
    for (auto& t : threads) t.join();
    return sent;
  }

  // The ledger, verified with the backend's own metadata rule too.
  LedgerContents ReadVerified(const std::string& path) {
    LedgerContents c = ReadLedger(path);  // hashes, index, signatures
    std::unique_ptr<BlockStore> store;
    LedgerOptions lo;
    lo.path = path;
    lo.read_only = true;
    EXPECT_TRUE(BlockStore::Open(lo, &store).ok());
    if (!store) return c;
    VerifyOptions vo;
    vo.check_consenter = MakeBackend(GetParam().name)->MetadataCheck();
    VerifyResult vr;
    Status st = store->Verify(vo, &vr);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return c;
  }

  static void ExpectExactlyOnceInStreamOrder(const LedgerContents& ledger,
                                             const std::vector<std::vector<std::string>>& sent) {
    std::map<std::string, size_t> position;
    for (size_t i = 0; i < ledger.tx_ids.size(); ++i) {
      EXPECT_TRUE(position.emplace(ledger.tx_ids[i], i).second) << "tx " << ledger.tx_ids[i] << " ordered twice";
    }
    size_t total = 0;
    for (const auto& stream : sent) {
      total += stream.size();
      size_t last = 0;
      for (size_t k = 0; k < stream.size(); ++k) {
        auto it = position.find(stream[k]);
        ASSERT_NE(it, position.end()) << "tx " << stream[k] << " never ordered";
        if (k > 0) {
          EXPECT_GT(it->second, last) << "a stream's envelopes were reordered at " << k;
        }
        last = it->second;
      }
    }
    EXPECT_EQ(ledger.tx_ids.size(), total);
  }

  std::unique_ptr<TestBroker> broker_;
  std::string channel_ = "mychannel";
  TempDir dir_{"conformance"};
  std::map<std::string, std::unique_ptr<OrdererNode>> single_;
  std::map<std::string, std::unique_ptr<RaftCluster>> clusters_;
};

TEST_P(ConformanceTest, ExactlyOnceInEachStreamsOrderAndTheChainVerifies) {
  StartService("a");
  auto sent = Broadcast(Node("a")->deliver_port(), 3, 150);
  ASSERT_TRUE(WaitOrdered("a", 450)) << Summaries("a");
  for (OrdererNode* node : Nodes("a")) EXPECT_EQ(node->metrics().rejected_total(), 0u) << node->metrics().Summary();
  StopService("a");
  LedgerContents ledger = ReadVerified(LedgerPath("a"));
  ExpectExactlyOnceInStreamOrder(ledger, sent);
}

TEST_P(ConformanceTest, ARestartedNodeContinuesTheChain) {
  std::vector<std::vector<std::string>> sent;
  uint64_t height_before = 0;
  StartService("a");
  sent = Broadcast(Node("a")->deliver_port(), 2, 60);
  ASSERT_TRUE(WaitOrdered("a", 120)) << Summaries("a");
  height_before = Node("a")->ledger()->Info().height;
  StopService("a");
  StartService("a");
  for (OrdererNode* node : Nodes("a")) EXPECT_EQ(node->ledger()->Info().height, height_before);
  auto more = Broadcast(Node("a")->deliver_port(), 2, 60);
  ASSERT_TRUE(WaitOrdered("a", 120)) << Summaries("a");
  // Nothing from before is ordered again after the restart.
  for (OrdererNode* node : Nodes("a")) EXPECT_EQ(node->metrics().txs_ordered.load(), 120u);
  StopService("a");
  sent.insert(sent.end(), more.begin(), more.end());
  ExpectExactlyOnceInStreamOrder(ReadVerified(LedgerPath("a")), sent);
}

TEST_P(ConformanceTest, SuccessMeansTheTransactionIsDurable) {
  // Every node answers Broadcast (a raft leader and its followers alike).
  // With the default --ack durable, a SUCCESS is never ahead of the
  // backend's durability: for solo and raft, the answering node's ledger
  // holds the transaction when the answer arrives; for every backend, a
  // service stopped right after its last answer has it after a restart.
  StartService("a");
  std::vector<std::vector<std::string>> sent;
  size_t not_yet_durable = 0;
  for (int i = 0; i < GetParam().nodes; ++i) {
    const BlockStore* ledger = Node("a", i)->ledger();
    auto more = Broadcast(Node("a", i)->deliver_port(), 2, 30, [&](const BroadcastResponse& r) {
      TxLocation loc;
      if (GetParam().durable_in_own_ledger && !ledger->FindTx(r.tx_id(), &loc).ok()) ++not_yet_durable;
    });
    sent.insert(sent.end(), more.begin(), more.end());
  }
  EXPECT_EQ(not_yet_durable, 0u) << "SUCCESS answered before the transaction was in the answering node's ledger";
  StopService("a");
  StartService("a");
  ASSERT_TRUE(WaitFor([&] {
    for (const auto& stream : sent) {
      for (const std::string& id : stream) {
        TxLocation loc;
        if (!Node("a")->ledger()->FindTx(id, &loc).ok()) return false;
      }
    }
    return true;
  })) << "acknowledged transactions missing after a restart: "
      << Summaries("a");
  StopService("a");
  ExpectExactlyOnceInStreamOrder(ReadVerified(LedgerPath("a")), sent);
}

TEST_P(ConformanceTest, ReplicasWriteByteIdenticalChains) {
  if (!GetParam().has_replicas) GTEST_SKIP() << GetParam().name << " runs on one node: it has no replicas";
  // Two nodes ordering one channel: two independent orderers on one Kafka
  // partition, or two members of a raft cluster. Clients talk to either.
  std::vector<std::string> ledgers;
  std::vector<std::vector<std::string>> sent_a, sent_b;
  if (GetParam().nodes == 1) {
    StartService("a");
    StartService("b");
    sent_a = Broadcast(Node("a")->deliver_port(), 2, 50);
    sent_b = Broadcast(Node("b")->deliver_port(), 2, 50);
    ASSERT_TRUE(WaitOrdered("a", 200) && WaitOrdered("b", 200)) << Summaries("a") << Summaries("b");
    StopService("a");
    StopService("b");
    ledgers = {LedgerPath("a"), LedgerPath("b")};
  } else {
    StartService("a");
    sent_a = Broadcast(Node("a", 0)->deliver_port(), 2, 50);
    sent_b = Broadcast(Node("a", 1)->deliver_port(), 2, 50);
    ASSERT_TRUE(WaitOrdered("a", 200)) << Summaries("a");
    StopService("a");
    for (int i = 0; i < GetParam().nodes; ++i) ledgers.push_back(LedgerPath("a", i));
  }
  LedgerContents first = ReadVerified(ledgers[0]);
  for (size_t k = 1; k < ledgers.size(); ++k) {
    LedgerContents other = ReadVerified(ledgers[k]);
    ASSERT_EQ(first.blocks.size(), other.blocks.size()) << ledgers[k];
    for (size_t n = 0; n < first.blocks.size(); ++n) {
      EXPECT_EQ(first.blocks[n].SerializeAsString(), other.blocks[n].SerializeAsString()) << "block " << n;
    }
  }
  sent_a.insert(sent_a.end(), sent_b.begin(), sent_b.end());
  ExpectExactlyOnceInStreamOrder(first, sent_a);
}

INSTANTIATE_TEST_SUITE_P(Backends, ConformanceTest, ::testing::ValuesIn(Backends()),
                         [](const ::testing::TestParamInfo<BackendUnderTest>& info) { return info.param.name; });

}  // namespace
}  // namespace ordering::testing

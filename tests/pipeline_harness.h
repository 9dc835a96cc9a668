// Shared fixtures for the pipeline's integration tests: an embedded broker,
// signing clients that produce real transactions and remember each record's
// partition offset, and helpers to read a ledger back.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/crypto.h"
#include "common/kafka.h"
#include "common/tx_factory.h"
#include "ledger/block_store.h"
#include "ledger/block_util.h"
#include "proto/kafka.pb.h"

namespace ordering::testing {

// Polls `pred` every 20 ms until it holds or `timeout` passes.
inline bool WaitFor(const std::function<bool()>& pred, std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

// A fresh directory under the test temp dir, removed on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& name) {
    path_ = std::filesystem::path(::testing::TempDir()) /
            (name + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string path(const std::string& sub = "") const { return (path_ / sub).string(); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

// Produces records to a channel topic and records each record's offset.
class Submitter {
 public:
  Submitter(const std::string& brokers, const std::string& topic) : topic_(topic) {
    kafka::Producer::Options po;
    po.brokers = brokers;
    po.properties = {{"linger.ms", "2", "test"}, {"acks", "all", "test"}};
    po.on_delivery = [this](const kafka::DeliveryReport& r) {
      std::lock_guard<std::mutex> l(mu_);
      auto* key = static_cast<std::string*>(r.opaque);
      if (r.status.ok()) {
        offsets_[*key].push_back(r.offset.value());
      } else {
        ++failed_;
      }
      delete key;
    };
    EXPECT_TRUE(kafka::Producer::Create(po, &producer_).ok());
  }

  // Produces `record`; `key` names it in offsets() (e.g. its tx id).
  void Send(const std::string& record, const std::string& key) {
    ASSERT_TRUE(producer_->Produce(topic_, 0, record, new std::string(key)).ok());
  }
  void Flush() { ASSERT_TRUE(producer_->Flush(20000).ok()); }

  // key -> offsets it was written at (more than one if sent twice).
  std::map<std::string, std::vector<int64_t>> offsets() const {
    std::lock_guard<std::mutex> l(mu_);
    return offsets_;
  }
  int failed() const {
    std::lock_guard<std::mutex> l(mu_);
    return failed_;
  }

 private:
  std::string topic_;
  std::unique_ptr<kafka::Producer> producer_;
  mutable std::mutex mu_;
  std::map<std::string, std::vector<int64_t>> offsets_;
  int failed_ = 0;
};

// A peer identity that builds signed transactions.
class TestPeer {
 public:
  explicit TestPeer(const std::string& channel = "mychannel", size_t size = 1024) {
    EXPECT_TRUE(Signer::Generate(&signer_).ok());
    TxFactoryOptions o;
    o.channel_id = channel;
    o.target_record_bytes = size;
    factory_ = std::make_unique<TxFactory>(signer_.get(), o, SystemClock::Default());
  }
  BuiltTx Next() {
    BuiltTx tx;
    EXPECT_TRUE(factory_->Build(&tx).ok());
    return tx;
  }
  TxFactory& factory() { return *factory_; }
  const Signer& signer() const { return *signer_; }

 private:
  std::unique_ptr<Signer> signer_;
  std::unique_ptr<TxFactory> factory_;
};

// A record (wrapped for the topic) whose envelope `peer` signed and whose
// payload was then altered: well formed, rejected as a bad signature.
inline std::string TamperedRecord(TestPeer& peer) {
  Payload p;
  *p.mutable_header() = peer.factory().NewHeader();
  p.set_data("pay 10");
  Envelope env;
  EXPECT_TRUE(peer.factory().Seal(p, &env).ok());
  p.set_data("pay 99");
  env.set_payload(p.SerializeAsString());
  return TxFactory::WrapRegular(env.SerializeAsString());
}

struct LedgerContents {
  std::vector<Block> blocks;
  std::vector<std::string> tx_ids;  // in chain order
};

inline LedgerContents ReadLedger(const std::string& path) {
  LedgerContents c;
  std::unique_ptr<BlockStore> store;
  LedgerOptions lo;
  lo.path = path;
  lo.create_if_missing = false;
  Status st = BlockStore::Open(lo, &store);
  EXPECT_TRUE(st.ok()) << st.ToString();
  if (!st.ok()) return c;
  VerifyResult vr;
  VerifyOptions vo;
  vo.check_signatures = true;
  st = store->Verify(vo, &vr);
  EXPECT_TRUE(st.ok()) << st.ToString();
  for (uint64_t n = 0; n < store->Info().height; ++n) {
    Block b;
    EXPECT_TRUE(store->GetBlock(BlockNumber(n), &b).ok());
    if (n > 0) {
      std::vector<std::string> ids;
      EXPECT_TRUE(ExtractTxIds(b, &ids).ok());
      c.tx_ids.insert(c.tx_ids.end(), ids.begin(), ids.end());
    }
    c.blocks.push_back(std::move(b));
  }
  return c;
}

// Asserts that `ledger` holds exactly the transactions in `produced` (tx id
// -> offsets), each once, in partition-offset order.
inline void ExpectExactlyOnceInOffsetOrder(const LedgerContents& ledger,
                                           const std::map<std::string, std::vector<int64_t>>& produced) {
  std::map<std::string, int> seen;
  int64_t last_offset = -1;
  for (const auto& id : ledger.tx_ids) {
    ++seen[id];
    auto it = produced.find(id);
    ASSERT_NE(it, produced.end()) << "ledger holds a tx that was never produced: " << id;
    int64_t off = it->second.front();
    EXPECT_GT(off, last_offset) << "tx " << id << " out of partition order";
    last_offset = off;
  }
  for (const auto& [id, n] : seen) EXPECT_EQ(n, 1) << "tx " << id << " ordered " << n << " times";
  EXPECT_EQ(seen.size(), produced.size()) << "transactions missing from the ledger";
}

}  // namespace ordering::testing

// fuzz_seeds: writes the fuzz targets' seed corpora (fuzz/corpus/<target>/):
// valid inputs made with the project's own builders (TxFactory, MakeBlock,
// MakeGenesisBlock, the backends' metadata encoders) and checked with its
// own checkers before they are written (a seed that stopped being valid
// fails this program), plus a few edge cases, and the committed config
// files for the text targets. Signatures and nonces are random, so a rerun
// writes different bytes; the committed corpus is one run's output.
// Usage: fuzz_seeds SOURCE_ROOT OUT_DIR   (e.g. fuzz_seeds . fuzz/corpus)
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "common/clock.h"
#include "common/tx_factory.h"
#include "fuzz/fuzz_util.h"
#include "ledger/block_store.h"
#include "ledger/block_util.h"
#include "orderer/consensus/kafka/kafka_record.h"
#include "orderer/consensus/raft/raft_format.h"
#include "orderer/consensus/registry.h"
#include "proto/kafka.pb.h"

namespace fs = std::filesystem;
using namespace ordering;

namespace {

fs::path g_out;
size_t g_files = 0, g_bytes = 0;

void Write(const std::string& target, const std::string& name, const std::string& bytes) {
  fs::create_directories(g_out / target);
  std::ofstream(g_out / target / name, std::ios::binary | std::ios::trunc) << bytes;
  ++g_files;
  g_bytes += bytes.size();
}

void Expect(bool ok, const std::string& what) {
  if (!ok) {
    std::cerr << "fuzz_seeds: " << what << "\n";
    std::exit(1);
  }
}

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  Expect(in.good() || in.eof(), "cannot read " + p.string());
  return ss.str();
}

// A chain ordered by `type`: genesis, then `blocks` blocks of two signed
// transactions each, with that backend's metadata; checked as `ledger
// verify` checks it.
std::vector<std::string> MakeChain(const std::string& type, TxFactory* factory, int blocks, CutReason reason) {
  ChannelConfig config;
  config.set_channel_id(fuzz::kChannel);
  config.mutable_batch_size()->set_max_message_count(2);
  config.mutable_batch_size()->set_absolute_max_bytes(4096);
  config.mutable_batch_size()->set_preferred_max_bytes(2048);
  config.set_batch_timeout_ms(2000);
  config.set_consensus_type(type);
  std::vector<Block> chain = {MakeGenesisBlock(config)};
  for (int b = 1; b <= blocks; ++b) {
    std::vector<std::string> envelopes;
    for (int t = 0; t < 2; ++t) {
      BuiltTx tx;
      Expect(factory->Build(&tx).ok(), "building a transaction");
      envelopes.push_back(tx.envelope);
    }
    BlockMetadata md;
    md.set_cut_reason(reason);
    if (type == "kafka") md.set_consenter(kafka_backend::EncodeMetadata(Offset(b * 3)));
    if (type == "raft") md.set_consenter(raft_backend::EncodeMetadata({static_cast<uint64_t>(b), 2}));
    chain.push_back(MakeBlock(BlockNumber(b), DigestBytes(BlockHash(chain.back())), std::move(envelopes), md));
  }
  VerifyOptions options;
  options.check_consenter = MakeBackend(type)->MetadataCheck();
  std::vector<std::string> bytes;
  std::string previous_hash, previous_consenter;
  for (size_t n = 0; n < chain.size(); ++n) {
    bytes.push_back(chain[n].SerializeAsString());
    Block parsed;
    std::vector<std::string> ids;
    const std::string problem =
        VerifyBlockBytes(n, bytes.back(), previous_hash, previous_consenter, options, &parsed, &ids);
    Expect(problem.empty(), type + " chain, block " + std::to_string(n) + ": " + problem);
    previous_hash = DigestBytes(BlockHash(parsed));
    previous_consenter = parsed.metadata().consenter();
  }
  return bytes;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: fuzz_seeds SOURCE_ROOT OUT_DIR\n";
    return 2;
  }
  const fs::path root = argv[1];
  g_out = argv[2];
  std::unique_ptr<Signer> signer;
  Expect(Signer::Generate(&signer).ok(), "generating a key");
  ManualClock clock(1'700'000'000'000'000'000);
  TxFactoryOptions fo;
  fo.channel_id = fuzz::kChannel;
  fo.target_record_bytes = 320;  // small seeds; the padding is opaque data
  TxFactory factory(signer.get(), fo, &clock);

  // Envelopes (fuzz_envelope, fuzz_ingress): valid, then one fault each.
  BuiltTx tx;
  Expect(factory.Build(&tx).ok(), "building a transaction");
  IngressOptions io;
  io.channel_id = fuzz::kChannel;
  Validator validator(io);
  Expect(validator.Check(tx.envelope).ok(), "the valid envelope is rejected");
  Envelope env;
  Expect(env.ParseFromString(tx.envelope), "parsing the envelope");
  Payload payload;
  Expect(payload.ParseFromString(env.payload()), "parsing the payload");
  auto variant = [&](const std::function<void(Payload*, Envelope*)>& change) {
    Payload p = payload;
    Envelope e = env;
    change(&p, &e);
    if (p.SerializeAsString() != payload.SerializeAsString()) e.set_payload(p.SerializeAsString());
    return e.SerializeAsString();
  };
  const std::vector<std::pair<std::string, std::string>> envelopes = {
      {"valid", tx.envelope},
      {"wrong-channel", variant([](Payload* p, Envelope*) { p->mutable_header()->set_channel_id("other"); })},
      {"bad-tx-id", variant([](Payload* p, Envelope*) { p->mutable_header()->set_tx_id("00"); })},
      {"bad-signature", variant([](Payload*, Envelope* e) { (*e->mutable_signature())[10] ^= 1; })},
      {"no-creator", variant([](Payload* p, Envelope*) { p->mutable_header()->clear_creator(); })},
      {"no-header", variant([](Payload* p, Envelope*) { p->clear_header(); })},
      {"payload-not-proto", variant([](Payload*, Envelope* e) { e->set_payload("\xff\xff\xff"); })},
      {"empty", ""},
  };
  for (const auto& [name, bytes] : envelopes) {
    Write("envelope", name, bytes);
    Write("ingress", name, bytes);
  }

  // Kafka records (fuzz_kafka_record).
  KafkaMessage ttc, connect, none;
  ttc.mutable_time_to_cut()->set_block_number(7);
  connect.mutable_connect()->set_payload("");
  Write("kafka_record", "regular", tx.record);
  Write("kafka_record", "regular-wrong-channel", TxFactory::WrapRegular(envelopes[1].second));
  Write("kafka_record", "time-to-cut", ttc.SerializeAsString());
  Write("kafka_record", "connect", connect.SerializeAsString());
  Write("kafka_record", "no-type", none.SerializeAsString());
  Write("kafka_record", "metadata", kafka_backend::EncodeMetadata(Offset(12)));

  // Blocks and chains (fuzz_block, fuzz_chain, fuzz_genesis).
  for (const std::string type : {"solo", "kafka", "raft"}) {
    const std::vector<std::string> chain = MakeChain(type, &factory, 2, CUT_REASON_MAX_MESSAGE_COUNT);
    Write("chain", type, fuzz::JoinFrames(chain));
    Write("block", type + "-genesis", chain[0]);
    Write("block", type + "-block", chain[1]);
    Write("genesis", type, chain[0]);
  }
  const std::vector<std::string> timeout_chain = MakeChain("kafka", &factory, 1, CUT_REASON_TIMEOUT);
  Write("chain", "kafka-timeout", fuzz::JoinFrames(timeout_chain));
  Block not_txs = MakeBlock(BlockNumber(1), std::string(32, 'h'), {"not an envelope"}, BlockMetadata());
  Write("block", "not-transactions", not_txs.SerializeAsString());
  ChannelConfig odd;
  odd.set_channel_id("c");
  odd.mutable_batch_size()->set_max_message_count(1);
  odd.mutable_batch_size()->set_absolute_max_bytes(100);
  odd.mutable_batch_size()->set_preferred_max_bytes(10);
  odd.set_batch_timeout_ms(1);
  odd.set_consensus_type("solo");
  Write("genesis", "tiny-batches", MakeGenesisBlock(odd).SerializeAsString());
  odd.set_consensus_type("unknown");
  Write("genesis", "unknown-consensus", MakeGenesisBlock(odd).SerializeAsString());

  // Text: the committed config files, and a few edge cases.
  for (const fs::path& dir : {root / "configs", root / "configs" / "profiles"}) {
    for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
      if (e.path().extension() == ".properties") Write("properties", e.path().filename(), ReadFile(e.path()));
    }
  }
  Write("properties", "edge-cases", "a=1\nb: 2\n  c = 3 \n! comment\n#x\n\nd=e=f\ng:h:i\nempty=\n");
  Write("properties", "continuation", "a=1 \\\n  2\n");
  Write("orderer_config", "orderer.conf", ReadFile(root / "configs" / "orderer.conf"));
  Write("orderer_config", "raft.conf",
        "consensus = raft\nchannel = mychannel\nraft-id = 2\n"
        "raft-node = 1,127.0.0.1:7101,127.0.0.1:7051\nraft-node = 2,127.0.0.1:7102,127.0.0.1:7052\n"
        "raft-node = 3,127.0.0.1:7103,127.0.0.1:7053\nraft-dir = /tmp/raft\nraft-heartbeat = 20\n"
        "raft-election-timeout = 1000\nbatch-timeout = 250ms\nmax-message-count = 100\n");
  Write("orderer_config", "kafka.conf",
        "consensus = kafka\nbrokers = 127.0.0.1:9092\ntopic = t\ntopic-writers = orderers\n"
        "consumer-prop = fetch.wait.max.ms=10\nverify-workers = 2\nno-create-topic = true\n"
        "preferred-max-bytes = 512KB\nabsolute-max-bytes = 1MB\nsummary-interval = 0\n");
  std::cout << "fuzz_seeds: wrote " << g_files << " files, " << g_bytes << " bytes, under " << g_out << "\n";
  return 0;
}

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
#include "proto/ab.pb.h"
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

// The setting bytes of the handler targets, then their input.
std::string WithSettings(std::initializer_list<uint8_t> settings, const std::string& rest) {
  std::string out(settings.begin(), settings.end());
  return out + rest;
}

// fuzz_broadcast: streams of frames under each setting the target reads
// (broadcast_fuzz.cc): byte 0 ack modes, signatures, chain state, window,
// ack timeout; byte 1 MaxMessageCount, AbsoluteMaxBytes, the client leaving.
void BroadcastSeeds(const std::vector<std::pair<std::string, std::string>>& envelopes, TxFactory* factory,
                    TxFactory* big_factory) {
  BuiltTx a, b, big;
  Expect(factory->Build(&a).ok() && factory->Build(&b).ok() && big_factory->Build(&big).ok(), "building txs");
  const std::string stream = fuzz::JoinFrames({a.envelope, a.envelope, b.envelope});
  constexpr uint8_t kVerify = 0x04, kClientStays = 0x70;
  Write("broadcast", "durable-duplicate", WithSettings({kVerify, kClientStays}, stream));
  Write("broadcast", "accepted", WithSettings({kVerify | 0x01, kClientStays}, stream));
  Write("broadcast", "client-asks-accepted", WithSettings({kVerify | 0x02, kClientStays}, stream));
  Write("broadcast", "chain-halted", WithSettings({kVerify | 1 << 3, kClientStays}, stream));
  Write("broadcast", "chain-not-started", WithSettings({kVerify | 2 << 3, kClientStays}, stream));
  Write("broadcast", "appends-fail", WithSettings({kVerify | 3 << 3, kClientStays}, stream));
  Write("broadcast", "ack-timeout-1ms", WithSettings({kVerify | 0x80, kClientStays}, stream));
  Write("broadcast", "client-goes-after-1", WithSettings({kVerify | 0x60, 0x10}, stream));
  Write("broadcast", "unsigned-batches-of-3",
        WithSettings({0x00, kClientStays | 0x02}, fuzz::JoinFrames({a.envelope, b.envelope, big.envelope})));
  Write("broadcast", "max-600-bytes",
        WithSettings({kVerify, kClientStays | 2 << 2}, fuzz::JoinFrames({a.envelope, big.envelope})));
  std::vector<std::string> rejected;
  for (const auto& [name, bytes] : envelopes) rejected.push_back(bytes);
  rejected.push_back("not an envelope");
  Write("broadcast", "every-rejection", WithSettings({kVerify | 0x60, kClientStays}, fuzz::JoinFrames(rejected)));
}

// fuzz_deliver: each kind of request under the settings the target reads
// (deliver_fuzz.cc): byte 0 the ledger and the recent blocks, byte 1 the
// probe and an unreadable block, byte 2 the client.
void DeliverSeeds() {
  auto seek = [](SeekInfo::Start start, uint64_t number = 0) {
    SeekInfo s;
    s.set_start(start);
    s.set_number(number);
    return s.SerializeAsString();
  };
  // 3 blocks stored, 2 published, 64 recent; probe commits; no faults.
  const std::initializer_list<uint8_t> normal = {0xD3, 0x1E, 0x3F};
  Write("deliver", "newest", WithSettings(normal, seek(SeekInfo::NEWEST)));
  Write("deliver", "oldest", WithSettings(normal, seek(SeekInfo::OLDEST)));
  Write("deliver", "specified-3", WithSettings(normal, seek(SeekInfo::SPECIFIED, 3)));
  Write("deliver", "specified-beyond-the-chain", WithSettings(normal, seek(SeekInfo::SPECIFIED, 100)));
  Write("deliver", "specified-max", WithSettings(normal, seek(SeekInfo::SPECIFIED, UINT64_MAX)));
  Write("deliver", "unknown-start", WithSettings(normal, seek(static_cast<SeekInfo::Start>(5))));
  Write("deliver", "chain-fails-at-the-tail", WithSettings({0xD3, 0x1C, 0x3F}, seek(SeekInfo::OLDEST)));
  Write("deliver", "shutdown-at-the-tail", WithSettings({0xD3, 0x1D, 0x3F}, seek(SeekInfo::NEWEST)));
  Write("deliver", "block-1-unreadable", WithSettings({0x05, 0x06, 0x3F}, seek(SeekInfo::OLDEST)));
  Write("deliver", "cancel-after-2", WithSettings({0xD3, 0x1E, 0x3A}, seek(SeekInfo::OLDEST)));
  Write("deliver", "breaks-at-1", WithSettings({0xD3, 0x1E, 0x0F}, seek(SeekInfo::OLDEST)));
  Write("deliver", "shut-down-before", WithSettings({0xD3, 0x1E, 0x7F}, seek(SeekInfo::OLDEST)));
  Write("deliver", "empty-ledger", WithSettings({0x00, 0x1E, 0x3F}, seek(SeekInfo::NEWEST)));
}

// fuzz_raft: steps for the state machine (raft_fuzz.cc): an operation byte
// and its argument each; and the formats alone.
void RaftSeeds(TxFactory* factory) {
  auto step = [](uint8_t op, const std::string& arg) { return std::string(1, static_cast<char>(op)) + arg; };
  auto index = [&](uint8_t op, uint8_t n) { return step(op, std::string(1, static_cast<char>(n))); };
  std::vector<std::string> envelopes;
  for (int t = 0; t < 2; ++t) {
    BuiltTx tx;
    Expect(factory->Build(&tx).ok(), "building a transaction");
    envelopes.push_back(tx.envelope);
  }
  BlockMetadata md;
  md.set_consenter(raft_backend::EncodeMetadata({2, 3}));
  const Block block = MakeBlock(BlockNumber(1), std::string(32, 'h'), envelopes, md);
  const std::string bytes = block.SerializeAsString();
  std::string entry(raft_backend::EntrySize(bytes.size()), '\0');
  raft_backend::EncodeEntry(bytes, entry.data());
  std::string_view decoded;
  Expect(raft_backend::DecodeEntry(entry.data(), entry.size(), &decoded) && decoded == bytes, "a raft entry");
  std::vector<CutterMessage> txs;
  Expect(raft_backend::TransactionsOf(block, &txs).ok() && txs.size() == 2, "a raft block's transactions");
  Write("raft", "entry", entry);
  Write("raft", "block", bytes);
  Write("raft", "snapshot", raft_backend::EncodeSnapshot({4, std::string(32, 'h')}));
  Write("raft", "metadata", raft_backend::EncodeMetadata({7, 1}));
  Write("raft", "applies-and-replays",
        fuzz::JoinFrames({index(2, 1), index(2, 2), index(5, 0), index(2, 1), index(2, 3), step(0, entry)}));
  Write("raft", "catch-up", fuzz::JoinFrames({index(4, 6), index(5, 0), index(4, 3), index(2, 6), index(2, 9)}));
  Write("raft", "fetch-refused", fuzz::JoinFrames({index(6, 1), index(4, 5), index(4, 2)}));
  Write("raft", "own-blocks", fuzz::JoinFrames({step(1, bytes), step(1, bytes), index(5, 0), index(2, 1)}));
  Write("raft", "hole", fuzz::JoinFrames({index(2, 4), step(3, "short")}));
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
  // The request handlers and the raft backend (fuzz_broadcast, fuzz_deliver,
  // fuzz_raft).
  TxFactoryOptions big_options = fo;
  big_options.target_record_bytes = 1000;  // beyond the 600-byte AbsoluteMaxBytes setting
  TxFactory big_factory(signer.get(), big_options, &clock);
  BroadcastSeeds(envelopes, &factory, &big_factory);
  DeliverSeeds();
  RaftSeeds(&factory);

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

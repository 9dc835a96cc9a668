#include "ledger/block_util.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <openssl/evp.h>

#include <memory>

#include "common/bytes.h"
#include "common/envelope.h"

namespace ordering {
namespace {

// Incremental SHA-256 so that a block's data is hashed without first being
// copied into one buffer.
class Sha256Stream {
 public:
  Sha256Stream() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr); }
  void Update(std::string_view bytes) { EVP_DigestUpdate(ctx_.get(), bytes.data(), bytes.size()); }
  Digest Final() {
    Digest d{};
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_.get(), d.data(), &len);
    return d;
  }

 private:
  struct Free {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
  };
  std::unique_ptr<EVP_MD_CTX, Free> ctx_;
};

}  // namespace

Digest DataHash(const BlockData& data) {
  Sha256Stream h;
  std::string prefix;
  for (const std::string& e : data.data()) {
    prefix.clear();
    AppendBe32(&prefix, static_cast<uint32_t>(e.size()));
    h.Update(prefix);
    h.Update(e);
  }
  return h.Final();
}

Digest BlockHash(const Block& block) {
  const BlockHeader& header = block.header();
  const BlockMetadata& md = block.metadata();
  std::string buf = "ordering-block-v2";
  buf.reserve(buf.size() + 8 + 4 + header.previous_hash().size() + 4 + header.data_hash().size() + 8 +
              md.consenter().size());
  AppendBe64(&buf, header.number());
  AppendBe32(&buf, static_cast<uint32_t>(header.previous_hash().size()));
  buf += header.previous_hash();
  AppendBe32(&buf, static_cast<uint32_t>(header.data_hash().size()));
  buf += header.data_hash();
  AppendBe32(&buf, static_cast<uint32_t>(md.cut_reason()));
  AppendBe32(&buf, static_cast<uint32_t>(md.consenter().size()));
  buf += md.consenter();
  return Sha256(buf);
}

Block MakeBlock(BlockNumber number, const std::string& previous_hash, std::vector<std::string> envelopes,
                const BlockMetadata& metadata) {
  Block block;
  BlockData* data = block.mutable_data();
  data->mutable_data()->Reserve(static_cast<int>(envelopes.size()));
  for (std::string& e : envelopes) data->add_data(std::move(e));
  BlockHeader* header = block.mutable_header();
  header->set_number(number.value());
  header->set_previous_hash(previous_hash);
  header->set_data_hash(DigestBytes(DataHash(*data)));
  *block.mutable_metadata() = metadata;
  return block;
}

Block MakeGenesisBlock(const ChannelConfig& config) {
  std::string bytes;
  // Deterministic serialization so every orderer writes the same genesis.
  {
    google::protobuf::io::StringOutputStream raw(&bytes);
    google::protobuf::io::CodedOutputStream coded(&raw);
    coded.SetSerializationDeterministic(true);
    config.SerializeToCodedStream(&coded);
  }
  BlockMetadata md;
  md.set_cut_reason(CUT_REASON_GENESIS);
  std::vector<std::string> entries;
  entries.push_back(std::move(bytes));
  return MakeBlock(BlockNumber(0), "", std::move(entries), md);
}

Status ExtractTxIds(const Block& block, std::vector<std::string>* tx_ids) {
  tx_ids->clear();
  tx_ids->reserve(block.data().data_size());
  DecodedTx tx;
  for (int i = 0; i < block.data().data_size(); ++i) {
    Status st = DecodeTx(block.data().data(i), &tx);
    if (!st.ok()) {
      return Status::Corruption("block " + std::to_string(block.header().number()) + ": entry " + std::to_string(i) +
                                " is not a transaction envelope (" + st.message() + ")");
    }
    tx_ids->push_back(tx.tx_id());
  }
  return Status::OK();
}

Status ReadGenesisConfig(const Block& block, ChannelConfig* config) {
  if (block.header().number() != 0 || block.metadata().cut_reason() != CUT_REASON_GENESIS ||
      block.data().data_size() != 1 || !block.metadata().consenter().empty() ||
      !config->ParseFromString(block.data().data(0))) {
    return Status::Corruption(
        "block " + std::to_string(block.header().number()) +
        " is not a genesis block (one channel config, cut reason GENESIS, no consenter metadata)");
  }
  return Status::OK();
}

nlohmann::json BlockToJson(const Block& block, bool with_envelopes,
                           const std::function<nlohmann::json(const std::string&)>& describe_consenter) {
  nlohmann::json j;
  const BlockHeader& h = block.header();
  j["number"] = h.number();
  j["previous_hash"] = ToHex(h.previous_hash());
  j["data_hash"] = ToHex(h.data_hash());
  j["hash"] = ToHex(BlockHash(block));
  j["consenter_metadata"] = ToHex(block.metadata().consenter());
  if (describe_consenter && h.number() != 0) j["consenter"] = describe_consenter(block.metadata().consenter());
  j["cut_reason"] = CutReason_Name(block.metadata().cut_reason());
  j["tx_count"] = h.number() == 0 ? 0 : block.data().data_size();
  if (h.number() == 0) {
    ChannelConfig cfg;
    if (block.data().data_size() == 1 && cfg.ParseFromString(block.data().data(0))) {
      j["channel_config"] = {
          {"channel_id", cfg.channel_id()},
          {"consensus_type", cfg.consensus_type()},
          {"batch_timeout_ms", cfg.batch_timeout_ms()},
          {"max_message_count", cfg.batch_size().max_message_count()},
          {"absolute_max_bytes", cfg.batch_size().absolute_max_bytes()},
          {"preferred_max_bytes", cfg.batch_size().preferred_max_bytes()},
      };
    } else {
      j["channel_config"] = nullptr;
    }
    return j;
  }
  nlohmann::json ids = nlohmann::json::array();
  nlohmann::json envs = nlohmann::json::array();
  DecodedTx tx;
  for (const std::string& raw : block.data().data()) {
    Status st = DecodeTx(raw, &tx);
    if (!st.ok()) {
      ids.push_back(nullptr);
      if (with_envelopes) envs.push_back({{"error", "not a transaction envelope: " + st.message()}});
      continue;
    }
    const Header& hd = tx.header();
    ids.push_back(hd.tx_id());
    if (with_envelopes) {
      envs.push_back({{"tx_id", hd.tx_id()},
                      {"channel_id", hd.channel_id()},
                      {"timestamp_unix_nanos", hd.timestamp_unix_nanos()},
                      {"creator", ToHex(hd.creator())},
                      {"nonce", ToHex(hd.nonce())},
                      {"data_bytes", tx.payload.data().size()},
                      {"signature", ToHex(tx.envelope.signature())}});
    }
  }
  j["tx_ids"] = std::move(ids);
  if (with_envelopes) j["envelopes"] = std::move(envs);
  return j;
}

}  // namespace ordering

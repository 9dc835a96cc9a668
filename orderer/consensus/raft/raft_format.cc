#include "orderer/consensus/raft/raft_format.h"

#include <cstring>

#include "common/bytes.h"
#include "common/envelope.h"

namespace ordering::raft_backend {

std::string EncodeMetadata(const RaftMetadata& m) {
  std::string out;
  AppendBe64(&out, m.term);
  AppendBe64(&out, m.leader);
  return out;
}

bool DecodeMetadata(const std::string& bytes, RaftMetadata* m) {
  if (bytes.size() != 16) return false;
  m->term = ReadBe(bytes, 0, 8);
  m->leader = ReadBe(bytes, 8, 8);
  return true;
}

std::string CheckMetadata(uint64_t /*number*/, const std::string& previous, const std::string& current) {
  RaftMetadata cur, prev;
  if (!DecodeMetadata(current, &cur)) {
    return "raft metadata is " + std::to_string(current.size()) + " bytes, not 16 (term, leader)";
  }
  if (cur.term == 0 || cur.leader == 0) return "raft metadata has term or leader 0";
  if (!previous.empty()) {
    if (!DecodeMetadata(previous, &prev)) return "the previous block's raft metadata does not decode";
    if (cur.term < prev.term) {
      return "raft term went back from " + std::to_string(prev.term) + " to " + std::to_string(cur.term);
    }
  }
  return "";
}

nlohmann::json DescribeMetadata(const std::string& metadata) {
  RaftMetadata m;
  if (!DecodeMetadata(metadata, &m)) return {{"undecodable_bytes", metadata.size()}};
  return {{"term", m.term}, {"leader", m.leader}};
}

size_t EntrySize(size_t block_bytes) { return (8 + block_bytes + 7) / 8 * 8; }

void EncodeEntry(std::string_view block, char* out) {
  std::string len;
  AppendBe64(&len, block.size());
  std::memcpy(out, len.data(), 8);
  std::memcpy(out + 8, block.data(), block.size());
  std::memset(out + 8 + block.size(), 0, EntrySize(block.size()) - 8 - block.size());
}

bool DecodeEntry(const void* base, size_t len, std::string_view* block) {
  if (len < 8 || len % 8 != 0) return false;
  const std::string_view all(static_cast<const char*>(base), len);
  const uint64_t n = ReadBe(all, 0, 8);
  if (n > len - 8 || EntrySize(n) != len) return false;
  *block = all.substr(8, n);
  return true;
}

std::string EncodeSnapshot(const RaftSnapshot& s) {
  std::string bytes;
  AppendBe64(&bytes, s.height);
  bytes += s.last_hash;
  return bytes;
}

Status DecodeSnapshot(std::string_view bytes, RaftSnapshot* s) {
  if (bytes.size() < 8) return Status::Corruption("a raft snapshot is " + std::to_string(bytes.size()) + " bytes");
  s->height = ReadBe(bytes, 0, 8);
  s->last_hash = std::string(bytes.substr(8));
  return Status::OK();
}

Status TransactionsOf(const Block& block, std::vector<CutterMessage>* out) {
  DecodedTx tx;
  for (const std::string& envelope : block.data().data()) {
    ORDERING_RETURN_IF_ERROR(DecodeTx(envelope, &tx));
    out->push_back(CutterMessage{envelope, tx.envelope.payload().size() + tx.envelope.signature().size(), tx.tx_id()});
  }
  return Status::OK();
}

}  // namespace ordering::raft_backend

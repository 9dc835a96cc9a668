// The raft backend's byte formats: the block metadata it writes, the Raft
// entry that carries a block, and its snapshots.
//
//   metadata.consenter = be64(term) || be64(leader id)        (16 bytes)
//   entry              = be64(len(block)) || block || zero padding to a
//                        multiple of 8 bytes (libraft 0.15's segment format
//                        writes other lengths but then cannot load its log:
//                        "entries batch N ... short read")
//   snapshot           = be64(height) || hash of block height-1 (empty at 0)
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "orderer/cutter/block_cutter.h"
#include "proto/common.pb.h"

namespace ordering::raft_backend {

// Block metadata.consenter of a raft block: the leader's term and id.
struct RaftMetadata {
  uint64_t term = 0;
  uint64_t leader = 0;
};
std::string EncodeMetadata(const RaftMetadata& m);
[[nodiscard]] bool DecodeMetadata(const std::string& bytes, RaftMetadata* m);
// `ledger verify`'s rule: 16 bytes; terms never decrease along the chain.
std::string CheckMetadata(uint64_t number, const std::string& previous, const std::string& current);
nlohmann::json DescribeMetadata(const std::string& metadata);

// Bytes of the entry that carries a block of `block_bytes` bytes.
size_t EntrySize(size_t block_bytes);
// REQUIRES: `out` has EntrySize(block.size()) bytes.
void EncodeEntry(std::string_view block, char* out);
// The block bytes of an entry; false if it is not one.
[[nodiscard]] bool DecodeEntry(const void* base, size_t len, std::string_view* block);

struct RaftSnapshot {
  uint64_t height = 0;
  std::string last_hash;
};
std::string EncodeSnapshot(const RaftSnapshot& s);
[[nodiscard]] Status DecodeSnapshot(std::string_view bytes, RaftSnapshot* s);

// The transactions of a block the node created but Raft did not commit, as
// they were before the cutter took them (to order them again).
[[nodiscard]] Status TransactionsOf(const Block& block, std::vector<CutterMessage>* out);

}  // namespace ordering::raft_backend

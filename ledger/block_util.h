// Block construction and hashing. The encodings hashed here are part of the
// chain's format: changing them breaks every existing ledger.
//
//   DataHash(data)     = SHA-256( for each entry e in data.data, in order:
//                                   be32(len(e)) || e )
//                        (the empty block hashes the empty string)
//   BlockHash(block)   = SHA-256( be64(header.number)
//                                 || be32(len(previous_hash)) || previous_hash
//                                 || be32(len(data_hash))     || data_hash
//                                 || be64(metadata.last_offset)   (two's complement)
//                                 || be32(metadata.cut_reason) )
//
// be32/be64 are big-endian unsigned integers. Length prefixes make the
// encodings unambiguous. A block's previous_hash is the BlockHash of the
// block before it; genesis (number 0) has an empty previous_hash.
//
// Unlike Fabric, whose block metadata carries signatures added after the
// fact, our metadata is deterministic, so the block hash covers it: a
// tampered last_offset would make a restarted orderer skip or replay records,
// and the chain must expose that.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/crypto.h"
#include "common/status.h"
#include "common/types.h"
#include "proto/common.pb.h"

namespace ordering {

Digest DataHash(const BlockData& data);
Digest BlockHash(const Block& block);

// Builds block `number` over `envelopes` (serialized Envelopes), linked to
// `previous_hash` (empty only for genesis), with data_hash filled in.
Block MakeBlock(BlockNumber number, const std::string& previous_hash,
                std::vector<std::string> envelopes, const BlockMetadata& metadata);

// Genesis: block 0 whose single data entry is the serialized ChannelConfig,
// metadata {last_offset: -1, cut_reason: GENESIS}. Deterministic.
Block MakeGenesisBlock(const ChannelConfig& config);

// Decodes the tx ids of a (non-genesis) block's envelopes, in order. A
// malformed entry yields Corruption naming its index.
[[nodiscard]] Status ExtractTxIds(const Block& block, std::vector<std::string>* tx_ids);

// JSON view of a block: number, hashes (hex), metadata, tx count and tx ids
// (genesis: the channel config); with `with_envelopes` also each envelope's
// header fields, data size and signature (hex).
nlohmann::json BlockToJson(const Block& block, bool with_envelopes);

}  // namespace ordering

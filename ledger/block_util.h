// Block construction and hashing. The encodings hashed here are part of the
// chain's format: changing them breaks every existing ledger.
//
//   DataHash(data)     = SHA-256( for each entry e in data.data, in order:
//                                   be32(len(e)) || e )
//                        (the empty block hashes the empty string)
//   BlockHash(block)   = SHA-256( "ordering-block-v2"
//                                 || be64(header.number)
//                                 || be32(len(previous_hash)) || previous_hash
//                                 || be32(len(data_hash))     || data_hash
//                                 || be32(metadata.cut_reason)
//                                 || be32(len(metadata.consenter)) || metadata.consenter )
//
// be32/be64 are big-endian unsigned integers. Length prefixes make the
// encodings unambiguous. A block's previous_hash is the BlockHash of the
// block before it; genesis (number 0) has an empty previous_hash.
//
// Ledger format 2 (this one) hashes the consenter's metadata as opaque
// bytes; format 1 hashed a Kafka offset as be64 and carried no prefix. The
// two cannot be mixed: BlockStore refuses a format-1 ledger by name.
//
// Unlike Fabric, whose block metadata carries signatures added after the
// fact, our metadata is deterministic, so the block hash covers it: tampered
// consenter metadata (e.g. the Kafka backend's resume offset) would make a
// restarted orderer skip or replay input, and the chain must expose that.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/crypto.h"
#include "common/status.h"
#include "common/types.h"
#include "proto/common.pb.h"

namespace ordering {

Digest DataHash(const BlockData& data);
Digest BlockHash(const Block& block);

// Builds block `number` over `envelopes` (serialized Envelopes), linked to
// `previous_hash` (empty only for genesis), with data_hash filled in.
Block MakeBlock(BlockNumber number, const std::string& previous_hash, std::vector<std::string> envelopes,
                const BlockMetadata& metadata);

// Genesis: block 0 whose single data entry is the serialized ChannelConfig,
// metadata {cut_reason: GENESIS, consenter: empty}. Deterministic.
Block MakeGenesisBlock(const ChannelConfig& config);

// Decodes the tx ids of a (non-genesis) block's envelopes, in order. A
// malformed entry yields Corruption naming its index.
[[nodiscard]] Status ExtractTxIds(const Block& block, std::vector<std::string>* tx_ids);

// The channel config of a genesis block; Corruption if `block` is not one.
[[nodiscard]] Status ReadGenesisConfig(const Block& block, ChannelConfig* config);

// JSON view of a block: number, hashes (hex), metadata (the consenter's
// bytes in hex; `describe_consenter`, when given, adds its own view), tx count and tx ids
// (genesis: the channel config); with `with_envelopes` also each envelope's
// header fields, data size and signature (hex).
nlohmann::json BlockToJson(const Block& block, bool with_envelopes,
                           const std::function<nlohmann::json(const std::string&)>& describe_consenter = {});

}  // namespace ordering

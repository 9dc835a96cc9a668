// TxFactory: builds signed transactions as they travel on the wire (the
// builder beside common/envelope.h, the decoder), i.e. the
// value of one record in the channel's partition:
//   KafkaMessage{regular{Envelope{payload=Payload{Header, data}, signature}}}
// The opaque data is padded so the record is `target_record_bytes` long
// (within +-2 bytes: DER ECDSA signatures vary between 70 and 72 bytes).
#pragma once

#include <cstdint>
#include <string>

#include "common/clock.h"
#include "common/crypto.h"
#include "common/status.h"
#include "proto/common.pb.h"

namespace ordering {

struct TxFactoryOptions {
  std::string channel_id = "mychannel";  // Default: "mychannel"
  size_t target_record_bytes = 1024;     // Default: 1 KB on the wire
};

struct BuiltTx {
  std::string tx_id;
  std::string envelope;  // serialized Envelope
  std::string record;    // serialized KafkaMessage (what is produced)
};

// Thread-compatible: one factory per submitting thread. `signer` and `clock`
// must outlive the factory.
class TxFactory {
 public:
  TxFactory(const Signer* signer, const TxFactoryOptions& options, const Clock* clock);

  [[nodiscard]] Status Build(BuiltTx* tx);

  // Lower-level pieces, also used by tests to craft bad transactions.
  // Fills a valid header (fresh nonce, tx id derived from nonce and creator).
  Header NewHeader();
  // Serializes `payload`, signs it with the factory's signer, wraps it.
  [[nodiscard]] Status Seal(const Payload& payload, Envelope* envelope) const;
  static std::string WrapRegular(const std::string& envelope_bytes);

  // hex(SHA-256(nonce || creator)), the tx id rule orderers enforce.
  static std::string ComputeTxId(const std::string& nonce, const std::string& creator);

 private:
  const Signer* signer_;
  TxFactoryOptions options_;
  const Clock* clock_;
  std::string nonce_prefix_;  // random per factory
  uint64_t counter_ = 0;
  size_t padding_ = 0;  // data bytes that hit the target size (learned)
};

}  // namespace ordering

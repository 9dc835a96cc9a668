#include "common/tx_factory.h"

#include <openssl/rand.h>

#include "proto/kafka.pb.h"

namespace ordering {

TxFactory::TxFactory(const Signer* signer, const TxFactoryOptions& options, const Clock* clock)
    : signer_(signer), options_(options), clock_(clock) {
  nonce_prefix_.resize(16);
  RAND_bytes(reinterpret_cast<unsigned char*>(nonce_prefix_.data()), 16);
}

std::string TxFactory::ComputeTxId(const std::string& nonce, const std::string& creator) {
  return ordering::ComputeTxId(nonce, creator);
}

Header TxFactory::NewHeader() {
  Header h;
  std::string nonce = nonce_prefix_;
  uint64_t c = counter_++;
  for (int i = 0; i < 8; ++i) nonce.push_back(static_cast<char>(c >> (56 - 8 * i)));
  h.set_channel_id(options_.channel_id);
  h.set_timestamp_unix_nanos(clock_->WallNanos());
  h.set_creator(signer_->public_key_der());
  h.set_tx_id(ComputeTxId(nonce, h.creator()));
  h.set_nonce(std::move(nonce));
  return h;
}

Status TxFactory::Seal(const Payload& payload, Envelope* envelope) const {
  std::string bytes = payload.SerializeAsString();
  std::string sig;
  ORDERING_RETURN_IF_ERROR(signer_->Sign(bytes, &sig));
  envelope->set_payload(std::move(bytes));
  envelope->set_signature(std::move(sig));
  return Status::OK();
}

std::string TxFactory::WrapRegular(const std::string& envelope_bytes) {
  KafkaMessage msg;
  msg.mutable_regular()->set_payload(envelope_bytes);
  return msg.SerializeAsString();
}

Status TxFactory::Build(BuiltTx* tx) {
  Payload payload;
  *payload.mutable_header() = NewHeader();
  // Learn the padding once (sizes are stable apart from the signature's
  // +-2 bytes), adjusting a few times for varint length changes.
  for (int attempt = 0; attempt < 4; ++attempt) {
    payload.set_data(std::string(padding_, 'x'));
    Envelope env;
    ORDERING_RETURN_IF_ERROR(Seal(payload, &env));
    tx->envelope = env.SerializeAsString();
    tx->record = WrapRegular(tx->envelope);
    int64_t diff = static_cast<int64_t>(options_.target_record_bytes) - static_cast<int64_t>(tx->record.size());
    if (std::abs(diff) <= 2 || (diff < 0 && padding_ == 0)) break;
    padding_ = static_cast<size_t>(std::max<int64_t>(0, static_cast<int64_t>(padding_) + diff));
  }
  tx->tx_id = payload.header().tx_id();
  return Status::OK();
}

}  // namespace ordering

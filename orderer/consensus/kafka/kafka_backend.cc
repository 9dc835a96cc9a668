#include "orderer/consensus/kafka/kafka_backend.h"

#include "common/kafka.h"
#include "common/properties.h"
#include "orderer/consensus/kafka/kafka_chain.h"
#include "orderer/consensus/kafka/kafka_record.h"

namespace po = boost::program_options;

namespace ordering::kafka_backend {
namespace {

// Loads a properties file (if given) then key=value overrides.
Status CollectProperties(const std::string& file, const std::vector<std::string>& overrides, const std::string& flag,
                         Properties* out) {
  if (!file.empty()) ORDERING_RETURN_IF_ERROR(LoadPropertiesFile(file, out));
  for (const auto& kv : overrides) ORDERING_RETURN_IF_ERROR(ParsePropertyOverride(kv, flag, out));
  return Status::OK();
}

class KafkaBackend final : public Backend {
 public:
  std::string Name() const override { return "kafka"; }
  std::string Summary() const override {
    return "one Kafka partition per channel orders it; every orderer reading it writes the same chain";
  }

  void AddOptions(po::options_description* opts) override {
    opts->add_options()("brokers", po::value(&options_.brokers), "Kafka bootstrap servers HOST:PORT[,...] (required)")(
        "topic", po::value(&options_.topic), "Kafka topic of the channel (default: the channel id)")(
        "consumer-config", po::value(&consumer_config_), "librdkafka consumer properties FILE")(
        "consumer-prop", po::value(&consumer_props_)->composing(), "consumer property key=value (repeatable)")(
        "producer-config", po::value(&producer_config_),
        "librdkafka producer properties FILE (time-to-cut, connect, Broadcast)")(
        "producer-prop", po::value(&producer_props_)->composing(), "producer property key=value (repeatable)")(
        "no-create-topic", po::bool_switch(&no_create_topic_), "do not create the channel topic if it is missing")(
        "replication-factor", po::value(&options_.replication_factor)->default_value(0),
        "replication factor when creating the topic (0 = the brokers' default.replication.factor)")(
        "verify-workers", po::value(&options_.verify_workers)->default_value(0),
        "signature-check threads for consumed records (0 = one per core)")(
        "topic-writers", po::value(&topic_writers_)->default_value("anyone"),
        "who may produce to the channel's topic: anyone (peers may produce straight into it: every consumed "
        "signature is verified) or orderers (broker ACLs let only orderers write it, as Fabric's Kafka orderer "
        "assumes: envelopes are verified once, at Broadcast)")(
        "kafka-settings-check", po::value(&settings_check_)->default_value("refuse"),
        "the brokers' settings that can lose acknowledged records (unclean leader election, min.insync.replicas, "
        "message sizes, retention), read at start: refuse to start on a violation, warn only (for experiments), "
        "or off");
  }

  Status Configure(const po::variables_map&) override {
    if (options_.brokers.empty()) {
      return Status::InvalidArgument("--brokers is required by the kafka backend (e.g. --brokers 127.0.0.1:9092)");
    }
    if (options_.verify_workers < 0) {
      return Status::InvalidArgument("--verify-workers " + std::to_string(options_.verify_workers) +
                                     " is negative (0 = one per core)");
    }
    if (options_.replication_factor < 0) {
      return Status::InvalidArgument("--replication-factor " + std::to_string(options_.replication_factor) +
                                     " is negative (0 = the brokers' default)");
    }
    options_.create_topic = !no_create_topic_;
    ORDERING_RETURN_IF_ERROR(ParseSettingsCheck(settings_check_, &options_.settings_check));
    if (topic_writers_ == "orderers") {
      options_.only_orderers_write_topic = true;
    } else if (topic_writers_ == "anyone") {
      options_.only_orderers_write_topic = false;
    } else {
      return Status::InvalidArgument("--topic-writers takes anyone or orderers, not '" + topic_writers_ + "'");
    }
    ORDERING_RETURN_IF_ERROR(
        CollectProperties(consumer_config_, consumer_props_, "--consumer-prop", &options_.consumer_properties));
    ORDERING_RETURN_IF_ERROR(
        CollectProperties(producer_config_, producer_props_, "--producer-prop", &options_.producer_properties));
    // Validate the properties up front so a typo is a usage error, not a
    // failure halfway through start-up.
    kafka::RdKafkaConfPtr probe;
    ORDERING_RETURN_IF_ERROR(kafka::BuildConfig(options_.brokers, options_.consumer_properties, &probe));
    ORDERING_RETURN_IF_ERROR(kafka::BuildConfig(options_.brokers, options_.producer_properties, &probe));
    return Status::OK();
  }

  Status MakeConsenter(std::unique_ptr<Consenter>* out) override {
    *out = std::make_unique<KafkaConsenter>(options_);
    return Status::OK();
  }

  ConsenterMetadataCheck MetadataCheck() const override { return &CheckMetadata; }
  nlohmann::json DescribeMetadata(const std::string& metadata) const override {
    return kafka_backend::DescribeMetadata(metadata);
  }

 private:
  KafkaChainOptions options_;
  std::string consumer_config_, producer_config_;
  std::vector<std::string> consumer_props_, producer_props_;
  bool no_create_topic_ = false;
  std::string topic_writers_ = "anyone";
  std::string settings_check_ = "refuse";
};

}  // namespace

std::unique_ptr<Backend> MakeBackend() { return std::make_unique<KafkaBackend>(); }

}  // namespace ordering::kafka_backend

// The Kafka backend's own wire: partition records and block metadata.
#include "orderer/consensus/kafka/kafka_record.h"

#include <gtest/gtest.h>

#include <set>

#include "common/clock.h"
#include "common/tx_factory.h"
#include "orderer/consensus/registry.h"
#include "proto/kafka.pb.h"

namespace ordering::kafka_backend {
namespace {

using Kind = CheckedRecord::Kind;

class KafkaRecordTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(Signer::Generate(&signer_).ok());
    factory_ = std::make_unique<TxFactory>(signer_.get(), TxFactoryOptions{"ch", 1024}, SystemClock::Default());
  }
  CheckedRecord Check(std::string value, int64_t offset = 7) {
    Validator v(IngressOptions{"ch", 4096});
    kafka::ConsumedRecord r{Offset(offset), std::move(value)};
    return CheckRecord(v, r);
  }
  std::unique_ptr<Signer> signer_;
  std::unique_ptr<TxFactory> factory_;
};

TEST_F(KafkaRecordTest, ARegularRecordCarriesACheckedEnvelope) {
  BuiltTx tx;
  ASSERT_TRUE(factory_->Build(&tx).ok());
  CheckedRecord m = Check(tx.record);
  ASSERT_EQ(m.kind, Kind::kRegular) << m.detail;
  EXPECT_EQ(m.offset, Offset(7));
  EXPECT_EQ(m.tx.tx_id, tx.tx_id);
  EXPECT_EQ(m.tx.envelope, tx.envelope);
}

TEST_F(KafkaRecordTest, ControlMessages) {
  KafkaMessage ttc;
  ttc.mutable_time_to_cut()->set_block_number(42);
  CheckedRecord m = Check(ttc.SerializeAsString());
  EXPECT_EQ(m.kind, Kind::kTimeToCut);
  EXPECT_EQ(m.ttc_block_number, 42u);
  KafkaMessage connect;
  connect.mutable_connect();
  EXPECT_EQ(Check(connect.SerializeAsString()).kind, Kind::kConnect);
}

TEST_F(KafkaRecordTest, BadRecordsAreRejectedWithTheirCause) {
  CheckedRecord junk = Check("\xff\xfe\x01 not protobuf");
  EXPECT_EQ(junk.kind, Kind::kRejected);
  EXPECT_EQ(junk.cause, RejectCause::kMalformed);
  EXPECT_EQ(Check("").cause, RejectCause::kMalformed);  // a KafkaMessage of no type
  EXPECT_EQ(Check(TxFactory::WrapRegular("\x0a\x05garb")).cause, RejectCause::kMalformed);
  EXPECT_EQ(Check(std::string(4096 + kFramingAllowance + 1, 'x')).cause, RejectCause::kOversized);
  // The envelope's own checks apply inside a regular record.
  BuiltTx tx;
  ASSERT_TRUE(factory_->Build(&tx).ok());
  Envelope env;
  ASSERT_TRUE(env.ParseFromString(tx.envelope));
  env.set_signature(env.signature().substr(1));
  CheckedRecord bad = Check(TxFactory::WrapRegular(env.SerializeAsString()), 9);
  EXPECT_EQ(bad.cause, RejectCause::kBadSignature);
  EXPECT_EQ(bad.offset, Offset(9));
}

TEST(KafkaMetadata, RoundTripsAndGenesisMeansBeforeTheFirstRecord) {
  Offset off;
  ASSERT_TRUE(DecodeMetadata("", &off).ok());
  EXPECT_EQ(off, kBeforeFirstOffset);
  ASSERT_TRUE(DecodeMetadata(EncodeMetadata(Offset(1234)), &off).ok());
  EXPECT_EQ(off, Offset(1234));
  EXPECT_TRUE(DecodeMetadata("\xff\xff\xff", &off).IsCorruption());
  EXPECT_EQ(DescribeMetadata(EncodeMetadata(Offset(5)))["last_offset"], 5);
}

TEST(KafkaMetadata, VerifyRequiresOffsetsToAdvance) {
  EXPECT_EQ(CheckMetadata(1, "", EncodeMetadata(Offset(0))), "");
  EXPECT_EQ(CheckMetadata(2, EncodeMetadata(Offset(0)), EncodeMetadata(Offset(9))), "");
  EXPECT_NE(CheckMetadata(3, EncodeMetadata(Offset(9)), EncodeMetadata(Offset(9))).find("does not advance"),
            std::string::npos);
  EXPECT_NE(CheckMetadata(1, "", "").find("no Kafka offset"), std::string::npos);
  EXPECT_NE(CheckMetadata(1, "", "\xff\xff").find("not a KafkaMetadata"), std::string::npos);
}

TEST(Registry, EveryBackendIsFoundByItsNameAndNamesAreUnique) {
  std::set<std::string> names;
  for (const RegisteredBackend& r : Backends()) {
    EXPECT_TRUE(names.insert(r.name).second) << r.name << " registered twice";
    std::unique_ptr<Backend> b = MakeBackend(r.name);
    ASSERT_TRUE(b != nullptr);
    EXPECT_EQ(b->Name(), r.name);
  }
  EXPECT_TRUE(names.count("solo"));
  EXPECT_TRUE(names.count("kafka"));
  EXPECT_TRUE(MakeBackend("paxos") == nullptr);
  EXPECT_NE(BackendNames().find("kafka"), std::string::npos);
}

TEST(Registry, EachBackendChecksItsOwnMetadata) {
  ConsenterMetadataCheck solo = MakeBackend("solo")->MetadataCheck();
  EXPECT_EQ(solo(1, "", ""), "");
  EXPECT_NE(solo(1, "", "x"), "");  // solo writes none
  ConsenterMetadataCheck kafka = MakeBackend("kafka")->MetadataCheck();
  EXPECT_NE(kafka(1, "", ""), "");  // kafka always records its offset
  EXPECT_EQ(kafka(1, "", EncodeMetadata(Offset(3))), "");
}

TEST(Registry, KafkaRequiresBrokersWhenChosen) {
  std::unique_ptr<Backend> b = MakeBackend("kafka");
  boost::program_options::options_description opts;
  b->AddOptions(&opts);
  boost::program_options::variables_map vm;
  const char* argv[] = {"orderer"};
  boost::program_options::store(boost::program_options::parse_command_line(1, argv, opts), vm);
  boost::program_options::notify(vm);
  Status st = b->Configure(vm);
  EXPECT_TRUE(st.IsInvalidArgument());
  EXPECT_NE(st.message().find("--brokers"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace ordering::kafka_backend

// The load report's two forms: the JSON report's schema (the bench reads it
// by these names) and the text summary's wording.
#include "peer-sim/load_report.h"

#include <gtest/gtest.h>

#include <string>

namespace ordering {
namespace {

TEST(LoadReportJson, CarriesEveryFieldTheBenchReads) {
  LoadReport r;
  r.submitted = 100;
  r.acked = 98;
  r.delivered = 90;
  r.undelivered_acked = 8;
  r.never_acked = 2;
  r.pool_size = 120;
  r.undelivered_share = 0.1;
  SeriesPoint with, without;
  with.t = 1;
  with.phase = "warmup";
  with.submitted = 100;
  with.p50_ms = 3.5;
  with.p99_ms = 9.0;
  without.t = 2;
  without.phase = "drain";
  without.in_flight = 10;
  without.oldest_undelivered_ms = 1500;
  r.series = {with, without};
  nlohmann::json j = ReportToJson(r);
  for (const char* key : {"config",
                          "submitted",
                          "acked",
                          "delivered",
                          "failed",
                          "duplicates",
                          "undelivered_acked",
                          "never_acked",
                          "lost",
                          "clean",
                          "stopped_early",
                          "blocks",
                          "txs_per_block",
                          "cut_reasons",
                          "record_bytes",
                          "seconds",
                          "tps",
                          "latency_ms",
                          "series",
                          "signing",
                          "presign_seconds",
                          "pool_size",
                          "pool_exhausted",
                          "warmup",
                          "offered_tps",
                          "generator_bound",
                          "held_back",
                          "generator_load",
                          "submit_held_share",
                          "max_submit_lag_ms",
                          "backlog_growth_tps",
                          "undelivered_share",
                          "clock",
                          "unanswered",
                          "streams",
                          "ack_log"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["lost"], 10);  // undelivered_acked + never_acked
  EXPECT_FALSE(j["clean"].get<bool>());
  EXPECT_EQ(j["signing"], "presigned");
  EXPECT_TRUE(j["offered_tps"].is_null());         // flat out
  EXPECT_TRUE(j["backlog_growth_tps"].is_null());  // no measured seconds
  for (const char* key : {"mode", "seconds", "transactions", "steady"}) EXPECT_TRUE(j["warmup"].contains(key)) << key;
  for (const char* key : {"submitted", "acked", "delivered"}) EXPECT_TRUE(j["tps"].contains(key)) << key;
  for (const char* key : {"e2e", "ack"}) {
    for (const char* f : {"count", "mean", "p50", "p90", "p95", "p99", "p999", "max", "cdf"}) {
      EXPECT_TRUE(j["latency_ms"][key].contains(f)) << key << "." << f;
    }
  }
  ASSERT_EQ(j["series"].size(), 2u);
  for (const char* key : {"t", "phase", "submitted", "acked", "delivered", "failed", "in_flight",
                          "oldest_undelivered_ms", "p50_ms", "p99_ms"}) {
    EXPECT_TRUE(j["series"][0].contains(key)) << key;
  }
  EXPECT_EQ(j["series"][0]["p50_ms"], 3.5);
  EXPECT_TRUE(j["series"][1]["p50_ms"].is_null());  // nothing completed in that second
  EXPECT_TRUE(j["series"][1]["p99_ms"].is_null());
  EXPECT_EQ(j["series"][1]["phase"], "drain");

  EXPECT_FALSE(j.contains("block_unix_ms")) << "only with --block-times";
  r.config = {{"block_times", true}};
  r.block_unix_ms = {1700000000123, 1700000000456};
  j = ReportToJson(r);
  ASSERT_TRUE(j.contains("block_unix_ms"));
  EXPECT_EQ(j["block_unix_ms"].size(), 2u);
  EXPECT_EQ(j["block_unix_ms"][1], 1700000000456);
  r.config = nlohmann::json::object();

  r.offered_tps = 500;
  r.presigned = false;
  r.undelivered_acked = r.never_acked = 0;
  j = ReportToJson(r);
  EXPECT_EQ(j["offered_tps"], 500);
  EXPECT_EQ(j["signing"], "inline");
  EXPECT_TRUE(j["clean"].get<bool>());
}

TEST(LoadReportJson, ProducerBatchesAreNullWithoutCountersAndAveragedWith) {
  LoadReport r;
  r.config = {{"raw", false}};
  EXPECT_TRUE(ReportToJson(r)["producer_batches"].is_null());
  EXPECT_EQ(ReportToText(r).find("producer batches"), std::string::npos);
  r.batches = BatchCounters{40, 1000, 1'060'000};
  nlohmann::json j = ReportToJson(r);
  EXPECT_EQ(j["producer_batches"]["batches"], 40);
  EXPECT_EQ(j["producer_batches"]["records"], 1000);
  EXPECT_EQ(j["producer_batches"]["bytes"], 1060000);
  EXPECT_DOUBLE_EQ(j["producer_batches"]["records_per_batch"].get<double>(), 25.0);
  EXPECT_DOUBLE_EQ(j["producer_batches"]["bytes_per_batch"].get<double>(), 26500.0);
  const std::string text = ReportToText(r);
  EXPECT_NE(text.find("producer batches in the window: 40, 25.0 records / 25.9 KB each"), std::string::npos) << text;
}

// The streams' section: the Deliver stream's outages (a recovery figure to
// check), the Broadcast streams' breaks and what was unanswered on them,
// and the ack log; null where they do not apply.
TEST(LoadReportJson, StreamsAndTheAckLog) {
  LoadReport r;
  r.config = {{"raw", true}};
  nlohmann::json j = ReportToJson(r);
  EXPECT_TRUE(j["streams"]["deliver"].is_null()) << "raw mode has no Deliver stream";
  EXPECT_TRUE(j["streams"]["broadcast"].is_null()) << "kafka path";
  EXPECT_TRUE(j["ack_log"].is_null());
  EXPECT_EQ(ReportToText(r).find("stream"), std::string::npos);

  r.config = {{"raw", false}};
  r.broadcast_streams = StreamCounters{};
  EXPECT_EQ(ReportToJson(r)["streams"]["deliver"]["reconnects"], 0);
  EXPECT_EQ(ReportToJson(r)["streams"]["broadcast"]["broken"], 0);
  EXPECT_EQ(ReportToJson(r)["streams"]["broadcast"]["switches"], nlohmann::json::object()) << "{} with one address";
  EXPECT_EQ(ReportToText(r).find("stream"), std::string::npos) << "the text names the streams once one was lost";
  r.deliver_reconnects = 1;
  r.deliver_outages = {DeliverOutage{1700000000000, 1700000001300, 57, "b:2"}, DeliverOutage{1700000009000, 0, 0, {}}};
  r.broadcast_streams = StreamCounters{3, 2, 41, {{"b:2", 2}}, {{"a:1", 1}, {"b:2", 2}}};
  r.orderers = {"a:1", "b:2"};
  r.deliver_orderer = "b:2";
  r.deliver_switches = {{"b:2", 1}};
  r.unanswered = 41;
  r.ack_log_path = "/tmp/acks.log";
  r.ack_log_lines = 1234;
  j = ReportToJson(r);
  const nlohmann::json& d = j["streams"]["deliver"];
  EXPECT_EQ(d["reconnects"], 1);
  EXPECT_DOUBLE_EQ(d["longest_outage_seconds"].get<double>(), 1.3);
  ASSERT_EQ(d["outages"].size(), 2u);
  EXPECT_EQ(d["outages"][0]["lost_unix_ms"], 1700000000000);
  EXPECT_EQ(d["outages"][0]["back_unix_ms"], 1700000001300);
  EXPECT_DOUBLE_EQ(d["outages"][0]["seconds"].get<double>(), 1.3);
  EXPECT_EQ(d["outages"][0]["resumed_at_block"], 57);
  EXPECT_TRUE(d["outages"][1]["back_unix_ms"].is_null()) << "not back by the end";
  EXPECT_TRUE(d["outages"][1]["seconds"].is_null());
  EXPECT_EQ(d["outages"][0]["orderer"], "b:2");
  EXPECT_TRUE(d["outages"][1]["orderer"].is_null());
  EXPECT_EQ(d["orderer"], "b:2");
  EXPECT_EQ(d["switches"], (nlohmann::json{{"b:2", 1}}));
  EXPECT_EQ(j["streams"]["orderers"], (nlohmann::json{"a:1", "b:2"}));
  EXPECT_EQ(j["streams"]["broadcast"]["switches"], (nlohmann::json{{"b:2", 2}}));
  EXPECT_EQ(j["streams"]["broadcast"]["orderers"], (nlohmann::json{{"a:1", 1}, {"b:2", 2}}));
  EXPECT_EQ(j["streams"]["broadcast"]["broken"], 3);
  EXPECT_EQ(j["streams"]["broadcast"]["reconnects"], 2);
  EXPECT_EQ(j["streams"]["broadcast"]["unanswered"], 41);
  EXPECT_EQ(j["unanswered"], 41);
  EXPECT_EQ(j["ack_log"]["path"], "/tmp/acks.log");
  EXPECT_EQ(j["ack_log"]["lines"], 1234);
  EXPECT_TRUE(j["ack_log"]["error"].is_null());
  const std::string text = ReportToText(r);
  for (const char* part :
       {"deliver stream: lost 2 times, reconnected 1 (longest gap 1.3 s); NOT back at the end",
        "broadcast streams: 3 broke, 2 reconnected; 41 transactions unanswered on them (not resent)",
        "ack log: /tmp/acks.log, 1234 lines", "deliver stream moved to another orderer: b:2: 1; on b:2 at the end",
        "broadcast streams moved to another orderer: b:2: 2; on at the end: a:1: 1, b:2: 2"}) {
    EXPECT_NE(text.find(part), std::string::npos) << part << "\n" << text;
  }
  r.ack_log_error = "IO error: disk full";
  EXPECT_EQ(ReportToJson(r)["ack_log"]["error"], "IO error: disk full");
  EXPECT_NE(ReportToText(r).find("WRITE FAILED: IO error: disk full"), std::string::npos);
}

TEST(LoadReportText, NamesEachCountAndTheUndeliveredShare) {
  LoadReport r;
  r.config = {{"raw", false}};
  r.submitted = 100;
  r.delivered = 90;
  r.undelivered_acked = 7;
  r.never_acked = 3;
  r.undelivered_share = 0.1;
  const std::string text = ReportToText(r);
  for (const char* part : {"acknowledged but undelivered 7", "never acknowledged 3", "lost 10", "failed 0",
                           "duplicates 0", "undelivered share 10.00%", "NOT CLEAN"}) {
    EXPECT_NE(text.find(part), std::string::npos) << part << "\n" << text;
  }
}

}  // namespace
}  // namespace ordering

// What an operator reads of librdkafka: its log lines and error events,
// turned into one line per fault at the level the fault deserves.
//
//  - Log lines go through spdlog (--log-level filters them). The hints
//    librdkafka adds when a connection closes right after it was opened
//    ("connecting to a SSL listener?", "broker might require SASL") are
//    rewritten for a plaintext client: there they nearly always mean the
//    broker is down or restarting.
//  - Connection failures (facility FAIL, and REQTMOUT: requests a broker
//    did not answer in time) are warnings at most, and the first one of a
//    broker is logged; later ones of the same broker, from any client of
//    this process, are counted and summed up at most once a minute
//    (librdkafka's own suppression is per connection). When a client's
//    statistics show the broker up again, or the cluster's metadata lists
//    it again, one line says so.
//  - librdkafka also hands every connection failure to the client as an
//    error event, which it logs a second time when the client has no error
//    callback: every client gets one (BuildConfig), which logs what the
//    FAIL line did not already say.
//  - "N/N brokers are down" (ALL_BROKERS_DOWN) counts librdkafka's
//    connections (each bootstrap address, the group coordinator), not
//    brokers: a client with an error handler (the Kafka chain) says what it
//    knows of the cluster instead; others log it once, explained.
#pragma once

#include <spdlog/common.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/kafka_stats.h"

typedef struct rd_kafka_s rd_kafka_t;
typedef struct rd_kafka_conf_s rd_kafka_conf_t;

namespace ordering::kafka {

// An error event of a librdkafka client (its error callback, or an error a
// consumer poll returned).
struct ClientError {
  int code = 0;                   // rd_kafka_resp_err_t
  std::string name;               // e.g. "_ALL_BROKERS_DOWN"
  std::string reason;             // librdkafka's text
  bool all_brokers_down = false;  // no connection of the client is up
  bool fatal = false;             // the client cannot go on (idempotence lost)
  // A connection failure librdkafka also logged as a FAIL line: nothing to add.
  bool logged_as_connection_failure = false;
};
ClientError MakeClientError(int code, std::string_view reason);

// The default handling of an error event for a client without its own
// handler: connection failures were logged already; a lost-every-broker
// event once per outage (rate-limited), explained; the rest at warning
// (error if fatal).
void LogClientError(std::string_view client, const ClientError& e);

// Installs the log and error callbacks on a new librdkafka config.
void InstallLogCallbacks(rd_kafka_conf_t* conf);

// Pure pieces of the log callback, for tests.
// The message with librdkafka's misleading connection hints rewritten for a
// client whose security.protocol is `protocol` ("plaintext" by default).
std::string RewriteLogMessage(std::string_view message, std::string_view protocol);
// spdlog's level for a librdkafka line (syslog level 0..7, facility).
spdlog::level::level_enum LogLevelFor(int syslog_level, std::string_view facility);
// The broker a FAIL line is about, as HOST:PORT: "127.0.0.1:9092/1: ...",
// "127.0.0.1:9092/bootstrap: ..." and "GroupCoordinator: 127.0.0.1:9092:
// ..." are all "127.0.0.1:9092"; the empty string if none is named.
std::string BrokerOfFailLine(std::string_view message);

// What the log callback does with one line (for tests; the callback logs it).
struct LogDecision {
  bool log = true;  // false: counted, logged at debug only
  spdlog::level::level_enum level = spdlog::level::info;
  std::string text;
};
// Connection failures count towards the process-wide per-broker limits.
LogDecision DecideLogLine(int syslog_level, std::string_view facility, std::string_view message,
                          std::string_view protocol, int64_t now_nanos);
// A client's statistics (statistics.interval.ms): a broker whose
// connection failures were logged, and which the client has been connected
// to since they began, is back: one line says so, with how long it was
// lost, and its next failure is logged in full again. The clients call it
// for every statistics document.
void NoteBrokerStates(const ClientStats& stats);

// The brokers the cluster's metadata lists (HOST:PORT; those up): a broker
// whose connection failures were logged, which the metadata stopped
// listing and lists again, is back (a client may have no reason to connect
// to it again, so its statistics may never say so). PartitionConsumer's
// CheckPartition calls it with every answer.
void NoteBrokersListed(const std::vector<std::string>& listed, int64_t now_nanos);

// Forgets the per-broker counts of connection failures (tests).
void ResetLogLimits();

}  // namespace ordering::kafka

#include "common/kafka_log.h"

#include <librdkafka/rdkafka.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <vector>

#include "common/log_limiter.h"
#include "common/mutex.h"

namespace ordering::kafka {
namespace {

// Connection failures of one broker, and lost-every-broker events of one
// client, are summed up at most this often.
constexpr std::chrono::seconds kRepeatInterval(60);

// Process-wide: every client of this process shares them. Never destroyed
// (librdkafka's threads may still log while the process exits).
class Limits {
 public:
  static Limits& Get() {
    static Limits* limits = new Limits();
    return *limits;
  }
  LogLimiter::Verdict Hit(const std::string& key, int64_t now) {
    MutexLock l(&mu_);
    if (by_key_.size() > 10000) by_key_.clear();  // bounded, whatever librdkafka names
    auto& slot = by_key_[key];
    if (!slot) slot = std::make_unique<LogLimiter>(kRepeatInterval);
    return slot->Hit(now);
  }

  // A broker's connection failed at `now` (the first failure of a fault
  // starts it).
  void BrokerFailed(const std::string& broker, int64_t now) {
    MutexLock l(&mu_);
    if (down_.size() > 10000) down_.clear();
    down_.try_emplace(broker, Down{now, 0, false}).first->second.failures++;
  }
  // The broker has been up since `up_since`: if that is after its failures
  // began, the fault is over: returns it (and forgets it, so that the next
  // failure is logged in full).
  bool BrokerUp(const std::string& broker, int64_t up_since, int64_t* down_since, uint64_t* failures) {
    MutexLock l(&mu_);
    auto it = down_.find(broker);
    if (it == down_.end() || up_since <= it->second.since) return false;
    *down_since = it->second.since;
    *failures = it->second.failures;
    down_.erase(it);
    by_key_.erase(FailKey(broker));
    return true;
  }
  // The cluster's metadata lists `listed` (the brokers that are up): a
  // failing broker it stopped listing and lists again is back. Returns
  // those, with when their failures began and how many there were.
  struct Back {
    std::string broker;
    int64_t down_since;
    uint64_t failures;
  };
  std::vector<Back> BrokersListed(const std::vector<std::string>& listed) {
    MutexLock l(&mu_);
    std::vector<Back> back;
    for (auto it = down_.begin(); it != down_.end();) {
      const bool is_listed = std::find(listed.begin(), listed.end(), it->first) != listed.end();
      if (!is_listed) {
        it->second.unlisted = true;
      } else if (it->second.unlisted) {
        back.push_back(Back{it->first, it->second.since, it->second.failures});
        by_key_.erase(FailKey(it->first));
        it = down_.erase(it);
        continue;
      }
      ++it;
    }
    return back;
  }
  static std::string FailKey(const std::string& broker) { return "FAIL " + broker; }

  void Reset() {
    MutexLock l(&mu_);
    by_key_.clear();
    down_.clear();
  }

 private:
  struct Down {
    int64_t since;
    uint64_t failures;
    bool unlisted;  // the cluster's metadata stopped listing it since
  };
  Mutex mu_;
  std::map<std::string, std::unique_ptr<LogLimiter>> by_key_ GUARDED_BY(mu_);
  std::map<std::string, Down> down_ GUARDED_BY(mu_);  // brokers whose connections fail, by HOST:PORT
};

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool Replace(std::string* s, std::string_view from, std::string_view to) {
  const size_t at = s->find(from);
  if (at == std::string::npos) return false;
  s->replace(at, from.size(), to);
  return true;
}

std::string SecurityProtocol(const rd_kafka_t* rk) {
  if (rk == nullptr) return "";
  char value[64];
  size_t size = sizeof(value);
  // rd_kafka_conf() takes a non-const handle but only reads it.
  if (rd_kafka_conf_get(rd_kafka_conf(const_cast<rd_kafka_t*>(rk)), "security.protocol", value, &size) !=
      RD_KAFKA_CONF_OK) {
    return "";
  }
  return value;
}

void LogCallback(const rd_kafka_t* rk, int level, const char* facility, const char* message) {
  const std::string client = rk != nullptr ? rd_kafka_name(rk) : "-";
  std::string protocol = "plaintext";
  if (std::strstr(message, "SSL listener") != nullptr || std::strstr(message, "SASL") != nullptr) {
    protocol = SecurityProtocol(rk);
  }
  LogDecision d = DecideLogLine(level, facility, message, protocol, NowNanos());
  if (!d.log) {
    SPDLOG_DEBUG("librdkafka {} {}: {}", client, facility, message);
    return;
  }
  spdlog::log(d.level, "librdkafka {} {}: {}", client, facility, d.text);
}

void ErrorCallback(rd_kafka_t* rk, int err, const char* reason, void*) {
  LogClientError(rk != nullptr ? rd_kafka_name(rk) : "-", MakeClientError(err, reason != nullptr ? reason : ""));
}

}  // namespace

ClientError MakeClientError(int code, std::string_view reason) {
  ClientError e;
  e.code = code;
  e.name = rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(code));
  e.reason = std::string(reason);
  e.all_brokers_down = code == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN;
  e.fatal = code == RD_KAFKA_RESP_ERR__FATAL;
  // librdkafka raises these along with a FAIL log line for the same failure.
  e.logged_as_connection_failure = code == RD_KAFKA_RESP_ERR__TRANSPORT || code == RD_KAFKA_RESP_ERR__RESOLVE ||
                                   code == RD_KAFKA_RESP_ERR__TIMED_OUT || code == RD_KAFKA_RESP_ERR__SSL ||
                                   code == RD_KAFKA_RESP_ERR__AUTHENTICATION;
  return e;
}

void LogClientError(std::string_view client, const ClientError& e) {
  if (e.logged_as_connection_failure) {
    SPDLOG_DEBUG("kafka {}: {}: {} (logged as a connection failure)", client, e.name, e.reason);
    return;
  }
  if (e.fatal) {
    spdlog::error("kafka {}: fatal error: {}; this client cannot go on (restart the process)", client, e.reason);
    return;
  }
  const LogLimiter::Verdict v = Limits::Get().Hit(std::string(client) + "/" + e.name, NowNanos());
  if (!v.log()) {
    SPDLOG_DEBUG("kafka {}: {}: {}", client, e.name, e.reason);
    return;
  }
  if (e.all_brokers_down) {
    if (v.full) {
      spdlog::warn(
          "kafka {}: no broker reachable (librdkafka: \"{}\", counting its connections, each bootstrap address "
          "and the group coordinator among them, not brokers); it reconnects by itself and records wait in its "
          "queue up to message.timeout.ms: check that the brokers run",
          client, e.reason);
    } else {
      spdlog::warn("kafka {}: still no broker reachable: lost them {} more times in the last {:.1f} s", client, v.count,
                   v.window_seconds);
    }
    return;
  }
  if (v.full) {
    spdlog::warn("kafka {}: {}: {} (repeats are summed up at most once a minute)", client, e.name, e.reason);
  } else {
    spdlog::warn("kafka {}: {}: {} ({} times in the last {:.1f} s)", client, e.name, e.reason, v.count,
                 v.window_seconds);
  }
}

void InstallLogCallbacks(rd_kafka_conf_t* conf) {
  rd_kafka_conf_set_log_cb(conf, LogCallback);
  rd_kafka_conf_set_error_cb(conf, ErrorCallback);
}

std::string RewriteLogMessage(std::string_view message, std::string_view protocol) {
  std::string out(message);
  if (protocol != "plaintext") return out;
  // librdkafka 2.0's words when a connection closes while it asks for the
  // broker's API versions, i.e. right after connecting: on a plaintext
  // client that has been talking to these brokers, a broker going down or
  // coming up.
  if (!Replace(&out,
               "might be caused by incorrect security.protocol configuration (connecting to a SSL listener?) or "
               "broker version is < 0.10 (see api.version.request)",
               "the broker may be down or restarting (or, if it never answers, it is not a PLAINTEXT listener)")) {
    Replace(&out, "(connecting to a SSL listener?)", "(the broker may be down or restarting)");
  }
  // ... and when it closes less than 2 s after it was set up.
  Replace(&out,
          "Disconnected: verify that security.protocol is correctly configured, broker might require SASL "
          "authentication",
          "Disconnected right after connecting: the broker may be down or restarting (or, if this repeats while "
          "it is up, it requires SASL)");
  return out;
}

spdlog::level::level_enum LogLevelFor(int syslog_level, std::string_view facility) {
  spdlog::level::level_enum l = syslog_level <= 3   ? spdlog::level::err
                                : syslog_level == 4 ? spdlog::level::warn
                                : syslog_level <= 6 ? spdlog::level::info
                                                    : spdlog::level::debug;
  // A lost connection is a warning: librdkafka reconnects by itself, and
  // what it costs the service is said by the client's own lines.
  if (facility == "FAIL" && l != spdlog::level::debug) l = spdlog::level::warn;
  // A fatal error is also raised as an error event, which every client
  // handles (LogClientError, or the client's own handler): said once there.
  if (facility == "FATAL") l = spdlog::level::debug;
  return l;
}

std::string BrokerOfFailLine(std::string_view message) {
  // "[thrd:THREAD]: NAME: text", where NAME is a broker
  // ("[proto://]host:port/id", ".../bootstrap") or a logical one followed by
  // its broker ("GroupCoordinator: host:port: text").
  if (message.rfind("[thrd:", 0) == 0) {
    const size_t end = message.find("]: ");
    if (end == std::string_view::npos) return "";
    message.remove_prefix(end + 3);
  }
  for (int part = 0; part < 2; ++part) {
    const size_t end = message.find(": ");
    if (end == std::string_view::npos) return "";
    std::string_view name = message.substr(0, end);
    if (const size_t scheme = name.find("://"); scheme != std::string_view::npos) name.remove_prefix(scheme + 3);
    if (const size_t slash = name.find('/'); slash != std::string_view::npos) name = name.substr(0, slash);
    if (name.find(':') != std::string_view::npos && name.find(' ') == std::string_view::npos) {
      return std::string(name);
    }
    message.remove_prefix(end + 2);
  }
  return "";
}

LogDecision DecideLogLine(int syslog_level, std::string_view facility, std::string_view message,
                          std::string_view protocol, int64_t now_nanos) {
  LogDecision d;
  d.level = LogLevelFor(syslog_level, facility);
  d.text = RewriteLogMessage(message, protocol);
  // Connection failures, and requests a broker did not answer in time (a
  // broker going away does both): one fault per broker.
  if ((facility != "FAIL" && facility != "REQTMOUT") || d.level == spdlog::level::debug) return d;
  const std::string broker = BrokerOfFailLine(message);
  if (broker.empty()) return d;
  Limits::Get().BrokerFailed(broker, now_nanos);
  const LogLimiter::Verdict v = Limits::Get().Hit(Limits::FailKey(broker), now_nanos);
  if (v.full) {
    d.text += " (librdkafka reconnects by itself; further connection failures of " + broker +
              " are summed up at most once a minute)";
  } else if (v.summary) {
    char window[32];
    std::snprintf(window, sizeof(window), "%.1f", v.window_seconds);
    d.text = broker + ": " + std::to_string(v.count) + " more connection failures in the last " + window +
             " s, from this process's Kafka clients (last: " + d.text + ")";
  } else {
    d.log = false;
    d.level = spdlog::level::debug;
  }
  return d;
}

void NoteBrokerStates(const ClientStats& stats) {
  for (const BrokerStats& b : stats.brokers) {
    if (b.node_id < 0 || b.state != "UP" || b.stateage_us < 0 || b.nodename.empty()) continue;
    const int64_t up_since = (stats.ts_us - b.stateage_us) * 1000;
    int64_t down_since = 0;
    uint64_t failures = 0;
    if (!Limits::Get().BrokerUp(b.nodename, up_since, &down_since, &failures)) continue;
    spdlog::warn(
        "librdkafka: broker {} reachable again after {:.1f} s ({} connection {} meanwhile, from this "
        "process's Kafka clients)",
        b.nodename, static_cast<double>(up_since - down_since) / 1e9, failures, failures == 1 ? "failure" : "failures");
  }
}

void NoteBrokersListed(const std::vector<std::string>& listed, int64_t now_nanos) {
  for (const Limits::Back& b : Limits::Get().BrokersListed(listed)) {
    spdlog::warn(
        "librdkafka: broker {} is listed by the cluster again, {:.1f} s after its connections began to fail ({} "
        "connection {} meanwhile, from this process's Kafka clients)",
        b.broker, static_cast<double>(now_nanos - b.down_since) / 1e9, b.failures,
        b.failures == 1 ? "failure" : "failures");
  }
}

void ResetLogLimits() { Limits::Get().Reset(); }

}  // namespace ordering::kafka

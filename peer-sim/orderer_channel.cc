#include "peer-sim/orderer_channel.h"

#include <algorithm>
#include <chrono>
#include <climits>
#include <thread>
#include <utility>

namespace ordering {
namespace {

int ClampMs(int64_t ms) { return static_cast<int>(std::clamp<int64_t>(ms, 1, INT_MAX)); }

}  // namespace

std::shared_ptr<grpc::Channel> MakeOrdererChannel(const std::string& address, const ReconnectOptions& reconnect,
                                                  int max_receive_bytes) {
  grpc::ChannelArguments args;
  if (max_receive_bytes >= 0) args.SetMaxReceiveMessageSize(max_receive_bytes);
  const int max_ms = ClampMs(reconnect.max_backoff_ms);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, std::min(ClampMs(reconnect.initial_backoff_ms), max_ms));
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, max_ms);
  // gRPC reads the "minimum reconnect backoff" as the least time it gives
  // one connection attempt (default 20 s), not as a wait: an attempt that
  // fails at once (connection refused) is retried after the backoff above
  // whatever this is. The maximum wait keeps an unanswered attempt (a host
  // that drops the SYN) from holding the next one back for longer.
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, max_ms);
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  // HTTP/2 keepalive: a ping every 10 s, the connection given up when one
  // is not answered within 5 s, so a stream whose network vanished breaks
  // (and is reopened) instead of waiting for TCP's retransmissions to give
  // up, about 15 minutes. The orderer accepts pings every 5 s (server.h).
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10'000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5'000);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

Status ParseOrdererList(const std::string& value, std::vector<std::string>* out) {
  std::vector<std::string> addresses;
  size_t from = 0;
  while (true) {
    const size_t comma = value.find(',', from);
    const std::string a = value.substr(from, comma == std::string::npos ? std::string::npos : comma - from);
    const size_t colon = a.rfind(':');
    if (a.empty()) return Status::InvalidArgument("an empty orderer address in '" + value + "'");
    if (colon == std::string::npos || colon == 0 || colon + 1 == a.size() ||
        a.find_first_not_of("0123456789", colon + 1) != std::string::npos) {
      return Status::InvalidArgument("orderer address '" + a + "' is not HOST:PORT");
    }
    for (const std::string& seen : addresses) {
      if (seen == a) return Status::InvalidArgument("orderer address '" + a + "' is given twice");
    }
    addresses.push_back(a);
    if (comma == std::string::npos) break;
    from = comma + 1;
  }
  *out = std::move(addresses);
  return Status::OK();
}

OrdererRotation::OrdererRotation(std::vector<std::string> addresses) : addresses_(std::move(addresses)) {}

const std::string& OrdererRotation::Advance() {
  index_ = (index_ + 1) % addresses_.size();
  return current();
}

bool OrdererRotation::Serving() {
  const bool switched = serving_.has_value() && *serving_ != index_;
  if (switched) ++switches_[current()];
  serving_ = index_;
  return switched;
}

std::optional<std::string> OrdererRotation::serving() const {
  if (!serving_) return std::nullopt;
  return addresses_[*serving_];
}

Backoff::Backoff(const ReconnectOptions& reconnect)
    : initial_ms_(std::max<int64_t>(1, std::min(reconnect.initial_backoff_ms, reconnect.max_backoff_ms))),
      max_ms_(std::max<int64_t>(1, reconnect.max_backoff_ms)),
      next_ms_(initial_ms_) {}

int64_t Backoff::NextMs() {
  const int64_t now = next_ms_;
  next_ms_ = std::min(next_ms_ * 2, max_ms_);
  return now;
}

bool SleepUnless(int64_t ms, const std::function<bool()>& stop) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (!stop()) {
    const auto left = until - std::chrono::steady_clock::now();
    if (left <= std::chrono::nanoseconds::zero()) return true;
    std::this_thread::sleep_for(std::min<std::chrono::nanoseconds>(left, std::chrono::milliseconds(20)));
  }
  return false;
}

}  // namespace ordering

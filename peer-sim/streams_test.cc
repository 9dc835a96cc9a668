// peer-sim's streams against fake orderers whose streams break: the
// Broadcast submitter reports what each broken stream left unanswered and
// opens a new one; the Deliver listener resumes after the last block it saw.
// Given two orderers, both move to the second when the first breaks (or was
// never there), and say so.
//
// Not under TSan (peer_sim.cmake): Debian's gRPC and Abseil are not built
// with it, and its reports inside them (absl's GraphCycles, from gRPC's
// timer thread) are about synchronization it cannot see.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "peer-sim/deliver_listener.h"
#include "peer-sim/submitter.h"
#include "proto/ab.grpc.pb.h"

namespace ordering {
namespace {

// Answers SUCCESS to the first 3 envelopes of each Broadcast stream, reads
// 2 more without answering, then breaks the stream.
class BreakingBroadcast final : public AtomicBroadcast::Service {
 public:
  grpc::Status Broadcast(grpc::ServerContext*, grpc::ServerReaderWriter<BroadcastResponse, Envelope>* stream) override {
    Envelope env;
    for (int n = 0; n < 5 && stream->Read(&env); ++n) {
      ++received;
      if (n >= 3) continue;
      BroadcastResponse r;
      r.set_status(BROADCAST_STATUS_SUCCESS);
      if (!stream->Write(r)) break;
    }
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "broken on purpose");
  }
  std::atomic<int> received{0};
};

// Each break reports what was unanswered on the stream (never resent), and
// the next Submit opens a new stream after a short backoff.
TEST(BroadcastSubmitterTest, ReconnectsAfterEachBreakAndReportsTheUnanswered) {
  BreakingBroadcast service;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_TRUE(server);

  std::mutex mu;
  std::map<std::string, int> codes;
  std::vector<int> outcomes_of(40, 0);
  SubmitterOptions so;
  so.path = SubmitPath::kBroadcast;
  so.orderer = "127.0.0.1:" + std::to_string(port);
  so.connect_timeout_ms = 5000;
  so.reconnect = ReconnectOptions{10, 50};
  so.on_outcome = [&](void* opaque, const SubmitAnswer& a) {
    std::lock_guard<std::mutex> l(mu);
    ++codes[a.code];
    ++outcomes_of[reinterpret_cast<intptr_t>(opaque)];
  };
  std::unique_ptr<Submitter> sub;
  Status st = MakeSubmitter(so, &sub);
  ASSERT_TRUE(st.ok()) << st.ToString();
  Envelope env;
  env.set_payload("not a transaction: the fake does not read it");
  const std::string bytes = env.SerializeAsString();
  int not_sent = 0;
  for (intptr_t i = 0; i < 40; ++i) {
    if (!sub->Submit(bytes, "", reinterpret_cast<void*>(i)).ok()) {
      ++not_sent;
      std::lock_guard<std::mutex> l(mu);
      ++outcomes_of[i];
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // let each stream break at its fifth
  }
  EXPECT_TRUE(sub->Flush(5000).ok());
  EXPECT_EQ(sub->Abandon(5000), 0);
  std::optional<StreamCounters> streams = sub->Streams();
  sub.reset();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
  ASSERT_TRUE(streams.has_value());
  std::lock_guard<std::mutex> l(mu);
  for (int i = 0; i < 40; ++i) EXPECT_EQ(outcomes_of[i], 1) << "transaction " << i << " has one outcome";
  EXPECT_GE(streams->broken, 5u);
  EXPECT_GE(streams->reconnects + 1, streams->broken);
  EXPECT_EQ(static_cast<uint64_t>(codes["UNANSWERED_STREAM_BROKEN"]), streams->unanswered);
  EXPECT_GE(streams->unanswered, 2 * streams->broken);
  EXPECT_EQ(codes["SUCCESS"] + codes["UNANSWERED_STREAM_BROKEN"] + codes["ABANDONED"] + not_sent, 40);
  EXPECT_LE(service.received.load(), 40 - not_sent) << "each sent once, never resent";
}

class BreakOnceDeliver final : public AtomicBroadcast::Service {
 public:
  grpc::Status Deliver(grpc::ServerContext* context, const SeekInfo* seek,
                       grpc::ServerWriter<DeliverResponse>* writer) override {
    const int stream = streams++;
    const uint64_t from = seek->start() == SeekInfo::SPECIFIED ? seek->number() : 0;
    if (stream > 0) starts.push_back(from);  // one stream at a time: no race
    for (uint64_t n = from; n < from + 3; ++n) {
      DeliverResponse r;
      r.mutable_block()->mutable_header()->set_number(n);
      if (!writer->Write(r)) return grpc::Status::CANCELLED;
    }
    if (stream == 0) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "broken on purpose");
    while (!context->IsCancelled()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return grpc::Status::CANCELLED;
  }
  std::atomic<int> streams{0};
  std::vector<uint64_t> starts;
};

TEST(DeliverListenerTest, ResumesAfterTheLastBlockOnceAndRecordsTheOutage) {
  BreakOnceDeliver service;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_TRUE(server);
  std::mutex mu;
  std::vector<uint64_t> seen;
  std::unique_ptr<DeliverListener> listener;
  Status st = DeliverListener::Start(
      "127.0.0.1:" + std::to_string(port),
      [&](const Block& b) {
        std::lock_guard<std::mutex> l(mu);
        seen.push_back(b.header().number());
      },
      5000, &listener, ReconnectOptions{10, 50});
  ASSERT_TRUE(st.ok()) << st.ToString();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    {
      std::lock_guard<std::mutex> l(mu);
      if (seen.size() >= 6) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  listener->Stop();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
  std::lock_guard<std::mutex> l(mu);
  EXPECT_EQ(seen, (std::vector<uint64_t>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(service.starts, std::vector<uint64_t>{3});
  EXPECT_EQ(listener->reconnects(), 1u);
  std::vector<DeliverOutage> outages = listener->outages();
  ASSERT_EQ(outages.size(), 1u);
  EXPECT_GT(outages[0].lost_unix_ms, 0);
  EXPECT_GE(outages[0].back_unix_ms, outages[0].lost_unix_ms);
  EXPECT_EQ(outages[0].resumed_at_block, 3u);
}

// A fake orderer on a port of its own.
struct FakeOrderer {
  explicit FakeOrderer(grpc::Service* service) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service);
    server = builder.BuildAndStart();
  }
  ~FakeOrderer() { server->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(500)); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port); }
  int port = 0;
  std::unique_ptr<grpc::Server> server;
};

// Answers SUCCESS to every envelope and never breaks a stream.
class AnsweringBroadcast final : public AtomicBroadcast::Service {
 public:
  grpc::Status Broadcast(grpc::ServerContext*, grpc::ServerReaderWriter<BroadcastResponse, Envelope>* stream) override {
    Envelope env;
    while (stream->Read(&env)) {
      ++received;
      BroadcastResponse r;
      r.set_status(BROADCAST_STATUS_SUCCESS);
      if (!stream->Write(r)) break;
    }
    return grpc::Status::OK;
  }
  std::atomic<int> received{0};
};

// The first orderer breaks its stream after five envelopes; the submitter
// moves to the second, which takes every later one, and counts one switch
// onto it. Nothing is resent to either.
TEST(BroadcastSubmitterTest, MovesToTheNextOrdererWhenItsStreamBreaks) {
  BreakingBroadcast first_service;
  AnsweringBroadcast second_service;
  FakeOrderer first(&first_service), second(&second_service);
  ASSERT_TRUE(first.server && second.server);
  std::mutex mu;
  std::map<std::string, int> codes;
  SubmitterOptions so;
  so.path = SubmitPath::kBroadcast;
  so.orderer = first.address() + "," + second.address();
  so.connect_timeout_ms = 5000;
  so.reconnect = ReconnectOptions{10, 50, 500};
  so.on_outcome = [&](void*, const SubmitAnswer& a) {
    std::lock_guard<std::mutex> l(mu);
    ++codes[a.code];
  };
  std::unique_ptr<Submitter> sub;
  Status st = MakeSubmitter(so, &sub);
  ASSERT_TRUE(st.ok()) << st.ToString();
  Envelope env;
  env.set_payload("not a transaction");
  const std::string bytes = env.SerializeAsString();
  int not_sent = 0;
  for (intptr_t i = 0; i < 30; ++i) {
    not_sent += !sub->Submit(bytes, "", reinterpret_cast<void*>(i)).ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_TRUE(sub->Flush(5000).ok());
  EXPECT_EQ(sub->Abandon(5000), 0);
  std::optional<StreamCounters> streams = sub->Streams();
  sub.reset();
  ASSERT_TRUE(streams.has_value());
  EXPECT_EQ(streams->broken, 1u);
  EXPECT_EQ(streams->reconnects, 1u);
  EXPECT_EQ(streams->switches, (std::map<std::string, uint64_t>{{second.address(), 1}}));
  EXPECT_EQ(streams->on, (std::map<std::string, uint64_t>{{second.address(), 1}}));
  EXPECT_EQ(first_service.received.load(), 5);
  std::lock_guard<std::mutex> l(mu);
  EXPECT_EQ(codes["SUCCESS"], 3 + second_service.received.load());
  // The two the first read without answering, and any written into its
  // stream before the break was seen.
  EXPECT_GE(codes["UNANSWERED_STREAM_BROKEN"], 2);
  EXPECT_EQ(codes["SUCCESS"] + codes["UNANSWERED_STREAM_BROKEN"] + not_sent, 30);
  EXPECT_GT(second_service.received.load(), 20) << "the second took the rest";
}

// An orderer that is not there at the start is passed over for the next
// within one attempt's time; the first stream on the second is no switch.
TEST(BroadcastSubmitterTest, PassesOverAnOrdererThatDoesNotConnect) {
  AnsweringBroadcast service;
  FakeOrderer up(&service);
  ASSERT_TRUE(up.server);
  int dead_port = 0;
  {
    BreakingBroadcast gone;
    FakeOrderer down(&gone);  // a port that was just closed
    dead_port = down.port;
  }
  SubmitterOptions so;
  so.path = SubmitPath::kBroadcast;
  so.orderer = "127.0.0.1:" + std::to_string(dead_port) + "," + up.address();
  so.connect_timeout_ms = 5000;
  so.reconnect = ReconnectOptions{10, 50, 300};
  so.on_outcome = [](void*, const SubmitAnswer&) {};
  const auto t0 = std::chrono::steady_clock::now();
  std::unique_ptr<Submitter> sub;
  Status st = MakeSubmitter(so, &sub);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
  Envelope env;
  ASSERT_TRUE(sub->Submit(env.SerializeAsString(), "", nullptr).ok());
  EXPECT_TRUE(sub->Flush(5000).ok());
  std::optional<StreamCounters> streams = sub->Streams();
  ASSERT_TRUE(streams.has_value());
  EXPECT_TRUE(streams->switches.empty());
  EXPECT_EQ(streams->on, (std::map<std::string, uint64_t>{{up.address(), 1}}));
  EXPECT_EQ(sub->Abandon(1000), 0);
}

// Serves three blocks from where the stream starts, then holds it open.
class FollowingDeliver final : public AtomicBroadcast::Service {
 public:
  grpc::Status Deliver(grpc::ServerContext* context, const SeekInfo* seek,
                       grpc::ServerWriter<DeliverResponse>* writer) override {
    starts.push_back(seek->start() == SeekInfo::SPECIFIED ? static_cast<int64_t>(seek->number()) : -1);
    const uint64_t from = seek->start() == SeekInfo::SPECIFIED ? seek->number() : 0;
    for (uint64_t n = from; n < from + 3; ++n) {
      DeliverResponse r;
      r.mutable_block()->mutable_header()->set_number(n);
      if (!writer->Write(r)) return grpc::Status::CANCELLED;
    }
    while (!context->IsCancelled()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return grpc::Status::CANCELLED;
  }
  std::vector<int64_t> starts;  // one stream at a time here: no race
};

// The first orderer's stream breaks after block 2 (BreakOnceDeliver): the
// listener moves to the second, asks it for block 3 on, and passes every
// block on once.
TEST(DeliverListenerTest, MovesToTheNextOrdererAndResumesAfterTheLastBlock) {
  BreakOnceDeliver first_service;
  FollowingDeliver second_service;
  FakeOrderer first(&first_service), second(&second_service);
  ASSERT_TRUE(first.server && second.server);
  std::mutex mu;
  std::vector<uint64_t> seen;
  std::unique_ptr<DeliverListener> listener;
  Status st = DeliverListener::Start(
      first.address() + "," + second.address(),
      [&](const Block& b) {
        std::lock_guard<std::mutex> l(mu);
        seen.push_back(b.header().number());
      },
      5000, &listener, ReconnectOptions{10, 50, 500});
  ASSERT_TRUE(st.ok()) << st.ToString();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    {
      std::lock_guard<std::mutex> l(mu);
      if (seen.size() >= 6) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  listener->Stop();
  std::lock_guard<std::mutex> l(mu);
  EXPECT_EQ(seen, (std::vector<uint64_t>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(first_service.streams.load(), 1);
  EXPECT_EQ(second_service.starts, std::vector<int64_t>{3});
  EXPECT_EQ(listener->reconnects(), 1u);
  EXPECT_EQ(listener->orderer(), second.address());
  EXPECT_EQ(listener->switches(), (std::map<std::string, uint64_t>{{second.address(), 1}}));
  std::vector<DeliverOutage> outages = listener->outages();
  ASSERT_EQ(outages.size(), 1u);
  EXPECT_EQ(outages[0].back_on, second.address());
  EXPECT_EQ(outages[0].resumed_at_block, 3u);
}

}  // namespace
}  // namespace ordering

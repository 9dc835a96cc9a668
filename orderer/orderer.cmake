# Included from orderer/CMakeLists.txt once the cutter and ingress exist.
add_library(ordering_orderer STATIC
  metrics.cc
  prometheus_collector.cc
  chain_support.cc
  ack/ack_waiters.cc
  node.cc
  consensus/registry.cc
  consensus/submit_queue.cc
  consensus/solo/solo_chain.cc
  consensus/solo/solo_backend.cc
  consensus/kafka/kafka_chain.cc
  consensus/kafka/kafka_chain_events.cc
  consensus/kafka/kafka_record.cc
  consensus/kafka/kafka_backend.cc
  consensus/kafka/kafka_stats.cc
  consensus/kafka/kafka_settings.cc
  consensus/kafka/broker_watch.cc
  consensus/raft/raft_options.cc
  consensus/raft/raft_format.cc
  consensus/raft/block_fsm.cc
  consensus/raft/replicator.cc
  consensus/raft/raft_ordering.cc
  consensus/raft/grpc_raft_peers.cc
  consensus/raft/uv_raft_loop.cc
  consensus/raft/raft_chain.cc
  consensus/raft/raft_backend.cc
  broadcast/broadcast_handler.cc
  broadcast/stream_answers.cc
  deliver/deliver_service.cc
  server.cc
)
target_link_libraries(ordering_orderer PUBLIC
  ordering_cutter ordering_ingress ordering_ledger ordering_common ordering_proto
  nlohmann_json::nlohmann_json Boost::program_options
  PkgConfig::RAFT PkgConfig::LIBUV PkgConfig::LZ4)

add_executable(orderer_cli main.cc)
set_target_properties(orderer_cli PROPERTIES OUTPUT_NAME orderer)
target_link_libraries(orderer_cli PRIVATE ordering_orderer Boost::program_options)

# The shared ordering step, the submit queue and solo over an in-memory
# ledger and a manual clock (no broker, no disk).
ordering_test(consensus_test
  SOURCES metrics_test.cc chain_support_test.cc consensus/submit_queue_test.cc consensus/batch_timer_test.cc
          consensus/solo/solo_chain_test.cc broadcast/stream_answers_test.cc
  LIBS ordering_orderer
  SANITIZERS address thread)
# The Kafka backend on the mock cluster. Not under ThreadSanitizer: Debian's
# librdkafka starts its threads with C11 thrd_create, which TSan (clang 14)
# does not intercept, so its allocations in them crash.
ordering_test(kafka_backend_test
  SOURCES consensus/kafka/kafka_record_test.cc consensus/kafka/kafka_chain_test.cc consensus/kafka/kafka_stats_test.cc
          consensus/kafka/kafka_settings_test.cc consensus/kafka/broker_watch_test.cc
  LIBS ordering_orderer
  SANITIZERS address)

# The raft backend's logic on libraft's in-memory fixture and a fake peer
# network: deterministic, no sockets or threads.
ordering_test(raft_unit_test
  SOURCES consensus/raft/raft_options_test.cc consensus/raft/raft_fixture_test.cc consensus/raft/block_fsm_test.cc
  LIBS ordering_orderer
  SANITIZERS address thread)

# Included from peer-sim/CMakeLists.txt.
add_library(ordering_peersim STATIC load.cc pool.cc tracker.cc load_report.cc load_collector.cc submitter.cc deliver_listener.cc latency.cc steady.cc profile.cc)
target_link_libraries(ordering_peersim PUBLIC
  ordering_txfactory ordering_common ordering_proto nlohmann_json::nlohmann_json)

add_executable(peer_sim_cli main.cc)
set_target_properties(peer_sim_cli PROPERTIES OUTPUT_NAME peer-sim)
target_link_libraries(peer_sim_cli PRIVATE ordering_peersim Boost::program_options)

ordering_test(peersim_test
  SOURCES latency_test.cc steady_test.cc profiles_test.cc load_options_test.cc pool_test.cc load_report_test.cc
          submitter_test.cc tracker_test.cc
  LIBS ordering_peersim)
target_compile_definitions(peersim_test PRIVATE PROFILES_DIR="${CMAKE_SOURCE_DIR}/configs/profiles")

ordering_test(load_test
  SOURCES load_test.cc load_accounting_test.cc
  LIBS ordering_peersim ordering_orderer
  LABELS embedded
  TIMEOUT 180)
# The drain test takes the mock cluster's broker down: not something a real broker does on cue.
ordering_kafka_tests(load_test kafka FILTER "-LoadTest.DrainTimeoutBoundsTheExitAndCountsTheUnacknowledged")

# Broadcast from peer-sim to an in-process solo orderer: no broker needed.
ordering_test(broadcast_load_test
  SOURCES broadcast_load_test.cc
  LIBS ordering_peersim ordering_orderer
  LABELS embedded
  TIMEOUT 120)

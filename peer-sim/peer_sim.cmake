# Included from peer-sim/CMakeLists.txt. Its end-to-end tests against an
# orderer are in tests/ (load_test, broadcast_load_test): peer-sim itself
# never depends on orderer/.
add_library(ordering_peersim STATIC load.cc pool.cc tracker.cc load_report.cc load_collector.cc submitter.cc broadcast_submitter.cc orderer_channel.cc ack_log.cc deliver_listener.cc latency.cc steady.cc profile.cc)
target_link_libraries(ordering_peersim PUBLIC
  ordering_common ordering_proto nlohmann_json::nlohmann_json)

add_executable(peer_sim_cli main.cc)
set_target_properties(peer_sim_cli PROPERTIES OUTPUT_NAME peer-sim)
target_link_libraries(peer_sim_cli PRIVATE ordering_peersim Boost::program_options)

ordering_test(peersim_test
  SOURCES latency_test.cc steady_test.cc profiles_test.cc load_options_test.cc pool_test.cc load_report_test.cc
          submitter_test.cc tracker_test.cc ack_log_test.cc orderer_channel_test.cc
  LIBS ordering_peersim
  SANITIZERS address thread)
target_compile_definitions(peersim_test PRIVATE PROFILES_DIR="${CMAKE_SOURCE_DIR}/configs/profiles")

# The streams against fake gRPC orderers: ASan, not TSan (see the file).
ordering_test(peersim_streams_test
  SOURCES streams_test.cc
  LIBS ordering_peersim
  SANITIZERS address)

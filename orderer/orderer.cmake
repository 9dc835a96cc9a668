# Included from orderer/CMakeLists.txt once the cutter and ingress exist.
add_library(ordering_orderer STATIC
  metrics.cc
  chain_support.cc
  node.cc
  consensus/kafka/kafka_chain.cc
  deliver/deliver_service.cc
)
target_link_libraries(ordering_orderer PUBLIC
  ordering_cutter ordering_ingress ordering_ledger ordering_common ordering_proto
  nlohmann_json::nlohmann_json)

add_executable(orderer_cli main.cc)
set_target_properties(orderer_cli PROPERTIES OUTPUT_NAME orderer)
target_link_libraries(orderer_cli PRIVATE ordering_orderer Boost::program_options)

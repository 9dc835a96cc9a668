#include "fuzz/fuzz_util.h"

#include <google/protobuf/stubs/logging.h>
#include <spdlog/spdlog.h>

namespace ordering::fuzz {

void QuietLogs() {
  spdlog::set_level(spdlog::level::off);
  google::protobuf::SetLogHandler(nullptr);
}

}  // namespace ordering::fuzz

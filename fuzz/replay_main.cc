// The fuzz targets' main() outside libFuzzer: feeds LLVMFuzzerTestOneInput
// every file named on the command line, or in a directory named there (not
// recursively; dot files skipped), in name order. Built into
// fuzz_<target>_replay in builds without ORDERING_FUZZ, where ctest runs it
// on the target's corpus and regressions (fuzz/CMakeLists.txt). A crash or
// FUZZ_CHECK failure aborts, naming the input first; no inputs at all fail.
// Usage: fuzz_<target>_replay PATH...
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s FILE_OR_DIR...\n", argv[0]);
    return 2;
  }
  size_t total = 0;
  for (int a = 1; a < argc; ++a) {
    const fs::path arg = argv[a];
    std::vector<fs::path> files;
    std::error_code ec;
    if (fs::is_directory(arg, ec)) {
      for (const fs::directory_entry& e : fs::directory_iterator(arg)) {
        if (e.is_regular_file() && e.path().filename().string()[0] != '.') files.push_back(e.path());
      }
      std::sort(files.begin(), files.end());
    } else if (fs::is_regular_file(arg, ec)) {
      files.push_back(arg);
    } else {
      std::fprintf(stderr, "replay: %s is neither a file nor a directory\n", argv[a]);
      return 2;
    }
    for (const fs::path& f : files) {
      std::ifstream in(f, std::ios::binary);
      const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (!in.good() && !in.eof()) {
        std::fprintf(stderr, "replay: cannot read %s\n", f.c_str());
        return 2;
      }
      std::fprintf(stderr, "replay: %s (%zu bytes)\n", f.c_str(), bytes.size());
      LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
      ++total;
    }
    std::printf("replay: %s: %zu inputs\n", argv[a], files.size());
  }
  if (total == 0) {
    std::fprintf(stderr, "replay: no inputs (an empty corpus?)\n");
    return 2;
  }
  std::printf("replay: %zu inputs, all fine\n", total);
  return 0;
}

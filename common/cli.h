// Shared command-line handling of the binaries (Boost.Program_options):
// flags, an optional `--config FILE` with the same names, `--help`, and
// usage errors that name the problem and exit 2.
#pragma once

#include <spdlog/spdlog.h>

#include <boost/program_options.hpp>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>

namespace ordering::cli {

// Prints "PROGRAM: MESSAGE" and a pointer to --help; returns exit code 2.
inline int UsageError(const std::string& program, const std::string& message) {
  std::cerr << program << ": " << message << "\n(run '" << program << " --help' for usage)\n";
  return 2;
}

// Parses the command line, then the `--config` file if the options define
// one and it was given (command-line values win). Returns an exit code when
// the program should stop now (0 after --help, 2 on a usage error), nothing
// when it should go on. `positional`, if given, maps bare arguments to
// options.
inline std::optional<int> ParseFlags(
    int argc, char** argv, const std::string& program, const boost::program_options::options_description& options,
    boost::program_options::variables_map* vm,
    const boost::program_options::positional_options_description* positional = nullptr) {
  namespace po = boost::program_options;
  try {
    po::command_line_parser parser(argc, argv);
    parser.options(options);
    if (positional != nullptr) parser.positional(*positional);
    po::store(parser.run(), *vm);
    if (vm->count("config")) {
      const std::string path = (*vm)["config"].as<std::string>();
      std::ifstream in(path);
      if (!in) return UsageError(program, "cannot read config file '" + path + "'");
      po::store(po::parse_config_file(in, options), *vm);
    }
    if (vm->count("help")) {
      std::cout << options << "\n";
      return 0;
    }
    po::notify(*vm);
  } catch (const po::error& e) {
    return UsageError(program, e.what());
  }
  return std::nullopt;
}

// Sets spdlog's level from a name; false if the name is unknown.
inline bool SetLogLevel(const std::string& name) {
  auto level = spdlog::level::from_str(name);
  if (level == spdlog::level::off && name != "off") return false;
  spdlog::set_level(level);
  return true;
}

}  // namespace ordering::cli

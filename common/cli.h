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
#include <typeinfo>
#include <vector>

namespace ordering::cli {

// Prints "PROGRAM: MESSAGE" and a pointer to --help; returns exit code 2.
inline int UsageError(const std::string& program, const std::string& message) {
  std::cerr << program << ": " << message << "\n(run '" << program << " --help' for usage)\n";
  return 2;
}

// Boost converts "-5" for an unsigned option by wrapping it (to 4294967291
// for 32 bits) without complaint: refuses a value with a minus sign for any
// option stored as an unsigned number. `from`: where the values came from.
inline void RefuseNegativeUnsigned(const boost::program_options::parsed_options& parsed,
                                   const boost::program_options::variables_map& vm, const std::string& from) {
  namespace po = boost::program_options;
  for (const po::option& o : parsed.options) {
    auto it = vm.find(o.string_key);
    if (it == vm.end() || it->second.empty()) continue;
    const std::type_info& t = it->second.value().type();
    const bool is_unsigned = t == typeid(unsigned) || t == typeid(unsigned long) || t == typeid(unsigned long long) ||
                             t == typeid(unsigned short) || t == typeid(std::vector<unsigned>) ||
                             t == typeid(std::vector<unsigned long>) || t == typeid(std::vector<unsigned long long>);
    if (!is_unsigned) continue;
    for (const std::string& v : o.value) {
      const size_t first = v.find_first_not_of(" \t");
      if (first != std::string::npos && v[first] == '-') {
        throw po::error("the argument ('" + v + "') for option '--" + o.string_key + "'" + from +
                        " is invalid: it must not be negative");
      }
    }
  }
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
    po::parsed_options flags = parser.run();
    po::store(flags, *vm);
    RefuseNegativeUnsigned(flags, *vm, "");
    if (vm->count("config")) {
      const std::string path = (*vm)["config"].as<std::string>();
      std::ifstream in(path);
      if (!in) return UsageError(program, "cannot read config file '" + path + "'");
      po::parsed_options file = po::parse_config_file(in, options);
      po::store(file, *vm);
      RefuseNegativeUnsigned(file, *vm, " in " + path);
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

// machine-calibrate: what the ordering pipeline's per-transaction CPU work
// costs on this machine, on one thread, through the project's own crypto
// wrappers (common/crypto.h). A study records it beside its results so runs
// made on different days, or machines, can be compared.
//
// Measured, each for --seconds after a warm-up, --repeat times (median, min
// and max across the repeats):
//   ecdsa_p256_sign_per_s    Signer::Sign over a 1024-byte message (SHA-256
//                            included, as a peer signs a transaction)
//   ecdsa_p256_verify_per_s  Verifier::Verify of that signature (key cached,
//                            as an orderer's worker verifies)
//   sha256_1kb_per_s         Sha256() over 1024-byte messages, hashes/s
//   sha256_1kb_mb_per_s      the same in MB/s (MB = 10^6 bytes, as
//                            `openssl speed` counts)
// The program never pins itself: the caller places it (taskset), and the
// output says where it ran ("cpu", "cpus_seen") and where it was allowed to
// run ("affinity", the kernel's CPU-list format).
//
// Exit codes: 0 measured, 1 a crypto call failed, 2 usage error.
#include <sched.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <chrono>
#include <cstdio>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "common/cli.h"
#include "common/crypto.h"

namespace po = boost::program_options;

namespace {

constexpr const char* kProgram = "machine-calibrate";
constexpr size_t kMessageBytes = 1024;

// Median, min and max of one figure across the repeats.
struct Spread {
  double median = 0, min = 0, max = 0;
};

Spread SpreadOf(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  Spread s;
  s.min = v.front();
  s.max = v.back();
  const size_t n = v.size();
  s.median = n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  return s;
}

// Runs `op` in chunks of `chunk` calls until `seconds` have passed; returns
// calls per second. `op` returns false on failure, which stops the run
// (returns a negative rate). The clock is read once per chunk so that a
// cheap operation (a 1 KB hash) is not measured together with the clock.
double RatePerSecond(const std::function<bool()>& op, double seconds, int chunk) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration<double>(seconds);
  uint64_t calls = 0;
  Clock::time_point now;
  do {
    for (int i = 0; i < chunk; ++i) {
      if (!op()) return -1;
    }
    calls += chunk;
    now = Clock::now();
  } while (now < deadline);
  return static_cast<double>(calls) / std::chrono::duration<double>(now - start).count();
}

// The calling thread's allowed CPUs in the kernel's list format ("0,2-3").
std::string AllowedCpuList() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return "";
  std::string out;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &set)) continue;
    int last = cpu;
    while (last + 1 < CPU_SETSIZE && CPU_ISSET(last + 1, &set)) ++last;
    if (!out.empty()) out += ",";
    out += std::to_string(cpu);
    if (last > cpu) out += "-" + std::to_string(last);
    cpu = last;
  }
  return out;
}

struct Benchmark {
  const char* key;    // JSON key
  const char* label;  // human output
  const char* unit;
  std::function<bool()> op;
  int chunk;
};

}  // namespace

int main(int argc, char** argv) {
  double seconds = 1.0;
  double warmup_seconds = 0.2;
  int repeat = 3;
  po::options_description desc(
      "Usage: machine-calibrate [--seconds S] [--repeat N] [--warmup-seconds S] [--json]\n\n"
      "Measures on one thread what the pipeline's per-transaction CPU work costs here:\n"
      "ECDSA P-256 sign and verify over a 1024-byte message, and SHA-256 over 1024-byte\n"
      "messages (MB = 10^6 bytes), through common/crypto.h (OpenSSL 3 EVP). Each figure\n"
      "is measured for --seconds after a warm-up, --repeat times; the median, min and max\n"
      "are reported. It does not pin itself: place it with taskset -c CPU");
  desc.add_options()("help,h", "show this help and exit")("seconds", po::value(&seconds)->default_value(1.0),
                                                          "measuring time of each figure in each repeat")(
      "repeat", po::value(&repeat)->default_value(3), "repeats of each figure (>= 1)")(
      "warmup-seconds", po::value(&warmup_seconds)->default_value(0.2),
      "unmeasured run of each operation before its first repeat (>= 0)")(
      "json", "print one JSON object on stdout instead of text");
  po::positional_options_description no_positional;  // a stray word is an error, not ignored
  po::variables_map vm;
  if (auto code = ordering::cli::ParseFlags(argc, argv, kProgram, desc, &vm, &no_positional)) return *code;
  if (!(seconds > 0) || seconds > 3600) return ordering::cli::UsageError(kProgram, "--seconds must be in (0, 3600]");
  if (repeat < 1 || repeat > 1000) return ordering::cli::UsageError(kProgram, "--repeat must be in [1, 1000]");
  if (!(warmup_seconds >= 0) || warmup_seconds > 3600) {
    return ordering::cli::UsageError(kProgram, "--warmup-seconds must be in [0, 3600]");
  }
  const bool json = vm.count("json") > 0;

  std::unique_ptr<ordering::Signer> signer;
  if (auto st = ordering::Signer::Generate(&signer); !st.ok()) {
    std::cerr << kProgram << ": " << st.ToString() << "\n";
    return 1;
  }
  // A transaction-sized message with varied bytes.
  std::string message(kMessageBytes, '\0');
  for (size_t i = 0; i < message.size(); ++i) message[i] = static_cast<char>((i * 131 + 7) & 0xff);
  std::string signature;
  if (auto st = signer->Sign(message, &signature); !st.ok()) {
    std::cerr << kProgram << ": " << st.ToString() << "\n";
    return 1;
  }
  ordering::Verifier verifier;
  std::string scratch_signature;
  volatile uint8_t sink = 0;  // a digest byte is stored, so no hash is optimised away

  std::vector<Benchmark> benchmarks = {
      {"ecdsa_p256_sign_per_s", "ECDSA P-256 sign (1 KB)", "signatures/s",
       [&] { return signer->Sign(message, &scratch_signature).ok(); }, 1},
      {"ecdsa_p256_verify_per_s", "ECDSA P-256 verify (1 KB)", "verifications/s",
       [&] { return verifier.Verify(signer->public_key_der(), message, signature); }, 1},
      {"sha256_1kb_per_s", "SHA-256 over 1 KB", "hashes/s",
       [&] {
         sink = ordering::Sha256(message)[0];
         return true;
       },
       64},
  };

  std::set<int> cpus_seen;
  auto note_cpu = [&] {
    int cpu = sched_getcpu();
    if (cpu >= 0) cpus_seen.insert(cpu);
    return cpu;
  };
  note_cpu();
  for (const Benchmark& b : benchmarks) {
    if (warmup_seconds > 0 && RatePerSecond(b.op, warmup_seconds, b.chunk) < 0) {
      std::cerr << kProgram << ": " << b.label << " failed during the warm-up\n";
      return 1;
    }
  }
  // Repeats outermost, so a slow phase of the machine shows in every figure's
  // spread instead of in one figure alone.
  std::vector<std::vector<double>> rates(benchmarks.size());
  for (int r = 0; r < repeat; ++r) {
    for (size_t i = 0; i < benchmarks.size(); ++i) {
      double rate = RatePerSecond(benchmarks[i].op, seconds, benchmarks[i].chunk);
      if (rate < 0) {
        std::cerr << kProgram << ": " << benchmarks[i].label << " failed\n";
        return 1;
      }
      rates[i].push_back(rate);
      note_cpu();
    }
  }
  const int cpu = note_cpu();

  std::vector<double> sha_mb;
  for (double r : rates[2]) sha_mb.push_back(r * kMessageBytes / 1e6);
  const std::string affinity = AllowedCpuList();

  if (json) {
    nlohmann::json out;
    auto put = [&](const char* key, const Spread& s) {
      out[key] = {{"median", s.median}, {"min", s.min}, {"max", s.max}};
    };
    for (size_t i = 0; i < benchmarks.size(); ++i) put(benchmarks[i].key, SpreadOf(rates[i]));
    put("sha256_1kb_mb_per_s", SpreadOf(sha_mb));
    out["message_bytes"] = kMessageBytes;
    out["seconds_each"] = seconds;
    out["warmup_seconds"] = warmup_seconds;
    out["repeat"] = repeat;
    out["cpu"] = cpu;
    out["cpus_seen"] = std::vector<int>(cpus_seen.begin(), cpus_seen.end());
    out["affinity"] = affinity;
    std::cout << out.dump() << "\n";
    return 0;
  }
  std::printf("machine-calibrate: %d x %.3g s per figure on one thread; ran on CPU %d", repeat, seconds, cpu);
  if (cpus_seen.size() > 1) std::printf(" (moved between %zu CPUs)", cpus_seen.size());
  std::printf(", allowed CPUs %s\n", affinity.c_str());
  auto line = [](const char* label, const Spread& s, const char* unit) {
    std::printf("  %-27s %12.1f %-16s (min %.1f, max %.1f)\n", label, s.median, unit, s.min, s.max);
  };
  for (size_t i = 0; i < benchmarks.size(); ++i) line(benchmarks[i].label, SpreadOf(rates[i]), benchmarks[i].unit);
  line("SHA-256 over 1 KB", SpreadOf(sha_mb), "MB/s");
  return 0;
}

// Subcommands of the `edgecar` program.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace edgecar::cli {

constexpr int kExitLoad = 1;     // unreadable, malformed, invalid or unlinkable module
constexpr int kExitUsage = 2;    // bad command line
constexpr int kExitTimeout = 124;
constexpr int kExitTrap = 134;

struct RunOptions {
  std::string module;
  std::string invoke;
  std::vector<std::string> args;
  std::vector<std::string> dirs;  // HOST[:GUEST]
  std::vector<std::string> env;   // KEY=VALUE
  uint32_t max_memory_mib = 0;    // 0: no cap beyond the module's own
  double timeout_seconds = 0;     // 0: none
};

int run(const RunOptions& options);
int inspect(const std::string& path);

}  // namespace edgecar::cli

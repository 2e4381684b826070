// Subcommands of the `edgecar` program.
#pragma once

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
};

int run(const RunOptions& options);
int inspect(const std::string& path);

}  // namespace edgecar::cli

// A service version: one manifest with every function loaded from it, immutable once
// built. Hot reload builds a new version and swaps it in whole, or keeps the old one.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "serve/function.hpp"
#include "serve/manifest.hpp"

namespace edgecar::serve {

struct Service {
  Manifest manifest;
  std::vector<std::shared_ptr<Function>> functions;
  // The manifest and module files with their modification times when loaded.
  std::vector<std::pair<std::string, std::filesystem::file_time_type>> watched;

  // The function serving a path: exact routes first, then the longest prefix; -1 if none.
  int route(const std::string& path) const;
  // Whether any watched file changed (or vanished) since this version was loaded.
  bool changed_on_disk() const;
};

// Loads the manifest and every function; errors name the file and line.
Expected<std::shared_ptr<const Service>> load_service(const std::string& manifest_path);

}  // namespace edgecar::serve

#include "serve/service.hpp"

namespace edgecar::serve {

namespace fs = std::filesystem;

int Service::route(const std::string& path) const {
  int best = -1;
  size_t best_len = 0;
  for (size_t i = 0; i < functions.size(); ++i) {
    const auto& s = functions[i]->spec();
    if (!s.prefix && s.route == path) return static_cast<int>(i);
    if (s.prefix && path.compare(0, s.route.size(), s.route) == 0 && s.route.size() > best_len) {
      best = static_cast<int>(i);
      best_len = s.route.size();
    }
  }
  return best;
}

bool Service::changed_on_disk() const {
  for (const auto& [file, mtime] : watched) {
    std::error_code ec;
    auto now = fs::last_write_time(file, ec);
    if (ec || now != mtime) return true;
  }
  return false;
}

Expected<std::shared_ptr<const Service>> load_service(const std::string& manifest_path) {
  auto svc = std::make_shared<Service>();
  std::error_code ec;
  // Times are taken before reading, so a write during loading is seen by the next check.
  svc->watched.emplace_back(manifest_path, fs::last_write_time(manifest_path, ec));
  auto manifest = load_manifest(manifest_path);
  if (!manifest) return std::move(manifest).error();
  svc->manifest = std::move(*manifest);
  for (const auto& spec : svc->manifest.functions) {
    svc->watched.emplace_back(spec.module, fs::last_write_time(spec.module, ec));
    auto f = Function::load(spec);
    if (!f) {
      Error e = std::move(f).error();
      e.message = manifest_path + ":" + std::to_string(spec.line) + ": function " + spec.name +
                  ": " + e.to_string();
      return e;
    }
    svc->functions.push_back(*f);
  }
  return std::shared_ptr<const Service>(std::move(svc));
}

}  // namespace edgecar::serve

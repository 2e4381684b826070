// The registry of host modules and the set granted to one function or run.
#include <algorithm>

#include "host/host_module.hpp"

namespace edgecar::host {

// Each host module's folder defines its accessor (a <folder>/host_module.cpp).
const HostModule& wasi_module();
const HostModule& wasi_nn_module();
const HostModule& image_module();
const HostModule& dapr_module();

std::span<const HostModule* const> registry() {
  static const HostModule* const modules[] = {&wasi_module(), &wasi_nn_module(), &image_module(),
                                              &dapr_module()};
  return modules;
}

const HostModule* find(std::string_view name) {
  for (const HostModule* m : registry())
    if (m->name() == name) return m;
  return nullptr;
}

std::string names() {
  std::string out;
  for (const HostModule* m : registry()) out += (out.empty() ? "" : ", ") + std::string(m->name());
  return out;
}

Expected<void> Granted::add(const HostModule& module, const Settings& settings) {
  auto g = module.grant(settings);
  if (!g) return std::move(g).error();
  grants_.push_back(std::move(*g));
  imports_.add_all(module.functions().imports());
  description_ += (description_.empty() ? "" : ", ") + std::string(module.description());
  return {};
}

Expected<Granted> Granted::make(std::span<const std::string> names, const Settings& settings) {
  Granted g;
  if (auto r = g.add(wasi_module(), settings); !r) return std::move(r).error();
  for (const HostModule* m : registry()) {
    if (m == &wasi_module() || std::find(names.begin(), names.end(), m->name()) == names.end())
      continue;
    if (auto r = g.add(*m, settings); !r) return std::move(r).error();
  }
  for (const auto& n : names)
    if (!find(n))
      return Error{ErrorKind::Usage,
                   "unknown host module \"" + n + "\" (available: " + host::names() + ")"};
  return g;
}

Expected<Granted> Granted::everything(const Settings& settings) {
  Granted g;
  for (const HostModule* m : registry())
    if (auto r = g.add(*m, settings); !r) return std::move(r).error();
  return g;
}

void Granted::add_functions(const HostFunctions& functions, std::string description) {
  imports_.add_all(functions.imports());
  description_ += (description_.empty() ? "" : ", ") + description;
}

Expected<void> Granted::check_imports(const Module& module, const std::string& path) const {
  for (const auto& im : module.imports())
    if (!imports_.find(im.module, im.name))
      return Error{ErrorKind::Link, path + ": unknown import \"" + im.module + "\" \"" + im.name +
                                        "\" (" + im.type + "): the function is granted " +
                                        description_ +
                                        " (add host modules to its host_modules in the manifest)"};
  return {};
}

Expected<Granted::Attached> Granted::attach(Store& store, Call& call) const {
  Attached out;
  out.reserve(grants_.size());
  for (const auto& g : grants_) {
    auto s = g->attach(store, call);
    if (!s) return std::move(s).error();
    if (*s) out.push_back(std::move(*s));
  }
  return out;
}

}  // namespace edgecar::host

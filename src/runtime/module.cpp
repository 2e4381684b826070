// Module loading: decode, validate and compile once; describe imports and exports.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>

#include "runtime/objects.hpp"
#include "util/limits.hpp"
#include "validate/validator.hpp"

namespace edgecar {

namespace detail {
uint32_t canonical_type_id(const FuncType& t) {
  static std::mutex mu;
  static std::map<std::pair<std::vector<ValType>, std::vector<ValType>>, uint32_t> ids;
  std::lock_guard<std::mutex> lock(mu);
  auto [it, inserted] = ids.try_emplace({t.params, t.results}, static_cast<uint32_t>(ids.size()));
  return it->second;
}
}  // namespace detail

Module::Module(std::unique_ptr<detail::ModuleData> d) : data_(std::move(d)) {}
Module::~Module() = default;

const detail::ModuleData& detail::data_of(const Module& m) {
  return *m.data_;
}

ModuleSummary Module::summary() const {
  const binary::Module& m = data_->module;
  ModuleSummary s;
  s.imported_functions = m.num_imported_funcs;
  s.defined_functions = static_cast<uint32_t>(m.bodies.size());
  for (const auto& b : m.bodies) s.instructions += b.code.size();
  for (size_t i = 0; i < m.memories.size(); ++i)
    s.memories.push_back({m.memories[i].limits, i < m.num_imported_memories});
  s.tables = static_cast<uint32_t>(m.tables.size());
  s.globals = static_cast<uint32_t>(m.global_types.size());
  s.data_segments = static_cast<uint32_t>(m.datas.size());
  for (const auto& d : m.datas) s.data_bytes += d.bytes.size();
  s.element_segments = static_cast<uint32_t>(m.elems.size());
  s.start = m.start;
  for (const auto& c : m.customs) s.custom_sections.emplace_back(c.name, c.bytes.size());
  return s;
}

std::string_view to_string(Engine e) {
  return e == Engine::Aot ? "aot" : "interp";
}

Engine Module::engine() const {
  return data_->native ? Engine::Aot : Engine::Interp;
}

std::string Module::native_origin() const {
  return data_->native ? aot::origin(*data_->native) : "";
}

std::string Module::native_notes() const {
  return data_->native_notes;
}

Expected<void> Module::save_native(const std::string& path) const {
  if (!data_->native) return Error{ErrorKind::Usage, "the module was not loaded with native code"};
  return aot::save(*data_->native, path);
}

std::string default_native_cache_dir() {
  if (const char* d = std::getenv("EDGECAR_AOT_CACHE"); d && *d)
    return std::string(d) == "off" ? "" : d;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x)
    return std::string(x) + "/edgecar/aot";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/edgecar/aot";
  return "";
}

Expected<std::shared_ptr<const Module>> Module::from_bytes(std::span<const uint8_t> bytes,
                                                           const LoadOptions& options) {
  auto decoded = binary::decode(bytes, options.standard);
  if (!decoded) return std::move(decoded).error();
  auto md = std::make_unique<detail::ModuleData>();
  md->module = std::move(decoded).value();
  if (auto v = validate::validate(md->module, options.standard); !v) return std::move(v).error();
  md->type_ids.reserve(md->module.types.size());
  for (const auto& t : md->module.types) md->type_ids.push_back(detail::canonical_type_id(t));
  md->code = interp::compile(md->module);
  if (options.engine == Engine::Aot || options.native_if_available) {
    aot::NativeRequest req;
    req.bytes = bytes;
    req.artifact = options.artifact;
    req.cache_dir = options.cache_dir;
    req.compile = options.engine == Engine::Aot;
    req.notes = &md->native_notes;
    auto native = aot::compile(md->module, req);
    if (!native) return std::move(native).error();
    md->native = std::move(native).value();
  }
  md->memory_image = detail::MemoryImage::build(md->module);
  for (size_t i = 0; i < md->module.exports.size(); ++i)
    md->export_index.emplace(md->module.exports[i].name, static_cast<uint32_t>(i));
  return std::shared_ptr<const Module>(std::make_shared<Module>(std::move(md)));
}

Expected<std::shared_ptr<const Module>> Module::from_file(const std::string& path,
                                                          const LoadOptions& options) {
  std::vector<uint8_t> bytes;
  {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Error{ErrorKind::Io, "cannot open " + path + ": " + std::strerror(errno)};
    uint8_t buf[limits::kFileReadChunk];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        int e = errno;
        ::close(fd);
        return Error{ErrorKind::Io, "cannot read " + path + ": " + std::strerror(e)};
      }
      if (n == 0) break;
      bytes.insert(bytes.end(), buf, buf + n);
    }
    ::close(fd);
  }
  auto m = from_bytes(bytes, options);
  if (!m) {
    Error e = std::move(m).error();
    e.message = path + ": " + e.message;
    return e;
  }
  return m;
}

namespace {
std::string describe(const binary::Module& m, ExternKind kind, uint32_t index,
                     const binary::Import* im) {
  switch (kind) {
    case ExternKind::Func:
      return "func " + m.func_type(index).to_string();
    case ExternKind::Table: {
      const auto& t = im ? im->table : m.tables[index];
      return "table " + std::string(to_string(t.elem)) + " {min " + std::to_string(t.limits.min) +
             (t.limits.max ? ", max " + std::to_string(*t.limits.max) : "") + "}";
    }
    case ExternKind::Memory: {
      const auto& l = im ? im->memory.limits : m.memories[index].limits;
      return "memory {min " + std::to_string(l.min) +
             (l.max ? ", max " + std::to_string(*l.max) : "") + "} pages";
    }
    case ExternKind::Global: {
      const auto& g = im ? im->global : m.global_types[index];
      return std::string("global ") + (g.mut ? "mut " : "") + std::string(to_string(g.type));
    }
  }
  return "";
}
}  // namespace

std::vector<ImportDesc> Module::imports() const {
  const auto& m = data_->module;
  std::vector<ImportDesc> out;
  uint32_t fi = 0;
  for (const auto& im : m.imports) {
    std::string type = im.kind == ExternKind::Func ? "func " + m.types[im.func_type].to_string()
                                                   : describe(m, im.kind, 0, &im);
    if (im.kind == ExternKind::Func) fi++;
    out.push_back(ImportDesc{im.module, im.name, im.kind, type});
  }
  return out;
}

std::vector<ExportDesc> Module::exports() const {
  const auto& m = data_->module;
  std::vector<ExportDesc> out;
  for (const auto& e : m.exports)
    out.push_back(ExportDesc{e.name, e.kind, describe(m, e.kind, e.index, nullptr)});
  return out;
}

std::optional<FuncType> Module::export_func_type(std::string_view name) const {
  const auto& m = data_->module;
  for (const auto& e : m.exports)
    if (e.kind == ExternKind::Func && e.name == name) return m.func_type(e.index);
  return std::nullopt;
}

}  // namespace edgecar

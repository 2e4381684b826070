// The request pipeline of an app (app.hpp).
#include "serve/app.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "http/json.hpp"
#include "serve/dapr_app.hpp"
#include "util/open_beneath.hpp"

namespace edgecar::serve {

namespace fs = std::filesystem;

namespace {

std::string mime_type(const std::string& path) {
  static const std::pair<const char*, const char*> types[] = {{".html", "text/html; charset=utf-8"},
                                                              {".htm", "text/html; charset=utf-8"},
                                                              {".css", "text/css"},
                                                              {".js", "text/javascript"},
                                                              {".mjs", "text/javascript"},
                                                              {".json", "application/json"},
                                                              {".png", "image/png"},
                                                              {".jpg", "image/jpeg"},
                                                              {".jpeg", "image/jpeg"},
                                                              {".gif", "image/gif"},
                                                              {".svg", "image/svg+xml"},
                                                              {".ico", "image/x-icon"},
                                                              {".webp", "image/webp"},
                                                              {".txt", "text/plain; charset=utf-8"},
                                                              {".wasm", "application/wasm"}};
  std::string ext = fs::path(path).extension().string();
  for (const auto& [e, t] : types)
    if (http::iequals(ext, e)) return t;
  return "application/octet-stream";
}

// The path's %XX escapes decoded (RFC 3986 section 2.1); nullopt for a bad escape or a
// decoded NUL, which no file name holds.
std::optional<std::string> percent_decoded(std::string_view s) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string o;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      o += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
    if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) return std::nullopt;
    o += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return o;
}

// The whole file behind fd, if it is a regular file.
std::optional<std::string> read_regular(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  std::string body(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < body.size()) {
    ssize_t n = ::read(fd, body.data() + got, body.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  body.resize(got);
  return body;
}

// A file under one of the manifest's static directories. The path is resolved beneath
// the directory by the kernel (openat2 RESOLVE_BENEATH, as WASI does): a "..", an
// absolute path or a symlink leading out of it is not found, whatever the string.
http::Response static_file(const Service& svc, const std::string& path) {
  for (const auto& s : svc.manifest.statics) {
    if (path.compare(0, s.route.size(), s.route) != 0) continue;
    auto rel = percent_decoded(std::string_view(path).substr(s.route.size()));
    if (!rel) break;
    while (!rel->empty() && rel->front() == '/') rel->erase(0, 1);
    int dir = ::open(s.dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) continue;
    int fd = util::open_beneath(dir, rel->empty() ? "." : *rel, O_RDONLY);
    std::string name = *rel;
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
      int index = util::open_beneath(fd, "index.html", O_RDONLY);
      ::close(fd);
      fd = index;
      name = "index.html";
    }
    ::close(dir);
    if (fd < 0) continue;
    auto body = read_regular(fd);
    ::close(fd);
    if (!body) continue;
    http::Response r;
    r.body = std::move(*body);
    r.headers.add("Content-Type", mime_type(name));
    r.headers.add("Cache-Control", "no-cache");
    return r;
  }
  return http::error_response(404, "not_found", "no function or file at " + path);
}

}  // namespace

App::App(std::shared_ptr<const Service> service, unsigned workers, AccessLog& log,
         std::string api_token)
    : current_(service),
      startup_(service->manifest),
      workers_(workers),
      log_(log),
      api_token_(std::move(api_token)),
      max_queued_(service->manifest.max_queued),
      max_connections_(service->manifest.max_connections) {
  if (max_connections_ == 0) {
    rlimit rl{};
    uint64_t fds =
        getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY ? rl.rlim_cur : 65536;
    max_connections_ =
        static_cast<uint32_t>(std::clamp<uint64_t>(fds > 64 ? fds - 64 : fds / 2, 8, 1'000'000));
  }
  for (const auto& f : service->functions) metrics_.of(f->spec().name);
}

void App::swap_in(std::shared_ptr<const Service> next) {
  for (const auto& f : next->functions) metrics_.of(f->spec().name);
  current_.store(std::move(next));
}

http::Response App::answer(const Service& svc, int fn, const http::Request& req, Origin origin,
                           int client_fd) {
  // With APP_API_TOKEN set, every call from outside needs it except the health probe
  // (daprd's probe does not send it).
  if (origin == Origin::Client && !api_token_.empty() && req.path != "/healthz" &&
      req.headers.get("dapr-api-token") != api_token_)
    return http::error_response(401, "unauthorized",
                                "missing or wrong dapr-api-token (APP_API_TOKEN is set)");
  if (svc.manifest.cors && req.method == "OPTIONS" &&
      req.headers.contains("access-control-request-method")) {
    http::Response r;
    r.status = 204;
    std::string asked = req.headers.get("access-control-request-headers");
    r.headers.add("Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS");
    r.headers.add("Access-Control-Allow-Headers", asked.empty() ? "*" : asked);
    r.headers.add("Access-Control-Max-Age", "600");
    return r;
  }
  // Liveness (/healthz: 503 only while draining) and readiness (/readyz: 503 also while
  // the worker queue is full), both with the queue's state, for daprd's app health checks
  // and Kubernetes probes.
  if (req.path == "/healthz" || req.path == "/readyz") {
    bool ok = req.path == "/healthz" ? !draining.load() : ready();
    const char* status = draining ? "draining" : !ready() ? "saturated" : "ok";
    return http::json_response(ok ? 200 : 503, {{"status", status},
                                                {"queued", queued_.load()},
                                                {"max_queued", max_queued_},
                                                {"workers", startup_.workers}});
  }
  if (auto r = dapr_endpoint(svc, fn, req)) return std::move(*r);
  if (req.path == "/metrics" && fn < 0) {
    http::Response r;
    r.headers.add("Content-Type", "text/plain; version=0.0.4");
    r.body = metrics_.prometheus() +
             "# HELP edgecar_queued_requests Requests waiting for a worker.\n# TYPE "
             "edgecar_queued_requests gauge\n"
             "edgecar_queued_requests " +
             std::to_string(queued_.load()) + "\n";
    return r;
  }
  if (fn < 0) return static_file(svc, req.path);
  const Function& f = *svc.functions[fn];
  const auto& spec = f.spec();
  if (!spec.methods.empty() &&
      std::find(spec.methods.begin(), spec.methods.end(), req.method) == spec.methods.end()) {
    std::string allow;
    for (const auto& m : spec.methods) allow += (allow.empty() ? "" : ", ") + m;
    http::Response r =
        http::error_response(405, "method_not_allowed", spec.name + " accepts " + allow);
    r.headers.add("Allow", allow);
    return r;
  }
  Metrics& m = metrics_.of(spec.name);
  m.in_flight++;
  Invocation inv = f.invoke(req, deadlines_, client_fd);
  m.in_flight--;
  (inv.engine == Engine::Native ? m.native_runs : m.interp_runs)++;
  if (inv.outcome == Outcome::Trap) m.traps++;
  if (inv.outcome == Outcome::Timeout) m.timeouts++;
  if (inv.outcome == Outcome::Abandoned) m.abandoned++;
  if (is_delivery(svc, req)) return pubsub_outcome(std::move(inv));
  return std::move(inv.response);
}

http::Response App::dispatch(const Service& svc, int fn, const http::Request& req, Origin origin,
                             std::chrono::steady_clock::time_point start, int client_fd) {
  http::Response r = answer(svc, fn, req, origin, client_fd);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::string& name = fn >= 0 ? svc.functions[fn]->spec().name : std::string();
  Metrics& m = fn >= 0 ? metrics_.of(name) : metrics_.other;
  m.count(r.status);
  if (fn >= 0) m.observe(secs);
  log_.request(req.remote_addr, req.method, req.target(), r.status, secs * 1000, r.body.size(),
               name);
  return r;
}

http::Response App::dispatch(const http::Request& req, Origin origin) {
  auto start = std::chrono::steady_clock::now();
  auto svc = current();
  return dispatch(*svc, svc->route(req.path), req, origin, start);
}

std::variant<App::Admission, http::Response> App::admit(
    std::shared_ptr<const Service> svc, int fn, const http::Request& req,
    std::chrono::steady_clock::time_point start) {
  const FunctionSpec& spec = svc->functions[fn]->spec();
  Metrics& m = metrics_.of(spec.name);
  std::string why;
  if (spec.limits.max_concurrent && m.pending.fetch_add(1) >= spec.limits.max_concurrent) {
    m.pending--;
    why = "function " + spec.name + " has " + std::to_string(spec.limits.max_concurrent) +
          " requests running or waiting (max_concurrent)";
  } else if (queued_.fetch_add(1) >= max_queued_) {
    queued_--;
    if (spec.limits.max_concurrent) m.pending--;
    why = "app " + svc->manifest.app_id + " has " + std::to_string(max_queued_) +
          " requests waiting for a worker (max_queued)";
  } else {
    return Admission(*this, std::move(svc), fn);
  }
  http::Response r = http::error_response(503, "overloaded", why);
  r.headers.add("Retry-After", "1");
  m.rejected++;
  m.count(r.status);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  log_.request(req.remote_addr, req.method, req.target(), r.status, secs * 1000, r.body.size(),
               spec.name);
  return r;
}

App::Admission::Admission(App& app, std::shared_ptr<const Service> svc, int fn)
    : app_(&app), svc_(std::move(svc)), fn_(fn) {}

App::Admission::Admission(Admission&& o) noexcept
    : app_(std::exchange(o.app_, nullptr)),
      svc_(std::move(o.svc_)),
      fn_(o.fn_),
      queued_(o.queued_) {}

App::Admission::~Admission() {
  finish();
}

void App::Admission::finish() {
  if (!app_) return;  // moved from, or finished
  taken();
  const FunctionSpec& spec = svc_->functions[fn_]->spec();
  if (spec.limits.max_concurrent) app_->metrics_.of(spec.name).pending--;
  app_ = nullptr;
}

void App::Admission::taken() {
  if (std::exchange(queued_, false)) app_->queued_--;
}

void App::Admission::abandon(const http::Request& req,
                             std::chrono::steady_clock::time_point start) {
  const std::string& name = svc_->functions[fn_]->spec().name;
  app_->metrics_.of(name).abandoned++;
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  app_->log_.request(req.remote_addr, req.method, req.target(), 499, secs * 1000, 0, name);
}

void App::count_unreadable(const std::string& remote, const std::string& path, unsigned status,
                           size_t bytes) {
  metrics_.other.client_errors++;
  log_.request(remote, "?", path, status, 0, bytes, "");
}

dapr::LocalApp App::local_app() {
  dapr::LocalApp la;
  auto svc = current();
  la.app_id = svc->manifest.app_id;
  la.subscriptions = svc->manifest.subscriptions;
  la.handle = [this, id = la.app_id](const http::Request& call) {
    http::Request req = call;
    req.remote_addr = "embedded-dapr";
    req.server_name = id;
    return dispatch(req, Origin::EmbeddedDapr);
  };
  return la;
}

}  // namespace edgecar::serve

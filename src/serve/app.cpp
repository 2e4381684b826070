// The request pipeline of an app (app.hpp).
#include "serve/app.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "http/json.hpp"
#include "serve/dapr_app.hpp"

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

http::Response static_file(const Service& svc, const std::string& path) {
  for (const auto& s : svc.manifest.statics) {
    if (path.compare(0, s.route.size(), s.route) != 0) continue;
    std::string rel = path.substr(s.route.size());
    // Refuse any ".." segment; then require the resolved file to stay inside the dir.
    if (rel.find("..") != std::string::npos) break;
    fs::path p = fs::path(s.dir) / fs::path(rel).relative_path();
    std::error_code ec;
    if (fs::is_directory(p, ec)) p /= "index.html";
    fs::path canon = fs::weakly_canonical(p, ec);
    fs::path root = fs::weakly_canonical(s.dir, ec);
    if (ec || canon.string().compare(0, root.string().size(), root.string()) != 0 ||
        !fs::is_regular_file(canon, ec))
      continue;
    std::ifstream in(canon, std::ios::binary);
    if (!in) continue;
    std::ostringstream body;
    body << in.rdbuf();
    http::Response r;
    r.body = body.str();
    r.headers.add("Content-Type", mime_type(canon.string()));
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
      api_token_(std::move(api_token)) {
  for (const auto& f : service->functions) metrics_.of(f->spec().name);
}

void App::swap_in(std::shared_ptr<const Service> next) {
  for (const auto& f : next->functions) metrics_.of(f->spec().name);
  current_.store(std::move(next));
}

http::Response App::answer(const Service& svc, int fn, const http::Request& req, Origin origin) {
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
  if (req.path == "/healthz") {
    return http::json_response(draining ? 503 : 200, {{"status", draining ? "draining" : "ok"}});
  }
  if (auto r = dapr_endpoint(svc, fn, req)) return std::move(*r);
  if (req.path == "/metrics" && fn < 0) {
    http::Response r;
    r.headers.add("Content-Type", "text/plain; version=0.0.4");
    r.body = metrics_.prometheus();
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
  Invocation inv = f.invoke(req, deadlines_);
  m.in_flight--;
  if (inv.outcome == Outcome::Trap) m.traps++;
  if (inv.outcome == Outcome::Timeout) m.timeouts++;
  if (is_delivery(svc, req)) return pubsub_outcome(std::move(inv));
  return std::move(inv.response);
}

http::Response App::dispatch(const Service& svc, int fn, const http::Request& req, Origin origin,
                             std::chrono::steady_clock::time_point start) {
  http::Response r = answer(svc, fn, req, origin);
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

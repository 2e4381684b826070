// Embedded Dapr's front: Dapr's HTTP API paths routed to invocation, state, pub/sub and
// secrets (embedded.hpp).
#include "dapr/embedded.hpp"

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "http/json.hpp"

namespace edgecar::dapr {

using json = nlohmann::json;

namespace {

std::string url_decode(std::string_view s) {
  std::string o;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      o += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      o += s[i];
    }
  }
  return o;
}

std::vector<std::string> segments(std::string_view path) {
  std::vector<std::string> out;
  size_t at = 1;
  while (at <= path.size()) {
    size_t slash = path.find('/', at);
    if (slash == std::string_view::npos) slash = path.size();
    out.push_back(url_decode(path.substr(at, slash - at)));
    at = slash + 1;
  }
  return out;
}

// Nested objects flattened with the separator, as Dapr's local file store reads them
// (without one, a nested object is one secret holding its JSON).
void flatten(const json& v, const std::string& prefix, const std::string& sep, json& out) {
  if (v.is_object() && !sep.empty()) {
    for (auto it = v.begin(); it != v.end(); ++it)
      flatten(it.value(), prefix.empty() ? it.key() : prefix + sep + it.key(), sep, out);
  } else {
    out[prefix] = v.is_string() ? v.get<std::string>() : v.dump();
  }
}

}  // namespace

Embedded& Embedded::instance() {
  static Embedded* e = new Embedded;  // lives until exit; delivery threads may still run
  return *e;
}

http::Response Embedded::secret(const std::vector<std::string>& seg) const {
  if (seg.size() != 4) return api_error(404, "ERR_SECRET_GET", "expected /v1.0/secrets/STORE/KEY");
  std::string file, sep;
  if (secret_stores_.empty()) {
    const char* env = std::getenv("EDGECAR_SECRETS_FILE");
    if (!env || !*env)
      return api_error(500, "ERR_SECRET_STORES_NOT_CONFIGURED",
                       "no secret store: set EDGECAR_SECRETS_FILE to a JSON file of secrets, or "
                       "give a secretstores.local.file component, in embedded mode");
    file = env;
  } else {
    const SecretStore* store = nullptr;
    for (const auto& s : secret_stores_)
      if (s.name == seg[2]) store = &s;
    if (!store)
      return api_error(401, "ERR_SECRET_STORE_NOT_FOUND",
                       "failed finding secret store with key " + seg[2]);
    file = store->file;
    sep = store->separator;
  }
  std::ifstream f(file);
  json doc = json::parse(f, nullptr, false);
  if (!doc.is_object())
    return api_error(500, "ERR_SECRET_GET", "secrets file " + file + " is not a JSON object");
  json flat = json::object();
  for (auto it = doc.begin(); it != doc.end(); ++it) flatten(it.value(), it.key(), sep, flat);
  if (!flat.contains(seg[3]))
    return api_error(500, "ERR_SECRET_GET",
                     "failed getting secret with key " + seg[3] + " from secret store " + seg[2] +
                         ": secret not found");
  http::Response r;
  r.headers.add("Content-Type", "application/json");
  r.body = json{{seg[3], flat[seg[3]]}}.dump();
  return r;
}

http::Response Embedded::call(const http::Request& req, const std::string& caller) {
  auto seg = segments(req.path);
  if (seg.size() < 2 || seg[0] != "v1.0")
    return api_error(404, "ERR_NOT_FOUND", "not a Dapr API path: " + req.path);
  if (seg[1] == "invoke") {
    // v1.0 invoke APP method PATH...
    if (seg.size() < 5 || seg[3] != "method")
      return api_error(400, "ERR_DIRECT_INVOKE", "expected /v1.0/invoke/APP/method/PATH");
    http::Request call = req;
    call.path.clear();
    for (size_t i = 4; i < seg.size(); ++i) call.path += "/" + seg[i];
    call.headers.add("dapr-caller-app-id", caller);
    std::string served;
    if (auto r = apps_.invoke(seg[2], call, served)) return std::move(*r);
    if (remote_)
      if (auto r = remote_(seg[2], call)) return std::move(*r);
    return api_error(500, "ERR_DIRECT_INVOKE",
                     "app id " + seg[2] + " is not served by this edgecar (embedded mode serves: " +
                         (served.empty() ? "none" : served) + ")");
  }
  if (seg[1] == "state") return state_.call(seg, req, caller);
  if (seg[1] == "publish" && req.method == "POST") return pubsub_.publish(seg, req, caller);
  if (seg[1] == "secrets" && req.method == "GET") return secret(seg);
  if (seg[1] == "bindings")
    return api_error(501, "ERR_INVOKE_OUTPUT_BINDING",
                     "output bindings need a Dapr sidecar (run the app with scripts/dapr-run)");
  return api_error(404, "ERR_NOT_FOUND",
                   "embedded mode does not provide " + req.method + " " + req.path);
}

}  // namespace edgecar::dapr

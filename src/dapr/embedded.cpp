// Embedded Dapr: the subset of Dapr's HTTP API that guests use, answered in process when
// no sidecar runs. Service invocation reaches the apps this process serves; state is a
// SQLite table (keys prefixed with the caller's app id, as Dapr's default keyPrefix
// does; ETags are versions; first-write and last-write concurrency); pub/sub delivers
// CloudEvents to subscribed apps on a delivery thread with retries, dead-letter topics
// and routing rules (a subset of CEL, route_match.hpp); secrets come from a JSON file
// (EDGECAR_SECRETS_FILE), like Dapr's secretstores.local.file. Output bindings need a
// real sidecar.
#include <sqlite3.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "edgecar/dapr.hpp"
#include "dapr/route_match.hpp"

namespace edgecar::dapr {

using json = nlohmann::json;

namespace {

ApiResponse error(unsigned status, const std::string& code, const std::string& message) {
  ApiResponse r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/json");
  r.body = json{{"errorCode", code}, {"message", message}}.dump();
  return r;
}

ApiResponse empty(unsigned status = 204) {
  ApiResponse r;
  r.status = status;
  return r;
}

std::string url_decode(std::string_view s) {
  std::string o;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) && std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
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

std::string random_id() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(rng()), static_cast<unsigned long long>(rng()));
  return std::string(buf, 8) + "-" + std::string(buf + 8, 4) + "-" + std::string(buf + 12, 4) + "-" + std::string(buf + 16, 4) + "-" + std::string(buf + 20, 12);
}

std::string now_rfc3339() {
  auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

struct Delivery {
  std::string pubsub, topic, caller;
  std::string event;  // the CloudEvent, serialized
  std::string only_app;  // a retry goes to the one subscriber that asked for it
  int attempt = 0;
  std::chrono::steady_clock::time_point not_before;
};

}  // namespace

struct Embedded::Impl {
  std::mutex db_mu;
  sqlite3* db = nullptr;
  std::string db_path;

  std::mutex apps_mu;
  std::map<std::string, LocalApp> apps;
  // Routing rules' match expressions, compiled at registration (null: not supported).
  std::map<std::string, std::shared_ptr<const RouteMatch>> matchers;
  // Calls into each app running outside apps_mu (invocations, deliveries): unregister_app
  // waits for them, so an app is never used after its server has let it go.
  std::map<std::string, int> busy;
  std::condition_variable busy_cv;

  // Ends one call into an app (taken under apps_mu with busy[id]++).
  struct Leave {
    Impl* impl;
    std::string id;
    ~Leave() {
      {
        std::lock_guard<std::mutex> lock(impl->apps_mu);
        --impl->busy[id];
      }
      impl->busy_cv.notify_all();
    }
  };

  std::mutex q_mu;
  std::condition_variable q_cv, idle_cv;
  std::deque<Delivery> queue;
  int in_flight = 0;
  bool stop = false;
  std::thread deliverer;

  ~Impl() {
    {
      std::lock_guard<std::mutex> lock(q_mu);
      stop = true;
    }
    q_cv.notify_all();
    if (deliverer.joinable()) deliverer.join();
    if (db) sqlite3_close(db);
  }

  Expected<void> open(const std::string& path) {
    std::lock_guard<std::mutex> lock(db_mu);
    return open_locked(path);
  }

  Expected<void> open_locked(const std::string& path) {
    if (db && path == db_path) return {};
    if (db) sqlite3_close(db);
    db = nullptr;
    if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
      std::string m = db ? sqlite3_errmsg(db) : "out of memory";
      if (db) sqlite3_close(db);
      db = nullptr;
      return Error{ErrorKind::Io, "state store " + path + ": " + m};
    }
    db_path = path;
    char* err = nullptr;
    const char* schema =
        "PRAGMA journal_mode=WAL; PRAGMA busy_timeout=5000;"
        "CREATE TABLE IF NOT EXISTS state (store TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, etag INTEGER NOT NULL, PRIMARY KEY (store, key));";
    if (sqlite3_exec(db, schema, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string m = err ? err : "?";
      sqlite3_free(err);
      return Error{ErrorKind::Io, "state store " + path + ": " + m};
    }
    return {};
  }

  // The state file: the manifest's dapr.state_file, else EDGECAR_STATE_FILE, else memory.
  Expected<void> ensure_db() {
    if (db) return {};
    const char* file = std::getenv("EDGECAR_STATE_FILE");
    return open_locked(file && *file ? file : ":memory:");
  }

  // ---- state (caller holds db_mu) ----
  struct Row {
    bool found = false;
    std::string value;
    int64_t etag = 0;
  };

  Row get(const std::string& store, const std::string& key) {
    Row r;
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, "SELECT value, etag FROM state WHERE store = ? AND key = ?", -1, &st, nullptr);
    sqlite3_bind_text(st, 1, store.data(), static_cast<int>(store.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, key.data(), static_cast<int>(key.size()), SQLITE_TRANSIENT);
    if (sqlite3_step(st) == SQLITE_ROW) {
      r.found = true;
      r.value.assign(static_cast<const char*>(sqlite3_column_blob(st, 0)), static_cast<size_t>(sqlite3_column_bytes(st, 0)));
      r.etag = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    return r;
  }

  // Returns an empty string on success, else the conflict's reason.
  std::string put(const std::string& store, const std::string& key, const std::string& value, const std::string& etag, bool first_write) {
    Row cur = get(store, key);
    // An ETag, when given, must match; first-write concurrency without one may only
    // create the key (daprd's Redis store refuses such an overwrite too).
    if (!etag.empty() && (!cur.found || std::to_string(cur.etag) != etag))
      return "possible etag mismatch: the value of " + key + " has etag " + (cur.found ? std::to_string(cur.etag) : "(none)") + ", not " + etag;
    if (etag.empty() && first_write && cur.found) return "first-write concurrency: " + key + " exists and no etag was given";
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, "INSERT INTO state (store, key, value, etag) VALUES (?, ?, ?, ?) ON CONFLICT (store, key) DO UPDATE SET value = excluded.value, etag = excluded.etag", -1, &st, nullptr);
    sqlite3_bind_text(st, 1, store.data(), static_cast<int>(store.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, key.data(), static_cast<int>(key.size()), SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 3, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, cur.etag + 1);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? "" : std::string("sqlite: ") + sqlite3_errmsg(db);
  }

  std::string del(const std::string& store, const std::string& key, const std::string& etag) {
    Row cur = get(store, key);
    if (!etag.empty() && (!cur.found || std::to_string(cur.etag) != etag)) return "possible etag mismatch on delete of " + key;
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, "DELETE FROM state WHERE store = ? AND key = ?", -1, &st, nullptr);
    sqlite3_bind_text(st, 1, store.data(), static_cast<int>(store.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, key.data(), static_cast<int>(key.size()), SQLITE_TRANSIENT);
    sqlite3_step(st);
    sqlite3_finalize(st);
    return "";
  }

  void exec(const char* sql) { sqlite3_exec(db, sql, nullptr, nullptr, nullptr); }

  ApiResponse state(const std::string& method, const std::vector<std::string>& seg, const std::string& query, const ApiRequest& req, const std::string& caller) {
    // seg: v1.0 state STORE [KEY | bulk | transaction]
    if (seg.size() < 3 || seg[2].empty()) return error(400, "ERR_STATE_STORE_NOT_FOUND", "state store name missing");
    const std::string& store = seg[2];
    auto prefixed = [&](const std::string& key) { return caller.empty() ? key : caller + "||" + key; };
    std::lock_guard<std::mutex> lock(db_mu);
    if (auto r = ensure_db(); !r) return error(500, "ERR_STATE_STORE_NOT_CONFIGURED", r.error().message);
    if (method == "GET" && seg.size() == 4) {
      Row row = get(store, prefixed(seg[3]));
      if (!row.found) return empty(204);
      ApiResponse r;
      r.headers.emplace_back("Content-Type", "application/json");
      r.headers.emplace_back("ETag", std::to_string(row.etag));
      r.body = row.value;
      return r;
    }
    if (method == "DELETE" && seg.size() == 4) {
      std::string etag;
      for (const auto& [k, v] : req.headers)
        if (k == "If-Match" || k == "if-match") etag = v;
      std::string conflict = del(store, prefixed(seg[3]), etag);
      return conflict.empty() ? empty(204) : error(409, "ERR_STATE_DELETE", conflict);
    }
    if (method != "POST") return error(405, "ERR_METHOD_NOT_ALLOWED", method + " " + req.target);
    json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded()) return error(400, "ERR_MALFORMED_REQUEST", "the request body is not JSON");
    if (seg.size() == 3) {  // save: [{key, value, etag?, options?}]
      if (!body.is_array()) return error(400, "ERR_MALFORMED_REQUEST", "expected a JSON array of state items");
      exec("BEGIN");
      for (const auto& item : body) {
        if (!item.is_object() || !item.contains("key") || !item["key"].is_string()) {
          exec("ROLLBACK");
          return error(400, "ERR_MALFORMED_REQUEST", "every state item needs a string key");
        }
        std::string etag = item.contains("etag") && item["etag"].is_string() ? item["etag"].get<std::string>() : "";
        bool first = item.contains("options") && item["options"].is_object() && item["options"].value("concurrency", "") == "first-write";
        std::string conflict = put(store, prefixed(item["key"]), item.contains("value") ? item["value"].dump() : "null", etag, first);
        if (!conflict.empty()) {
          exec("ROLLBACK");
          return error(409, "ERR_STATE_SAVE", "failed saving state in state store " + store + ": " + conflict);
        }
      }
      exec("COMMIT");
      return empty(204);
    }
    if (seg[3] == "bulk") {
      if (!body.is_object() || !body.contains("keys") || !body["keys"].is_array()) return error(400, "ERR_MALFORMED_REQUEST", "expected {\"keys\": [...]}");
      json out = json::array();
      for (const auto& k : body["keys"]) {
        if (!k.is_string()) continue;
        Row row = get(store, prefixed(k));
        json item{{"key", k}};
        if (row.found) {
          item["data"] = json::parse(row.value, nullptr, false);
          item["etag"] = std::to_string(row.etag);
        }
        out.push_back(item);
      }
      ApiResponse r;
      r.headers.emplace_back("Content-Type", "application/json");
      r.body = out.dump();
      return r;
    }
    if (seg[3] == "transaction") {
      if (!body.is_object() || !body.contains("operations") || !body["operations"].is_array()) return error(400, "ERR_MALFORMED_REQUEST", "expected {\"operations\": [...]}");
      exec("BEGIN");
      for (const auto& op : body["operations"]) {
        std::string kind = op.is_object() ? op.value("operation", "") : "";
        const json& rq = op.is_object() && op.contains("request") ? op["request"] : json();
        if ((kind != "upsert" && kind != "delete") || !rq.is_object() || !rq.contains("key") || !rq["key"].is_string()) {
          exec("ROLLBACK");
          return error(400, "ERR_MALFORMED_REQUEST", "operations are {\"operation\": \"upsert\"|\"delete\", \"request\": {\"key\": ...}}");
        }
        std::string etag = rq.contains("etag") && rq["etag"].is_string() ? rq["etag"].get<std::string>() : "";
        std::string conflict = kind == "upsert" ? put(store, prefixed(rq["key"]), rq.contains("value") ? rq["value"].dump() : "null", etag, false)
                                                : del(store, prefixed(rq["key"]), etag);
        if (!conflict.empty()) {
          exec("ROLLBACK");
          return error(409, "ERR_STATE_TRANSACTION", conflict);
        }
      }
      exec("COMMIT");
      return empty(204);
    }
    (void)query;
    return error(404, "ERR_NOT_FOUND", req.target);
  }

  // ---- pub/sub ----
  void deliver_loop() {
    std::unique_lock<std::mutex> lock(q_mu);
    while (!stop) {
      if (queue.empty()) {
        q_cv.wait(lock);
        continue;
      }
      auto now = std::chrono::steady_clock::now();
      auto it = std::min_element(queue.begin(), queue.end(), [](const Delivery& a, const Delivery& b) { return a.not_before < b.not_before; });
      if (it->not_before > now) {
        q_cv.wait_until(lock, it->not_before);
        continue;
      }
      Delivery d = std::move(*it);
      queue.erase(it);
      in_flight++;
      lock.unlock();
      deliver(std::move(d));
      lock.lock();
      in_flight--;
      if (queue.empty() && in_flight == 0) idle_cv.notify_all();
    }
  }

  void enqueue(Delivery d) {
    {
      std::lock_guard<std::mutex> lock(q_mu);
      queue.push_back(std::move(d));
      if (!deliverer.joinable()) deliverer = std::thread([this] { deliver_loop(); });
    }
    q_cv.notify_all();
  }

  void deliver(Delivery d) {
    struct Target {
      LocalApp app;
      Subscription sub;
      std::string route;
    };
    std::vector<Target> targets;
    json event = json::parse(d.event, nullptr, false);
    {
      std::lock_guard<std::mutex> lock(apps_mu);
      for (const auto& [id, app] : apps)
        for (const auto& s : app.subscriptions)
          if (s.pubsub == d.pubsub && s.topic == d.topic && (d.only_app.empty() || d.only_app == id)) {
            // The first rule whose expression matches the event picks the path, as in daprd.
            std::string route = s.route.empty() ? "/" + s.topic : s.route;
            for (const auto& [match, path] : s.rules) {
              auto m = matchers.find(match);
              if (m != matchers.end() && m->second && m->second->matches(event)) {
                route = path;
                break;
              }
            }
            targets.push_back({app, s, route});
            ++busy[id];
          }
    }
    for (const auto& [app, sub, route] : targets) {
      Leave leave{this, app.app_id};
      Headers h = {{"Content-Type", "application/cloudevents+json"}, {"dapr-caller-app-id", d.caller}};
      ApiResponse r = app.handle("POST", route, "", h, d.event);
      std::string status = "SUCCESS";
      json b = json::parse(r.body, nullptr, false);
      if (r.status >= 200 && r.status < 300) {
        if (b.is_object() && b.contains("status") && b["status"].is_string()) status = b["status"];
      } else {
        status = r.status == 404 ? "DROP" : "RETRY";
      }
      if (status == "RETRY" && d.attempt < 4) {
        Delivery again = d;
        again.attempt++;
        again.only_app = app.app_id;
        again.not_before = std::chrono::steady_clock::now() + std::chrono::milliseconds(100 << again.attempt);
        std::lock_guard<std::mutex> qlock(q_mu);
        queue.push_back(again);
        q_cv.notify_all();
        continue;
      }
      if (status != "SUCCESS") {
        std::fprintf(stderr, "edgecar: pubsub %s/%s: %s %s the event after %d attempt(s)%s\n", d.pubsub.c_str(), d.topic.c_str(), app.app_id.c_str(),
                     status == "DROP" ? "dropped" : "did not accept", d.attempt + 1, sub.dead_letter_topic.empty() ? "" : (", sent to " + sub.dead_letter_topic).c_str());
        if (!sub.dead_letter_topic.empty()) {
          Delivery dead = d;
          dead.topic = sub.dead_letter_topic;
          dead.only_app.clear();
          dead.attempt = 0;
          dead.not_before = std::chrono::steady_clock::now();
          std::lock_guard<std::mutex> qlock(q_mu);
          queue.push_back(dead);
          q_cv.notify_all();
        }
      }
    }
  }

  ApiResponse publish(const std::vector<std::string>& seg, const ApiRequest& req, const std::string& caller) {
    if (seg.size() < 4 || seg[2].empty() || seg[3].empty()) return error(404, "ERR_PUBSUB_NOT_FOUND", "publish needs /v1.0/publish/PUBSUB/TOPIC");
    std::string ctype = "application/json";
    std::string traceparent;
    for (const auto& [k, v] : req.headers) {
      std::string lk = k;
      for (auto& c : lk) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (lk == "content-type") ctype = v;
      if (lk == "traceparent") traceparent = v;
    }
    json event;
    if (ctype.find("cloudevents") != std::string::npos) {
      event = json::parse(req.body, nullptr, false);
      if (!event.is_object()) return error(400, "ERR_PUBSUB_CLOUD_EVENTS_SER", "the body is not a CloudEvent");
    } else {
      event = {{"specversion", "1.0"}, {"id", random_id()}, {"source", caller}, {"type", "com.dapr.event.sent"}, {"datacontenttype", ctype}, {"time", now_rfc3339()}};
      json data = ctype.find("json") != std::string::npos ? json::parse(req.body, nullptr, false) : json();
      if (data.is_discarded() || ctype.find("json") == std::string::npos) data = req.body;
      event["data"] = data;
    }
    event["topic"] = seg[3];
    event["pubsubname"] = seg[2];
    if (!traceparent.empty()) event["traceparent"] = traceparent;
    Delivery d{seg[2], seg[3], caller, event.dump(), "", 0, std::chrono::steady_clock::now()};
    enqueue(std::move(d));
    return empty(204);
  }

  ApiResponse invoke(const std::string& method, const std::vector<std::string>& seg, const std::string& query, const ApiRequest& req, const std::string& caller) {
    // v1.0 invoke APP method PATH...
    if (seg.size() < 5 || seg[3] != "method") return error(400, "ERR_DIRECT_INVOKE", "expected /v1.0/invoke/APP/method/PATH");
    LocalApp app;
    {
      std::lock_guard<std::mutex> lock(apps_mu);
      auto it = apps.find(seg[2]);
      if (it == apps.end()) {
        std::string known;
        for (const auto& [id, a] : apps) known += (known.empty() ? "" : ", ") + id;
        return error(500, "ERR_DIRECT_INVOKE", "app id " + seg[2] + " is not served by this edgecar (embedded mode serves: " + (known.empty() ? "none" : known) + ")");
      }
      app = it->second;
      ++busy[app.app_id];
    }
    Leave leave{this, app.app_id};
    std::string path;
    for (size_t i = 4; i < seg.size(); ++i) path += "/" + seg[i];
    Headers h = req.headers;
    h.emplace_back("dapr-caller-app-id", caller);
    return app.handle(method, path, query, h, req.body);
  }

  ApiResponse secret(const std::vector<std::string>& seg) {
    if (seg.size() != 4) return error(404, "ERR_SECRET_GET", "expected /v1.0/secrets/STORE/KEY");
    const char* file = std::getenv("EDGECAR_SECRETS_FILE");
    if (!file || !*file) return error(500, "ERR_SECRET_STORES_NOT_CONFIGURED", "no secret store: set EDGECAR_SECRETS_FILE to a JSON file of secrets in embedded mode");
    std::ifstream f(file);
    json doc = json::parse(f, nullptr, false);
    if (!doc.is_object()) return error(500, "ERR_SECRET_GET", std::string("secrets file ") + file + " is not a JSON object");
    if (!doc.contains(seg[3])) return error(500, "ERR_SECRET_GET", "failed getting secret with key " + seg[3] + " from secret store " + seg[2] + ": secret not found");
    ApiResponse r;
    r.headers.emplace_back("Content-Type", "application/json");
    const json& v = doc[seg[3]];
    r.body = json{{seg[3], v.is_string() ? v.get<std::string>() : v.dump()}}.dump();
    return r;
  }
};

Embedded::Embedded() : impl_(std::make_unique<Impl>()) {}
Embedded::~Embedded() = default;

Embedded& Embedded::instance() {
  static Embedded* e = new Embedded;  // lives until exit; delivery threads may still run
  return *e;
}

Expected<void> Embedded::open_state(const std::string& path) { return impl_->open(path); }

void Embedded::register_app(LocalApp app) {
  std::lock_guard<std::mutex> lock(impl_->apps_mu);
  for (const auto& sub : app.subscriptions)
    for (const auto& [match, path] : sub.rules) {
      if (impl_->matchers.count(match)) continue;
      auto parsed = RouteMatch::parse(match);
      if (auto* why = std::get_if<std::string>(&parsed)) {
        std::fprintf(stderr, "edgecar: app %s: pub/sub rule \"%s\" (topic %s, path %s) cannot be evaluated in embedded mode: %s; the rule is skipped\n",
                     app.app_id.c_str(), match.c_str(), sub.topic.c_str(), path.c_str(), why->c_str());
        impl_->matchers[match] = nullptr;
      } else {
        impl_->matchers[match] = std::make_shared<const RouteMatch>(std::get<RouteMatch>(std::move(parsed)));
      }
    }
  impl_->apps[app.app_id] = std::move(app);
}

void Embedded::unregister_app(const std::string& app_id) {
  std::unique_lock<std::mutex> lock(impl_->apps_mu);
  impl_->apps.erase(app_id);
  impl_->busy_cv.wait(lock, [&] { return impl_->busy[app_id] == 0; });
}

std::string Embedded::describe() const { return "embedded (no sidecar)"; }

void Embedded::flush() {
  std::unique_lock<std::mutex> lock(impl_->q_mu);
  impl_->idle_cv.wait(lock, [&] { return impl_->queue.empty() && impl_->in_flight == 0; });
}

ApiResponse Embedded::call(const ApiRequest& req, const std::string& caller) {
  size_t q = req.target.find('?');
  std::string path = req.target.substr(0, q);
  std::string query = q == std::string::npos ? "" : req.target.substr(q + 1);
  auto seg = segments(path);
  if (seg.size() < 2 || seg[0] != "v1.0") return error(404, "ERR_NOT_FOUND", "not a Dapr API path: " + path);
  if (seg[1] == "invoke") return impl_->invoke(req.method, seg, query, req, caller);
  if (seg[1] == "state") return impl_->state(req.method, seg, query, req, caller);
  if (seg[1] == "publish" && req.method == "POST") return impl_->publish(seg, req, caller);
  if (seg[1] == "secrets" && req.method == "GET") return impl_->secret(seg);
  if (seg[1] == "bindings") return error(501, "ERR_INVOKE_OUTPUT_BINDING", "output bindings need a Dapr sidecar (run the app with scripts/dapr-run)");
  return error(404, "ERR_NOT_FOUND", "embedded mode does not provide " + req.method + " " + path);
}

}  // namespace edgecar::dapr

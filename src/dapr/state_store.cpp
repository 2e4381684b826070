// Embedded Dapr's state store (state_store.hpp).
#include "dapr/state_store.hpp"

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "dapr/api_error.hpp"

namespace edgecar::dapr {

using json = nlohmann::json;

namespace {
http::Response no_content() {
  http::Response r;
  r.status = 204;
  return r;
}
}  // namespace

StateStore::~StateStore() {
  if (db_) sqlite3_close(db_);
}

Expected<void> StateStore::open(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  return open_locked(path);
}

Expected<void> StateStore::open_locked(const std::string& path) {
  if (db_ && path == path_) return {};
  if (db_) sqlite3_close(db_);
  db_ = nullptr;
  if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) {
    std::string m = db_ ? sqlite3_errmsg(db_) : "out of memory";
    if (db_) sqlite3_close(db_);
    db_ = nullptr;
    return Error{ErrorKind::Io, "state store " + path + ": " + m};
  }
  path_ = path;
  char* err = nullptr;
  const char* schema =
      "PRAGMA journal_mode=WAL; PRAGMA busy_timeout=5000;"
      "CREATE TABLE IF NOT EXISTS state (store TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT "
      "NULL, etag INTEGER NOT NULL, PRIMARY KEY (store, key));";
  if (sqlite3_exec(db_, schema, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string m = err ? err : "?";
    sqlite3_free(err);
    return Error{ErrorKind::Io, "state store " + path + ": " + m};
  }
  return {};
}

// The state file: the manifest's dapr.state_file, else EDGECAR_STATE_FILE, else memory.
Expected<void> StateStore::ensure_db() {
  if (db_) return {};
  const char* file = std::getenv("EDGECAR_STATE_FILE");
  return open_locked(file && *file ? file : ":memory:");
}

StateStore::Row StateStore::get(const std::string& store, const std::string& key) {
  Row r;
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db_, "SELECT value, etag FROM state WHERE store = ? AND key = ?", -1, &st,
                     nullptr);
  sqlite3_bind_text(st, 1, store.data(), static_cast<int>(store.size()), SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 2, key.data(), static_cast<int>(key.size()), SQLITE_TRANSIENT);
  if (sqlite3_step(st) == SQLITE_ROW) {
    r.found = true;
    r.value.assign(static_cast<const char*>(sqlite3_column_blob(st, 0)),
                   static_cast<size_t>(sqlite3_column_bytes(st, 0)));
    r.etag = sqlite3_column_int64(st, 1);
  }
  sqlite3_finalize(st);
  return r;
}

// Returns an empty string on success, else the conflict's reason.
std::string StateStore::put(const std::string& store, const std::string& key,
                            const std::string& value, const std::string& etag, bool first_write) {
  Row cur = get(store, key);
  // An ETag, when given, must match; first-write concurrency without one may only
  // create the key (daprd's Redis store refuses such an overwrite too).
  if (!etag.empty() && (!cur.found || std::to_string(cur.etag) != etag))
    return "possible etag mismatch: the value of " + key + " has etag " +
           (cur.found ? std::to_string(cur.etag) : "(none)") + ", not " + etag;
  if (etag.empty() && first_write && cur.found)
    return "first-write concurrency: " + key + " exists and no etag was given";
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db_,
                     "INSERT INTO state (store, key, value, etag) VALUES (?, ?, ?, ?) ON CONFLICT "
                     "(store, key) DO UPDATE SET value = excluded.value, etag = excluded.etag",
                     -1, &st, nullptr);
  sqlite3_bind_text(st, 1, store.data(), static_cast<int>(store.size()), SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 2, key.data(), static_cast<int>(key.size()), SQLITE_TRANSIENT);
  sqlite3_bind_blob(st, 3, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 4, cur.etag + 1);
  int rc = sqlite3_step(st);
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? "" : std::string("sqlite: ") + sqlite3_errmsg(db_);
}

std::string StateStore::del(const std::string& store, const std::string& key,
                            const std::string& etag) {
  Row cur = get(store, key);
  if (!etag.empty() && (!cur.found || std::to_string(cur.etag) != etag))
    return "possible etag mismatch on delete of " + key;
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db_, "DELETE FROM state WHERE store = ? AND key = ?", -1, &st, nullptr);
  sqlite3_bind_text(st, 1, store.data(), static_cast<int>(store.size()), SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 2, key.data(), static_cast<int>(key.size()), SQLITE_TRANSIENT);
  sqlite3_step(st);
  sqlite3_finalize(st);
  return "";
}

void StateStore::exec(const char* sql) {
  sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
}

http::Response StateStore::call(const std::vector<std::string>& seg, const http::Request& req,
                                const std::string& caller) {
  const std::string& method = req.method;
  // seg: v1.0 state STORE [KEY | bulk | transaction]
  if (seg.size() < 3 || seg[2].empty())
    return api_error(400, "ERR_STATE_STORE_NOT_FOUND", "state store name missing");
  const std::string& store = seg[2];
  auto prefixed = [&](const std::string& key) {
    return caller.empty() ? key : caller + "||" + key;
  };
  std::lock_guard<std::mutex> lock(mu_);
  if (auto r = ensure_db(); !r)
    return api_error(500, "ERR_STATE_STORE_NOT_CONFIGURED", r.error().message);
  if (method == "GET" && seg.size() == 4) {
    Row row = get(store, prefixed(seg[3]));
    if (!row.found) return no_content();
    http::Response r;
    r.headers.add("Content-Type", "application/json");
    r.headers.add("ETag", std::to_string(row.etag));
    r.body = row.value;
    return r;
  }
  if (method == "DELETE" && seg.size() == 4) {
    std::string etag = req.headers.get("if-match");
    std::string conflict = del(store, prefixed(seg[3]), etag);
    return conflict.empty() ? no_content() : api_error(409, "ERR_STATE_DELETE", conflict);
  }
  if (method != "POST")
    return api_error(405, "ERR_METHOD_NOT_ALLOWED", method + " " + req.target());
  json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded())
    return api_error(400, "ERR_MALFORMED_REQUEST", "the request body is not JSON");
  if (seg.size() == 3) {  // save: [{key, value, etag?, options?}]
    if (!body.is_array())
      return api_error(400, "ERR_MALFORMED_REQUEST", "expected a JSON array of state items");
    exec("BEGIN");
    for (const auto& item : body) {
      if (!item.is_object() || !item.contains("key") || !item["key"].is_string()) {
        exec("ROLLBACK");
        return api_error(400, "ERR_MALFORMED_REQUEST", "every state item needs a string key");
      }
      std::string etag =
          item.contains("etag") && item["etag"].is_string() ? item["etag"].get<std::string>() : "";
      bool first = item.contains("options") && item["options"].is_object() &&
                   item["options"].value("concurrency", "") == "first-write";
      std::string conflict =
          put(store, prefixed(item["key"]), item.contains("value") ? item["value"].dump() : "null",
              etag, first);
      if (!conflict.empty()) {
        exec("ROLLBACK");
        return api_error(409, "ERR_STATE_SAVE",
                         "failed saving state in state store " + store + ": " + conflict);
      }
    }
    exec("COMMIT");
    return no_content();
  }
  if (seg[3] == "bulk") {
    if (!body.is_object() || !body.contains("keys") || !body["keys"].is_array())
      return api_error(400, "ERR_MALFORMED_REQUEST", "expected {\"keys\": [...]}");
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
    http::Response r;
    r.headers.add("Content-Type", "application/json");
    r.body = out.dump();
    return r;
  }
  if (seg[3] == "transaction") {
    if (!body.is_object() || !body.contains("operations") || !body["operations"].is_array())
      return api_error(400, "ERR_MALFORMED_REQUEST", "expected {\"operations\": [...]}");
    exec("BEGIN");
    for (const auto& op : body["operations"]) {
      std::string kind = op.is_object() ? op.value("operation", "") : "";
      const json& rq = op.is_object() && op.contains("request") ? op["request"] : json();
      if ((kind != "upsert" && kind != "delete") || !rq.is_object() || !rq.contains("key") ||
          !rq["key"].is_string()) {
        exec("ROLLBACK");
        return api_error(
            400, "ERR_MALFORMED_REQUEST",
            "operations are {\"operation\": \"upsert\"|\"delete\", \"request\": {\"key\": ...}}");
      }
      std::string etag =
          rq.contains("etag") && rq["etag"].is_string() ? rq["etag"].get<std::string>() : "";
      std::string conflict =
          kind == "upsert" ? put(store, prefixed(rq["key"]),
                                 rq.contains("value") ? rq["value"].dump() : "null", etag, false)
                           : del(store, prefixed(rq["key"]), etag);
      if (!conflict.empty()) {
        exec("ROLLBACK");
        return api_error(409, "ERR_STATE_TRANSACTION", conflict);
      }
    }
    exec("COMMIT");
    return no_content();
  }
  return api_error(404, "ERR_NOT_FOUND", req.target());
}

}  // namespace edgecar::dapr

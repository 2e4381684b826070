// Embedded Dapr's state store: one SQLite table, keys prefixed with the caller's app id
// (as Dapr's default keyPrefix does), ETags as versions, first-write and last-write
// concurrency, bulk get and transactions.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "edgecar/dapr.hpp"

namespace edgecar::dapr {

class StateStore {
 public:
  ~StateStore();
  // Opens (or creates) the SQLite file; the first call wins over EDGECAR_STATE_FILE.
  Expected<void> open(const std::string& path);
  // /v1.0/state/STORE[/KEY | /bulk | /transaction]: seg holds the decoded path segments.
  http::Response call(const std::vector<std::string>& seg, const http::Request& req,
                      const std::string& caller);

 private:
  struct Row {
    bool found = false;
    std::string value;
    int64_t etag = 0;
  };
  Expected<void> open_locked(const std::string& path);
  Expected<void> ensure_db();
  Row get(const std::string& store, const std::string& key);
  std::string put(const std::string& store, const std::string& key, const std::string& value,
                  const std::string& etag, bool first_write);
  std::string del(const std::string& store, const std::string& key, const std::string& etag);
  void exec(const char* sql);

  std::mutex mu_;
  sqlite3* db_ = nullptr;
  std::string path_;
};

}  // namespace edgecar::dapr

// HTTP messages as the service host, its guests and the Dapr host module exchange them:
// one header list whose look-ups ignore case (RFC 9110 section 5.1), a request and a
// response.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace edgecar::http {

// ASCII case-insensitive equality, as field names compare.
bool iequals(std::string_view a, std::string_view b);

// Header fields in arrival order; repeated fields are kept as sent.
class Headers {
 public:
  using Field = std::pair<std::string, std::string>;
  Headers() = default;
  Headers(std::initializer_list<Field> fields) : fields_(fields) {}

  void add(std::string name, std::string value) {
    fields_.emplace_back(std::move(name), std::move(value));
  }
  // Replaces every field of that name with one.
  void set(std::string name, std::string value);
  void erase(std::string_view name);
  // The first field of that name, or nullptr.
  const std::string* find(std::string_view name) const;
  // The first field's value, or "" when there is none.
  std::string get(std::string_view name) const;
  bool contains(std::string_view name) const { return find(name) != nullptr; }

  auto begin() const { return fields_.begin(); }
  auto end() const { return fields_.end(); }
  size_t size() const { return fields_.size(); }
  bool empty() const { return fields_.empty(); }

 private:
  std::vector<Field> fields_;
};

struct Request {
  std::string method;
  std::string path;   // without the query
  std::string query;  // after '?', undecoded
  Headers headers;
  std::string body;
  std::string remote_addr;
  std::string server_name;
  uint16_t server_port = 0;
  // The target as sent: path, and ?query when there is one.
  std::string target() const { return query.empty() ? path : path + "?" + query; }
};

struct Response {
  unsigned status = 200;
  Headers headers;
  std::string body;
};

}  // namespace edgecar::http

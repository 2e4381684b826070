// Header look-ups and JSON bodies (include/edgecar/http.hpp, http/json.hpp).
#include <algorithm>
#include <cstdio>

#include "edgecar/http.hpp"
#include "http/json.hpp"

namespace edgecar::http {

namespace {
char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}
}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return lower(x) == lower(y); });
}

void Headers::set(std::string name, std::string value) {
  erase(name);
  add(std::move(name), std::move(value));
}

void Headers::erase(std::string_view name) {
  std::erase_if(fields_, [&](const Field& f) { return iequals(f.first, name); });
}

const std::string* Headers::find(std::string_view name) const {
  for (const auto& [k, v] : fields_)
    if (iequals(k, name)) return &v;
  return nullptr;
}

std::string Headers::get(std::string_view name) const {
  const std::string* v = find(name);
  return v ? *v : std::string();
}

std::string json_escape(std::string_view s) {
  std::string o;
  o.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '"':
        o += "\\\"";
        break;
      case '\\':
        o += "\\\\";
        break;
      case '\n':
        o += "\\n";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          o += buf;
        } else {
          o += c;
        }
    }
  }
  return o;
}

Response json_response(unsigned status, const nlohmann::json& body) {
  Response r;
  r.status = status;
  r.headers.add("Content-Type", "application/json");
  // Replace invalid UTF-8 (a guest's bytes) instead of throwing.
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  return r;
}

Response error_response(unsigned status, std::string_view code, std::string_view message,
                        const std::vector<std::string>& backtrace) {
  nlohmann::json body{{"error", code}, {"message", message}};
  if (!backtrace.empty()) body["backtrace"] = backtrace;
  return json_response(status, body);
}

}  // namespace edgecar::http

// CGI environment in, CGI response out (wagi.hpp).
#include "serve/wagi.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace edgecar::serve {

namespace {

std::string trim(std::string s) {
  size_t a = s.find_first_not_of(" \t\r");
  size_t b = s.find_last_not_of(" \t\r");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

std::string cgi_name(const std::string& header) {
  std::string n = "HTTP_";
  for (char c : header)
    n += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return n;
}

}  // namespace

std::vector<std::string> cgi_environment(const http::Request& req, const std::string& script_name) {
  std::vector<std::string> env = {
      "GATEWAY_INTERFACE=CGI/1.1",
      "SERVER_PROTOCOL=HTTP/1.1",
      "SERVER_SOFTWARE=edgecar",
      "REQUEST_METHOD=" + req.method,
      "PATH_INFO=" + req.path,
      "SCRIPT_NAME=" + script_name,
      "QUERY_STRING=" + req.query,
      "REMOTE_ADDR=" + req.remote_addr,
      "SERVER_NAME=" + req.server_name,
      "SERVER_PORT=" + std::to_string(req.server_port),
      "CONTENT_LENGTH=" + std::to_string(req.body.size()),
  };
  // Header fields become HTTP_* variables (RFC 3875 section 4.1.18) so that no two
  // fields can claim one variable: names with an underscore are dropped (X_Test and
  // X-Test would both be HTTP_X_TEST; nginx and Apache drop them too), Proxy is dropped
  // (httpoxy: many HTTP clients read HTTP_PROXY as their proxy), and repeated fields are
  // joined into one value with the same meaning (", ", or "; " for Cookie).
  std::vector<std::pair<std::string, std::string>> vars;
  bool typed = false;
  for (const auto& [name, value] : req.headers) {
    if (http::iequals(name, "content-type")) {
      if (!typed) env.push_back("CONTENT_TYPE=" + value);
      typed = true;
      continue;
    }
    if (http::iequals(name, "content-length") || http::iequals(name, "proxy") ||
        name.find('_') != std::string::npos)
      continue;
    std::string var = cgi_name(name);
    auto it = std::find_if(vars.begin(), vars.end(), [&](const auto& v) { return v.first == var; });
    if (it == vars.end()) {
      vars.emplace_back(std::move(var), value);
    } else {
      it->second += (http::iequals(name, "cookie") ? "; " : ", ") + value;
    }
  }
  for (auto& [var, value] : vars) env.push_back(var + "=" + value);
  return env;
}

http::Response parse_cgi_output(std::string out) {
  http::Response r;
  // Headers are present when the output starts with "Name: value" lines ending in a
  // blank line and naming Content-Type, Status or Location; otherwise it is all body.
  size_t end = out.find("\n\n");
  size_t crlf = out.find("\r\n\r\n");
  size_t body_at = std::string::npos;
  if (crlf != std::string::npos && (end == std::string::npos || crlf < end)) {
    end = crlf;
    body_at = crlf + 4;
  } else if (end != std::string::npos) {
    body_at = end + 2;
  }
  if (end != std::string::npos && end < 16384) {
    http::Headers hs;
    bool valid = true, recognised = false;
    size_t pos = 0;
    while (pos < end) {
      size_t nl = out.find('\n', pos);
      if (nl == std::string::npos || nl > end) nl = end;
      std::string line = out.substr(pos, nl - pos);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      size_t colon = line.find(':');
      bool token = colon != std::string::npos && colon > 0;
      for (size_t i = 0; token && i < colon; ++i) {
        char c = line[i];
        token = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
      }
      if (!token) {
        valid = false;
        break;
      }
      std::string name = line.substr(0, colon);
      if (http::iequals(name, "content-type") || http::iequals(name, "status") ||
          http::iequals(name, "location"))
        recognised = true;
      hs.add(std::move(name), trim(line.substr(colon + 1)));
      pos = nl + 1;
    }
    if (valid && recognised) {
      for (const auto& [name, value] : hs) {
        if (http::iequals(name, "status")) {
          unsigned code = static_cast<unsigned>(std::atoi(value.c_str()));
          r.status = code >= 100 && code <= 599 ? code : 500;
        } else {
          if (http::iequals(name, "location") && r.status == 200) r.status = 302;
          r.headers.add(name, value);
        }
      }
      out.erase(0, body_at);  // the body stays where it is: no second copy
      r.body = std::move(out);
      return r;
    }
  }
  r.headers.add("Content-Type", "application/octet-stream");
  r.body = std::move(out);
  return r;
}

}  // namespace edgecar::serve

// The WAGI (CGI-style) ABI: a WASI command gets the request body on stdin and its
// metadata in CGI environment variables (RFC 3875 section 4.1), and answers on stdout,
// optionally with CGI headers (Content-Type:, Status:, Location:, others) and a blank line.
#pragma once

#include <string>
#include <vector>

#include "edgecar/http.hpp"

namespace edgecar::serve {

// The CGI variables of a request to the function at `script_name`.
std::vector<std::string> cgi_environment(const http::Request& req, const std::string& script_name);

// Splits CGI output into status, headers and body (RFC 3875 section 6).
http::Response parse_cgi_output(std::string out);

}  // namespace edgecar::serve

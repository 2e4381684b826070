// JSON bodies of HTTP responses, built by one serializer so that every string in them
// (a path, a guest's message) is escaped.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "edgecar/http.hpp"

namespace edgecar::http {

// The contents of a JSON string literal for s (quotes, backslashes, control characters),
// for hand-built lines on hot paths such as the access log.
std::string json_escape(std::string_view s);

// A response with Content-Type application/json and the body serialized from `body`.
Response json_response(unsigned status, const nlohmann::json& body);

// edgecar's error body: {"error": code, "message": message[, "backtrace": [...]]}.
Response error_response(unsigned status, std::string_view code, std::string_view message,
                        const std::vector<std::string>& backtrace = {});

}  // namespace edgecar::http

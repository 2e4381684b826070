// Dapr's error body for its HTTP API, {"errorCode": ..., "message": ...}: what embedded
// Dapr's routes (invocation, state, pub/sub, secrets) answer when a request fails.
#pragma once

#include <string_view>

#include "http/json.hpp"

namespace edgecar::dapr {

inline http::Response api_error(unsigned status, std::string_view code, std::string_view message) {
  return http::json_response(status, {{"errorCode", code}, {"message", message}});
}

}  // namespace edgecar::dapr

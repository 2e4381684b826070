// The handler ABI: a reactor exporting edgecar_alloc and edgecar_handle, reading its
// request and writing its response through the edgecar_http host functions
// (sdk/c/edgecar.h).
#pragma once

#include <string>

#include "edgecar/edgecar.hpp"
#include "edgecar/http.hpp"

namespace edgecar::serve {

// The request and response of one handler call, reached by the edgecar_http functions.
struct HttpExchange {
  const http::Request& request;
  http::Response response;
  uint64_t max_body = UINT64_MAX;  // the function's max_response_bytes
  uint32_t max_headers = UINT32_MAX;
  bool too_large = false;  // a limit stopped the guest
};

// The edgecar_http functions, created once; each call reaches the HttpExchange set on
// its store with attach_exchange.
const HostFunctions& http_functions();
void attach_exchange(Store& store, HttpExchange& exchange);

// Copies the body in through edgecar_alloc, then calls edgecar_handle; its result is
// the HTTP status.
Expected<int32_t> run_handler(Store& store, Instance* instance, const std::string& body);

}  // namespace edgecar::serve

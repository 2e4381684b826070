// The dapr host module: Dapr's building blocks for guest functions (service invocation,
// state, pub/sub, secrets, output bindings). Every call is a request to Dapr's HTTP API
// (/v1.0/...), answered either by the app's sidecar daprd (DAPR_HTTP_PORT, with
// DAPR_API_TOKEN and the incoming traceparent) or, with no sidecar, by edgecar itself
// (embedded mode: app ids resolve to the apps this process serves, state lives in a
// SQLite file, pub/sub is delivered in process). The same guest runs unchanged in both.
//
// Guests get a response handle for every call (status, headers, body); daprd's errors
// arrive as its status and JSON body ({"errorCode", "message"}), an unreachable sidecar
// as status 503 with an edgecar error body. Negative results are guest mistakes only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "edgecar/edgecar.hpp"
#include "edgecar/http.hpp"

namespace edgecar::dapr {

// A call to Dapr's HTTP API: method, path ("/v1.0/state/statestore/key"), query,
// headers and body; the answer is daprd's (or embedded mode's) response.
using ApiRequest = http::Request;
using ApiResponse = http::Response;

class Backend {
 public:
  virtual ~Backend() = default;
  // `caller` is the calling app's id (embedded mode namespaces state by it).
  virtual ApiResponse call(const ApiRequest& request, const std::string& caller) = 0;
  virtual std::string describe() const = 0;
};

// daprd's HTTP API on host:port; api_token is sent as dapr-api-token when not empty.
std::shared_ptr<Backend> sidecar(std::string host, uint16_t port, std::string api_token,
                                 uint32_t timeout_ms = 30'000);

// A pub/sub subscription of an app, as /dapr/subscribe reports it.
struct Subscription {
  std::string pubsub, topic, route;
  std::vector<std::pair<std::string, std::string>> rules;  // (CEL match, path)
  std::string dead_letter_topic;
  int line = 0;  // where a manifest declares it (for messages)
};

// The backend edgecar uses: the sidecar when DAPR_HTTP_PORT is set, else embedded (the
// process's own, answering in process; see src/dapr/embedded.hpp).
std::shared_ptr<Backend> from_environment();

// The dapr state of one store (one request): backend, caller, trace context, and the
// responses the guest has not closed.
class Context {
 public:
  Context(std::shared_ptr<Backend> backend, std::string app_id, std::string traceparent);
  ~Context();
  void attach(Store& store);
  static const HostFunctions& shared_functions();
  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace edgecar::dapr

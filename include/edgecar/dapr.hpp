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

namespace edgecar::dapr {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct ApiRequest {
  std::string method;  // GET, POST, ...
  std::string target;  // "/v1.0/state/statestore/key?..."
  Headers headers;
  std::string body;
};

struct ApiResponse {
  unsigned status = 200;
  Headers headers;
  std::string body;
  std::string header(std::string_view name) const;
};

class Backend {
 public:
  virtual ~Backend() = default;
  // `caller` is the calling app's id (embedded mode namespaces state by it).
  virtual ApiResponse call(const ApiRequest& request, const std::string& caller) = 0;
  virtual std::string describe() const = 0;
};

// daprd's HTTP API on host:port; api_token is sent as dapr-api-token when not empty.
std::shared_ptr<Backend> sidecar(std::string host, uint16_t port, std::string api_token, uint32_t timeout_ms = 30'000);

// A pub/sub subscription of an app, as /dapr/subscribe reports it.
struct Subscription {
  std::string pubsub, topic, route;
  std::vector<std::pair<std::string, std::string>> rules;  // (CEL match, path)
  std::string dead_letter_topic;
};

// What embedded mode needs from an app served by this process.
struct LocalApp {
  std::string app_id;
  std::vector<Subscription> subscriptions;
  // Runs a request against the app's routes (method, path, query, headers, body).
  std::function<ApiResponse(const std::string& method, const std::string& path, const std::string& query, const Headers& headers,
                            const std::string& body)>
      handle;
};

// The process's embedded Dapr: apps register themselves as they start.
class Embedded final : public Backend {
 public:
  static Embedded& instance();
  // State is kept in this SQLite file (created if missing); call before the first use.
  Expected<void> open_state(const std::string& path);
  void register_app(LocalApp app);
  // Returns once no invocation or delivery into the app is still running.
  void unregister_app(const std::string& app_id);
  ApiResponse call(const ApiRequest& request, const std::string& caller) override;
  std::string describe() const override;
  // Waits until every published event has been delivered (or given up on); for tests.
  void flush();
  ~Embedded() override;

  struct Impl;

 private:
  Embedded();
  std::unique_ptr<Impl> impl_;
};

// The backend edgecar uses: the sidecar when DAPR_HTTP_PORT is set, else embedded.
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

// A function of the service: its module loaded and validated once, run per request in
// a fresh store and instance, with one of two ABIs:
//  - WAGI (CGI-style): the request body on stdin, request metadata in CGI environment
//    variables, the response on stdout, optionally preceded by CGI headers
//    (Content-Type:, Status:, others) and a blank line;
//  - handler: exports edgecar_alloc/edgecar_handle, imports edgecar_http (sdk/c/edgecar.h).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "edgecar/edgecar.hpp"
#include "edgecar/dapr.hpp"
#include "edgecar/nn.hpp"
#include "serve/manifest.hpp"

namespace edgecar::serve {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method;
  std::string path;
  std::string query;
  Headers headers;
  std::string body;
  std::string remote_addr;
  std::string server_name;
  uint16_t server_port = 0;
};

struct Response {
  unsigned status = 200;
  Headers headers;
  std::string body;
};

enum class Outcome { Ok, Trap, Timeout, Failed };

struct Invocation {
  Response response;
  Outcome outcome = Outcome::Ok;
};

class Deadlines;

class Function {
 public:
  static Expected<std::shared_ptr<Function>> load(const FunctionSpec& spec);
  const FunctionSpec& spec() const { return spec_; }
  // Runs one request in a fresh instance; never throws, every failure is a response.
  Invocation invoke(const Request& req, Deadlines& deadlines) const;

 private:
  FunctionSpec spec_;
  std::shared_ptr<const Module> module_;
  Imports imports_;  // shared host functions, resolved per request by the store
  bool nn_ = false;  // granted wasi_nn
  nn::GraphSet graphs_;  // its preloaded models, shared by every request
  std::shared_ptr<dapr::Backend> dapr_;  // set when granted the dapr module
};

// One thread that interrupts stores whose deadline passed (sleeps until the next one).
class Deadlines {
 public:
  Deadlines();
  ~Deadlines();
  uint64_t arm(Store& store, uint32_t timeout_ms);
  void disarm(uint64_t id);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// The request and response of one handler-ABI call, reached by the edgecar_http host
// functions.
struct HttpExchange {
  const Request& request;
  Response response;
};
// The edgecar_http host module, created once; each call reaches the HttpExchange set on
// its store with attach_exchange.
const HostFunctions& http_functions();
void attach_exchange(Store& store, HttpExchange& exchange);
// Copies the body in through edgecar_alloc, then calls edgecar_handle.
Expected<void> run_handler(Store& store, Instance* instance, const std::string& body, int32_t& status);

// The contents of a JSON string literal for s (quotes, backslashes, control characters).
std::string json_escape(const std::string& s);

// Splits CGI output into status, headers and body (spec: RFC 3875 section 6).
Response parse_cgi_output(std::string out);

}  // namespace edgecar::serve

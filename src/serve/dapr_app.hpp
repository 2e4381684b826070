// Dapr's app protocol as `edgecar serve` speaks it: GET /dapr/subscribe and /dapr/config,
// input-binding probes, and pub/sub deliveries whose function's answer becomes Dapr's
// {"status": SUCCESS | RETRY | DROP}.
#pragma once

#include <optional>
#include <string>

#include "edgecar/http.hpp"
#include "serve/function.hpp"
#include "serve/service.hpp"

namespace edgecar::serve {

// The answer to a Dapr endpoint of the app protocol, or nullopt when the request is not
// one (`fn` is the function routed to, -1 for none).
std::optional<http::Response> dapr_endpoint(const Service& svc, int fn, const http::Request& req);

// A pub/sub delivery: a CloudEvent POSTed to a subscription's route (daprd and embedded
// Dapr send application/cloudevents+json). Other calls to the same route, such as a
// service invocation, get the function's own response.
bool is_delivery(const Service& svc, const http::Request& req);

// Dapr's pub/sub contract for a delivery's outcome.
http::Response pubsub_outcome(Invocation inv);

}  // namespace edgecar::serve

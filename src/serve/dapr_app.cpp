// The Dapr app protocol (dapr_app.hpp).
#include "serve/dapr_app.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "http/json.hpp"

namespace edgecar::serve {

namespace {

// GET /dapr/subscribe: the manifest's subscriptions in Dapr's programmatic format.
nlohmann::json subscriptions_json(const Manifest& m) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& sub : m.subscriptions) {
    nlohmann::json j{{"pubsubname", sub.pubsub}, {"topic", sub.topic}};
    if (sub.rules.empty()) {
      j["route"] = sub.route;
    } else {
      nlohmann::json rules = nlohmann::json::array();
      for (const auto& [match, path] : sub.rules)
        rules.push_back({{"match", match}, {"path", path}});
      j["routes"] = {{"rules", rules}, {"default", sub.route}};
    }
    if (!sub.dead_letter_topic.empty()) j["deadLetterTopic"] = sub.dead_letter_topic;
    out.push_back(j);
  }
  return out;
}

}  // namespace

std::optional<http::Response> dapr_endpoint(const Service& svc, int fn, const http::Request& req) {
  if (fn < 0 && req.path == "/dapr/subscribe" && req.method == "GET")
    return http::json_response(200, subscriptions_json(svc.manifest));
  if (fn < 0 && req.path == "/dapr/config" && req.method == "GET")
    return http::json_response(200, nlohmann::json::object());
  // daprd's probe for an input binding.
  if (req.method == "OPTIONS" && req.path.size() > 1 &&
      std::find(svc.manifest.bindings.begin(), svc.manifest.bindings.end(), req.path.substr(1)) !=
          svc.manifest.bindings.end()) {
    http::Response r;
    r.headers.add("Content-Type", "application/json");
    return r;
  }
  return std::nullopt;
}

bool is_delivery(const Service& svc, const http::Request& req) {
  if (req.method != "POST" ||
      req.headers.get("content-type").substr(0, 28) != "application/cloudevents+json")
    return false;
  for (const auto& sub : svc.manifest.subscriptions) {
    if (sub.route == req.path) return true;
    for (const auto& [match, p] : sub.rules)
      if (p == req.path) return true;
  }
  return false;
}

// A function may answer {"status": ...} itself; otherwise 2xx is SUCCESS, 4xx DROP,
// and 5xx, a trap or a timeout RETRY.
http::Response pubsub_outcome(Invocation inv) {
  std::string status = "SUCCESS";
  if (inv.outcome != Outcome::Ok || inv.response.status >= 500) {
    status = "RETRY";
  } else if (inv.response.status >= 400) {
    status = "DROP";
  } else {
    auto body = nlohmann::json::parse(inv.response.body, nullptr, false);
    if (body.is_object() && body.contains("status") && body["status"].is_string()) {
      std::string s = body["status"];
      if (s == "SUCCESS" || s == "RETRY" || s == "DROP") status = s;
    }
  }
  return http::json_response(200, {{"status", status}});
}

}  // namespace edgecar::serve

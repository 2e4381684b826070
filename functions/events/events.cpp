// events: the demo's event log. Subscribed (through Dapr pub/sub) to the topic the
// grayscale and classify functions publish to; keeps the latest events in the state
// store under one key, updated with ETags (first-write concurrency, retried on
// conflict), and lists them.
//   POST /events/record   a CloudEvent from Dapr -> {"status": "SUCCESS" | "RETRY" | "DROP"}
//   GET  /events          the latest events, newest first (JSON array)
#define JSON_NOEXCEPTION
#include <nlohmann/json.hpp>

#include "../common.hpp"

using json = nlohmann::json;

namespace {

void answer(const std::string& body) {
  std::printf("Content-Type: application/json\n\n%s\n", body.c_str());
}

const char* store() {
  return demo::env_or("STATE_STORE", "statestore");
}
constexpr const char* kKey = "events";

}  // namespace

int main() {
  std::string method = demo::env_or("REQUEST_METHOD", "GET");
  std::string path = demo::env_or("PATH_INFO", "/events");
  size_t keep = static_cast<size_t>(std::atoi(demo::env_or("KEEP_EVENTS", "100")));

  if (method == "GET") {
    dapr_response r = dapr_state_get(store(), kKey);
    if (r.status == 204)
      answer("[]");
    else if (r.status == 200)
      answer(r.body ? r.body : "[]");
    else
      demo::fail(502, "state",
                 std::string("the state store answered ") + std::to_string(r.status) + ": " +
                     (r.body ? r.body : ""));
    return 0;
  }

  std::vector<uint8_t> body = demo::read_stdin();
  json ce = json::parse(std::string(body.begin(), body.end()), nullptr, false);
  if (!ce.is_object() || !ce.contains("data")) {
    answer("{\"status\":\"DROP\"}");  // not a CloudEvent with data: retrying cannot help
    return 0;
  }
  json event = ce["data"];
  if (event.is_string()) event = json::parse(event.get<std::string>(), nullptr, false);
  if (!event.is_object()) {
    answer("{\"status\":\"DROP\"}");
    return 0;
  }
  if (ce.contains("id") && ce["id"].is_string()) event["id"] = ce["id"];
  for (int attempt = 0; attempt < 10; ++attempt) {
    dapr_response got = dapr_state_get(store(), kKey);
    if (got.status != 200 && got.status != 204) {
      dapr_response_free(&got);
      break;
    }
    json list =
        got.status == 200 && got.body ? json::parse(got.body, nullptr, false) : json::array();
    std::string etag = got.etag;
    dapr_response_free(&got);
    if (!list.is_array()) list = json::array();
    // Delivery is at least once: an event already recorded is not added again.
    bool seen = false;
    for (const auto& e : list)
      seen = seen ||
             (event.contains("id") && e.is_object() && e.contains("id") && e["id"] == event["id"]);
    if (seen) {
      answer("{\"status\":\"SUCCESS\"}");
      return 0;
    }
    list.insert(list.begin(), event);
    while (list.size() > keep) list.erase(list.end() - 1);
    dapr_response saved = dapr_state_save(store(), kKey, list.dump().c_str(), etag.c_str(), 1);
    int status = saved.status;
    dapr_response_free(&saved);
    if (status == 204 || status == 200) {
      answer("{\"status\":\"SUCCESS\"}");
      return 0;
    }
    if (status != 409) break;  // not a conflict: let Dapr retry later
  }
  answer("{\"status\":\"RETRY\"}");
  return 0;
}

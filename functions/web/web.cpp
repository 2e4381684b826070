// web: the demo's API behind its page, as the original web service: POST /api/hello
// forwards the uploaded image to the classify or grayscale service according to the
// request header `api`, through Dapr service invocation (the dapr host module: the
// app's daprd, or edgecar's embedded Dapr); GET /api/events lists the recorded events
// from the events service.
#include "../common.hpp"

namespace {

// Passes a service's answer through: status, content type, body.
void relay(const dapr_response& r, const char* service) {
  if (r.status < 0)
    demo::fail(500, "dapr",
               "the dapr host module refused the call (" + std::to_string(r.status) + ")");
  // No such app (embedded) or no sidecar / no route (daprd): the service is down.
  bool down =
      r.status == 503 ||
      (r.status >= 500 && r.body &&
       (std::strstr(r.body, "ERR_DIRECT_INVOKE") || std::strstr(r.body, "ERR_EDGECAR_SIDECAR")));
  if (down)
    demo::fail(503, "unavailable",
               std::string("the ") + service + " service is not available right now");
  std::printf("Status: %d\nContent-Type: %s\n\n", r.status,
              r.content_type[0] ? r.content_type : "application/octet-stream");
  std::fflush(stdout);
  if (r.body_len > 0) std::fwrite(r.body, 1, static_cast<size_t>(r.body_len), stdout);
}

}  // namespace

int main() {
  std::string method = demo::env_or("REQUEST_METHOD", "GET");
  std::string path = demo::env_or("PATH_INFO", "/");
  if (path == "/api/events" && method == "GET") {
    dapr_response r = dapr_invoke(demo::env_or("EVENTS_APP", "events"), "events", "GET", "", 0, "");
    relay(r, "events");
    dapr_response_free(&r);
    return 0;
  }
  if (path != "/api/hello" || method != "POST")
    demo::fail(404, "not_found", "POST /api/hello or GET /api/events");
  // Our page says `api: classify` or `api: grayscale`; the original web service's clients
  // said `api: go` for the Go service (classification) and anything else for the Rust one
  // (grayscale), and are answered the same way.
  std::string header = demo::env_or("HTTP_API", "");
  std::string api = header == "classify" || header == "go" ? "classify" : "grayscale";
  std::vector<uint8_t> image = demo::read_stdin();
  if (image.empty()) demo::fail(400, "empty", "no image in the request body");
  std::string target = api == "classify" ? demo::env_or("CLASSIFY_APP", "classify")
                                         : demo::env_or("GRAYSCALE_APP", "grayscale");
  // The service sees the browser as its client (rate limits, event records).
  std::string headers = std::string("X-Forwarded-For: ") + demo::env_or("REMOTE_ADDR", "unknown") +
                        "\nAccept: " + demo::env_or("HTTP_ACCEPT", "*/*") + "\n";
  dapr_response r = dapr_invoke_with_headers(
      target.c_str(), api.c_str(), "POST", image.data(), image.size(),
      demo::env_or("CONTENT_TYPE", "application/octet-stream"), headers.c_str());
  relay(r, api.c_str());
  dapr_response_free(&r);
  return 0;
}

// Shared by the demo's C++ functions (WAGI commands): reading the request, answering
// with CGI headers under edgecar serve (or plain output under edgecar run), recording
// events and rate limiting through Dapr.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "dapr.h"

namespace demo {

inline bool cgi() {
  return std::getenv("GATEWAY_INTERFACE") != nullptr;
}

inline const char* env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

inline std::vector<uint8_t> read_stdin() {
  std::vector<uint8_t> data;
  uint8_t buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, stdin)) > 0) data.insert(data.end(), buf, buf + n);
  return data;
}

inline std::string json_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      char b[8];
      std::snprintf(b, sizeof b, "\\u%04x", c);
      o += b;
      continue;
    }
    o += c;
  }
  return o;
}

// Ends the request: an HTTP status with a JSON error under serve, exit code 1 under run.
[[noreturn]] inline void fail(int status, const char* reason, const std::string& message) {
  if (cgi()) {
    std::printf(
        "Status: %d\nContent-Type: application/json\n\n{\"error\":\"%s\",\"message\":\"%s\"}\n",
        status, reason, json_escape(message).c_str());
    std::exit(0);
  }
  std::fprintf(stderr, "%s\n", message.c_str());
  std::exit(1);
}

// The client as the web app saw it (X-Forwarded-For), else the direct peer.
inline std::string client() {
  const char* fwd = std::getenv("HTTP_X_FORWARDED_FOR");
  if (fwd && *fwd) return std::string(fwd).substr(0, std::string(fwd).find(','));
  return env_or("REMOTE_ADDR", "local");
}

// RATE_LIMIT_PER_MINUTE (0: off): counts requests per client and minute in the state
// store, with first-write concurrency so concurrent requests cannot lose counts.
inline void rate_limit(const char* operation) {
  int limit = std::atoi(env_or("RATE_LIMIT_PER_MINUTE", "0"));
  if (!cgi() || limit <= 0) return;
  std::string key = std::string("ratelimit|") + operation + "|" + client() + "|" +
                    std::to_string(std::time(nullptr) / 60);
  const char* store = env_or("STATE_STORE", "statestore");
  for (int attempt = 0; attempt < 8; ++attempt) {
    dapr_response got = dapr_state_get(store, key.c_str());
    if (got.status != 200 && got.status != 204) {
      dapr_response_free(&got);
      return;  // the store is unavailable: serve rather than refuse
    }
    int count = got.status == 200 && got.body ? std::atoi(got.body) : 0;
    std::string etag = got.etag;
    dapr_response_free(&got);
    if (count >= limit)
      fail(429, "rate_limited",
           "more than " + std::to_string(limit) + " " + operation + " requests this minute from " +
               client());
    dapr_response saved =
        dapr_state_save(store, key.c_str(), std::to_string(count + 1).c_str(), etag.c_str(), 1);
    int status = saved.status;
    dapr_response_free(&saved);
    if (status == 204 || status == 200) return;
    if (status != 409) return;
  }
}

// With RECORD_EVENTS=on, publishes {operation, bytes, time, caller} to the events topic;
// failures are logged, never fatal (the answer matters more than its record).
inline void record(const char* operation, size_t input_bytes) {
  if (!cgi() || std::strcmp(env_or("RECORD_EVENTS", "off"), "on") != 0) return;
  char ts[32];
  std::time_t now = std::time(nullptr);
  std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  std::string event = std::string("{\"operation\":\"") + operation +
                      "\",\"bytes\":" + std::to_string(input_bytes) + ",\"time\":\"" + ts +
                      "\",\"caller\":\"" + json_escape(client()) + "\"}";
  dapr_response r = dapr_publish(env_or("PUBSUB", "pubsub"), env_or("EVENTS_TOPIC", "events"),
                                 event.data(), event.size(), "application/json");
  if (r.status != 204 && r.status != 200)
    std::fprintf(stderr, "recording the event failed: %d %s\n", r.status, r.body ? r.body : "");
  dapr_response_free(&r);
}

}  // namespace demo

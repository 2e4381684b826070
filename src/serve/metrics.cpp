// Metrics and the access log (metrics.hpp).
#include "serve/metrics.hpp"

#include <chrono>
#include <cstdio>
#include <sstream>

#include "http/json.hpp"

namespace edgecar::serve {

void Metrics::observe(double seconds) {
  size_t i = 0;
  while (i < std::size(kBuckets) && seconds > kBuckets[i]) ++i;
  buckets[i]++;
  latency_us_sum += static_cast<uint64_t>(seconds * 1e6);
}

void Metrics::count(unsigned status) {
  requests++;
  (status >= 500 ? server_errors : status >= 400 ? client_errors : ok)++;
}

Metrics& AppMetrics::of(const std::string& function) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& m = by_function_[function];
  if (!m) m = std::make_unique<Metrics>();
  return *m;
}

std::string AppMetrics::prometheus() const {
  std::ostringstream o;
  auto family = [&](const char* name, const char* type, const char* help) {
    o << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
  };
  auto each = [&](auto fn) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [name, m] : by_function_) fn(name, *m);
  };
  family("edgecar_requests_total", "counter", "Requests handled by a function, by status class.");
  each([&](const std::string& n, const Metrics& m) {
    o << "edgecar_requests_total{function=\"" << n << "\",class=\"2xx\"} " << m.ok << "\n";
    o << "edgecar_requests_total{function=\"" << n << "\",class=\"4xx\"} " << m.client_errors
      << "\n";
    o << "edgecar_requests_total{function=\"" << n << "\",class=\"5xx\"} " << m.server_errors
      << "\n";
  });
  family("edgecar_runs_total", "counter",
         "Instances run by a function, by tier (interp, or native code).");
  each([&](const std::string& n, const Metrics& m) {
    o << "edgecar_runs_total{function=\"" << n << "\",engine=\"interp\"} " << m.interp_runs << "\n";
    o << "edgecar_runs_total{function=\"" << n << "\",engine=\"native\"} " << m.native_runs << "\n";
  });
  family("edgecar_traps_total", "counter", "Guest traps.");
  each([&](const std::string& n, const Metrics& m) {
    o << "edgecar_traps_total{function=\"" << n << "\"} " << m.traps << "\n";
  });
  family("edgecar_timeouts_total", "counter", "Guests interrupted at their time limit.");
  each([&](const std::string& n, const Metrics& m) {
    o << "edgecar_timeouts_total{function=\"" << n << "\"} " << m.timeouts << "\n";
  });
  family("edgecar_rejected_total", "counter",
         "Requests refused with 503 because the worker queue was full.");
  each([&](const std::string& n, const Metrics& m) {
    o << "edgecar_rejected_total{function=\"" << n << "\"} " << m.rejected << "\n";
  });
  family("edgecar_abandoned_total", "counter",
         "Queued requests not run because their client went away.");
  each([&](const std::string& n, const Metrics& m) {
    o << "edgecar_abandoned_total{function=\"" << n << "\"} " << m.abandoned << "\n";
  });
  family("edgecar_instances_in_use", "gauge", "Instances running a request now.");
  each([&](const std::string& n, const Metrics& m) {
    o << "edgecar_instances_in_use{function=\"" << n << "\"} " << m.in_flight << "\n";
  });
  family("edgecar_request_duration_seconds", "histogram",
         "Time to run a function, instantiation included.");
  each([&](const std::string& n, const Metrics& m) {
    uint64_t cum = 0;
    for (size_t b = 0; b < std::size(Metrics::kBuckets); ++b) {
      cum += m.buckets[b];
      o << "edgecar_request_duration_seconds_bucket{function=\"" << n << "\",le=\""
        << Metrics::kBuckets[b] << "\"} " << cum << "\n";
    }
    cum += m.buckets[std::size(Metrics::kBuckets)];
    o << "edgecar_request_duration_seconds_bucket{function=\"" << n << "\",le=\"+Inf\"} " << cum
      << "\n";
    o << "edgecar_request_duration_seconds_sum{function=\"" << n << "\"} "
      << static_cast<double>(m.latency_us_sum) / 1e6 << "\n";
    o << "edgecar_request_duration_seconds_count{function=\"" << n << "\"} " << cum << "\n";
  });
  family("edgecar_open_connections", "gauge", "Open client connections.");
  o << "edgecar_open_connections " << open_connections << "\n";
  return o.str();
}

AccessLog::AccessLog() : flusher_([this] { loop(); }) {}

AccessLog::~AccessLog() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  flusher_.join();
}

void AccessLog::append(const std::string& line) {
  bool full;
  {
    std::lock_guard<std::mutex> lock(mu_);
    buf_ += line;
    full = buf_.size() >= kFlushBytes;
  }
  if (full) cv_.notify_one();
}

void AccessLog::request(const std::string& remote, const std::string& method,
                        const std::string& target, unsigned status, double ms, size_t bytes,
                        const std::string& function) {
  char nums[128];
  std::snprintf(nums, sizeof nums, "\",\"status\":%u,\"ms\":%.3f,\"bytes\":%zu,\"function\":\"",
                status, ms, bytes);
  char ts[32];
  std::snprintf(
      ts, sizeof ts, "%.3f",
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
  append(std::string("{\"ts\":") + ts + ",\"remote\":\"" + http::json_escape(remote) +
         "\",\"method\":\"" + http::json_escape(method) + "\",\"target\":\"" +
         http::json_escape(target.size() > 200 ? target.substr(0, 200) + "..." : target) + nums +
         http::json_escape(function) + "\"}\n");
}

void AccessLog::loop() {
  std::string out;
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait_for(lock, std::chrono::milliseconds(50),
                 [&] { return stop_ || buf_.size() >= kFlushBytes; });
    out.swap(buf_);
    bool stop = stop_;
    lock.unlock();
    if (!out.empty()) {
      std::fwrite(out.data(), 1, out.size(), stderr);
      std::fflush(stderr);
      out.clear();
    }
    if (stop) return;
    lock.lock();
  }
}

}  // namespace edgecar::serve

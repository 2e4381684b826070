// What `edgecar serve` counts and logs: Prometheus metrics per function (requests by
// status class, traps, timeouts, instances in use, a latency histogram) and the
// structured access log (one JSON object per line on stderr).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace edgecar::serve {

struct Metrics {
  static constexpr double kBuckets[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1,
                                        0.25,  0.5,   1,    2.5,   5,    10};
  std::atomic<uint64_t> requests{0}, ok{0}, client_errors{0}, server_errors{0}, traps{0},
      timeouts{0}, in_flight{0}, rejected{0}, abandoned{0}, interp_runs{0}, native_runs{0};
  std::atomic<uint32_t> pending{0};  // admitted requests not finished (for max_concurrent)
  std::atomic<uint64_t> buckets[std::size(kBuckets) + 1] = {};
  std::atomic<uint64_t> latency_us_sum{0};

  void observe(double seconds);
  // One answered request: its status class (and its latency, for functions).
  void count(unsigned status);
};

// The metrics of an app: one set per function name (kept across reloads) and one for
// everything else (static files, health, errors).
class AppMetrics {
 public:
  Metrics& of(const std::string& function);
  Metrics other;
  std::atomic<uint64_t> open_connections{0};
  // The Prometheus text exposition format (version 0.0.4).
  std::string prometheus() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Metrics>> by_function_;
};

// Lines are collected in memory and written by a flusher thread every 50 ms (sooner past
// 64 KB), so a request costs no system call and no wait on the terminal or file behind
// stderr; flushed whole when the log is destroyed.
class AccessLog {
 public:
  AccessLog();
  ~AccessLog();
  void append(const std::string& line);
  // One request's line.
  void request(const std::string& remote, const std::string& method, const std::string& target,
               unsigned status, double ms, size_t bytes, const std::string& function);

 private:
  static constexpr size_t kFlushBytes = 64 * 1024;
  void loop();
  std::mutex mu_;
  std::condition_variable cv_;
  std::string buf_;
  bool stop_ = false;
  std::thread flusher_;
};

}  // namespace edgecar::serve

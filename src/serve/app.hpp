// One app of `edgecar serve`: the service version it runs (swapped whole by hot
// reload), its workers, deadlines, metrics and access log, and the one request pipeline
// (dispatch) used by its HTTP sessions and by embedded Dapr alike.
#pragma once

#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "dapr/apps.hpp"
#include "edgecar/http.hpp"
#include "serve/deadlines.hpp"
#include "serve/metrics.hpp"
#include "serve/service.hpp"

namespace edgecar::serve {

// Who sent a request: a client over HTTP (daprd included), or embedded Dapr in this
// process (an invocation from another app's guest, a pub/sub delivery).
enum class Origin { Client, EmbeddedDapr };

class App {
 public:
  App(std::shared_ptr<const Service> service, unsigned workers, AccessLog& log,
      std::string api_token);

  std::shared_ptr<const Service> current() const { return current_.load(); }
  void swap_in(std::shared_ptr<const Service> next);
  const Manifest& startup() const { return startup_; }

  // Answers one request with the service version `svc` (routed to function `fn`, -1 for
  // none): API token, health, metrics, the Dapr app protocol, the function (run on the
  // calling thread, in a fresh instance), static files. Counts and logs it; `start` is
  // when the request arrived.
  http::Response dispatch(const Service& svc, int fn, const http::Request& req, Origin origin,
                          std::chrono::steady_clock::time_point start, int client_fd = -1);
  // The same for the current version, routed here (embedded Dapr's way in).
  http::Response dispatch(const http::Request& req, Origin origin);

  // A request admitted to the worker queue: it holds a place in the queue until a worker
  // takes it, and (with max_concurrent) a place of its function until it is destroyed,
  // whether it ran, was abandoned or was never taken.
  class Admission {
   public:
    Admission(App& app, std::shared_ptr<const Service> svc, int fn);
    Admission(Admission&& o) noexcept;
    Admission& operator=(Admission&&) = delete;
    ~Admission();
    // A worker took it: it leaves the queue.
    void taken();
    // Its client went away before a worker took it: not run, logged with status 499
    // (nginx's "client closed request").
    void abandon(const http::Request& req, std::chrono::steady_clock::time_point start);
    // Its end (it ran): the function's place is free. The destructor ends it otherwise.
    void finish();
    const std::shared_ptr<const Service>& service() const { return svc_; }
    int function() const { return fn_; }

   private:
    App* app_;
    std::shared_ptr<const Service> svc_;
    int fn_;
    bool queued_ = true;
  };
  // Admission to the worker queue of a request for function `fn` of `svc`: the admission,
  // or the 503 it gets (counted and logged, with Retry-After) when max_queued requests
  // already wait or the function has max_concurrent requests admitted.
  std::variant<Admission, http::Response> admit(std::shared_ptr<const Service> svc, int fn,
                                                const http::Request& req,
                                                std::chrono::steady_clock::time_point start);
  // The manifest's max_connections, or by default what the descriptor limit leaves room
  // for (RLIMIT_NOFILE less a reserve for modules, files and logs).
  uint32_t max_connections() const { return max_connections_; }
  // Whether the app takes more work: not draining and its queue not full (/readyz).
  bool ready() const { return !draining && queued_ < max_queued_; }

  // A request that could not be read (malformed, too large): counted and logged.
  void count_unreadable(const std::string& remote, const std::string& path, unsigned status,
                        size_t bytes);

  // What embedded Dapr needs to reach this app.
  dapr::LocalApp local_app();

  boost::asio::thread_pool& workers() { return workers_; }
  AppMetrics& metrics() { return metrics_; }
  std::atomic<bool> draining{false};

 private:
  http::Response answer(const Service& svc, int fn, const http::Request& req, Origin origin,
                        int client_fd);
  std::atomic<std::shared_ptr<const Service>> current_;
  const Manifest startup_;  // listen address, port and workers, as started
  AppMetrics metrics_;
  Deadlines deadlines_;
  boost::asio::thread_pool workers_;
  AccessLog& log_;
  std::string api_token_;  // APP_API_TOKEN: required as dapr-api-token on every call
  const uint32_t max_queued_;
  uint32_t max_connections_;
  std::atomic<uint32_t> queued_{0};  // admitted, not yet taken by a worker
};

}  // namespace edgecar::serve

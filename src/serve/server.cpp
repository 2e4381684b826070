// HTTP/1.1 with keep-alive, chunked bodies (Beast's parser), header and body limits,
// slow-client timeouts, CORS, static files, /healthz, /metrics, access log, graceful
// drain on SIGINT/SIGTERM.
#include "serve/server.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "edgecar/dapr.hpp"
#include "serve/function.hpp"

namespace edgecar::serve {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace fs = std::filesystem;
using tcp = asio::ip::tcp;

namespace {

constexpr uint32_t kHeaderLimit = 16 * 1024;
constexpr uint64_t kDefaultBodyLimit = 1 << 20;  // requests that reach no function
constexpr size_t kBodyReadChunk = 64 * 1024;      // room for each read of a request body
constexpr auto kReadTimeout = std::chrono::seconds(30);

// The structured access log: one JSON object per line on stderr. Lines are collected in
// memory and written by a flusher thread every 50 ms (sooner past 64 KB), so a request
// costs no system call and no wait on the terminal or file behind stderr; flushed
// whole when serving stops.
class AccessLog {
 public:
  AccessLog() : flusher_([this] { loop(); }) {}
  ~AccessLog() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_one();
    flusher_.join();
  }
  void append(const std::string& line) {
    bool full;
    {
      std::lock_guard<std::mutex> lock(mu_);
      buf_ += line;
      full = buf_.size() >= kFlushBytes;
    }
    if (full) cv_.notify_one();
  }

 private:
  static constexpr size_t kFlushBytes = 64 * 1024;
  void loop() {
    std::string out;
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      cv_.wait_for(lock, std::chrono::milliseconds(50), [&] { return stop_ || buf_.size() >= kFlushBytes; });
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
  std::mutex mu_;
  std::condition_variable cv_;
  std::string buf_;
  bool stop_ = false;
  std::thread flusher_;
};

// Prometheus metrics of one function.
struct Metrics {
  static constexpr double kBuckets[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  std::atomic<uint64_t> requests{0}, ok{0}, client_errors{0}, server_errors{0}, traps{0}, timeouts{0}, in_flight{0};
  std::atomic<uint64_t> buckets[std::size(kBuckets) + 1] = {};
  std::atomic<uint64_t> latency_us_sum{0};

  void observe(double seconds) {
    size_t i = 0;
    while (i < std::size(kBuckets) && seconds > kBuckets[i]) ++i;
    buckets[i]++;
    latency_us_sum += static_cast<uint64_t>(seconds * 1e6);
  }
};

class Session;

struct App {
  std::atomic<std::shared_ptr<const Service>> current;  // swapped whole by hot reload
  const Manifest startup;  // listen address, port and workers, as started
  std::mutex idle_mu;
  std::set<Session*> idle;  // sessions waiting for a request (under idle_mu)
  mutable std::mutex metrics_mu;
  std::map<std::string, std::unique_ptr<Metrics>> metrics;  // per function name, across reloads
  Metrics other;                                            // static files, health, errors
  Deadlines deadlines;
  asio::thread_pool workers;
  std::atomic<bool> draining{false};
  std::atomic<uint64_t> open_connections{0};
  AccessLog* log = nullptr;  // set by run_servers
  std::string api_token;  // APP_API_TOKEN: required as dapr-api-token on every call

  App(std::shared_ptr<const Service> svc, unsigned nworkers) : current(svc), startup(svc->manifest), workers(nworkers) {
    for (const auto& f : svc->functions) metrics_for(f->spec().name);
  }

  Metrics& metrics_for(const std::string& name) {
    std::lock_guard<std::mutex> lock(metrics_mu);
    auto& m = metrics[name];
    if (!m) m = std::make_unique<Metrics>();
    return *m;
  }

  void access_log(const std::string& method, const std::string& target, unsigned status, double ms, size_t bytes, const std::string& fn, const std::string& remote) {
    char nums[128];
    std::snprintf(nums, sizeof nums, "\",\"status\":%u,\"ms\":%.3f,\"bytes\":%zu,\"function\":\"", status, ms, bytes);
    char ts[32];
    std::snprintf(ts, sizeof ts, "%.3f", std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
    std::string line = std::string("{\"ts\":") + ts + ",\"remote\":\"" + json_escape(remote) + "\",\"method\":\"" + json_escape(method) +
                       "\",\"target\":\"" + json_escape(target.size() > 200 ? target.substr(0, 200) + "..." : target) + nums + json_escape(fn) + "\"}\n";
    if (log) log->append(line);
    else std::fputs(line.c_str(), stderr);
  }

  std::string prometheus() const {
    std::ostringstream o;
    auto family = [&](const char* name, const char* type, const char* help) {
      o << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
    };
    auto each = [&](auto fn) {
      std::lock_guard<std::mutex> lock(metrics_mu);
      for (const auto& [name, m] : metrics) fn(name, *m);
    };
    family("edgecar_requests_total", "counter", "Requests handled by a function, by status class.");
    each([&](const std::string& n, const Metrics& m) {
      o << "edgecar_requests_total{function=\"" << n << "\",class=\"2xx\"} " << m.ok << "\n";
      o << "edgecar_requests_total{function=\"" << n << "\",class=\"4xx\"} " << m.client_errors << "\n";
      o << "edgecar_requests_total{function=\"" << n << "\",class=\"5xx\"} " << m.server_errors << "\n";
    });
    family("edgecar_traps_total", "counter", "Guest traps.");
    each([&](const std::string& n, const Metrics& m) { o << "edgecar_traps_total{function=\"" << n << "\"} " << m.traps << "\n"; });
    family("edgecar_timeouts_total", "counter", "Guests interrupted at their time limit.");
    each([&](const std::string& n, const Metrics& m) { o << "edgecar_timeouts_total{function=\"" << n << "\"} " << m.timeouts << "\n"; });
    family("edgecar_instances_in_use", "gauge", "Instances running a request now.");
    each([&](const std::string& n, const Metrics& m) { o << "edgecar_instances_in_use{function=\"" << n << "\"} " << m.in_flight << "\n"; });
    family("edgecar_request_duration_seconds", "histogram", "Time to run a function, instantiation included.");
    each([&](const std::string& n, const Metrics& m) {
      uint64_t cum = 0;
      for (size_t b = 0; b < std::size(Metrics::kBuckets); ++b) {
        cum += m.buckets[b];
        o << "edgecar_request_duration_seconds_bucket{function=\"" << n << "\",le=\"" << Metrics::kBuckets[b] << "\"} " << cum << "\n";
      }
      cum += m.buckets[std::size(Metrics::kBuckets)];
      o << "edgecar_request_duration_seconds_bucket{function=\"" << n << "\",le=\"+Inf\"} " << cum << "\n";
      o << "edgecar_request_duration_seconds_sum{function=\"" << n << "\"} " << static_cast<double>(m.latency_us_sum) / 1e6 << "\n";
      o << "edgecar_request_duration_seconds_count{function=\"" << n << "\"} " << cum << "\n";
    });
    family("edgecar_open_connections", "gauge", "Open client connections.");
    o << "edgecar_open_connections " << open_connections << "\n";
    return o.str();
  }
};

std::string mime_type(const std::string& path) {
  static const std::pair<const char*, const char*> types[] = {
      {".html", "text/html; charset=utf-8"}, {".htm", "text/html; charset=utf-8"}, {".css", "text/css"},
      {".js", "text/javascript"}, {".mjs", "text/javascript"}, {".json", "application/json"},
      {".png", "image/png"}, {".jpg", "image/jpeg"}, {".jpeg", "image/jpeg"}, {".gif", "image/gif"},
      {".svg", "image/svg+xml"}, {".ico", "image/x-icon"}, {".webp", "image/webp"}, {".txt", "text/plain; charset=utf-8"},
      {".wasm", "application/wasm"}};
  std::string ext = fs::path(path).extension().string();
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const auto& [e, t] : types)
    if (ext == e) return t;
  return "application/octet-stream";
}

// A pub/sub delivery: a CloudEvent POSTed to a subscription's route (daprd and embedded
// Dapr send application/cloudevents+json). Other calls to the same route, such as a
// service invocation, get the function's own response.
bool is_delivery(const Service& svc, const std::string& method, const std::string& path, std::string_view content_type) {
  if (method != "POST" || content_type.substr(0, 28) != "application/cloudevents+json") return false;
  for (const auto& sub : svc.manifest.subscriptions) {
    if (sub.route == path) return true;
    for (const auto& [match, p] : sub.rules)
      if (p == path) return true;
  }
  return false;
}

// Dapr's pub/sub contract: 200 with {"status": SUCCESS | RETRY | DROP}. A function may
// answer that itself; otherwise 2xx is SUCCESS, 4xx DROP, and 5xx, a trap or a timeout
// RETRY.
Response pubsub_outcome(Invocation inv) {
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
  Response r;
  r.headers.emplace_back("Content-Type", "application/json");
  r.body = "{\"status\":\"" + status + "\"}";
  return r;
}

// GET /dapr/subscribe: the manifest's subscriptions in Dapr's programmatic format.
std::string subscriptions_json(const Manifest& m) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& sub : m.subscriptions) {
    nlohmann::json j{{"pubsubname", sub.pubsub}, {"topic", sub.topic}};
    if (sub.rules.empty()) {
      j["route"] = sub.route;
    } else {
      nlohmann::json rules = nlohmann::json::array();
      for (const auto& [match, path] : sub.rules) rules.push_back({{"match", match}, {"path", path}});
      j["routes"] = {{"rules", rules}, {"default", sub.route}};
    }
    if (!sub.dead_letter_topic.empty()) j["deadLetterTopic"] = sub.dead_letter_topic;
    out.push_back(j);
  }
  return out.dump();
}

Response json_response(unsigned status, std::string body) {
  Response r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/json");
  r.body = std::move(body);
  return r;
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, App& app) : stream_(std::move(socket)), app_(app) {
    beast::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    remote_ = ec ? "unknown" : ep.address().to_string();
    auto local = stream_.socket().local_endpoint(ec);
    if (!ec) local_port_ = local.port();
    // Responses go out in several writes (header, body): without TCP_NODELAY, Nagle's
    // algorithm meets the client's delayed ACK and large responses stall for ~40 ms.
    stream_.socket().set_option(tcp::no_delay(true), ec);
    app_.open_connections++;
  }
  ~Session() {
    leave_idle();
    app_.open_connections--;
  }

  void start() { read_header(); }

  // Drain: a connection waiting for its next request is closed now.
  void close_idle() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

 private:
  // Runs on the network thread, or on the worker that just answered. Under idle_mu, so
  // that a drain either sees this session idle (and closes it) or this sees the drain.
  void read_header() {
    std::lock_guard<std::mutex> lock(app_.idle_mu);
    if (app_.draining) {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
      return;
    }
    app_.idle.insert(this);
    if (buffer_.size() == 0 && buffer_.capacity() > kBodyReadChunk / 2) buffer_.shrink_to_fit();  // idle connections stay small
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    // The body limit depends on the route: on_header sets it (a declared length over it
    // is refused there); while the header is read, Beast must not apply its own default.
    // (Not boost::none: Beast 1.74 compares a length with an empty optional as "over".)
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    stream_.expires_after(kReadTimeout);
    http::async_read_header(stream_, buffer_, *parser_, beast::bind_front_handler(&Session::on_header, shared_from_this()));
  }

  void on_header(beast::error_code ec, size_t) {
    leave_idle();
    if (ec) return fail_read(ec);
    auto& req = parser_->get();
    std::string target(req.target());
    path_ = target.substr(0, target.find('?'));
    svc_ = app_.current.load();  // this request runs on the version current now
    fn_ = svc_->route(path_);
    uint64_t limit = fn_ >= 0 ? svc_->functions[fn_]->spec().limits.max_body_bytes : kDefaultBodyLimit;
    // A declared length is checked now; chunked bodies are checked by the parser as
    // they arrive.
    if (auto len = parser_->content_length(); len && *len > limit) return fail_read(http::error::body_limit);
    parser_->body_limit(limit);
    // Beast reads into the buffer's free space: left at the header's size, a 100 KB body
    // would arrive in ~1 KB reads. Room for 64 KB reads makes such bodies several times faster.
    if (parser_->chunked() || parser_->content_length().value_or(0) > buffer_.capacity() - buffer_.size())
      buffer_.reserve(buffer_.size() + kBodyReadChunk);
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&Session::on_body, shared_from_this()));
  }

  // Read errors: a clean close, a timeout, or a malformed request answered with 4xx.
  void fail_read(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted) {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
      return;
    }
    unsigned status = 400;
    std::string msg = "malformed request: " + ec.message();
    if (ec == http::error::header_limit) {
      status = 431;
      msg = "request headers larger than " + std::to_string(kHeaderLimit) + " bytes";
    } else if (ec == http::error::body_limit) {
      status = 413;
      uint64_t limit = fn_ >= 0 && svc_ ? svc_->functions[fn_]->spec().limits.max_body_bytes : kDefaultBodyLimit;
      msg = "request body larger than " + std::to_string(limit) + " bytes";
    } else if (ec == http::error::partial_message) {
      return;  // the client went away mid-request
    }
    Response r;
    r.status = status;
    r.headers.emplace_back("Content-Type", "application/json");
    r.body = "{\"error\":\"bad_request\",\"message\":\"" + msg + "\"}\n";
    keep_alive_ = false;
    app_.other.client_errors++;
    app_.access_log("?", path_, status, 0, r.body.size(), "", remote_);
    send(std::move(r));
  }

  void on_body(beast::error_code ec, size_t) {
    if (ec) return fail_read(ec);
    stream_.expires_never();
    auto& req = parser_->get();
    keep_alive_ = req.keep_alive() && !app_.draining;
    start_ = std::chrono::steady_clock::now();
    method_ = std::string(req.method_string());
    target_ = std::string(req.target());
    origin_ = std::string(req[http::field::origin]);

    // With APP_API_TOKEN set, every call needs it except the health probe (daprd's
    // probe does not send it).
    if (!app_.api_token.empty() && path_ != "/healthz" && req["dapr-api-token"] != app_.api_token) {
      return finish(json_response(401, "{\"error\":\"unauthorized\",\"message\":\"missing or wrong dapr-api-token (APP_API_TOKEN is set)\"}\n"), "");
    }
    if (svc_->manifest.cors && req.method() == http::verb::options && req.count(http::field::access_control_request_method)) {
      Response r;
      r.status = 204;
      r.headers.emplace_back("Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS");
      r.headers.emplace_back("Access-Control-Allow-Headers", req[http::field::access_control_request_headers].empty() ? "*" : std::string(req[http::field::access_control_request_headers]));
      r.headers.emplace_back("Access-Control-Max-Age", "600");
      return finish(std::move(r), "");
    }
    if (path_ == "/healthz") {
      Response r;
      r.headers.emplace_back("Content-Type", "application/json");
      r.body = app_.draining ? "{\"status\":\"draining\"}\n" : "{\"status\":\"ok\"}\n";
      r.status = app_.draining ? 503 : 200;
      return finish(std::move(r), "");
    }
    if (fn_ < 0 && path_ == "/dapr/subscribe" && req.method() == http::verb::get) return finish(json_response(200, subscriptions_json(svc_->manifest)), "");
    if (fn_ < 0 && path_ == "/dapr/config" && req.method() == http::verb::get) return finish(json_response(200, "{}"), "");
    if (req.method() == http::verb::options && path_.size() > 1 &&
        std::find(svc_->manifest.bindings.begin(), svc_->manifest.bindings.end(), path_.substr(1)) != svc_->manifest.bindings.end()) {
      return finish(json_response(200, ""), "");  // daprd's probe for an input binding
    }
    if (path_ == "/metrics" && fn_ < 0) {
      Response r;
      r.headers.emplace_back("Content-Type", "text/plain; version=0.0.4");
      r.body = app_.prometheus();
      return finish(std::move(r), "");
    }
    if (fn_ >= 0) {
      const auto& spec = svc_->functions[fn_]->spec();
      if (!spec.methods.empty() && std::find(spec.methods.begin(), spec.methods.end(), method_) == spec.methods.end()) {
        Response r;
        r.status = 405;
        std::string allow;
        for (const auto& m : spec.methods) allow += (allow.empty() ? "" : ", ") + m;
        r.headers.emplace_back("Allow", allow);
        r.headers.emplace_back("Content-Type", "application/json");
        r.body = "{\"error\":\"method_not_allowed\",\"message\":\"" + spec.name + " accepts " + allow + "\"}\n";
        return finish(std::move(r), spec.name);
      }
      return run_function();
    }
    return finish(static_file(), "");
  }

  void run_function() {
    auto& req = parser_->get();
    auto request = std::make_shared<Request>();
    request->method = method_;
    request->path = path_;
    size_t q = target_.find('?');
    request->query = q == std::string::npos ? "" : target_.substr(q + 1);
    for (const auto& h : req) request->headers.emplace_back(std::string(h.name_string()), std::string(h.value()));
    request->body = std::move(req.body());
    request->remote_addr = remote_;
    request->server_name = std::string(req[http::field::host]);
    request->server_port = local_port_;
    auto fn = svc_->functions[fn_];
    Metrics& m = app_.metrics_for(fn->spec().name);
    m.in_flight++;
    auto self = shared_from_this();
    // The guard keeps the network loop alive while the guest runs elsewhere, so a drain
    // waits for this response.
    auto guard = asio::make_work_guard(stream_.get_executor());
    auto ct = req[http::field::content_type];
    bool pubsub = is_delivery(*svc_, method_, path_, std::string_view(ct.data(), ct.size()));
    asio::post(app_.workers, [self, fn, request, &m, pubsub, guard = std::move(guard)]() mutable {
      Invocation inv = fn->invoke(*request, self->app_.deadlines);
      m.in_flight--;
      if (inv.outcome == Outcome::Trap) m.traps++;
      if (inv.outcome == Outcome::Timeout) m.timeouts++;
      if (pubsub) inv.response = pubsub_outcome(std::move(inv));
      self->finish_from_worker(std::move(inv.response), fn->spec().name);
      guard.reset();
    });
  }

  Response static_file() {
    Response r;
    for (const auto& s : svc_->manifest.statics) {
      if (path_.compare(0, s.route.size(), s.route) != 0) continue;
      std::string rel = path_.substr(s.route.size());
      // Refuse any ".." segment; then require the resolved file to stay inside the dir.
      if (rel.find("..") != std::string::npos) break;
      fs::path p = fs::path(s.dir) / fs::path(rel).relative_path();
      std::error_code ec;
      if (fs::is_directory(p, ec)) p /= "index.html";
      fs::path canon = fs::weakly_canonical(p, ec);
      fs::path root = fs::weakly_canonical(s.dir, ec);
      if (ec || canon.string().compare(0, root.string().size(), root.string()) != 0 || !fs::is_regular_file(canon, ec)) continue;
      std::ifstream in(canon, std::ios::binary);
      if (!in) continue;
      std::ostringstream body;
      body << in.rdbuf();
      r.body = body.str();
      r.headers.emplace_back("Content-Type", mime_type(canon.string()));
      r.headers.emplace_back("Cache-Control", "no-cache");
      return r;
    }
    r.status = 404;
    r.headers.emplace_back("Content-Type", "application/json");
    r.body = "{\"error\":\"not_found\",\"message\":\"no function or file at " + path_ + "\"}\n";
    return r;
  }

  void leave_idle() {
    std::lock_guard<std::mutex> lock(app_.idle_mu);
    app_.idle.erase(this);
  }

  void record(const Response& r, const std::string& fn_name) {
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    Metrics& m = fn_ >= 0 ? app_.metrics_for(svc_->functions[fn_]->spec().name) : app_.other;
    m.requests++;
    (r.status >= 500 ? m.server_errors : r.status >= 400 ? m.client_errors : m.ok)++;
    if (fn_ >= 0) m.observe(secs);
    app_.access_log(method_, target_, r.status, secs * 1000, r.body.size(), fn_name, remote_);
  }

  void finish(Response r, const std::string& fn_name) {
    record(r, fn_name);
    send(std::move(r));
  }

  // On the worker that ran the guest: the session has no operation pending, so the
  // worker writes the response itself when the socket takes it whole (the usual case)
  // and starts reading the next request, saving a thread handoff per request. A
  // response the socket cannot take now (a slow client) goes to the network thread,
  // so no worker ever waits for a client.
  void finish_from_worker(Response r, const std::string& fn_name) {
    record(r, fn_name);
    auto res = make_response(std::move(r));
    // The serialized header and the body, written together without copying the body.
    std::ostringstream head;
    head << res->base();
    auto wire = std::make_shared<std::pair<std::string, std::string>>(head.str(), std::move(res->body()));
    using Buffers = std::array<asio::const_buffer, 2>;
    beast::buffers_suffix<Buffers> rest(Buffers{asio::buffer(wire->first), asio::buffer(wire->second)});
    auto& sock = stream_.socket();
    beast::error_code ec;
    sock.non_blocking(true, ec);
    while (!ec && beast::buffer_bytes(rest) > 0) rest.consume(sock.write_some(rest, ec));
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      auto self = shared_from_this();
      asio::post(stream_.get_executor(), [self, wire, rest] {
        asio::async_write(self->stream_, rest, [self, wire](beast::error_code e, size_t) { self->after_write(e); });
      });
      return;
    }
    after_write(ec);
  }

  void after_write(beast::error_code ec) {
    if (ec || !keep_alive_) {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      return;
    }
    read_header();
  }

  std::shared_ptr<http::response<http::string_body>> make_response(Response r) {
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(11);
    res->result(r.status);
    res->set(http::field::server, "edgecar");
    for (auto& [k, v] : r.headers) res->set(k, v);
    if (!svc_ || svc_->manifest.cors) {
      res->set(http::field::access_control_allow_origin, origin_.empty() ? "*" : origin_);
      res->set(http::field::vary, "Origin");
    }
    bool head = method_ == "HEAD";
    res->body() = head ? std::string() : std::move(r.body);
    res->keep_alive(keep_alive_);
    res->prepare_payload();
    return res;
  }

  void send(Response r) {
    auto res = make_response(std::move(r));
    auto self = shared_from_this();
    http::async_write(stream_, *res, [self, res](beast::error_code ec, size_t) { self->after_write(ec); });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  App& app_;
  std::shared_ptr<const Service> svc_;
  std::string remote_, path_, method_, target_, origin_;
  uint16_t local_port_ = 0;
  int fn_ = -1;
  bool keep_alive_ = true;
  std::chrono::steady_clock::time_point start_;
};

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(asio::io_context& ioc, tcp::acceptor acceptor, App& app) : ioc_(ioc), acceptor_(std::move(acceptor)), app_(app) {}
  void accept() {
    acceptor_.async_accept(asio::make_strand(ioc_), [self = shared_from_this()](beast::error_code ec, tcp::socket s) {
      if (ec == asio::error::operation_aborted || !self->acceptor_.is_open()) return;
      if (!ec) std::make_shared<Session>(std::move(s), self->app_)->start();
      self->accept();
    });
  }
  void stop() {
    beast::error_code ignored;
    acceptor_.close(ignored);
  }

 private:
  asio::io_context& ioc_;
  tcp::acceptor acceptor_;
  App& app_;
};

}  // namespace

namespace {
dapr::LocalApp local_app(App& app);
bool embedded_dapr();
}  // namespace

// Hot reload: checks the watched files every second; a changed version is loaded on a
// worker thread and swapped in once it is complete, or rejected with its reason.
class Reloader : public std::enable_shared_from_this<Reloader> {
 public:
  Reloader(asio::io_context& ioc, App& app) : timer_(ioc), app_(app) {}
  void schedule() {
    timer_.expires_after(std::chrono::seconds(1));
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || self->app_.draining) return;
      self->check();
    });
  }
  void stop() { timer_.cancel(); }

 private:
  void check() {
    auto svc = app_.current.load();
    if (loading_) return schedule();
    if (!svc->changed_on_disk()) {
      rejected_.clear();  // back to what is running (e.g. a broken edit reverted)
      return schedule();
    }
    if (!rejected_.empty() && !changed_since(rejected_)) return schedule();  // same broken files
    loading_ = true;
    auto self = shared_from_this();
    asio::post(app_.workers, [self, path = svc->manifest.path] {
      auto next = load_service(path);
      asio::post(self->timer_.get_executor(), [self, next = std::move(next)]() mutable {
        self->loading_ = false;
        if (next) {
          for (const auto& f : (*next)->functions) self->app_.metrics_for(f->spec().name);
          self->app_.current.store(*next);
          // Embedded Dapr learns the new version's subscriptions.
          if (embedded_dapr()) dapr::Embedded::instance().register_app(local_app(self->app_));
          self->rejected_.clear();
          std::fprintf(stderr, "edgecar: reloaded %s (%zu function(s))\n", (*next)->manifest.path.c_str(), (*next)->functions.size());
        } else {
          // Remember what was rejected, so the same broken files are not retried.
          self->rejected_ = self->app_.current.load()->watched;
          for (auto& [file, mtime] : self->rejected_) {
            std::error_code ec;
            mtime = std::filesystem::last_write_time(file, ec);
          }
          std::fprintf(stderr, "edgecar: reload rejected, the running version keeps serving: %s\n", next.error().message.c_str());
        }
        std::fflush(stderr);
        self->schedule();
      });
    });
  }

  static bool changed_since(const std::vector<std::pair<std::string, std::filesystem::file_time_type>>& files) {
    for (const auto& [file, mtime] : files) {
      std::error_code ec;
      if (std::filesystem::last_write_time(file, ec) != mtime || ec) return true;
    }
    return false;
  }

  asio::steady_timer timer_;
  App& app_;
  bool loading_ = false;
  std::vector<std::pair<std::string, std::filesystem::file_time_type>> rejected_;
};

namespace {

// Embedded Dapr's way into an app: the request runs on the caller's thread (a guest's
// dapr.invoke, or the pub/sub delivery thread), with the app's limits and metrics.
dapr::ApiResponse local_call(App& app, const std::string& method, const std::string& path, const std::string& query, const dapr::Headers& headers,
                             const std::string& body) {
  auto svc = app.current.load();
  int fi = svc->route(path);
  auto to_api = [](Response r) {
    dapr::ApiResponse out;
    out.status = r.status;
    out.headers = std::move(r.headers);
    out.body = std::move(r.body);
    return out;
  };
  if (fi < 0) return to_api(json_response(404, "{\"error\":\"not_found\",\"message\":\"app " + svc->manifest.app_id + " has no function at " + path + "\"}"));
  auto fn = svc->functions[fi];
  const auto& spec = fn->spec();
  if (!spec.methods.empty() && std::find(spec.methods.begin(), spec.methods.end(), method) == spec.methods.end())
    return to_api(json_response(405, "{\"error\":\"method_not_allowed\",\"message\":\"" + spec.name + " does not accept " + method + "\"}"));
  Request req;
  req.method = method;
  req.path = path;
  req.query = query;
  req.headers = headers;
  req.body = body;
  req.remote_addr = "embedded-dapr";
  req.server_name = svc->manifest.app_id;
  Metrics& m = app.metrics_for(spec.name);
  m.in_flight++;
  auto t0 = std::chrono::steady_clock::now();
  Invocation inv = fn->invoke(req, app.deadlines);
  m.in_flight--;
  if (inv.outcome == Outcome::Trap) m.traps++;
  if (inv.outcome == Outcome::Timeout) m.timeouts++;
  std::string content_type;
  for (const auto& [k, v] : headers)
    if (beast::iequals(k, "content-type")) content_type = v;
  if (is_delivery(*svc, method, path, content_type)) inv.response = pubsub_outcome(std::move(inv));
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  m.requests++;
  (inv.response.status >= 500 ? m.server_errors : inv.response.status >= 400 ? m.client_errors : m.ok)++;
  m.observe(secs);
  app.access_log(method, query.empty() ? path : path + "?" + query, inv.response.status, secs * 1000, inv.response.body.size(), spec.name, "embedded-dapr");
  return to_api(std::move(inv.response));
}

bool embedded_dapr() {
  const char* port = std::getenv("DAPR_HTTP_PORT");
  return !port || !*port;
}

dapr::LocalApp local_app(App& app) {
  dapr::LocalApp la;
  auto svc = app.current.load();
  la.app_id = svc->manifest.app_id;
  for (const auto& sub : svc->manifest.subscriptions) la.subscriptions.push_back({sub.pubsub, sub.topic, sub.route, sub.rules, sub.dead_letter_topic});
  la.handle = [&app](const std::string& method, const std::string& path, const std::string& query, const dapr::Headers& headers, const std::string& body) {
    return local_call(app, method, path, query, headers, body);
  };
  return la;
}

}  // namespace

int run_server(std::shared_ptr<const Service> service) { return run_servers({std::move(service)}); }

int run_servers(const std::vector<std::shared_ptr<const Service>>& services) {
  asio::io_context ioc(1);
  std::optional<AccessLog> access_log(std::in_place);  // outlives every app and session
  std::vector<std::unique_ptr<App>> apps;
  std::vector<std::shared_ptr<Listener>> listeners;
  std::vector<std::shared_ptr<Reloader>> reloaders;
  const char* token = std::getenv("APP_API_TOKEN");
  bool embedded = embedded_dapr();
  for (const auto& service : services) {
    const Manifest& manifest = service->manifest;
    if (embedded && !manifest.state_file.empty()) {
      if (auto r = dapr::Embedded::instance().open_state(manifest.state_file); !r) {
        std::fprintf(stderr, "edgecar: %s: %s\n", manifest.path.c_str(), r.error().message.c_str());
        return 1;
      }
    }
  }
  for (const auto& service : services) {
    const Manifest& manifest = service->manifest;
    unsigned nworkers = manifest.workers ? manifest.workers : std::max(1u, std::thread::hardware_concurrency());
    auto app = std::make_unique<App>(service, nworkers);
    app->log = &*access_log;
    if (token) app->api_token = token;
    beast::error_code ec;
    auto addr = asio::ip::make_address(manifest.address, ec);
    if (ec) {
      std::fprintf(stderr, "edgecar: %s: bad listen address \"%s\"\n", manifest.path.c_str(), manifest.address.c_str());
      return 1;
    }
    tcp::acceptor acceptor(ioc);
    tcp::endpoint ep(addr, manifest.port);
    acceptor.open(ep.protocol(), ec);
    if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor.bind(ep, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      std::fprintf(stderr, "edgecar: %s: cannot listen on %s:%u: %s\n", manifest.path.c_str(), manifest.address.c_str(), manifest.port, ec.message().c_str());
      return 1;
    }
    uint16_t port = acceptor.local_endpoint().port();
    listeners.push_back(std::make_shared<Listener>(ioc, std::move(acceptor), *app));
    listeners.back()->accept();
    reloaders.push_back(std::make_shared<Reloader>(ioc, *app));
    reloaders.back()->schedule();
    if (embedded) dapr::Embedded::instance().register_app(local_app(*app));
    std::fprintf(stderr, "edgecar: serving %s (%zu function(s), %u worker(s)) on http://%s:%u\n", manifest.app_id.c_str(), service->functions.size(), nworkers,
                 manifest.address.c_str(), port);
    apps.push_back(std::move(app));
  }
  std::fprintf(stderr, "edgecar: dapr building blocks: %s\n", dapr::from_environment()->describe().c_str());
  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](beast::error_code, int sig) {
    std::fprintf(stderr, "edgecar: %s received, draining\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    for (auto& app : apps) app->draining = true;
    for (auto& l : listeners) l->stop();
    for (auto& r : reloaders) r->stop();
    for (auto& app : apps) {
      std::lock_guard<std::mutex> lock(app->idle_mu);
      for (Session* s : app->idle) s->close_idle();
    }
  });
  std::fflush(stderr);
  ioc.run();  // returns when the listeners are closed and every session has ended
  for (auto& app : apps) {
    if (embedded) dapr::Embedded::instance().unregister_app(app->startup.app_id);
    app->workers.join();
  }
  access_log.reset();  // the last lines, before the final message
  std::fprintf(stderr, "edgecar: stopped\n");
  return 0;
}

}  // namespace edgecar::serve

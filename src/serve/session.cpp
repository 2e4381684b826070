// One HTTP connection (session.hpp).
#include "serve/session.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <poll.h>

#include <array>
#include <chrono>
#include <limits>
#include <optional>
#include <sstream>
#include <string_view>
#include <vector>

#include "http/json.hpp"

namespace edgecar::serve {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

namespace {
constexpr uint32_t kHeaderLimit = 16 * 1024;
constexpr uint64_t kDefaultBodyLimit = 1 << 20;  // requests that reach no function
constexpr size_t kBodyReadChunk = 64 * 1024;     // room for each read of a request body
constexpr auto kReadTimeout = std::chrono::seconds(30);
// A request that waited this long for a worker is checked for a client that went away.
constexpr auto kCheckClientAfter = std::chrono::milliseconds(1);

std::string lower_trimmed(std::string_view s) {
  size_t a = s.find_first_not_of(" \t"), b = s.find_last_not_of(" \t");
  std::string o(a == std::string_view::npos ? std::string_view() : s.substr(a, b - a + 1));
  for (auto& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return o;
}

struct Refusal {
  unsigned status;
  std::string message;
};

// What makes a request's framing or target ambiguous (RFC 9112 sections 3.2, 6.1 and
// 6.3). Such a request could be read two ways by two servers (request smuggling): it is
// answered with an error and the connection closed, its bytes never read as a body or as
// a next request.
std::optional<Refusal> framing_error(const bhttp::request<bhttp::string_body>& h) {
  auto te = h.equal_range(bhttp::field::transfer_encoding);
  if (te.first != te.second) {
    if (h.version() < 11) return Refusal{400, "Transfer-Encoding in an HTTP/1.0 request"};
    if (h.count(bhttp::field::content_length))
      return Refusal{400, "both Transfer-Encoding and Content-Length"};
    std::vector<std::string> codings;
    for (auto it = te.first; it != te.second; ++it) {
      std::string_view v(it->value().data(), it->value().size());
      for (size_t at = 0; at <= v.size();) {
        size_t comma = v.find(',', at);
        if (comma == std::string_view::npos) comma = v.size();
        if (std::string c = lower_trimmed(v.substr(at, comma - at)); !c.empty())
          codings.push_back(c);
        at = comma + 1;
      }
    }
    if (codings.empty() || codings.back() != "chunked")
      return Refusal{400, "a Transfer-Encoding whose last coding is not chunked"};
    if (codings.size() > 1)
      return Refusal{501,
                     "transfer coding \"" + codings.front() + "\" is not supported (chunked only)"};
  }
  if (h.version() >= 11) {
    size_t hosts = h.count(bhttp::field::host);
    if (hosts == 0) return Refusal{400, "an HTTP/1.1 request without Host"};
    if (hosts > 1) return Refusal{400, "more than one Host header"};
  }
  return std::nullopt;
}
}  // namespace

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, App& app, IdleSessions& idle)
      : stream_(std::move(socket)), app_(app), idle_(idle) {
    beast::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    remote_ = ec ? "unknown" : ep.address().to_string();
    auto local = stream_.socket().local_endpoint(ec);
    if (!ec) local_port_ = local.port();
    // Responses go out in several writes (header, body): without TCP_NODELAY, Nagle's
    // algorithm meets the client's delayed ACK and large responses stall for ~40 ms.
    stream_.socket().set_option(tcp::no_delay(true), ec);
    app_.metrics().open_connections++;
  }
  ~Session() {
    leave_idle();
    app_.metrics().open_connections--;
  }

  void start() { read_header(); }

  // Drain: a connection waiting for its next request is closed now.
  void close_idle() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

 private:
  // Runs on the network thread, or on the worker that just answered.
  void read_header() {
    std::lock_guard<std::mutex> lock(idle_.mu);
    if (app_.draining) {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
      return;
    }
    idle_.sessions.insert(this);
    if (buffer_.size() == 0 && buffer_.capacity() > kBodyReadChunk / 2)
      buffer_.shrink_to_fit();  // idle connections stay small
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    // The body limit depends on the route: on_header sets it (a declared length over it
    // is refused there); while the header is read, Beast must not apply its own default.
    // (Not boost::none: Beast 1.74 compares a length with an empty optional as "over".)
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    stream_.expires_after(kReadTimeout);
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             beast::bind_front_handler(&Session::on_header, shared_from_this()));
  }

  void on_header(beast::error_code ec, size_t) {
    leave_idle();
    if (ec) return fail_read(ec);
    auto& req = parser_->get();
    std::string target(req.target());
    path_ = target.substr(0, target.find('?'));
    svc_ = app_.current();  // this request runs on the version current now
    fn_ = svc_->route(path_);
    if (auto bad = framing_error(req)) return refuse(bad->status, bad->message);
    uint64_t limit = body_limit();
    // A declared length is checked now; chunked bodies are checked by the parser as
    // they arrive.
    if (auto len = parser_->content_length(); len && *len > limit)
      return fail_read(bhttp::error::body_limit);
    parser_->body_limit(limit);
    // Beast reads into the buffer's free space: left at the header's size, a 100 KB body
    // would arrive in ~1 KB reads. Room for 64 KB reads makes such bodies several times faster.
    if (parser_->chunked() ||
        parser_->content_length().value_or(0) > buffer_.capacity() - buffer_.size())
      buffer_.reserve(buffer_.size() + kBodyReadChunk);
    // A client that waits for 100 Continue before sending its body (curl does so above
    // 1 MB) gets it now that the header is accepted (RFC 9110 section 10.1.1).
    if (req.version() >= 11 &&
        http::iequals(
            std::string_view(req[bhttp::field::expect].data(), req[bhttp::field::expect].size()),
            "100-continue") &&
        !parser_->is_done()) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                        [self = shared_from_this()](beast::error_code e, size_t) {
                          if (e) return self->fail_read(e);
                          self->read_body();
                        });
      return;
    }
    read_body();
  }

  void read_body() {
    bhttp::async_read(stream_, buffer_, *parser_,
                      beast::bind_front_handler(&Session::on_body, shared_from_this()));
  }

  // A client that does not take a response within the app's write_timeout_ms is dropped:
  // it would pin the response's memory for as long as it liked.
  std::chrono::milliseconds write_timeout() const {
    return std::chrono::milliseconds(app_.startup().write_timeout_ms);
  }

  uint64_t body_limit() const {
    return fn_ >= 0 && svc_ ? svc_->functions[fn_]->spec().limits.max_body_bytes
                            : kDefaultBodyLimit;
  }

  // Read errors: a clean close, a timeout, or a malformed request answered with 4xx.
  void fail_read(beast::error_code ec) {
    if (ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::connection_reset || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted) {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
      return;
    }
    unsigned status = 400;
    std::string msg = "malformed request: " + ec.message();
    if (ec == bhttp::error::header_limit) {
      status = 431;
      msg = "request headers larger than " + std::to_string(kHeaderLimit) + " bytes";
    } else if (ec == bhttp::error::body_limit) {
      status = 413;
      msg = "request body larger than " + std::to_string(body_limit()) + " bytes";
    } else if (ec == bhttp::error::partial_message) {
      return;  // the client went away mid-request
    }
    refuse(status, msg);
  }

  // Answers a request that is not read further, and closes the connection after it.
  void refuse(unsigned status, const std::string& msg) {
    http::Response r = http::error_response(status, "bad_request", msg);
    keep_alive_ = false;
    app_.count_unreadable(remote_, path_, status, r.body.size());
    send(std::move(r));
  }

  void on_body(beast::error_code ec, size_t) {
    if (ec) return fail_read(ec);
    stream_.expires_never();
    auto start = std::chrono::steady_clock::now();
    auto& msg = parser_->get();
    keep_alive_ = msg.keep_alive() && !app_.draining;
    method_ = std::string(msg.method_string());
    origin_ = std::string(msg[bhttp::field::origin]);
    auto req = std::make_shared<http::Request>();
    req->method = method_;
    req->path = path_;
    std::string_view target(msg.target().data(), msg.target().size());
    size_t q = target.find('?');
    if (q != std::string_view::npos) req->query = std::string(target.substr(q + 1));
    for (const auto& h : msg)
      req->headers.add(std::string(h.name_string()), std::string(h.value()));
    req->body = std::move(msg.body());
    req->remote_addr = remote_;
    req->server_name = std::string(msg[bhttp::field::host]);
    req->server_port = local_port_;
    if (fn_ < 0) return send(app_.dispatch(*svc_, fn_, *req, Origin::Client, start));
    // A function runs on a worker, if the queue has room. The guard keeps the network
    // loop alive meanwhile, so a drain waits for this response.
    auto admitted = app_.admit(svc_, fn_, *req, start);
    if (auto* full = std::get_if<http::Response>(&admitted)) {
      keep_alive_ = false;
      return send(std::move(*full));
    }
    auto guard = asio::make_work_guard(stream_.get_executor());
    asio::post(app_.workers(), [self = shared_from_this(), req, start, guard = std::move(guard),
                                ticket = std::get<App::Admission>(std::move(admitted))]() mutable {
      ticket.taken();
      // A request that waited is dropped if its client has gone meanwhile. The
      // session may read its next request once the response is out: the ticket
      // keeps what this one needs.
      if (std::chrono::steady_clock::now() - start > kCheckClientAfter && self->client_gone()) {
        ticket.abandon(*req, start);
        self->close_idle();
      } else {
        http::Response r =
            self->app_.dispatch(*ticket.service(), ticket.function(), *req, Origin::Client, start,
                                self->stream_.socket().native_handle());
        ticket.finish();  // before the response goes: the client may send again at once
        self->write_from_worker(std::move(r));
      }
      guard.reset();
    });
  }

  // Whether the client closed its side (or the connection broke): a non-blocking look,
  // no data read.
  bool client_gone() {
    pollfd p{stream_.socket().native_handle(), POLLRDHUP, 0};
    return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
  }

  void leave_idle() {
    std::lock_guard<std::mutex> lock(idle_.mu);
    idle_.sessions.erase(this);
  }

  // On the worker that ran the guest: the session has no operation pending, so the
  // worker writes the response itself when the socket takes it whole (the usual case)
  // and starts reading the next request, saving a thread handoff per request. A
  // response the socket cannot take now (a slow client) goes to the network thread,
  // so no worker ever waits for a client.
  void write_from_worker(http::Response r) {
    auto res = make_response(std::move(r));
    // The serialized header and the body, written together without copying the body.
    std::ostringstream head;
    head << res->base();
    auto wire =
        std::make_shared<std::pair<std::string, std::string>>(head.str(), std::move(res->body()));
    using Buffers = std::array<asio::const_buffer, 2>;
    beast::buffers_suffix<Buffers> rest(
        Buffers{asio::buffer(wire->first), asio::buffer(wire->second)});
    auto& sock = stream_.socket();
    beast::error_code ec;
    sock.non_blocking(true, ec);
    while (!ec && beast::buffer_bytes(rest) > 0) rest.consume(sock.write_some(rest, ec));
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      auto self = shared_from_this();
      asio::post(stream_.get_executor(), [self, wire, rest] {
        self->stream_.expires_after(self->write_timeout());
        asio::async_write(self->stream_, rest,
                          [self, wire](beast::error_code e, size_t) { self->after_write(e); });
      });
      return;
    }
    after_write(ec);
  }

  void after_write(beast::error_code ec) {
    if (ec || !keep_alive_) {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      if (!ec) linger();
      return;
    }
    read_header();
  }

  // After the last response, what the client still sends is read and dropped for a
  // moment (at most kLingerBytes, kLingerTime) before the socket closes: closing with
  // unread bytes makes the kernel reset the connection, and the client could lose the
  // response it has not read yet (the lingering close of RFC 9112 section 9.6).
  void linger() {
    static constexpr size_t kLingerBytes = 256 * 1024;
    static constexpr auto kLingerTime = std::chrono::seconds(2);
    if (lingered_ == 0) stream_.expires_after(kLingerTime);
    auto scratch = std::make_shared<std::array<char, 16384>>();
    stream_.async_read_some(asio::buffer(*scratch),
                            [self = shared_from_this(), scratch](beast::error_code e, size_t n) {
                              self->lingered_ += n;
                              if (!e && self->lingered_ < kLingerBytes) self->linger();
                            });
  }

  std::shared_ptr<bhttp::response<bhttp::string_body>> make_response(http::Response r) {
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>();
    res->version(11);
    res->result(r.status);
    res->set(bhttp::field::server, "edgecar");
    for (const auto& [k, v] : r.headers) res->set(k, v);
    if (!svc_ || svc_->manifest.cors) {
      res->set(bhttp::field::access_control_allow_origin, origin_.empty() ? "*" : origin_);
      res->set(bhttp::field::vary, "Origin");
    }
    res->body() = method_ == "HEAD" ? std::string() : std::move(r.body);
    res->keep_alive(keep_alive_);
    res->prepare_payload();
    return res;
  }

  void send(http::Response r) {
    auto res = make_response(std::move(r));
    auto self = shared_from_this();
    stream_.expires_after(write_timeout());
    bhttp::async_write(stream_, *res,
                       [self, res](beast::error_code ec, size_t) { self->after_write(ec); });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  App& app_;
  IdleSessions& idle_;
  std::shared_ptr<const Service> svc_;
  std::string remote_, path_, method_, origin_;
  uint16_t local_port_ = 0;
  int fn_ = -1;
  bool keep_alive_ = true;
  size_t lingered_ = 0;
};

bool IdleSessions::close_one() {
  std::lock_guard<std::mutex> lock(mu);
  if (sessions.empty()) return false;
  Session* s = *sessions.begin();
  sessions.erase(sessions.begin());
  s->close_idle();
  return true;
}

void IdleSessions::close_all() {
  std::lock_guard<std::mutex> lock(mu);
  for (Session* s : sessions) s->close_idle();
}

Listener::Listener(asio::io_context& ioc, tcp::acceptor acceptor, App& app, IdleSessions& idle)
    : ioc_(ioc), acceptor_(std::move(acceptor)), app_(app), idle_(idle), backoff_(ioc) {}

void Listener::accept() {
  acceptor_.async_accept(asio::make_strand(ioc_),
                         [self = shared_from_this()](beast::error_code ec, tcp::socket s) {
                           if (ec == asio::error::operation_aborted || !self->acceptor_.is_open())
                             return;
                           if (ec) return self->retry_later(ec);
                           self->accepted(std::move(s));
                           self->accept();
                         });
}

// Out of descriptors (or memory): accepting again at once would spin at 100% CPU and
// serve no one. Wait a moment, saying so at most once a second.
void Listener::retry_later(const beast::error_code& ec) {
  auto now = std::chrono::steady_clock::now();
  if (now - last_warning_ > std::chrono::seconds(1)) {
    std::fprintf(stderr, "edgecar: %s: cannot accept connections: %s; retrying in 100 ms\n",
                 app_.startup().app_id.c_str(), ec.message().c_str());
    last_warning_ = now;
  }
  backoff_.expires_after(std::chrono::milliseconds(100));
  backoff_.async_wait([self = shared_from_this()](beast::error_code e) {
    if (!e && self->acceptor_.is_open()) self->accept();
  });
}

// At max_connections, an idle keep-alive connection makes room; with none idle the new
// connection is answered 503 and closed.
void Listener::accepted(tcp::socket s) {
  if (app_.metrics().open_connections >= app_.max_connections() && !idle_.close_one()) {
    static constexpr std::string_view kFull =
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
        "Connection: close\r\nContent-Length: 79\r\n\r\n"
        "{\"error\":\"overloaded\",\"message\":\"too many open connections (max_connections)\"}\n";
    beast::error_code ignored;
    s.non_blocking(true, ignored);
    s.write_some(asio::buffer(kFull.data(), kFull.size()), ignored);
    s.shutdown(tcp::socket::shutdown_both, ignored);
    app_.metrics().other.server_errors++;
    return;
  }
  std::make_shared<Session>(std::move(s), app_, idle_)->start();
}

void Listener::stop() {
  beast::error_code ignored;
  acceptor_.close(ignored);
}

}  // namespace edgecar::serve

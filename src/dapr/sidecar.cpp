// Calls to daprd's HTTP API (Boost.Beast, one connection per call on loopback).
#include <utility>  // before Asio: GCC 12 needs std::exchange declared first

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdlib>

#include "dapr/embedded.hpp"
#include "edgecar/dapr.hpp"

namespace edgecar::dapr {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;

namespace {

ApiResponse unavailable(const std::string& what) {
  return api_error(503, "ERR_EDGECAR_SIDECAR_UNAVAILABLE", what);
}

class Sidecar final : public Backend {
 public:
  Sidecar(std::string host, uint16_t port, std::string token, uint32_t timeout_ms)
      : host_(std::move(host)), port_(port), token_(std::move(token)), timeout_ms_(timeout_ms) {}

  ApiResponse call(const ApiRequest& req, const std::string&) override {
    asio::io_context ioc;
    beast::tcp_stream stream(ioc);
    beast::error_code ec;
    auto addr = asio::ip::make_address(host_, ec);
    if (ec) return unavailable("bad daprd address " + host_);
    stream.expires_after(std::chrono::milliseconds(timeout_ms_));
    stream.connect(asio::ip::tcp::endpoint(addr, port_), ec);
    if (ec) return unavailable("daprd at " + describe() + " is unreachable: " + ec.message());
    bhttp::request<bhttp::string_body> r{bhttp::string_to_verb(req.method), req.target(), 11};
    if (r.method() == bhttp::verb::unknown) r.method_string(req.method);
    r.set(bhttp::field::host, host_ + ":" + std::to_string(port_));
    r.set(bhttp::field::user_agent, "edgecar");
    for (const auto& [k, v] : req.headers) r.set(k, v);
    if (!token_.empty()) r.set("dapr-api-token", token_);
    r.body() = req.body;
    r.prepare_payload();
    bhttp::write(stream, r, ec);
    if (ec) return unavailable("writing to daprd failed: " + ec.message());
    beast::flat_buffer buf;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64ull << 20);
    bhttp::read(stream, buf, parser, ec);
    if (ec)
      return unavailable(ec == beast::error::timeout
                             ? "daprd did not answer within " + std::to_string(timeout_ms_) + " ms"
                             : "reading daprd's answer failed: " + ec.message());
    auto& res = parser.get();
    ApiResponse out;
    out.status = res.result_int();
    for (const auto& h : res) out.headers.add(std::string(h.name_string()), std::string(h.value()));
    out.body = std::move(res.body());
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    return out;
  }

  std::string describe() const override { return host_ + ":" + std::to_string(port_); }

 private:
  std::string host_;
  uint16_t port_;
  std::string token_;
  uint32_t timeout_ms_;
};

}  // namespace

std::shared_ptr<Backend> sidecar(std::string host, uint16_t port, std::string api_token,
                                 uint32_t timeout_ms) {
  return std::make_shared<Sidecar>(std::move(host), port, std::move(api_token), timeout_ms);
}

std::shared_ptr<Backend> from_environment() {
  const char* port = std::getenv("DAPR_HTTP_PORT");
  if (port && *port) {
    int p = std::atoi(port);
    if (p > 0 && p < 65536) {
      const char* token = std::getenv("DAPR_API_TOKEN");
      return sidecar("127.0.0.1", static_cast<uint16_t>(p), token ? token : "");
    }
  }
  // Embedded: shared by every app of the process, never destroyed.
  static std::shared_ptr<Backend> embedded(&Embedded::instance(), [](Backend*) {});
  return embedded;
}

}  // namespace edgecar::dapr

// The native baseline of the service benchmark: a plain Boost.Beast server (no
// WebAssembly) on one network thread like edgecar's: GET answers hello, POST echoes the
// body. Usage: bench_native_hello PORT
#include <functional>
#include <utility>  // before Boost 1.74 asio, for std::exchange under C++20

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdlib>
#include <memory>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

class Session : public std::enable_shared_from_this<Session> {
 public:
  explicit Session(tcp::socket s) : stream_(std::move(s)) { buf_.reserve(64 * 1024); }
  void read() {
    req_ = {};
    http::async_read(
        stream_, buf_, req_, [self = shared_from_this()](beast::error_code ec, size_t) {
          if (ec) return;
          self->res_ = {};
          self->res_.version(11);
          self->res_.result(200);
          self->res_.set(http::field::content_type, "text/plain");
          self->res_.body() = self->req_.method() == http::verb::post
                                  ? std::move(self->req_.body())
                                  : std::string("hello from native\n");
          self->res_.keep_alive(self->req_.keep_alive());
          self->res_.prepare_payload();
          http::async_write(self->stream_, self->res_, [self](beast::error_code ec2, size_t) {
            if (!ec2 && self->res_.keep_alive()) self->read();
          });
        });
  }

 private:
  beast::tcp_stream stream_;
  beast::flat_buffer buf_;
  http::request<http::string_body> req_;
  http::response<http::string_body> res_;
};

int main(int argc, char** argv) {
  asio::io_context ioc(1);
  tcp::acceptor acc(ioc,
                    tcp::endpoint(asio::ip::make_address("127.0.0.1"),
                                  static_cast<uint16_t>(std::atoi(argc > 1 ? argv[1] : "18090"))));
  std::function<void()> accept = [&] {
    acc.async_accept([&](beast::error_code ec, tcp::socket s) {
      if (!ec) std::make_shared<Session>(std::move(s))->read();
      accept();
    });
  };
  accept();
  ioc.run();
}

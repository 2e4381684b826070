// The HTTP request path of `edgecar serve`, in process: arbitrary bytes sent to a real
// listener (Beast's parser, framing checks, limits, routing, a WAGI function, static
// files, /metrics), then the client's side closed. The server must answer or close, and
// keep serving: after every input a well-formed request must still get its 200.
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio.hpp>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>

#include "serve/app.hpp"
#include "serve/session.hpp"

using namespace edgecar::serve;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// (module (func (export "_start"))) : a WAGI command that answers an empty body.
const unsigned char kNop[] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01,
                              0x04, 0x01, 0x60, 0x00, 0x00, 0x03, 0x02, 0x01, 0x00,
                              0x07, 0x0a, 0x01, 0x06, 0x5f, 0x73, 0x74, 0x61, 0x72,
                              0x74, 0x00, 0x00, 0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b};

struct Server {
  asio::io_context ioc{1};
  AccessLog log;
  std::unique_ptr<App> app;
  IdleSessions idle;
  std::shared_ptr<Listener> listener;
  uint16_t port = 0;
  std::thread thread;

  Server() {
    char dir[] = "/tmp/edgecar-fuzz-http-XXXXXX";
    std::string d = mkdtemp(dir);
    std::ofstream(d + "/nop.wasm", std::ios::binary)
        .write(reinterpret_cast<const char*>(kNop), sizeof kNop);
    std::ofstream(d + "/index.html") << "<p>static</p>";
    std::ofstream(d + "/edgecar.yaml")
        << "app_id: fuzz\nlisten: 127.0.0.1:0\nworkers: 1\nwrite_timeout_ms: 1000\n"
           "functions:\n  - route: /fn\n    module: nop.wasm\n"
           "    limits: {max_body_bytes: 65536, timeout_ms: 1000}\n"
           "static:\n  - route: /\n    dir: .\n";
    auto svc = load_service(d + "/edgecar.yaml");
    if (!svc) {
      std::fprintf(stderr, "fuzz_http: %s\n", svc.error().message.c_str());
      std::abort();
    }
    app = std::make_unique<App>(*svc, 1, log, "");
    tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = acceptor.local_endpoint().port();
    listener = std::make_shared<Listener>(ioc, std::move(acceptor), *app, idle);
    listener->accept();
    thread = std::thread([this] { ioc.run(); });
  }

  // Sends bytes, closes the sending side unless asked not to (a half-closed client counts
  // as gone, as in nginx), reads until the server closes (or 2 s).
  std::string exchange(const void* data, size_t size, bool half_close = true) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval tv{2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    std::string out;
    int c;
    while ((c = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a)) != 0 && errno == EINTR) {
    }
    if (c != 0) {
      out = "<connect: " + std::string(std::strerror(errno)) + ">";
    } else {
      (void)!::send(fd, data, size, MSG_NOSIGNAL);
      if (half_close) ::shutdown(fd, SHUT_WR);
      char buf[4096];
      ssize_t n;
      // libFuzzer's timer signal may interrupt a wait: retry then.
      while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0 || (n < 0 && errno == EINTR))
        if (n > 0) out.append(buf, static_cast<size_t>(n));
      if (n < 0) out += "<recv: " + std::string(std::strerror(errno)) + ">";
    }
    ::close(fd);
    return out;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Server* server = new Server;  // one server for the whole campaign
  server->exchange(data, size);
  static const char kProbe[] = "GET /fn HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  std::string r = server->exchange(kProbe, sizeof kProbe - 1, false);
  if (r.compare(0, 12, "HTTP/1.1 200") != 0) {
    std::fprintf(stderr, "fuzz_http: the server stopped answering: %.200s\n", r.c_str());
    std::abort();
  }
  return 0;
}

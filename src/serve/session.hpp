// The HTTP/1.1 transport of an app (Boost.Beast): connections with keep-alive, chunked
// bodies, header and body limits, slow-client timeouts, CORS response headers; requests
// go to App::dispatch, on a worker when a function runs. The network thread never
// waits for a guest, and no worker waits for a client.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>

#include <memory>
#include <mutex>
#include <set>

#include "serve/app.hpp"

namespace edgecar::serve {

class Session;

// The connections of one app that wait for their next request: a drain closes them.
class IdleSessions {
 public:
  // Under the lock: either a drain sees a session idle (and closes it) or the session
  // sees the drain.
  std::mutex mu;
  std::set<Session*> sessions;
  void close_all();
  // Closes one idle connection, to make room for a new one; false when none is idle.
  bool close_one();
};

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(boost::asio::io_context& ioc, boost::asio::ip::tcp::acceptor acceptor, App& app,
           IdleSessions& idle);
  void accept();
  void stop();

 private:
  void accepted(boost::asio::ip::tcp::socket s);
  void retry_later(const boost::system::error_code& ec);

  boost::asio::io_context& ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  App& app_;
  IdleSessions& idle_;
  boost::asio::steady_timer backoff_;
  std::chrono::steady_clock::time_point last_warning_{};
};

}  // namespace edgecar::serve

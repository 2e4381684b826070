// Hot reload: checks an app's manifest and modules every second; a changed version is
// loaded on a worker thread and swapped in once it is complete, or rejected with its
// reason while the running version keeps serving.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "serve/app.hpp"

namespace edgecar::serve {

class Reloader : public std::enable_shared_from_this<Reloader> {
 public:
  // `swapped` runs on the network thread after a new version is in (embedded Dapr
  // re-registers the app there).
  Reloader(boost::asio::io_context& ioc, App& app, std::function<void()> swapped);
  void schedule();
  void stop();

 private:
  using Files = std::vector<std::pair<std::string, std::filesystem::file_time_type>>;
  void check();
  static bool changed_since(const Files& files);
  static std::filesystem::file_time_type modified(const std::string& file);

  boost::asio::steady_timer timer_;
  App& app_;
  std::function<void()> swapped_;
  bool loading_ = false;
  Files rejected_;
};

}  // namespace edgecar::serve

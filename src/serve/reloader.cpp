// Hot reload (reloader.hpp).
#include "serve/reloader.hpp"

#include <boost/asio/post.hpp>

#include <cstdio>

namespace edgecar::serve {

Reloader::Reloader(boost::asio::io_context& ioc, App& app, std::function<void()> swapped)
    : timer_(ioc), app_(app), swapped_(std::move(swapped)) {}

void Reloader::schedule() {
  timer_.expires_after(std::chrono::seconds(1));
  timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec || self->app_.draining) return;
    self->check();
  });
}

void Reloader::stop() {
  timer_.cancel();
}

void Reloader::check() {
  auto svc = app_.current();
  if (loading_) return schedule();
  if (!svc->changed_on_disk()) {
    rejected_.clear();  // back to what is running (e.g. a broken edit reverted)
    return schedule();
  }
  if (!rejected_.empty() && !changed_since(rejected_)) return schedule();  // same broken files
  loading_ = true;
  auto self = shared_from_this();
  boost::asio::post(app_.workers(), [self, path = svc->manifest.path] {
    auto next = load_service(path);
    boost::asio::post(self->timer_.get_executor(), [self, next = std::move(next)]() mutable {
      self->loading_ = false;
      if (next) {
        self->app_.swap_in(*next);
        if (self->swapped_) self->swapped_();
        self->rejected_.clear();
        std::fprintf(stderr, "edgecar: reloaded %s (%zu function(s))\n",
                     (*next)->manifest.path.c_str(), (*next)->functions.size());
      } else {
        // Remember what was rejected, so the same broken files are not retried.
        self->rejected_ = self->app_.current()->watched;
        for (auto& [file, mtime] : self->rejected_) mtime = modified(file);
        std::fprintf(stderr, "edgecar: reload rejected, the running version keeps serving: %s\n",
                     next.error().message.c_str());
      }
      std::fflush(stderr);
      self->schedule();
    });
  });
}

// A file's modification time; a missing file has the earliest time, so that a file
// still missing is no change (and no new attempt, no new message every second).
std::filesystem::file_time_type Reloader::modified(const std::string& file) {
  std::error_code ec;
  auto t = std::filesystem::last_write_time(file, ec);
  return ec ? std::filesystem::file_time_type::min() : t;
}

bool Reloader::changed_since(const Files& files) {
  for (const auto& [file, mtime] : files)
    if (modified(file) != mtime) return true;
  return false;
}

}  // namespace edgecar::serve

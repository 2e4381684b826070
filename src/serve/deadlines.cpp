// The deadline thread (deadlines.hpp).
#include "serve/deadlines.hpp"

#include <poll.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

namespace edgecar::serve {

namespace {
constexpr auto kClientCheck = std::chrono::milliseconds(100);
}

struct Deadlines::Impl {
  using Clock = std::chrono::steady_clock;
  struct Entry {
    Clock::time_point when;
    Store* store;
    int client_fd;
    Fired fired = Fired::No;
  };
  std::mutex mu;
  std::condition_variable cv;
  std::map<uint64_t, Entry> armed;
  uint64_t next_id = 1;
  bool stop = false;
  Clock::time_point sleeping_until = Clock::time_point::max();  // what the thread waits for
  Clock::time_point next_client_check = Clock::time_point::min();
  std::thread thread;

  void fire(Entry& e, Fired why) {
    e.store->interrupt();
    e.fired = why;
  }

  // Interrupts the stores whose client closed its side or whose connection broke.
  void check_clients() {
    std::vector<pollfd> fds;
    std::vector<Entry*> entries;
    for (auto& [id, e] : armed)
      if (e.fired == Fired::No && e.client_fd >= 0) {
        fds.push_back({e.client_fd, POLLRDHUP, 0});
        entries.push_back(&e);
      }
    if (fds.empty() || ::poll(fds.data(), fds.size(), 0) <= 0) return;
    for (size_t i = 0; i < fds.size(); ++i)
      if (fds[i].revents & (POLLRDHUP | POLLHUP | POLLERR)) fire(*entries[i], Fired::ClientGone);
  }

  void loop() {
    std::unique_lock<std::mutex> lock(mu);
    while (!stop) {
      Entry* earliest = nullptr;
      bool watching = false;
      for (auto& [id, e] : armed) {
        if (e.fired != Fired::No) continue;
        if (!earliest || e.when < earliest->when) earliest = &e;
        watching = watching || e.client_fd >= 0;
      }
      if (!earliest) {
        sleeping_until = Clock::time_point::max();
        cv.wait(lock);
        continue;
      }
      auto now = Clock::now();
      if (now >= earliest->when) {
        fire(*earliest, Fired::Deadline);
        continue;
      }
      auto wake = earliest->when;
      if (watching) {
        if (now >= next_client_check) {
          check_clients();
          next_client_check = now + kClientCheck;
          continue;
        }
        wake = std::min(wake, next_client_check);
      }
      sleeping_until = wake;
      cv.wait_until(lock, sleeping_until);
    }
  }
};

Deadlines::Deadlines() : impl_(std::make_unique<Impl>()) {
  impl_->thread = std::thread([this] { impl_->loop(); });
}

Deadlines::~Deadlines() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stop = true;
  }
  impl_->cv.notify_all();
  impl_->thread.join();
}

uint64_t Deadlines::arm(Store& store, uint32_t timeout_ms, int client_fd) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  uint64_t id = impl_->next_id++;
  auto now = Impl::Clock::now();
  auto when = now + std::chrono::milliseconds(timeout_ms);
  impl_->armed[id] = {when, &store, client_fd};
  // The first look at a new client comes a check interval later, not at once.
  if (client_fd >= 0 && impl_->next_client_check < now)
    impl_->next_client_check = now + kClientCheck;
  auto wake = client_fd >= 0 ? std::min(when, impl_->next_client_check) : when;
  // With equal timeouts new deadlines come last: the thread sleeps on undisturbed.
  if (wake < impl_->sleeping_until) impl_->cv.notify_all();
  return id;
}

Deadlines::Fired Deadlines::disarm(uint64_t id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto it = impl_->armed.find(id);
  if (it == impl_->armed.end()) return Fired::No;
  Fired f = it->second.fired;
  impl_->armed.erase(it);
  return f;
}

}  // namespace edgecar::serve

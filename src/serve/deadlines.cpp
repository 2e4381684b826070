// The deadline thread (deadlines.hpp).
#include "serve/deadlines.hpp"

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

namespace edgecar::serve {

struct Deadlines::Impl {
  using Clock = std::chrono::steady_clock;
  std::mutex mu;
  std::condition_variable cv;
  std::map<uint64_t, std::pair<Clock::time_point, Store*>> armed;
  uint64_t next_id = 1;
  bool stop = false;
  Clock::time_point sleeping_until = Clock::time_point::max();  // what the thread waits for
  std::thread thread;

  void loop() {
    std::unique_lock<std::mutex> lock(mu);
    while (!stop) {
      if (armed.empty()) {
        sleeping_until = Clock::time_point::max();
        cv.wait(lock);
        continue;
      }
      auto earliest = armed.begin();
      for (auto it = armed.begin(); it != armed.end(); ++it)
        if (it->second.first < earliest->second.first) earliest = it;
      if (Clock::now() >= earliest->second.first) {
        earliest->second.second->interrupt();
        armed.erase(earliest);
        continue;
      }
      sleeping_until = earliest->second.first;
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

uint64_t Deadlines::arm(Store& store, uint32_t timeout_ms) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  uint64_t id = impl_->next_id++;
  auto when = Impl::Clock::now() + std::chrono::milliseconds(timeout_ms);
  impl_->armed[id] = {when, &store};
  // With equal timeouts new deadlines come last: the thread sleeps on undisturbed.
  if (when < impl_->sleeping_until) impl_->cv.notify_all();
  return id;
}

void Deadlines::disarm(uint64_t id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->armed.erase(id);
}

}  // namespace edgecar::serve

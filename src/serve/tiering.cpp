// The background compiler (tiering.hpp).
#include "serve/tiering.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <thread>

namespace edgecar::serve {

NativeCompiler& NativeCompiler::instance() {
  // Never destroyed: its detached thread may be compiling when the process exits.
  static NativeCompiler* c = new NativeCompiler;
  return *c;
}

NativeCompiler::NativeCompiler() {
  std::thread([this] { loop(); }).detach();
}

void NativeCompiler::submit(std::vector<uint8_t> bytes, std::string cache_dir, Done done) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopped_) return;
  jobs_.push_back(Job{std::move(bytes), std::move(cache_dir), std::move(done)});
  cv_.notify_all();
}

bool NativeCompiler::stop() {
  std::lock_guard<std::mutex> lock(mu_);
  stopped_ = true;
  jobs_.clear();
  return busy_;
}

void NativeCompiler::loop() {
  // Lowest priority for this thread only (Linux: nice applies per thread).
  (void)!setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 19);
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return !jobs_.empty(); });
      job = std::move(jobs_.front());
      jobs_.pop_front();
      busy_ = true;
    }
    auto start = std::chrono::steady_clock::now();
    LoadOptions load;
    load.engine = Engine::Native;
    load.cache_dir = job.cache_dir;
    load.compile_threads = 1;  // in the background, beside the requests
    auto m = Module::from_bytes(job.bytes, load);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopped_) job.done(std::move(m), secs);
    busy_ = false;
  }
}

}  // namespace edgecar::serve

// Background compilation to native code for `engine: auto` functions (docs/aot.md,
// "Tiering"): one thread for the process, at low priority, one module at a time, so that
// serving never waits for the compiler and compiling never takes a core from requests.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "edgecar/edgecar.hpp"

namespace edgecar::serve {

class NativeCompiler {
 public:
  // Called on the compiler's thread with the native module (or why there is none) and
  // the seconds compilation took.
  using Done = std::function<void(Expected<std::shared_ptr<const Module>>, double)>;
  static NativeCompiler& instance();
  // Compiles `bytes` (storing the result in cache_dir unless "") and calls done.
  void submit(std::vector<uint8_t> bytes, std::string cache_dir, Done done);
  // No more jobs (queued ones are dropped). Returns whether one is compiling now: LLVM
  // cannot be cancelled, so the process must then end with _exit rather than run static
  // destructors under the compiler's feet.
  bool stop();

 private:
  NativeCompiler();
  void loop();
  struct Job {
    std::vector<uint8_t> bytes;
    std::string cache_dir;
    Done done;
  };
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;
  bool stopped_ = false;
  bool busy_ = false;
};

}  // namespace edgecar::serve

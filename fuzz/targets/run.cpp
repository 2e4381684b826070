// Instantiates any module that loads, with every import met by a stub of its type, and
// calls each exported function with zero arguments under a small memory cap and a time
// limit: traps, limits and interrupts must end every run cleanly.
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "runtime/objects.hpp"

using namespace edgecar;

namespace {

// Interrupts the armed store after its deadline; one thread for the whole run.
class Watchdog {
 public:
  Watchdog() : thread_([this] { loop(); }) { thread_.detach(); }
  void arm(Store* s) {
    std::lock_guard<std::mutex> lock(mu_);
    store_ = s;
    deadline_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(budget_ms());
    cv_.notify_one();
  }
  void disarm() {
    std::lock_guard<std::mutex> lock(mu_);
    store_ = nullptr;
  }

 private:
  // Each export runs at most this long: 100 ms, or EDGECAR_FUZZ_DEADLINE_MS (the smoke run
  // of CI, over thousands of seed modules many of which loop, uses less).
  static long budget_ms() {
    static long ms = [] {
      const char* e = std::getenv("EDGECAR_FUZZ_DEADLINE_MS");
      long v = e ? std::atol(e) : 0;
      return v > 0 ? v : 100;
    }();
    return ms;
  }
  void loop() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      if (!store_) {
        cv_.wait(lock);
        continue;
      }
      if (std::chrono::steady_clock::now() >= deadline_) {
        store_->interrupt();
        store_ = nullptr;
        continue;
      }
      cv_.wait_until(lock, deadline_);
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  Store* store_ = nullptr;
  std::chrono::steady_clock::time_point deadline_;
  std::thread thread_;
};

Watchdog& watchdog() {
  static Watchdog* w = new Watchdog;
  return *w;
}

Value zero(ValType t) {
  return Value{t, 0};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto m = Module::from_bytes({data, size});
  if (!m) return 0;
  StoreLimits limits;
  limits.max_memory_pages = 256;  // 16 MiB
  limits.max_table_elements = 100'000;
  limits.max_call_depth = 2'000;
  limits.value_stack_slots = 1 << 16;
  Store store(limits);
  Imports imports;
  const binary::Module& bm = detail::data_of(**m).module;
  for (const auto& im : bm.imports) {
    switch (im.kind) {
      case ExternKind::Func: {
        const FuncType& ft = bm.types[im.func_type];
        imports.add(
            im.module, im.name,
            store.create_host_function(ft, [results = ft.results](HostCall& c) -> Expected<void> {
              for (size_t i = 0; i < results.size(); ++i) c.slots()[i] = 0;
              return {};
            }));
        break;
      }
      case ExternKind::Memory:
        imports.add(im.module, im.name, store.create_memory(im.memory.limits));
        break;
      case ExternKind::Table:
        imports.add(im.module, im.name, store.create_table(im.table.elem, im.table.limits));
        break;
      case ExternKind::Global:
        imports.add(im.module, im.name, store.create_global(zero(im.global.type), im.global.mut));
        break;
    }
  }
  watchdog().arm(&store);
  auto inst = store.instantiate(*m, imports);
  watchdog().disarm();
  if (!inst) return 0;
  for (const auto& e : (*inst)->exports()) {
    auto* f = std::get_if<Function*>(&e.second);
    if (!f) continue;
    std::vector<Value> args;
    for (ValType t : (*f)->type().params) args.push_back(zero(t));
    store.clear_interrupt();
    watchdog().arm(&store);
    auto r = store.call(*f, args);
    watchdog().disarm();
  }
  return 0;
}

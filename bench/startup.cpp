// Start-up costs of edgecar, printed as JSON for bench/run.py:
//   load_us         decode + validate + compile + instantiate of a large module
//   instantiate_us  one more instance (fresh store) of an already-loaded module
//   instantiate_native_us  the same for the module loaded as native code (Engine::Native)
// Usage: bench_startup BIG.wasm MEM1M.wasm
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <vector>

#include "edgecar/edgecar.hpp"

using namespace edgecar;
using Clock = std::chrono::steady_clock;

static std::vector<uint8_t> read(const char* path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
}

static double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

int main(int argc, char** argv) {
  if (argc < 3) return 2;
  auto big = read(argv[1]);
  std::vector<double> load;
  for (int i = 0; i < 5; ++i) {
    auto t0 = Clock::now();
    auto m = Module::from_bytes(big);
    if (!m) {
      std::fprintf(stderr, "%s\n", m.error().to_string().c_str());
      return 1;
    }
    Store store;
    auto inst = store.instantiate(*m, Imports{});
    if (!inst) return 1;
    load.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  // Median microseconds of one more instance (fresh store) of `m`, 300 times; each
  // instance reads its data (the checksum shows the data is really there).
  uint64_t check = 0;
  auto instantiate = [&](const std::shared_ptr<const Module>& m) -> double {
    std::vector<double> times;
    for (int i = 0; i < 300; ++i) {
      auto t0 = Clock::now();
      Store store;
      auto inst = store.instantiate(m, Imports{});
      double us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
      if (!inst) return -1;
      times.push_back(us);
      Value arg[] = {Value::i32(i * 997 % (1 << 20))};
      check += (*store.call(*inst, "load", arg))[0].as_i32();
    }
    return median(times);
  };
  auto mem = Module::from_bytes(read(argv[2]));
  if (!mem) return 1;
  LoadOptions native;
  native.engine = Engine::Native;
  auto nmem = Module::from_bytes(read(argv[2]), native);
  if (!nmem) {
    std::fprintf(stderr, "%s\n", nmem.error().to_string().c_str());
    return 1;
  }
  double interp_us = instantiate(*mem), native_us = instantiate(*nmem);
  if (interp_us < 0 || native_us < 0) return 1;
  std::printf(
      "{\"load_us\": %.0f, \"instantiate_us\": %.1f, \"instantiate_native_us\": %.1f, "
      "\"note\": \"in-process, public API (checksum %llu)\"}\n",
      median(load), interp_us, native_us, static_cast<unsigned long long>(check));
  return 0;
}

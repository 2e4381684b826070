// Per-function tiering (src/aot/tierup.cpp): functions that get hot switch to native code
// while a call is under way, a loop entered once goes on natively from its header, and
// traps, stack exhaustion and exceptions behave as in the interpreter. Each result is
// compared with the interpreter's; the tier's counts show that native code did run.
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "test_util.hpp"

namespace edgecar::test {
namespace {

std::shared_ptr<const Module> load_tiered(uint32_t threshold, bool synchronous,
                                          const std::string& cache_dir = "") {
  LoadOptions load;
  load.tier_up = true;
  load.tier_threshold = threshold;
  load.tier_synchronous = synchronous;
  load.cache_dir = cache_dir;
  auto m = Module::from_file(wat_path("tierup"), load);
  EXPECT_TRUE(m.ok()) << (m.ok() ? "" : m.error().to_string());
  return m.ok() ? *m : nullptr;
}

Instance* instantiate(const std::shared_ptr<const Module>& m, Store& store) {
  auto inst = store.instantiate(m, Imports{});
  EXPECT_TRUE(inst.ok()) << (inst.ok() ? "" : inst.error().to_string());
  return inst.ok() ? *inst : nullptr;
}

Expected<std::vector<Value>> call(const std::shared_ptr<const Module>& m, const char* name,
                                  std::vector<Value> args, Store& store) {
  Instance* inst = instantiate(m, store);
  if (!inst) return Error{ErrorKind::Link, "instantiation failed"};
  return store.call(inst, name, args);
}

std::vector<Value> interpreted(const char* name, std::vector<Value> args) {
  auto m = load_test_module("tierup");
  Store store;
  auto r = call(m, name, std::move(args), store);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().to_string());
  return r.ok() ? *r : std::vector<Value>{};
}

TEST(TierUp, AnInterpretedModuleCountsNothingAndCompilesNothing) {
  auto m = load_test_module("tierup");
  ASSERT_TRUE(m);
  EXPECT_FALSE(m->tier_counts().has_value());
}

TEST(TierUp, AHotCalleeSwitchesToNativeCodeMidRun) {
  auto m = load_tiered(50, true);
  ASSERT_TRUE(m);
  Store store;
  auto r = call(m, "sum_sq", {Value::i32(3000)}, store);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ((*r)[0].bits, interpreted("sum_sq", {Value::i32(3000)})[0].bits);
  auto counts = m->tier_counts();
  ASSERT_TRUE(counts);
  EXPECT_GE(counts->compiled, 2u);  // $sq, and sum_sq itself (its loop counts)
  EXPECT_EQ(counts->failed, 0u);
}

TEST(TierUp, ALoopEnteredOnceGoesOnNativelyWithItsLocals) {
  auto m = load_tiered(100, true);
  ASSERT_TRUE(m);
  Store store;
  std::vector<Value> args{Value::i32(200000), Value::i64(12345)};
  auto r = call(m, "mix", args, store);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ((*r)[0].bits, interpreted("mix", args)[0].bits);
  EXPECT_EQ(m->tier_counts()->osr_taken, 1u);
}

TEST(TierUp, TheBackgroundCompilerTakesOverWhileTheGuestRuns) {
  auto m = load_tiered(100, false);
  ASSERT_TRUE(m);
  Store store;
  Instance* inst = instantiate(m, store);
  ASSERT_TRUE(inst);
  uint64_t want = interpreted("sum_sq", {Value::i32(1000)})[0].bits;
  // Until the compiler thread has published $sq (bounded: it compiles in milliseconds).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (m->tier_counts()->compiled == 0 && std::chrono::steady_clock::now() < deadline) {
    auto r = store.call(inst, "sum_sq", std::vector<Value>{Value::i32(1000)});
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    ASSERT_EQ((*r)[0].bits, want);
  }
  EXPECT_GT(m->tier_counts()->compiled, 0u);
  for (int i = 0; i < 5; ++i) {  // now with native code installed
    auto r = store.call(inst, "sum_sq", std::vector<Value>{Value::i32(1000)});
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    EXPECT_EQ((*r)[0].bits, want);
  }
}

TEST(TierUp, ATrapInCodeEnteredAtALoopIsTheInterpretersTrap) {
  auto m = load_tiered(100, true);
  ASSERT_TRUE(m);
  Store store;
  Instance* inst = instantiate(m, store);
  ASSERT_TRUE(inst);
  auto r = store.call(inst, "fill", std::vector<Value>{Value::i32(100000)});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().trap, TrapKind::MemoryOutOfBounds);
  // One frame: the native code that took over the interpreted one is not named twice.
  EXPECT_EQ(r.error().backtrace, std::vector<std::string>{"fill"});
  EXPECT_EQ(m->tier_counts()->osr_taken, 1u);
  // The store is still usable, and the stores before the trap happened.
  auto ok = store.call(inst, "fill", std::vector<Value>{Value::i32(200)});
  ASSERT_TRUE(ok.ok()) << ok.error().to_string();
  EXPECT_EQ((*ok)[0].as_i32(), 100);
}

TEST(TierUp, ATrapInATieredCalleeHasTheInterpretersBacktrace) {
  auto want = [] {
    auto m = load_test_module("tierup");
    Store store;
    return call(m, "check_all", {Value::i32(2000)}, store).error().backtrace;
  }();
  ASSERT_EQ(want, (std::vector<std::string>{"check", "check_all"}));
  // Native callee, caller entered natively at its loop.
  auto m = load_tiered(10, true);
  ASSERT_TRUE(m);
  Store store;
  auto r = call(m, "check_all", {Value::i32(2000)}, store);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().trap, TrapKind::Unreachable);
  EXPECT_EQ(r.error().backtrace, want);
  EXPECT_EQ(m->tier_counts()->osr_taken, 1u);
  // Native callee, interpreted caller (its loop has no native entry).
  auto m2 = load_tiered(10, true);
  ASSERT_TRUE(m2);
  Store store2;
  auto r2 = call(m2, "check_under", {Value::i32(2000)}, store2);
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.error().backtrace, (std::vector<std::string>{"check", "check_under"}));
  EXPECT_EQ(m2->tier_counts()->osr_taken, 0u);
  EXPECT_GE(m2->tier_counts()->compiled, 1u);
}

TEST(TierUp, DeepRecursionOfATieredFunctionExhaustsTheStackCleanly) {
  auto m = load_tiered(10, true);
  ASSERT_TRUE(m);
  Store store;
  Instance* inst = instantiate(m, store);
  ASSERT_TRUE(inst);
  auto small = store.call(inst, "down", std::vector<Value>{Value::i32(500)});
  ASSERT_TRUE(small.ok()) << small.error().to_string();
  EXPECT_EQ((*small)[0].as_i32(), 500);
  auto r = store.call(inst, "down", std::vector<Value>{Value::i32(100000000)});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().trap, TrapKind::CallStackExhausted);
  auto again = store.call(inst, "down", std::vector<Value>{Value::i32(500)});
  ASSERT_TRUE(again.ok()) << again.error().to_string();
}

// Go programs alternate tiers hundreds of times in one stack (jsonnet: a trap at the 65th
// interpreted frame entered from native code, before nesting was bounded by the stack).
TEST(TierUp, HundredsOfAlternatingInterpretedAndNativeFramesRun) {
  auto m = load_tiered(1000, true);
  ASSERT_TRUE(m);
  Store store;
  Instance* inst = instantiate(m, store);
  ASSERT_TRUE(inst);
  for (int i = 0; i < 1100; ++i)
    ASSERT_TRUE(store.call(inst, "ping", std::vector<Value>{Value::i32(0)}).ok());
  ASSERT_EQ(m->tier_counts()->compiled, 1u);  // $ping; $pong is interpreted
  auto r = store.call(inst, "ping", std::vector<Value>{Value::i32(600)});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ((*r)[0].as_i32(), 600);
  EXPECT_EQ(m->tier_counts()->compiled, 1u);  // 300 calls of $pong: still interpreted
  // Deeper than the stack allows still ends in a trap, not a fault.
  auto deep = store.call(inst, "ping", std::vector<Value>{Value::i32(10000000)});
  ASSERT_FALSE(deep.ok());
  EXPECT_EQ(deep.error().trap, TrapKind::CallStackExhausted);
}

TEST(TierUp, ExceptionsCrossBetweenInterpretedAndTieredFrames) {
  auto m = load_tiered(20, true);
  ASSERT_TRUE(m);
  Store store;
  auto r = call(m, "catch_sum", {Value::i32(300)}, store);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ((*r)[0].as_i32(), interpreted("catch_sum", {Value::i32(300)})[0].as_i32());
  EXPECT_EQ((*r)[0].as_i32(), 299 * 300 / 2);
  EXPECT_GE(m->tier_counts()->compiled, 2u);
  // Uncaught, from a loop that went native: the embedder gets it with its payload.
  Store store2;
  auto u = call(m, "throw_at", {Value::i32(5000)}, store2);
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.error().trap, TrapKind::UncaughtException);
  EXPECT_GE(m->tier_counts()->osr_taken, 1u);
  auto exn = store2.uncaught_exception();
  ASSERT_TRUE(exn);
  ASSERT_EQ(exn->payload.size(), 1u);
  EXPECT_EQ(exn->payload[0].as_i32(), 5000);
}

namespace fs = std::filesystem;

// The disk cache: each compiled batch is a file in the cache's tier-* folder of the module.
class TierCache : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("edgecar-tier-test-" + std::to_string(getpid()));
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::vector<fs::path> files() {
    std::vector<fs::path> out;
    if (!fs::exists(dir_)) return out;
    for (const auto& d : fs::directory_iterator(dir_))
      if (d.is_directory() && d.path().filename().string().rfind("tier-", 0) == 0)
        for (const auto& f : fs::directory_iterator(d.path())) out.push_back(f.path());
    std::sort(out.begin(), out.end());
    return out;
  }
  // sum_sq(3000) calls $sq 3,000 times: at a threshold of 50, interpreted, it gets hot.
  void expect_sum_sq(const std::shared_ptr<const Module>& m) {
    Store store;
    auto r = call(m, "sum_sq", {Value::i32(3000)}, store);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    EXPECT_EQ((*r)[0].bits, interpreted("sum_sq", {Value::i32(3000)})[0].bits);
  }
  fs::path dir_;
};

TEST_F(TierCache, ASecondLoadStartsNativeForWhatWasHot) {
  auto first = load_tiered(50, true, dir_.string());
  ASSERT_TRUE(first);
  expect_sum_sq(first);
  EXPECT_GE(first->tier_counts()->compiled, 2u);
  EXPECT_EQ(first->tier_counts()->cached, 0u);
  size_t stored = files().size();
  ASSERT_GE(stored, 1u);

  // Linked at load (synchronous: the second tier's O2 is compiled at load too, replacing
  // the quick batches' files), so nothing is interpreted long enough to get hot again.
  auto second = load_tiered(50, true, dir_.string());
  ASSERT_TRUE(second);
  auto c = second->tier_counts();
  EXPECT_GE(c->cached, 2u);
  EXPECT_EQ(c->upgraded, c->cached);
  EXPECT_EQ(files().size(), stored);  // each quick file replaced by its O2 one
  expect_sum_sq(second);
  EXPECT_EQ(second->tier_counts()->queued, 0u);
  EXPECT_EQ(second->tier_counts()->compiled, 0u);
  EXPECT_TRUE(second->native_notes().empty()) << second->native_notes();

  auto third = load_tiered(50, true, dir_.string());
  ASSERT_TRUE(third);
  EXPECT_EQ(third->tier_counts()->cached, c->cached);
  EXPECT_EQ(third->tier_counts()->upgraded, 0u);  // the best pipeline already
  expect_sum_sq(third);
  EXPECT_EQ(third->tier_counts()->queued, 0u);
}

TEST_F(TierCache, ATemporaryFileLeftByAnInterruptedWriteIsRemovedOnceOld) {
  auto first = load_tiered(50, true, dir_.string());
  ASSERT_TRUE(first);
  expect_sum_sq(first);
  auto stored = files();
  ASSERT_FALSE(stored.empty());
  fs::path folder = stored[0].parent_path();
  fs::path old_tmp = folder / "x.tier.tmp.999999", new_tmp = folder / "y.tier.tmp.999998";
  std::ofstream(old_tmp) << "half a batch";
  std::ofstream(new_tmp) << "a batch being written";
  fs::last_write_time(old_tmp, fs::file_time_type::clock::now() - std::chrono::hours(1));
  // Storing a batch trims the cache: tier a function the first load did not.
  auto second = load_tiered(50, true, dir_.string());
  ASSERT_TRUE(second);
  Store store;
  auto r = call(second, "mix", {Value::i32(20000), Value::i64(7)}, store);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_GE(second->tier_counts()->compiled, 1u);
  EXPECT_FALSE(fs::exists(old_tmp));
  EXPECT_TRUE(fs::exists(new_tmp));  // may still be in progress
}

TEST_F(TierCache, ACorruptOrMisplacedFileIsRefusedWithTheReasonAndNeverRun) {
  auto first = load_tiered(50, true, dir_.string());
  ASSERT_TRUE(first);
  expect_sum_sq(first);
  auto stored = files();
  ASSERT_FALSE(stored.empty());
  {
    std::fstream f(stored[0], std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-1, std::ios::end);
    f.put('\x5a');
  }
  // A whole module's native code where a batch belongs.
  auto whole = Module::from_file(wat_path("tierup"), LoadOptions{Engine::Native});
  ASSERT_TRUE(whole.ok()) << whole.error().to_string();
  fs::path misplaced = stored[0].parent_path() / "0000.tier";
  ASSERT_TRUE((*whole)->save_native(misplaced.string()).ok());

  auto second = load_tiered(50, true, dir_.string());
  ASSERT_TRUE(second);
  std::string notes = second->native_notes();
  EXPECT_NE(notes.find(stored[0].string() + " refused: its code does not match the hash"),
            std::string::npos)
      << notes;
  EXPECT_NE(notes.find("0000.tier refused: a module's code, not a per-function tiering entry"),
            std::string::npos)
      << notes;
  expect_sum_sq(second);  // what was refused is interpreted, then compiled again

  // And a batch is not a module's artifact.
  auto as_artifact = Module::from_file(wat_path("tierup"), [&] {
    LoadOptions o{Engine::Interp, true};
    o.artifact = files().back().string();
    return o;
  }());
  ASSERT_TRUE(as_artifact.ok()) << as_artifact.error().to_string();
  EXPECT_NE((*as_artifact)->native_notes().find("a per-function tiering cache entry"),
            std::string::npos)
      << (*as_artifact)->native_notes();
}

}  // namespace
}  // namespace edgecar::test

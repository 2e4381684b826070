// The embedding API: host functions, typed calls, traps with backtraces, memory access,
// limits and interruption. Every trap must leave the store usable. The ApiTest cases
// run on both tiers: the interpreter and native code (LLVM).
#include <pthread.h>

#include <array>
#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <thread>

#include "runtime/objects.hpp"
#include "test_util.hpp"

namespace edgecar::test {
namespace {

class ApiTest : public ::testing::TestWithParam<Engine> {
 public:
  void SetUp() override { instantiate(StoreLimits{}); }

  void instantiate(StoreLimits limits) {
    store_ = std::make_unique<Store>(limits);
    auto m = load_test_module("api", GetParam());
    ASSERT_TRUE(m);
    ASSERT_EQ(m->engine(), GetParam());
    Imports imports;
    imports.add("host", "add",
                store_->create_host_function(
                    FuncType{{ValType::I32, ValType::I32}, {ValType::I32}},
                    [this](HostCall& c) -> Expected<void> {
                      host_calls_++;
                      c.set_i32(0, c.i32(0) + c.i32(1));
                      return {};
                    },
                    "host.add"));
    imports.add(
        "host", "fail",
        store_->create_host_function(
            FuncType{}, [](HostCall&) -> Expected<void> { return host_error("the host said no"); },
            "host.fail"));
    auto inst = store_->instantiate(m, imports);
    ASSERT_TRUE(inst.ok()) << inst.error().to_string();
    inst_ = *inst;
  }

  Expected<std::vector<Value>> call(const char* name, std::vector<Value> args) {
    return store_->call(inst_, name, args);
  }

  std::unique_ptr<Store> store_;
  Instance* inst_ = nullptr;
  int host_calls_ = 0;
  std::optional<TrapKind> small_stack_trap_;
};

TEST_P(ApiTest, CallsHostFunctionWithArguments) {
  auto r = call("call_host", {Value::i32(40), Value::i32(2)});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].as_i32(), 42);
  EXPECT_EQ(host_calls_, 1);
}

TEST_P(ApiTest, HostFunctionErrorBecomesTrapWithMessage) {
  auto r = call("call_fail", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::Trap);
  EXPECT_EQ(r.error().trap, TrapKind::Host);
  EXPECT_NE(r.error().message.find("the host said no"), std::string::npos);
}

TEST_P(ApiTest, TrapCarriesKindAndBacktraceFromNameSection) {
  auto r = call("outer_div", {Value::i32(1), Value::i32(0)});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().trap, TrapKind::IntegerDivideByZero);
  ASSERT_EQ(r.error().backtrace.size(), 2u);
  EXPECT_EQ(r.error().backtrace[0], "divide");
  EXPECT_EQ(r.error().backtrace[1], "outer");
  EXPECT_NE(r.error().to_string().find("integer divide by zero"), std::string::npos);
  // The store stays usable after a trap.
  auto ok = call("div", {Value::i32(7), Value::i32(2)});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ((*ok)[0].as_i32(), 3);
}

TEST_P(ApiTest, IntegerOverflowTrap) {
  auto r = call("div", {Value::i32(INT32_MIN), Value::i32(-1)});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().trap, TrapKind::IntegerOverflow);
}

TEST_P(ApiTest, HostReadsAndWritesGuestMemory) {
  Memory* mem = inst_->get_memory("memory");
  ASSERT_NE(mem, nullptr);
  std::vector<uint8_t> buf(5);
  ASSERT_TRUE(mem->read(16, buf).ok());
  EXPECT_EQ(std::string(buf.begin(), buf.end()), "hello");
  std::vector<uint8_t> w = {'W'};
  ASSERT_TRUE(mem->write(100, w).ok());
  auto r = call("load", {Value::i32(100)});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[0].as_i32(), 'W');
  // Out-of-bounds host access is refused, not a crash.
  EXPECT_FALSE(mem->read(mem->size_bytes() - 2, buf).ok());
  EXPECT_FALSE(mem->write(UINT64_MAX, w).ok());
}

TEST_P(ApiTest, GuestOutOfBoundsAccessTraps) {
  auto r = call("load", {Value::i32(65536)});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().trap, TrapKind::MemoryOutOfBounds);
  auto s = call("store", {Value::i32(-1), Value::i32(1)});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().trap, TrapKind::MemoryOutOfBounds);
}

TEST_P(ApiTest, MemoryGrowthHonoursDeclaredMaximum) {
  auto r = call("grow", {Value::i32(3)});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[0].as_i32(), 1);  // old size
  auto again = call("grow", {Value::i32(1)});
  EXPECT_EQ((*again)[0].as_i32(), -1);  // max is 4 pages
  auto load = call("load", {Value::i32(4 * 65536 - 1)});
  ASSERT_TRUE(load.ok()) << load.error().to_string();
}

TEST_P(ApiTest, MemoryGrowthHonoursEmbedderCap) {
  StoreLimits limits;
  limits.max_memory_pages = 2;
  instantiate(limits);
  auto r = call("grow", {Value::i32(2)});
  EXPECT_EQ((*r)[0].as_i32(), -1);
  auto ok = call("grow", {Value::i32(1)});
  EXPECT_EQ((*ok)[0].as_i32(), 1);
}

TEST_P(ApiTest, InfiniteRecursionExhaustsStackWithoutCrashing) {
  auto r = call("recurse", {Value::i64(0)});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().trap, TrapKind::CallStackExhausted);
  auto ok = call("call_host", {Value::i32(1), Value::i32(2)});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ((*ok)[0].as_i32(), 3);
}

// With a call-depth limit far beyond what the thread's stack holds, the native tier's
// stack check (not the depth limit) must end the recursion, in a trap; also on a thread
// with a small stack, as service workers may have.
TEST_P(ApiTest, RecursionBeyondTheThreadStackTrapsWithoutCrashing) {
  StoreLimits limits;
  limits.max_call_depth = 50'000'000;
  instantiate(limits);
  auto r = call("recurse", {Value::i64(0)});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().trap, TrapKind::CallStackExhausted);
  std::optional<TrapKind> on_small_stack;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 512 * 1024);
  pthread_t t;
  auto body = [](void* self) -> void* {
    auto* test = static_cast<decltype(this)>(self);
    auto r = test->call("recurse", {Value::i64(0)});
    test->small_stack_trap_ = r.ok() ? std::nullopt : r.error().trap;
    return nullptr;
  };
  ASSERT_EQ(pthread_create(&t, &attr, body, this), 0);
  pthread_join(t, nullptr);
  pthread_attr_destroy(&attr);
  EXPECT_EQ(small_stack_trap_, TrapKind::CallStackExhausted);
  EXPECT_TRUE(call("call_host", {Value::i32(1), Value::i32(2)}).ok());
}

TEST_P(ApiTest, InterruptStopsARunningGuest) {
  std::thread stopper([this] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    store_->interrupt();
  });
  auto r = call("spin", {});
  stopper.join();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().trap, TrapKind::Interrupted);
  store_->clear_interrupt();
  EXPECT_TRUE(call("bump", {}).ok());
}

TEST_P(ApiTest, MultiValueResults) {
  auto r = call("swap", {Value::i32(1), Value::i64(2)});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].type, ValType::I64);
  EXPECT_EQ((*r)[0].as_i64(), 2);
  EXPECT_EQ((*r)[1].as_i32(), 1);
}

TEST_P(ApiTest, GlobalsAreVisibleToTheHost) {
  Global* g = inst_->get_global("counter");
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->get().as_i32(), 7);
  ASSERT_TRUE(call("bump", {}).ok());
  EXPECT_EQ(g->get().as_i32(), 8);
  ASSERT_TRUE(g->set(Value::i32(100)).ok());
  EXPECT_EQ((*call("bump", {}))[0].as_i32(), 101);
  EXPECT_FALSE(g->set(Value::i64(1)).ok());
}

TEST_P(ApiTest, FloatMinKeepsSignedZero) {
  auto r = call("f64_min", {Value::f64(0.0), Value::f64(-0.0)});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(std::signbit((*r)[0].as_f64()));
}

TEST_P(ApiTest, WrongArgumentsAreUsageErrors) {
  auto r = call("div", {Value::i32(1)});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::Usage);
  auto t = call("div", {Value::i32(1), Value::f32(1)});
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().kind, ErrorKind::Usage);
  EXPECT_FALSE(call("no_such_export", {}).ok());
}

INSTANTIATE_TEST_SUITE_P(Tiers, ApiTest, ::testing::Values(Engine::Interp, Engine::Native),
                         engine_name);

TEST(Linking, UnknownImportNamesModuleFieldAndType) {
  auto m = load_test_module("api");
  ASSERT_TRUE(m);
  Store store;
  auto inst = store.instantiate(m, Imports{});
  ASSERT_FALSE(inst.ok());
  EXPECT_EQ(inst.error().kind, ErrorKind::Link);
  EXPECT_NE(inst.error().message.find("\"host\" \"add\" (func (i32, i32) -> (i32))"),
            std::string::npos)
      << inst.error().message;
}

TEST(Linking, ImportTypeMustMatchExactly) {
  auto m = load_test_module("api");
  ASSERT_TRUE(m);
  Store store;
  Imports imports;
  imports.add("host", "add",
              store.create_host_function(FuncType{{ValType::I32}, {ValType::I32}},
                                         [](HostCall&) -> Expected<void> { return {}; }));
  imports.add(
      "host", "fail",
      store.create_host_function(FuncType{}, [](HostCall&) -> Expected<void> { return {}; }));
  auto inst = store.instantiate(m, imports);
  ASSERT_FALSE(inst.ok());
  EXPECT_NE(inst.error().message.find("incompatible import type"), std::string::npos)
      << inst.error().message;
}

TEST(Linking, InstancesOfOneModuleAreIsolated) {
  auto m = load_test_module("api");
  ASSERT_TRUE(m);
  Store store;
  Imports imports = stub_api_imports(store);
  Instance* a = *store.instantiate(m, imports);
  Instance* b = *store.instantiate(m, imports);
  Value args[] = {Value::i32(0), Value::i32(99)};
  ASSERT_TRUE(store.call(a, "store", args).ok());
  Value addr[] = {Value::i32(0)};
  EXPECT_EQ((*store.call(a, "load", addr))[0].as_i32(), 99);
  EXPECT_EQ((*store.call(b, "load", addr))[0].as_i32(), 0);
  // Initial data comes from a shared copy-on-write image: overwriting it in one
  // instance changes neither the others nor instances created afterwards.
  Value over[] = {Value::i32(16), Value::i32('J')};
  ASSERT_TRUE(store.call(a, "store", over).ok());
  Value at16[] = {Value::i32(16)};
  EXPECT_EQ((*store.call(a, "load", at16))[0].as_i32(), 'J');
  EXPECT_EQ((*store.call(b, "load", at16))[0].as_i32(), 'h');
  Store other;
  Instance* c = *other.instantiate(m, stub_api_imports(other));
  EXPECT_EQ((*other.call(c, "load", at16))[0].as_i32(), 'h');
}

// i32 lanes of a v128 value, lane 0 first.
std::array<uint32_t, 4> lanes(const Value& v) {
  return {static_cast<uint32_t>(v.bits), static_cast<uint32_t>(v.bits >> 32),
          static_cast<uint32_t>(v.hi), static_cast<uint32_t>(v.hi >> 32)};
}
Value i32x4(uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
  return Value::v128(uint64_t{b} << 32 | a, uint64_t{d} << 32 | c);
}

TEST(Simd, HostFunctionTakesAndReturnsV128) {
  auto m = load_test_module("simd");
  ASSERT_TRUE(m);
  Store store;
  Imports imports;
  int calls = 0;
  imports.add(
      "host", "mix",
      store.create_host_function(
          FuncType{{ValType::I32, ValType::V128, ValType::F64, ValType::V128}, {ValType::V128}},
          [&](HostCall& c) -> Expected<void> {
            ++calls;
            // Slots: i32 at 0, v128 at 1-2, f64 at 3, v128 at 4-5.
            if (c.u32(0) != 7 || c.f64(3) != 2.5) return host_error("scalars in the wrong slots");
            Value a = c.v128(1), b = c.v128(4);
            // Lane-wise a * 100 + b, written to the result's two slots.
            auto la = lanes(a), lb = lanes(b);
            Value r = i32x4(la[0] * 100 + lb[0], la[1] * 100 + lb[1], la[2] * 100 + lb[2],
                            la[3] * 100 + lb[3]);
            c.set_v128(0, r.bits, r.hi);
            return {};
          }));
  auto inst = store.instantiate(m, imports);
  ASSERT_TRUE(inst.ok()) << inst.error().to_string();
  Value args[] = {i32x4(1, 2, 3, 4), i32x4(5, 6, 7, 8)};
  auto r = store.call(*inst, "call_mix", args);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].type, ValType::V128);
  EXPECT_EQ(lanes((*r)[0]), (std::array<uint32_t, 4>{106, 207, 308, 409}));
  EXPECT_EQ(calls, 1);
}

TEST(Simd, V128ExportsAndGlobalsThroughTheApi) {
  auto m = load_test_module("simd");
  ASSERT_TRUE(m);
  Store store;
  Imports imports;
  imports.add(
      "host", "mix",
      store.create_host_function(
          FuncType{{ValType::I32, ValType::V128, ValType::F64, ValType::V128}, {ValType::V128}},
          [](HostCall&) -> Expected<void> { return {}; }));
  Instance* inst = *store.instantiate(m, imports);
  Value arg[] = {Value::v128(0x0706050403020100ull, 0x0F0E0D0C0B0A0908ull)};
  auto r = store.call(inst, "swap_halves", arg);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ((*r)[0].bits, 0x0F0E0D0C0B0A0908ull);
  EXPECT_EQ((*r)[0].hi, 0x0706050403020100ull);
  Global* g = inst->get_global("g");
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(lanes(g->get()), (std::array<uint32_t, 4>{1, 2, 3, 4}));
  auto b = store.call(inst, "bump_global", {});
  ASSERT_TRUE(b.ok()) << b.error().to_string();
  EXPECT_EQ(lanes((*b)[0]), (std::array<uint32_t, 4>{10, 20, 30, 40}));
  ASSERT_TRUE(g->set(i32x4(5, 6, 7, 0xFFFFFFFF)).ok());
  EXPECT_EQ(lanes((*store.call(inst, "bump_global", {}))[0]),
            (std::array<uint32_t, 4>{50, 60, 70, 0xFFFFFFF6}));
  // A v128 argument of the wrong type is refused, not reinterpreted.
  Value wrong[] = {Value::i64(1)};
  EXPECT_FALSE(store.call(inst, "swap_halves", wrong).ok());
}

// Typed function references (WebAssembly 3.0), on both tiers: tests/unit/wat/typed_refs.wat.
class TypedRefs : public ::testing::TestWithParam<Engine> {};
INSTANTIATE_TEST_SUITE_P(Tiers, TypedRefs, ::testing::Values(Engine::Interp, Engine::Native),
                         [](const auto& info) {
                           return std::string(info.param == Engine::Native ? "Native" : "Interp");
                         });

TEST_P(TypedRefs, CallRefBranchesOnNullAndTraps) {
  auto m = load_test_module("typed_refs", GetParam());
  ASSERT_TRUE(m);
  Store store;
  auto inst = store.instantiate(m, Imports{});
  ASSERT_TRUE(inst.ok()) << inst.error().to_string();
  auto i32 = [&](const char* name, std::vector<Value> args) {
    auto r = store.call(*inst, name, args);
    EXPECT_TRUE(r.ok()) << name << ": " << r.error().to_string();
    return r.ok() ? (*r)[0].as_i32() : 0;
  };
  EXPECT_EQ(i32("apply", {Value::i32(1), Value::i32(5)}), 6);   // $inc
  EXPECT_EQ(i32("apply", {Value::i32(0), Value::i32(5)}), 10);  // $dbl
  EXPECT_EQ(i32("apply_table", {Value::i32(0), Value::i32(5)}), 6);
  EXPECT_EQ(i32("apply_table", {Value::i32(1), Value::i32(5)}), 10);
  EXPECT_EQ(i32("apply_sub", {Value::i32(2), Value::i32(3)}), 5);
  EXPECT_EQ(i32("br_on_null", {Value::i32(1)}), -1);
  EXPECT_EQ(i32("br_on_null", {Value::i32(0)}), 20);
  EXPECT_EQ(i32("br_on_non_null", {Value::i32(1)}), 0);
  EXPECT_EQ(i32("br_on_non_null", {Value::i32(0)}), 8);
  auto null_call = store.call(*inst, "call_null", {});
  ASSERT_FALSE(null_call.ok());
  EXPECT_EQ(null_call.error().trap, TrapKind::NullFunctionReference);
  EXPECT_EQ(null_call.error().message.rfind("null function reference", 0), 0u);
  auto as_non_null = store.call(*inst, "as_non_null_null", {});
  ASSERT_FALSE(as_non_null.ok());
  EXPECT_EQ(as_non_null.error().trap, TrapKind::NullReference);
  // A table index past its end still traps as before.
  auto oob = store.call(*inst, "apply_table", {{Value::i32(2), Value::i32(5)}});
  ASSERT_FALSE(oob.ok());
  EXPECT_EQ(oob.error().trap, TrapKind::TableOutOfBounds);
}

TEST_P(TypedRefs, ReturnCallRefRecursesAMillionTimesInConstantStack) {
  auto m = load_test_module("typed_refs", GetParam());
  ASSERT_TRUE(m);
  Store store;  // the default call depth limit (20,000) is far below a million
  auto inst = store.instantiate(m, Imports{});
  ASSERT_TRUE(inst.ok());
  Value n[] = {Value::i64(1'000'000)};
  auto r = store.call(*inst, "count_down", n);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ((*r)[0].as_i64(), 500'000'500'000);
}

TEST_P(TypedRefs, EmbedderValuesAreCheckedAgainstTypedParameters) {
  auto m = load_test_module("typed_refs", GetParam());
  ASSERT_TRUE(m);
  Store store;
  auto inst = store.instantiate(m, Imports{});
  ASSERT_TRUE(inst.ok());
  auto f = store.call(*inst, "inc_ref", {});
  ASSERT_TRUE(f.ok()) << f.error().to_string();
  ASSERT_FALSE((*f)[0].is_null_ref());
  // A function reference passes through (ref $unop); null does not fit, nor an externref.
  auto back = store.call(*inst, "pass", *f);
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ((*back)[0].bits, (*f)[0].bits);
  Value null_arg[] = {Value::funcref(nullptr)};
  auto null_r = store.call(*inst, "pass", null_arg);
  ASSERT_FALSE(null_r.ok());
  EXPECT_EQ(null_r.error().kind, ErrorKind::Usage) << null_r.error().to_string();
  int host = 0;
  Value extern_arg[] = {Value::externref(&host)};
  EXPECT_FALSE(store.call(*inst, "pass", extern_arg).ok());
  // A function of another type would be called with the wrong signature: refused.
  Function* add = (*inst)->get_function("apply_sub");
  ASSERT_NE(add, nullptr);
  Value wrong_type[] = {Value::funcref(add)};
  auto wrong = store.call(*inst, "pass", wrong_type);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().kind, ErrorKind::Usage);
}

// Garbage collection (WebAssembly 3.0, interpreter): tests/unit/wat/gc.wat.
TEST(Gc, AMillionNodeListSurvivesCollections) {
  auto m = load_test_module("gc");
  ASSERT_TRUE(m);
  Store store;
  auto inst = store.instantiate(m, Imports{});
  ASSERT_TRUE(inst.ok()) << inst.error().to_string();
  constexpr int64_t n = 1'000'000;
  Value count[] = {Value::i32(n)};
  auto built = store.call(*inst, "build", count);
  ASSERT_TRUE(built.ok()) << built.error().to_string();
  // The list (40 MB) and the garbage made beside it (72 MB) exceed the first thresholds.
  Store::GcStats after_build = store.gc_stats();
  EXPECT_GT(after_build.collections, 0u);
  EXPECT_EQ(after_build.frames_read_whole, 0u);  // every frame by its stack map
  const int64_t expected = n * (n + 1) / 2 | n << 40;
  auto walk = [&] {
    auto r = store.call(*inst, "walk", {});
    EXPECT_TRUE(r.ok()) << r.error().to_string();
    return r.ok() ? (*r)[0].as_i64() : 0;
  };
  EXPECT_EQ(walk(), expected);
  // 200 MB of garbage later (many more collections), the list is whole.
  Value churn[] = {Value::i32(200'000), Value::i32(1000)};
  ASSERT_TRUE(store.call(*inst, "churn", churn).ok());
  Store::GcStats after_churn = store.gc_stats();
  EXPECT_GT(after_churn.collections, after_build.collections);
  EXPECT_LT(after_churn.bytes, 100u << 20);  // the garbage was freed
  EXPECT_EQ(walk(), expected);
  // Dropped, the list is collected by the next collections.
  ASSERT_TRUE(store.call(*inst, "drop_list", {}).ok());
  ASSERT_TRUE(store.call(*inst, "churn", churn).ok());
  EXPECT_LT(store.gc_stats().bytes, 16u << 20) << store.gc_stats().objects << " objects";
}

TEST(Gc, TheHeapLimitTrapsAndTheStoreStaysUsable) {
  auto m = load_test_module("gc");
  ASSERT_TRUE(m);
  StoreLimits limits;
  limits.max_gc_heap_bytes = 8 << 20;
  Store store(limits);
  auto inst = store.instantiate(m, Imports{});
  ASSERT_TRUE(inst.ok());
  // Garbage far beyond the limit is fine: collections reclaim it.
  Value churn[] = {Value::i32(100'000), Value::i32(1000)};
  auto c = store.call(*inst, "churn", churn);
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  EXPECT_LE(store.gc_stats().bytes, limits.max_gc_heap_bytes);
  // A live list beyond it traps, with a trap kind of its own.
  Value count[] = {Value::i32(1'000'000)};
  auto big = store.call(*inst, "build", count);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().trap, TrapKind::OutOfMemory) << big.error().to_string();
  // One array larger than the limit: the same, without trying to allocate it.
  Value huge[] = {Value::i32(1), Value::i32(64 << 20)};
  auto h = store.call(*inst, "churn", huge);
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.error().trap, TrapKind::OutOfMemory);
  // The store still works, and a smaller list fits.
  Value small[] = {Value::i32(1000)};
  ASSERT_TRUE(store.call(*inst, "build", small).ok());
  auto w = store.call(*inst, "walk", {});
  ASSERT_TRUE(w.ok());
  EXPECT_EQ((*w)[0].as_i64(), 1000 * 1001 / 2 | int64_t{1000} << 40);

  // The store's memory budget (as `edgecar serve` sets it from max_memory_mib) bounds the
  // heap too: 8 MiB hold no million-node list.
  StoreLimits pages;
  pages.max_memory_pages = 128;
  Store small_store(pages);
  auto inst2 = small_store.instantiate(m, Imports{});
  ASSERT_TRUE(inst2.ok());
  auto over = small_store.call(*inst2, "build", count);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().trap, TrapKind::OutOfMemory) << over.error().to_string();
  EXPECT_LE(small_store.gc_stats().bytes, 128u * 65536);

  // And memory.grow counts the heap's bytes: with 6 MiB of array held, 4 MiB more memory
  // pass the 8 MiB budget; with the array dropped (and collected) they fit.
  Store grow_store(pages);
  auto inst3 = grow_store.instantiate(m, Imports{});
  ASSERT_TRUE(inst3.ok());
  Value held[] = {Value::i32(6 << 20), Value::i32(64)};
  auto refused = grow_store.call(*inst3, "hold_then_grow", held);
  ASSERT_TRUE(refused.ok()) << refused.error().to_string();
  EXPECT_EQ((*refused)[0].as_i32(), -1);
  Value dropped[] = {Value::i32(0), Value::i32(64)};
  Value churn2[] = {Value::i32(20'000), Value::i32(1000)};
  ASSERT_TRUE(grow_store.call(*inst3, "hold_then_grow", dropped).ok());  // drops the array
  ASSERT_TRUE(grow_store.call(*inst3, "churn", churn2).ok());            // collections free it
  auto grown = grow_store.call(*inst3, "hold_then_grow", dropped);
  ASSERT_TRUE(grown.ok());
  EXPECT_GE((*grown)[0].as_i32(), 1) << grow_store.gc_stats().bytes;
}

TEST(Gc, CastsArraysAndI31) {
  auto m = load_test_module("gc");
  ASSERT_TRUE(m);
  Store store;
  auto inst = store.instantiate(m, Imports{});
  ASSERT_TRUE(inst.ok());
  auto casts = store.call(*inst, "casts", {});
  ASSERT_TRUE(casts.ok()) << casts.error().to_string();
  EXPECT_EQ((*casts)[0].as_i32(), 1 + 0 + (7 << 4) + 250);
  auto arrays = store.call(*inst, "arrays", {});
  ASSERT_TRUE(arrays.ok()) << arrays.error().to_string();
  EXPECT_EQ((*arrays)[0].as_i32(), -5 + 42 + 8);
  auto bad = store.call(*inst, "bad_cast", {});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().trap, TrapKind::CastFailure);
  auto oob = store.call(*inst, "out_of_bounds", {});
  ASSERT_FALSE(oob.ok());
  EXPECT_EQ(oob.error().trap, TrapKind::ArrayOutOfBounds);
}

// Exception handling (WebAssembly 3.0), on both tiers: tests/unit/wat/exceptions.wat.
class Exceptions : public ::testing::TestWithParam<Engine> {};
INSTANTIATE_TEST_SUITE_P(Tiers, Exceptions, ::testing::Values(Engine::Interp, Engine::Native),
                         engine_name);

TEST_P(Exceptions, ThrownCaughtRethrownAndUncaught) {
  auto m = load_test_module("exceptions", GetParam());
  ASSERT_TRUE(m);
  ASSERT_EQ(m->engine(), GetParam());
  Store store;
  auto inst = store.instantiate(m, Imports{});
  ASSERT_TRUE(inst.ok()) << inst.error().to_string();
  auto call = [&](const char* name, std::vector<Value> args) {
    return store.call(*inst, name, args);
  };
  // Across 3 frames, to the handler of the caller's caller's caller.
  auto deep = call("catch_deep", {Value::i32(3), Value::i32(5)});
  ASSERT_TRUE(deep.ok()) << deep.error().to_string();
  EXPECT_EQ((*deep)[0].as_i32(), 1005);
  EXPECT_EQ((*call("catch_deep", {Value::i32(2), Value::i32(0)}))[0].as_i32(), -1);
  auto two = call("two_values", {});
  ASSERT_TRUE(two.ok()) << two.error().to_string();
  EXPECT_EQ((*two)[0].as_i64(), 7);
  EXPECT_EQ((*two)[1].as_i32(), 9);
  EXPECT_EQ((*call("catch_all", {}))[0].as_i32(), 1);
  EXPECT_EQ((*call("rethrow", {Value::i32(5)}))[0].as_i32(), 6);
  // Handlers left by br, br_table, a loop's back edge, a return or another tag's clause
  // take nothing; locals written in a try_table keep their values in its handler.
  auto left = call("left_handlers", {Value::i32(9)});
  ASSERT_TRUE(left.ok()) << left.error().to_string();
  EXPECT_EQ((*left)[0].as_i32(), (1 + 0 + 1 + 1 + 1 + 9) * 100 + 7);
  // Uncaught: a trap kind of its own; the store stays usable.
  auto u = call("uncaught", {});
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.error().trap, TrapKind::UncaughtException) << u.error().to_string();
  auto n = call("null_ref", {});
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.error().trap, TrapKind::NullExceptionReference) << n.error().to_string();
  EXPECT_EQ((*call("catch_deep", {Value::i32(1), Value::i32(2)}))[0].as_i32(), 1002);
  // The tag is exported, with its type.
  auto tag = (*inst)->get_export("e");
  ASSERT_TRUE(tag && std::holds_alternative<Tag*>(*tag));
  EXPECT_EQ(std::get<Tag*>(*tag)->type().to_string(), "(i32) -> ()");
}

// Exceptions crossing host functions: a host tag thrown by a host function
// (HostCall::throw_exception) into guest handlers, passed on from a guest the host called,
// thrown by a tail-called host function, through native frames, and uncaught.
TEST_P(Exceptions, HostFunctionsThrowAndPassExceptionsOn) {
  auto m = load_test_module("host_exceptions", GetParam());
  auto relay_module = load_test_module("host_exceptions_relay", Engine::Native);
  ASSERT_TRUE(m && relay_module);
  ASSERT_EQ(relay_module->engine(), Engine::Native);
  Store store;
  EXPECT_EQ(store.create_tag(FuncType{{}, {ValType::I32}}), nullptr);  // tags have no results
  Tag* tag = store.create_tag(FuncType{{ValType::I32}, {}});
  ASSERT_NE(tag, nullptr);
  Instance* self = nullptr;
  auto thrower = [&](HostCall& c) -> Expected<void> {
    Value payload[] = {Value::i32(2 * c.i32(0))};
    return c.throw_exception(tag, payload);
  };
  Function* throw_fn = store.create_host_function(FuncType{{ValType::I32}, {}}, thrower, "throw");
  Imports imports;
  imports.add("env", "e", tag);
  imports.add("env", "throw", throw_fn);
  imports.add("env", "throw_r",
              store.create_host_function(FuncType{{ValType::I32}, {ValType::I32}}, thrower));
  imports.add("env", "call_inner",
              store.create_host_function(
                  FuncType{{ValType::I32}, {ValType::I32}}, [&](HostCall& c) -> Expected<void> {
                    Value args[] = {Value::i32(c.i32(0))};
                    auto r = c.store().call(self, "inner", args);
                    if (!r) return std::move(r).error();  // passes the exception on
                    c.set_i32(0, (*r)[0].as_i32());
                    return {};
                  }));
  imports.add("env", "bad_payload",
              store.create_host_function(FuncType{}, [&](HostCall& c) -> Expected<void> {
                Value payload[] = {Value::i64(1)};
                return c.throw_exception(tag, payload);
              }));
  Imports relay_imports;
  relay_imports.add("env", "throw", throw_fn);
  auto relay = store.instantiate(relay_module, relay_imports);
  ASSERT_TRUE(relay.ok()) << relay.error().to_string();
  imports.add("native", "relay", *(*relay)->get_export("relay"));
  auto inst = store.instantiate(m, imports);
  ASSERT_TRUE(inst.ok()) << inst.error().to_string();
  self = *inst;
  auto call = [&](const char* name, int32_t arg) {
    Value args[] = {Value::i32(arg)};
    auto r = store.call(self, name, args);
    EXPECT_TRUE(r.ok()) << name << ": " << r.error().to_string();
    return r.ok() && !r->empty() ? (*r)[0].as_i32() : 0;
  };
  EXPECT_EQ(call("catch_host", 21), 1042);
  EXPECT_EQ(call("across_host", 5), 2005);
  EXPECT_EQ(call("tail_from_try", 4), 3008);
  EXPECT_EQ(call("through_native", 6), 4012);
  // Uncaught: the embedder learns the tag and payload.
  Value arg[] = {Value::i32(50)};
  auto u = store.call(self, "uncaught", arg);
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.error().trap, TrapKind::UncaughtException) << u.error().to_string();
  auto exn = store.uncaught_exception();
  ASSERT_TRUE(exn.has_value());
  EXPECT_EQ(exn->tag, tag);
  ASSERT_EQ(exn->payload.size(), 1u);
  EXPECT_EQ(exn->payload[0].as_i32(), 100);
  // A payload of the wrong type is the host function's error, not an exception.
  auto bad = store.call(self, "bad", {});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().trap, TrapKind::Host);
  EXPECT_NE(bad.error().message.find("does not match"), std::string::npos) << bad.error().message;
  EXPECT_FALSE(store.uncaught_exception().has_value());
  // A guest's own uncaught exception is reported the same way; the store stays usable.
  auto inner = store.call(self, "inner", arg);
  ASSERT_FALSE(inner.ok());
  ASSERT_TRUE(store.uncaught_exception().has_value());
  EXPECT_EQ(store.uncaught_exception()->payload[0].as_i32(), 50);
  EXPECT_EQ(call("catch_host", 1), 1002);
}

// The legacy instructions (try, catch, catch_all, rethrow, delegate), which LLVM emits for
// C++ with -fwasm-exceptions.
TEST_P(Exceptions, LegacyTryCatchRethrowDelegate) {
  auto m = load_test_module("legacy_exceptions", GetParam());
  ASSERT_TRUE(m);
  ASSERT_EQ(m->engine(), GetParam());
  Store store;
  auto inst = store.instantiate(m, Imports{});
  ASSERT_TRUE(inst.ok()) << inst.error().to_string();
  auto call = [&](const char* name, int32_t arg) {
    Value args[] = {Value::i32(arg)};
    auto r = store.call(*inst, name, args);
    EXPECT_TRUE(r.ok()) << name << ": " << r.error().to_string();
    return r.ok() ? (*r)[0].as_i32() : 0;
  };
  EXPECT_EQ(call("catch", 5), 1005);
  EXPECT_EQ(call("rethrow", 5), 6);
  EXPECT_EQ(call("delegate", 9), 9);
  // 2^20 legacy catches: the kept exceptions are collected when the store's bound is hit.
  EXPECT_EQ(call("loop", 1 << 20), static_cast<int32_t>((uint64_t{1} << 20) * ((1 << 20) + 1) / 2));
}

// A guest that throws in a loop: exceptions caught without an exnref are reused, those
// whose exnref is dropped are collected at the store's bound (more throws than it holds
// at once succeed), those kept reachable end the call at the bound with a clear trap,
// not host memory growth.
TEST_P(Exceptions, ThrowingInALoopIsBounded) {
  auto m = load_test_module("exceptions", GetParam());
  ASSERT_TRUE(m);
  Store store;
  auto inst = store.instantiate(m, Imports{});
  ASSERT_TRUE(inst.ok());
  Value many[] = {Value::i32(1 << 20)};  // 16 times the limit
  auto plain = store.call(*inst, "loop_catch", many);
  EXPECT_TRUE(plain.ok()) << plain.error().to_string();
  auto dropped = store.call(*inst, "loop_catch_ref_dropped", many);
  EXPECT_TRUE(dropped.ok()) << dropped.error().to_string();
  // An exnref only the function's own frame holds survives the collections meanwhile.
  auto held = store.call(*inst, "held_across_collections", many);
  ASSERT_TRUE(held.ok()) << held.error().to_string();
  EXPECT_EQ((*held)[0].as_i32(), 7777);
  auto kept = store.call(*inst, "loop_catch_ref", many);
  ASSERT_FALSE(kept.ok());
  EXPECT_NE(kept.error().message.find("too many live exceptions"), std::string::npos)
      << kept.error().to_string();
}

}  // namespace
}  // namespace edgecar::test

namespace edgecar::test {
namespace {

// Linear memories are kept on the thread when a store goes and reset for the next
// instance of the same module (objects.cpp): whatever the last instance wrote, anywhere,
// the next one must see exactly a fresh memory. Writes land in the image, in the zeros
// past it, in grown pages and on many scattered pages (more ranges than the kernel's
// page scan returns at once, which falls back to a fresh memory).
class MemoryReuse : public ::testing::Test {
 protected:
  struct Fresh {
    std::vector<uint8_t> bytes;
    uint32_t pages = 0;
  };
  // One module throughout, as serve holds it: its memory image identifies its memories.
  static Fresh snapshot(const std::shared_ptr<const Module>& module) {
    Store store;
    auto inst = store.instantiate(module, Imports{});
    EXPECT_TRUE(inst.ok());
    Memory* m = (*inst)->get_memory("memory");
    return {std::vector<uint8_t>(m->data(), m->data() + m->size_bytes()), m->size_pages()};
  }
  // Instantiates the module, checks its memory is exactly `fresh`, then writes over it as
  // `scribble` says.
  static void use(const std::shared_ptr<const Module>& module, const Fresh& fresh,
                  const std::function<void(Memory&)>& scribble) {
    Store store;
    auto inst = store.instantiate(module, Imports{});
    EXPECT_TRUE(inst.ok());
    Memory* m = (*inst)->get_memory("memory");
    EXPECT_EQ(m->size_pages(), fresh.pages);
    EXPECT_EQ(std::memcmp(m->data(), fresh.bytes.data(), fresh.bytes.size()), 0)
        << "a reused memory shows what an earlier instance wrote";
    scribble(*m);
  }
};

TEST_F(MemoryReuse, EveryWriteOfTheLastInstanceIsGoneFromTheNext) {
  for (const char* name : {"pooled", "pooled_blank"}) {
    SCOPED_TRACE(name);
    auto module = load_test_module(name);
    Fresh fresh = snapshot(module);
    uint32_t seed = 12345;
    auto next = [&seed] { return seed = seed * 1103515245 + 12345; };
    auto before = detail::memory_reuse_stats();
    for (int round = 0; round < 40; ++round) {
      use(module, fresh, [&](Memory& m) {
        // Writes all over the initial pages, then into pages the instance grows.
        for (int i = 0; i < 50; ++i) {
          uint64_t off = next() % m.size_bytes();
          uint8_t v = static_cast<uint8_t>(next() | 1);
          m.data()[off] = v;
        }
        m.data()[1024] = 'X';  // inside the image's data
        m.data()[m.size_bytes() - 1] = 0xEE;
        if (round % 3 == 0) {
          uint64_t old = m.size_bytes();
          ASSERT_TRUE(m.grow(2));
          std::memset(m.data() + old, 0xAB, 2 * 65536);
        }
        if (round % 7 == 6)  // every other page: more ranges than one scan returns
          for (uint64_t p = 0; p < m.size_bytes(); p += 2 * 4096) m.data()[p] = 0x5A;
      });
    }
    // Reuse itself happened (else this test would check nothing), by the page scan
    // where the kernel has it, and sometimes a memory was too dirty and was dropped.
    auto after = detail::memory_reuse_stats();
    uint64_t reused = (after.scanned - before.scanned) + (after.copied - before.copied);
    std::printf("%s: %llu of 40 instances reused (%llu by page scan), %llu dropped\n", name,
                static_cast<unsigned long long>(reused),
                static_cast<unsigned long long>(after.scanned - before.scanned),
                static_cast<unsigned long long>(after.dropped - before.dropped));
    EXPECT_GE(reused, 20u) << name;
  }
}

}  // namespace
}  // namespace edgecar::test

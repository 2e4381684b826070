// Native code on disk (issue 15): artifacts and the cache are reused when they match the
// module, this edgecar build and this CPU, and refused with the reason otherwise (stale,
// foreign, truncated, tampered with); a refused file is never executed.
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "test_util.hpp"

namespace edgecar::test {
namespace {

namespace fs = std::filesystem;

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& b) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

class NativeFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("edgecar-aot-test-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    api_ = read_bytes(wat_path("api"));
    spin_ = read_bytes(wat_path("spin"));
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::shared_ptr<const Module> load(const std::vector<uint8_t>& bytes, LoadOptions o) {
    auto m = Module::from_bytes(bytes, o);
    EXPECT_TRUE(m.ok()) << (m.ok() ? "" : m.error().to_string());
    return m.ok() ? *m : nullptr;
  }
  // Runs api.wat's div(7, 2) on the module: the native code must work, not just load.
  void expect_runs(const std::shared_ptr<const Module>& m) {
    Store store;
    auto inst = store.instantiate(m, stub_api_imports(store));
    ASSERT_TRUE(inst.ok()) << inst.error().to_string();
    Value args[] = {Value::i32(7), Value::i32(2)};
    auto r = store.call(*inst, "div", args);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    EXPECT_EQ((*r)[0].as_i32(), 3);
  }
  std::string artifact() {
    std::string path = (dir_ / "api.wasm.aot").string();
    auto m = load(api_, LoadOptions{Engine::Native});
    EXPECT_TRUE(m && m->save_native(path).ok());
    return path;
  }

  fs::path dir_;
  std::vector<uint8_t> api_, spin_;
};

TEST_F(NativeFiles, TheCacheIsFilledThenReused) {
  LoadOptions o{Engine::Native};
  o.cache_dir = (dir_ / "cache").string();
  auto first = load(api_, o);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->native_origin(), "compiled");
  EXPECT_EQ(std::distance(fs::directory_iterator(o.cache_dir), fs::directory_iterator()), 1);
  auto second = load(api_, o);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->native_origin().rfind("cache entry " + o.cache_dir, 0), 0u)
      << second->native_origin();
  expect_runs(second);
  // auto (Interp + native_if_available) takes the cache entry too, and compiles nothing
  // for a module that has none.
  LoadOptions a{Engine::Interp, true, "", o.cache_dir};
  EXPECT_EQ(load(api_, a)->engine(), Engine::Native);
  auto spin = load(spin_, a);
  EXPECT_EQ(spin->engine(), Engine::Interp);
  EXPECT_EQ(spin->native_notes(), "");
}

TEST_F(NativeFiles, AnArtifactIsUsedWhenItMatches) {
  LoadOptions o{Engine::Interp, true, artifact(), ""};
  auto m = load(api_, o);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->engine(), Engine::Native);
  EXPECT_EQ(m->native_origin(), "artifact " + o.artifact);
  EXPECT_EQ(m->native_notes(), "");
  expect_runs(m);
}

// Each broken file is refused with its reason; the module then runs in the interpreter
// (auto) or from fresh native code (aot), never from the file.
void expect_refused(const std::vector<uint8_t>& module, const std::string& file,
                    const std::string& reason) {
  for (Engine e : {Engine::Interp, Engine::Native}) {
    LoadOptions o{e, true, file, ""};
    auto m = Module::from_bytes(module, o);
    ASSERT_TRUE(m.ok()) << m.error().to_string();
    EXPECT_NE((*m)->native_notes().find(file + " refused: " + reason), std::string::npos)
        << (*m)->native_notes();
    EXPECT_EQ((*m)->engine(), e);
    if (e == Engine::Native) {
      EXPECT_EQ((*m)->native_origin(), "compiled");
    }
  }
}

TEST_F(NativeFiles, ATamperedArtifactIsRefused) {
  std::string path = artifact();
  std::vector<uint8_t> b = read_bytes(path);
  b[b.size() - 20] ^= 0x40;  // one bit of the code
  write_bytes(path, b);
  expect_refused(api_, path, "its code does not match the hash in its header");
}

TEST_F(NativeFiles, AnotherModulesArtifactIsRefused) {
  std::string path = artifact();
  expect_refused(spin_, path, "compiled from another module");
}

TEST_F(NativeFiles, TruncatedAndForeignFilesAreRefused) {
  std::string path = artifact();
  std::vector<uint8_t> b = read_bytes(path);
  write_bytes(path, std::vector<uint8_t>(b.begin(), b.end() - 100));
  expect_refused(api_, path, "truncated or padded");
  write_bytes(path, std::vector<uint8_t>(b.begin(), b.begin() + 40));
  expect_refused(api_, path, "not an edgecar native-code artifact");
  write_bytes(path, api_);  // a .wasm where an artifact should be
  expect_refused(api_, path, "not an edgecar native-code artifact");
  uint8_t format = b[12];
  b[12] = 99;  // the format version
  write_bytes(path, b);
  expect_refused(api_, path, "artifact format 99");
  b[12] = format;
  b[30] ^= 1;  // the build identity
  write_bytes(path, b);
  expect_refused(api_, path, "made by another edgecar build");
  b[30] ^= 1;
  b[60] ^= 1;  // the target
  write_bytes(path, b);
  expect_refused(api_, path, "compiled for another CPU or target");
}

TEST_F(NativeFiles, ACorruptCacheEntryIsReplaced) {
  LoadOptions o{Engine::Native};
  o.cache_dir = (dir_ / "cache").string();
  ASSERT_TRUE(load(api_, o));
  fs::path entry = fs::directory_iterator(o.cache_dir)->path();
  std::vector<uint8_t> b = read_bytes(entry.string());
  b.back() ^= 1;
  write_bytes(entry.string(), b);
  auto again = load(api_, o);
  EXPECT_EQ(again->native_origin(), "compiled");
  EXPECT_NE(again->native_notes().find("refused"), std::string::npos);
  auto third = load(api_, o);  // the recompiled entry replaced the corrupt one
  EXPECT_EQ(third->native_origin().rfind("cache entry", 0), 0u) << third->native_origin();
  expect_runs(third);
}

// Loops that run natively without their own interrupt check (src/aot/passes.cpp): counted
// by a parameter on both sides of the unchecked copy's limit, by a constant, strided,
// nested, and a counted loop trapping part way: the same results and the same memory as
// the interpreter, call after call on one store.
// tests/unit/wat/loops.wat written again in plain C++ over a 64 KiB memory: the expected
// results come from here, not from one of the tiers. nullopt: the call traps (out of
// bounds), after the writes before the trap.
class LoopsModel {
 public:
  std::optional<uint64_t> call(const std::string& name, const std::vector<Value>& a) {
    if (name == "counted") return counted(static_cast<uint32_t>(a[0].bits));
    if (name == "counted64") return counted64(a[0].bits);
    if (name == "constant") return constant();
    if (name == "strided")
      return strided(static_cast<uint32_t>(a[0].bits), static_cast<uint32_t>(a[1].bits));
    if (name == "nested")
      return nested(static_cast<uint32_t>(a[0].bits), static_cast<uint32_t>(a[1].bits));
    if (name == "fill")
      return fill(static_cast<uint32_t>(a[0].bits), static_cast<uint32_t>(a[1].bits));
    return checksum();
  }

 private:
  uint32_t counted(uint32_t n) {
    uint32_t acc = 0;
    for (uint32_t i = 0; i < n; ++i) {
      uint32_t p = i & 0xFFFF;
      mem_[p] = static_cast<uint8_t>(mem_[p] + i);
      acc += mem_[p];
    }
    return acc;
  }
  uint64_t counted64(uint64_t n) {
    uint64_t acc = 0;
    for (uint64_t i = 0; i < n; ++i) {
      uint32_t p = static_cast<uint32_t>((i << 1) & 0xFFFE);
      acc += mem_[p] | uint32_t{mem_[p + 1]} << 8;
    }
    return acc;
  }
  uint32_t constant() {
    uint32_t acc = 0;
    for (uint32_t i = 0; i < 1000; ++i) {
      uint32_t w = 0;
      std::memcpy(&w, &mem_[i * 4], 4);
      acc = acc * 31 + w;
    }
    return acc;
  }
  uint32_t strided(uint32_t n, uint32_t step) {
    uint32_t acc = 0;
    if (n == 0) return 0;
    uint32_t i = 0;
    do {
      mem_[i & 0xFFFF] = static_cast<uint8_t>(i);
      acc += i;
      i += step;
    } while (i < n);
    return acc;
  }
  uint32_t nested(uint32_t rows, uint32_t cols) {
    uint32_t acc = 0;
    for (uint32_t r = 0; r < rows; ++r)
      for (uint32_t c = 0; c < cols; ++c) acc = (acc * 16777619u) ^ mem_[(r * cols + c) & 0xFFFF];
    return acc;
  }
  std::optional<uint64_t> fill(uint32_t start, uint32_t n) {
    for (uint32_t i = 0; i < n; ++i) {
      uint32_t at = start + i;  // i32.add wraps; the offset is 0
      if (at >= mem_.size()) return std::nullopt;
      mem_[at] = static_cast<uint8_t>(i + 1);
    }
    return 0;  // no result
  }
  uint32_t checksum() {
    uint32_t acc = 0;
    for (uint8_t b : mem_) acc = acc * 33 + b;
    return acc;
  }
  std::vector<uint8_t> mem_ = std::vector<uint8_t>(65536);
};

TEST(NativeLoops, ComputeWhatTheInterpreterComputes) {
  struct Call {
    const char* name;
    std::vector<Value> args;
  };
  const std::vector<Call> calls = {
      {"counted", {Value::i32(0)}},
      {"counted", {Value::i32(1)}},
      {"counted", {Value::i32(3)}},
      {"counted", {Value::i32(1000)}},
      {"counted", {Value::i32(100000)}},
      {"counted", {Value::i32(5000000)}},  // beyond the unchecked copy's limit
      {"counted64", {Value::i64(0)}},
      {"counted64", {Value::i64(7)}},
      {"counted64", {Value::i64(3000000)}},
      {"constant", {}},
      {"strided", {Value::i32(100000), Value::i32(7)}},
      {"strided", {Value::i32(10), Value::i32(0x7fffffff)}},
      {"nested", {Value::i32(0), Value::i32(5)}},
      {"nested", {Value::i32(300), Value::i32(200)}},
      {"nested", {Value::i32(3), Value::i32(3000000)}},
      {"fill", {Value::i32(100), Value::i32(1000)}},
      {"fill", {Value::i32(60000), Value::i32(10000)}},  // traps after 5,536 bytes
      {"checksum", {}},
      {"constant", {}},
  };
  std::vector<std::string> results[2];
  for (int tier = 0; tier < 2; ++tier) {
    auto m = load_test_module("loops", tier ? Engine::Native : Engine::Interp);
    ASSERT_TRUE(m);
    Store store;
    auto inst = store.instantiate(m, Imports{});
    ASSERT_TRUE(inst.ok()) << inst.error().to_string();
    LoopsModel model;
    for (const Call& c : calls) {
      auto r = store.call(*inst, c.name, c.args);
      std::ostringstream s;
      s << c.name;
      if (!r.ok()) {
        s << ' ' << r.error().to_string();
      } else {
        for (const Value& v : *r) s << ' ' << v.to_string();
      }
      results[tier].push_back(s.str());
      // Each tier against the plain C++ computation.
      std::optional<uint64_t> want = model.call(c.name, c.args);
      if (!want) {
        EXPECT_FALSE(r.ok()) << (tier ? "native " : "interpreted ") << s.str();
        if (!r.ok()) {
          EXPECT_EQ(r.error().trap, TrapKind::MemoryOutOfBounds) << s.str();
        }
      } else if (std::string(c.name) == "fill") {
        EXPECT_TRUE(r.ok() && r->empty()) << s.str();
      } else {
        ASSERT_TRUE(r.ok() && r->size() == 1) << s.str();
        uint64_t got = (*r)[0].type == ValType::I64 ? (*r)[0].bits : (*r)[0].bits & 0xFFFFFFFFu;
        EXPECT_EQ(got, *want) << (tier ? "native " : "interpreted ") << s.str();
      }
    }
  }
  EXPECT_EQ(results[0], results[1]);
  EXPECT_NE(results[0][16].find("out of bounds"), std::string::npos) << results[0][16];
}

}  // namespace
}  // namespace edgecar::test

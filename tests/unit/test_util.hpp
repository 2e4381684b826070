// Helpers for unit tests: module bytes from hex-like vectors and from the test WAT files.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "edgecar/edgecar.hpp"

namespace edgecar::test {

// "\0asm" + version 1 followed by the given section bytes.
inline std::vector<uint8_t> module_bytes(std::vector<uint8_t> sections) {
  std::vector<uint8_t> b = {0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00, 0x00};
  b.insert(b.end(), sections.begin(), sections.end());
  return b;
}

inline std::string wat_path(const std::string& name) {
  return std::string(EDGECAR_TEST_WASM_DIR) + "/" + name + ".wasm";
}

inline std::shared_ptr<const Module> load_test_module(const std::string& name,
                                                      Engine engine = Engine::Interp) {
  auto m = Module::from_file(wat_path(name), LoadOptions{engine});
  EXPECT_TRUE(m.ok()) << (m.ok() ? "" : m.error().to_string());
  return m.ok() ? *m : nullptr;
}

// The imports tests/unit/wat/api.wat asks for, as host functions that do nothing
// (host.add returns its first argument; host.fail fails).
inline Imports stub_api_imports(Store& store) {
  Imports imports;
  imports.add("host", "add",
              store.create_host_function(FuncType{{ValType::I32, ValType::I32}, {ValType::I32}},
                                         [](HostCall&) -> Expected<void> { return {}; }));
  imports.add("host", "fail",
              store.create_host_function(
                  FuncType{}, [](HostCall&) -> Expected<void> { return host_error("fail"); }));
  return imports;
}

// Test-name suffix for tests run on both tiers.
inline std::string engine_name(const ::testing::TestParamInfo<Engine>& i) {
  return std::string(to_string(i.param));
}

}  // namespace edgecar::test

// Decoder edge cases (spec 5): every failure is Malformed and says what and where.
#include <algorithm>
#include <cstdio>

#include "runtime/objects.hpp"
#include "test_util.hpp"

namespace edgecar::test {
namespace {

Error load_error(const std::vector<uint8_t>& bytes) {
  auto m = Module::from_bytes(bytes);
  EXPECT_FALSE(m.ok());
  return m.ok() ? Error{} : m.error();
}

TEST(Decoder, EmptyModuleLoads) {
  auto m = Module::from_bytes(module_bytes({}));
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  EXPECT_TRUE((*m)->imports().empty());
}

TEST(Decoder, RejectsMissingMagic) {
  Error e = load_error({0x00, 0x61, 0x73});
  EXPECT_EQ(e.kind, ErrorKind::Malformed);
  EXPECT_NE(e.message.find("magic header not detected"), std::string::npos) << e.message;
}

TEST(Decoder, RejectsUnknownVersion) {
  Error e = load_error({0x00, 0x61, 0x73, 0x6D, 0x02, 0x00, 0x00, 0x00});
  EXPECT_NE(e.message.find("unknown binary version"), std::string::npos);
}

TEST(Decoder, TruncatedSectionNamesSectionAndOffset) {
  // Type section claims 5 bytes but the file ends after 2.
  Error e = load_error(module_bytes({0x01, 0x05, 0x01, 0x60}));
  EXPECT_EQ(e.kind, ErrorKind::Malformed);
  EXPECT_NE(e.message.find("unexpected end"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("offset 0x"), std::string::npos) << e.message;
}

TEST(Decoder, ShortBodyReportsSection) {
  // Type section of size 3 whose content needs more bytes: "unexpected end (in section 1)".
  Error e = load_error(module_bytes({0x01, 0x03, 0x01, 0x60, 0x01}));
  EXPECT_NE(e.message.find("section 1"), std::string::npos) << e.message;
}

TEST(Decoder, OverlongLeb128IsRejected) {
  // Type count 0 encoded in 6 bytes: longer than ceil(32/7) = 5.
  Error e = load_error(module_bytes({0x01, 0x06, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}));
  EXPECT_NE(e.message.find("integer representation too long"), std::string::npos) << e.message;
}

// One function () -> () whose body is `block <bt bytes> end end`.
std::vector<uint8_t> block_module(std::vector<uint8_t> bt) {
  std::vector<uint8_t> body = {0x00, 0x02};  // no locals, block
  body.insert(body.end(), bt.begin(), bt.end());
  body.insert(body.end(), {0x0B, 0x0B});
  std::vector<uint8_t> code = {0x01, static_cast<uint8_t>(body.size())};
  code.insert(code.end(), body.begin(), body.end());
  std::vector<uint8_t> s = {0x01, 0x04,
                            0x01, 0x60,
                            0x00, 0x00,  // type () -> ()
                            0x03, 0x02,
                            0x01, 0x00,  // function 0 of type 0
                            0x0A, static_cast<uint8_t>(code.size())};
  s.insert(s.end(), code.begin(), code.end());
  return module_bytes(s);
}

TEST(Decoder, BlockTypeNegativeValuesTakeOneByte) {
  EXPECT_TRUE(Module::from_bytes(block_module({0x40})).ok());
  // 0x40 (empty) as a two-byte s33: the same value, but only type indices take that form.
  Error e = load_error(block_module({0xC0, 0x7F}));
  EXPECT_EQ(e.kind, ErrorKind::Malformed);
  EXPECT_NE(e.message.find("malformed block type"), std::string::npos) << e.message;
}

// A module of one function () -> () with the given body (locals declaration included).
std::vector<uint8_t> function_module(std::vector<uint8_t> body) {
  std::vector<uint8_t> s = {0x01, 0x04, 0x01, 0x60, 0x00, 0x00, 0x03, 0x02, 0x01, 0x00};
  body.push_back(0x0B);
  s.push_back(0x0A);
  s.push_back(static_cast<uint8_t>(body.size() + 2));
  s.push_back(0x01);
  s.push_back(static_cast<uint8_t>(body.size()));
  s.insert(s.end(), body.begin(), body.end());
  return module_bytes(s);
}

std::vector<uint8_t> v128_const() {
  std::vector<uint8_t> c = {0xFD, 0x0C};
  c.insert(c.end(), 16, 0x00);
  return c;
}

TEST(Decoder, V128ModulesLoadAndRun) {
  // A function with one v128 local and no SIMD instruction.
  EXPECT_TRUE(Module::from_bytes(function_module({0x01, 0x01, 0x7B})).ok());
  // v128.const; drop.
  std::vector<uint8_t> body = {0x00};
  auto c = v128_const();
  body.insert(body.end(), c.begin(), c.end());
  body.push_back(0x1A);
  auto m = Module::from_bytes(function_module(body));
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  // A v128 block with nothing in it is a type error.
  Error e = load_error(block_module({0x7B}));
  EXPECT_EQ(e.kind, ErrorKind::Invalid) << e.to_string();
}

TEST(Decoder, SimdLaneIndicesAreChecked) {
  auto c = v128_const();
  std::vector<uint8_t> body = {0x00};
  body.insert(body.end(), c.begin(), c.end());
  body.insert(body.end(), {0xFD, 0x15, 0x10, 0x1A});  // i8x16.extract_lane_s 16; drop
  Error e = load_error(function_module(body));
  EXPECT_EQ(e.kind, ErrorKind::Invalid) << e.to_string();
  EXPECT_NE(e.message.find("invalid lane index"), std::string::npos) << e.message;
  body = {0x00};
  body.insert(body.end(), c.begin(), c.end());
  body.insert(body.end(), c.begin(), c.end());
  body.insert(body.end(), {0xFD, 0x0D});  // i8x16.shuffle with lane 32
  for (int i = 0; i < 16; ++i) body.push_back(i == 7 ? 32 : static_cast<uint8_t>(i));
  body.push_back(0x1A);
  e = load_error(function_module(body));
  EXPECT_EQ(e.kind, ErrorKind::Invalid) << e.to_string();
  EXPECT_NE(e.message.find("invalid lane index"), std::string::npos) << e.message;
}

TEST(Decoder, SimdSubopcodesPastRelaxedSimdAreIllegal) {
  // 0xFD 0x113 (i32x4.relaxed_dot_i8x16_i7x16_add_s, the last relaxed-SIMD opcode)
  // decodes; 0xFD 0x114 is no instruction.
  std::vector<uint8_t> body = {0x00};
  const std::vector<uint8_t> c = v128_const();
  for (int i = 0; i < 3; ++i) body.insert(body.end(), c.begin(), c.end());
  body.insert(body.end(), {0xFD, 0x93, 0x02, 0x1A});
  EXPECT_TRUE(Module::from_bytes(function_module(body)).ok());
  Error e = load_error(function_module({0x00, 0xFD, 0x94, 0x02}));
  EXPECT_EQ(e.kind, ErrorKind::Malformed) << e.to_string();
  EXPECT_NE(e.message.find("illegal opcode 0xfd 276"), std::string::npos) << e.message;
}

TEST(Decoder, LaterFeaturesAreNamed) {
  // Features edgecar does not run yet, and 3.0 features in a module loaded as 2.0: the
  // error names the feature.
  struct Case {
    std::vector<uint8_t> bytes;
    const char* feature;
    Standard standard;
  };
  const Case cases[] = {
      {function_module({0x00, 0x15, 0x00}), "typed function references", Standard::V2_0},
      {function_module({0x00, 0xFB, 0x00}), "garbage collection", Standard::V2_0},  // struct.new
      {function_module({0x00, 0x14, 0x00}), "typed function references", Standard::V2_0},
      {function_module({0x00, 0xFE, 0x00}), "threads", Standard::V3_0},  // atomic prefix
      {module_bytes({0x05, 0x04, 0x01, 0x03, 0x01, 0x01}), "shared memory", Standard::V3_0},
      {module_bytes({0x01, 0x03, 0x01, 0x5F, 0x00}), "garbage collection", Standard::V2_0},
      {module_bytes({0x01, 0x06, 0x01, 0x60, 0x01, 0x64, 0x70, 0x00}), "typed function references",
       Standard::V2_0},  // (param (ref func))
  };
  for (const Case& c : cases) {
    LoadOptions options;
    options.standard = c.standard;
    auto m = Module::from_bytes(c.bytes, options);
    ASSERT_FALSE(m.ok()) << c.feature;
    const Error& e = m.error();
    EXPECT_EQ(e.kind, ErrorKind::Malformed) << e.to_string();
    EXPECT_NE(e.message.find(c.feature), std::string::npos) << c.feature << ": " << e.message;
    EXPECT_NE(e.message.find("WebAssembly 3.0 feature"), std::string::npos) << e.message;
  }
}

TEST(Decoder, TypedReferencesAndStructTypesDecodeIn30) {
  // (type (struct)) and (type (func (param (ref func)))) are 3.0 modules.
  for (auto bytes : {module_bytes({0x01, 0x03, 0x01, 0x5F, 0x00}),
                     module_bytes({0x01, 0x06, 0x01, 0x60, 0x01, 0x64, 0x70, 0x00})}) {
    auto m = Module::from_bytes(bytes);
    EXPECT_TRUE(m.ok()) << (m.ok() ? "" : m.error().to_string());
  }
}

TEST(Decoder, Leb128UnusedBitsMustBeZero) {
  // 5-byte u32 whose last byte sets bits above bit 31.
  Error e = load_error(module_bytes({0x01, 0x05, 0x80, 0x80, 0x80, 0x80, 0x10}));
  EXPECT_NE(e.message.find("integer too large"), std::string::npos) << e.message;
}

TEST(Decoder, Leb128MaximalFormIsAccepted) {
  // Type count 0 in the longest valid (5-byte) form.
  auto m = Module::from_bytes(module_bytes({0x01, 0x05, 0x80, 0x80, 0x80, 0x80, 0x00}));
  EXPECT_TRUE(m.ok()) << m.error().to_string();
}

TEST(Decoder, SectionsOutOfOrderAreRejected) {
  // A function section (3) after a memory section (5).
  Error e = load_error(module_bytes({0x05, 0x03, 0x01, 0x00, 0x01, 0x03, 0x01, 0x00}));
  EXPECT_NE(e.message.find("section id 3"), std::string::npos) << e.message;
}

TEST(Decoder, InvalidUtf8NameIsRejected) {
  // Import with module name "\xC0\x80" (overlong NUL).
  Error e = load_error(module_bytes({0x02, 0x08, 0x01, 0x02, 0xC0, 0x80, 0x01, 0x61, 0x02, 0x00}));
  EXPECT_NE(e.message.find("malformed UTF-8 encoding"), std::string::npos) << e.message;
}

TEST(Decoder, FunctionAndCodeCountsMustAgree) {
  // One type, one function declared, no code section.
  Error e = load_error(module_bytes({0x01, 0x04, 0x01, 0x60, 0x00, 0x00, 0x03, 0x02, 0x01, 0x00}));
  EXPECT_NE(e.message.find("inconsistent lengths"), std::string::npos) << e.message;
}

TEST(Decoder, UnknownOpcodeIsRejectedWithOffset) {
  // type () -> (), one function whose body is the unassigned opcode 0xFF.
  Error e = load_error(module_bytes({0x01, 0x04, 0x01, 0x60, 0x00, 0x00, 0x03, 0x02, 0x01, 0x00,
                                     0x0A, 0x05, 0x01, 0x03, 0x00, 0xFF, 0x0B}));
  EXPECT_NE(e.message.find("illegal opcode 0xff"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("offset 0x"), std::string::npos) << e.message;
}

// One memory and a function () -> () whose body is `i32.const 0; i32.load FLAGS 0; drop`.
std::vector<uint8_t> load_module(uint8_t flags) {
  return module_bytes({0x01, 0x04, 0x01, 0x60, 0x00, 0x00,  // type () -> ()
                       0x03, 0x02, 0x01, 0x00,              // function 0 of type 0
                       0x05, 0x03, 0x01, 0x00, 0x01,        // memory 0: min 1
                       0x0A, 0x0A, 0x01, 0x08, 0x00, 0x41, 0x00, 0x28, flags, 0x00, 0x1A, 0x0B});
}

TEST(Decoder, AlignmentFlagsBeyondNaturalAreInvalidAndPast0x7FMalformed) {
  // The 3.0 suite's align.wast (lines 892-1017): an alignment of 2^31, 2^32 or 2^33 is
  // *invalid* ("alignment must not be larger than natural"), not malformed; flags of 0x80
  // or more are malformed (memop flags). Our checks of both readings.
  for (uint8_t flags : {0x03, 0x1F, 0x20, 0x21, 0x3F}) {
    Error e = load_error(load_module(flags));
    EXPECT_EQ(e.kind, ErrorKind::Invalid) << int{flags} << ": " << e.to_string();
    EXPECT_NE(e.message.find("alignment must not be larger than natural"), std::string::npos)
        << e.message;
  }
  auto m = Module::from_bytes(load_module(0x02));
  EXPECT_TRUE(m.ok()) << m.error().to_string();
}

void put_leb(std::vector<uint8_t>& out, uint32_t v) {
  do {
    uint8_t b = v & 0x7F;
    v >>= 7;
    out.push_back(b | (v ? 0x80 : 0));
  } while (v);
}

// Preparing a module reads each instruction a bounded number of times, however many
// functions it has: whole-module facts are found once, not once per function (a scan per
// function made loading quadratic: 100,000 functions took over a minute).
TEST(Decoder, PreparingAModuleIsLinearInItsSize) {
  constexpr uint32_t kFuncs = 100'000;
  std::vector<uint8_t> funcs, code, sections = {0x01, 0x04, 0x01, 0x60, 0x00, 0x00};
  put_leb(funcs, kFuncs);
  put_leb(code, kFuncs);
  for (uint32_t i = 0; i < kFuncs; ++i) {
    funcs.push_back(0x00);
    code.insert(code.end(), {0x04, 0x00, 0x01, 0x01, 0x0B});  // no locals; nop nop end
  }
  sections.push_back(0x03);
  put_leb(sections, static_cast<uint32_t>(funcs.size()));
  sections.insert(sections.end(), funcs.begin(), funcs.end());
  sections.push_back(0x0A);
  put_leb(sections, static_cast<uint32_t>(code.size()));
  sections.insert(sections.end(), code.begin(), code.end());
  auto m = Module::from_bytes(module_bytes(sections));
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  uint64_t instructions = (*m)->summary().instructions;
  EXPECT_EQ(instructions, 3u * kFuncs);
  uint64_t read = detail::data_of(**m).code.instructions_read;
  EXPECT_GT(read, 0u);
  EXPECT_LE(read, 4 * instructions) << "preparing the module read " << read << " instructions";
}

TEST(Decoder, CustomSectionsAreKeptAndNamesRead) {
  auto m = load_test_module("api");
  ASSERT_TRUE(m);
  Store store;
  auto inst = store.instantiate(m, stub_api_imports(store));
  ASSERT_TRUE(inst.ok()) << inst.error().to_string();
  EXPECT_EQ((*inst)->get_function("div")->name(), "divide");  // from the name section
}

}  // namespace
}  // namespace edgecar::test

namespace edgecar::test {
namespace {

// Random corruptions of a real module: each must load or fail with an error, and a
// module that still loads must instantiate or fail cleanly. Deterministic (fixed seed).
TEST(Decoder, CorruptedModulesNeverCrash) {
  std::FILE* f = std::fopen(wat_path("api").c_str(), "rb");
  ASSERT_NE(f, nullptr);
  std::vector<uint8_t> original;
  for (int c; (c = std::fgetc(f)) != EOF;) original.push_back(static_cast<uint8_t>(c));
  std::fclose(f);
  uint64_t state = 0x9E3779B97F4A7C15ull;
  auto next = [&] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  int loaded = 0, rejected = 0;
  for (int round = 0; round < 20000; ++round) {
    std::vector<uint8_t> b = original;
    int edits = 1 + static_cast<int>(next() % 4);
    for (int e = 0; e < edits; ++e) {
      size_t pos = next() % b.size();
      switch (next() % 3) {
        case 0:
          b[pos] = static_cast<uint8_t>(next());
          break;
        case 1:
          b[pos] ^= static_cast<uint8_t>(1u << (next() % 8));
          break;
        default:
          b.resize(std::max<size_t>(8, pos));
          break;
      }
    }
    auto m = Module::from_bytes(b);
    if (!m) {
      rejected++;
      EXPECT_TRUE(m.error().kind == ErrorKind::Malformed || m.error().kind == ErrorKind::Invalid)
          << m.error().to_string();
      EXPECT_FALSE(m.error().message.empty());
      continue;
    }
    loaded++;
    Store store;
    // Offer the imports the module asks for, when they are still the expected ones.
    Imports imports = stub_api_imports(store);
    // The module has an infinite loop ("spin"); corruption can make more. Interrupt
    // every call from the start: a guest that ignored interruption would hang here.
    store.interrupt();
    auto inst = store.instantiate(*m, imports);
    if (inst) {
      for (const auto& ex : (*m)->exports()) {
        auto ft = (*m)->export_func_type(ex.name);
        if (!ft || !ft->params.empty()) continue;
        (void)store.call(*inst, ex.name, {});
      }
    }
  }
  EXPECT_GT(rejected, 0);
  std::printf("corrupted modules: %d rejected, %d still loaded\n", rejected, loaded);
}

}  // namespace
}  // namespace edgecar::test

// Validator rules (spec 3): precise messages naming instruction, function and offset.
#include <algorithm>

#include "test_util.hpp"

namespace edgecar::test {
namespace {

std::vector<uint8_t> section(uint8_t id, std::vector<uint8_t> content) {
  std::vector<uint8_t> s = {id, static_cast<uint8_t>(content.size())};
  s.insert(s.end(), content.begin(), content.end());
  return s;
}

// One function of type `type` (encoded: 0x60 params results) with the given body
// (locals declaration included, without the size prefix).
std::vector<uint8_t> one_function(std::vector<uint8_t> type, std::vector<uint8_t> body,
                                  std::vector<uint8_t> extra = {}) {
  std::vector<uint8_t> types = {0x01};
  types.insert(types.end(), type.begin(), type.end());
  std::vector<uint8_t> code = {0x01, static_cast<uint8_t>(body.size())};
  code.insert(code.end(), body.begin(), body.end());
  std::vector<uint8_t> out = section(1, types);
  auto f = section(3, {0x01, 0x00});
  out.insert(out.end(), f.begin(), f.end());
  out.insert(out.end(), extra.begin(), extra.end());
  auto c = section(10, code);
  out.insert(out.end(), c.begin(), c.end());
  return module_bytes(out);
}

Expected<std::shared_ptr<const Module>> load(std::vector<uint8_t> b) {
  return Module::from_bytes(b);
}

const std::vector<uint8_t> kVoid = {0x60, 0x00, 0x00};
const std::vector<uint8_t> kToI32 = {0x60, 0x00, 0x01, 0x7F};

TEST(Validator, TypeMismatchMessageNamesInstructionFunctionAndOffset) {
  // (func (result i32) (i32.add (i32.const 1) (f64.const 0)))
  auto m = load(one_function(kToI32, {0x00, 0x41, 0x01, 0x44, 0, 0, 0, 0, 0, 0, 0, 0, 0x6A, 0x0B}));
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().kind, ErrorKind::Invalid);
  const std::string& msg = m.error().message;
  EXPECT_NE(msg.find("type mismatch in i32.add, expected i32 got f64"), std::string::npos) << msg;
  EXPECT_NE(msg.find("function 0"), std::string::npos) << msg;
  EXPECT_NE(msg.find("offset 0x"), std::string::npos) << msg;
}

TEST(Validator, ExtendedConstantExpressions) {
  // (global (export "g") i64 (i64.mul (i64.add (i64.const 2) (i64.const 5)) (i64.const 6))):
  // i32/i64 add, sub and mul are constant in WebAssembly 3.0.
  std::vector<uint8_t> b =
      section(6, {0x01, 0x7E, 0x00, 0x42, 0x02, 0x42, 0x05, 0x7C, 0x42, 0x06, 0x7E, 0x0B});
  auto exp = section(7, {0x01, 0x01, 'g', 0x03, 0x00});
  b.insert(b.end(), exp.begin(), exp.end());
  auto m = load(module_bytes(b));
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  Store store;
  auto inst = store.instantiate(*m, Imports{});
  ASSERT_TRUE(inst.ok()) << inst.error().to_string();
  EXPECT_EQ((*inst)->get_global("g")->get().as_i64(), 42);
  // Operands of the wrong type are still invalid.
  auto bad = load(module_bytes(section(6, {0x01, 0x7F, 0x00, 0x42, 0x01, 0x41, 0x02, 0x6A, 0x0B})));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().kind, ErrorKind::Invalid);
  // Other instructions are not constant.
  auto div = load(module_bytes(section(6, {0x01, 0x7F, 0x00, 0x41, 0x01, 0x41, 0x02, 0x6D, 0x0B})));
  ASSERT_FALSE(div.ok());
  EXPECT_NE(div.error().message.find("constant expression required: i32.div_s"), std::string::npos)
      << div.error().message;
}

Expected<std::shared_ptr<const Module>> load2(std::vector<uint8_t> b) {
  LoadOptions o;
  o.standard = Standard::V2_0;
  return Module::from_bytes(b, o);
}

TEST(Validator, MultipleMemoriesIn3AndNotIn2) {
  auto two = module_bytes(section(5, {0x02, 0x00, 0x01, 0x00, 0x01}));
  EXPECT_TRUE(load(two).ok()) << load(two).error().to_string();
  auto m = load2(two);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().kind, ErrorKind::Invalid);
  EXPECT_NE(m.error().message.find("multiple memories"), std::string::npos) << m.error().message;
  // An implementation limit on their number (each reserves address space).
  std::vector<uint8_t> many = {101};
  for (int i = 0; i < 101; ++i) many.insert(many.end(), {0x00, 0x00});
  std::vector<uint8_t> sec = {5, 0xCB, 0x01};  // LEB128 203
  sec.insert(sec.end(), many.begin(), many.end());
  auto lots = load(module_bytes(sec));
  ASSERT_FALSE(lots.ok());
  EXPECT_NE(lots.error().message.find("too many memories: 101 (at most 100)"), std::string::npos)
      << lots.error().message;
}

TEST(Validator, SixtyFourBitMemories) {
  // (memory i64 1) (func (result i64) (i64.load (i64.const 0)))
  auto mem64 = section(5, {0x01, 0x04, 0x01});
  auto ok =
      one_function({0x60, 0x00, 0x01, 0x7E}, {0x00, 0x42, 0x00, 0x29, 0x03, 0x00, 0x0B}, mem64);
  EXPECT_TRUE(load(ok).ok()) << load(ok).error().to_string();
  // An i32 address on a 64-bit memory is a type error.
  auto bad =
      one_function({0x60, 0x00, 0x01, 0x7E}, {0x00, 0x41, 0x00, 0x29, 0x03, 0x00, 0x0B}, mem64);
  ASSERT_FALSE(load(bad).ok());
  EXPECT_NE(load(bad).error().message.find("type mismatch"), std::string::npos)
      << load(bad).error().message;
  auto f = (*load(ok))->summary().features;
  EXPECT_NE(std::find(f.begin(), f.end(), "64-bit memories (3.0)"), f.end());
  // 2.0 knows no 64-bit memories.
  auto m2 = load2(ok);
  ASSERT_FALSE(m2.ok());
  EXPECT_EQ(m2.error().kind, ErrorKind::Malformed);
  // 3.0 reads limits as u64: 2^32 pages on a 32-bit memory is invalid, not malformed.
  auto big = module_bytes(section(5, {0x01, 0x00, 0x80, 0x80, 0x80, 0x80, 0x10}));
  ASSERT_FALSE(load(big).ok());
  EXPECT_EQ(load(big).error().kind, ErrorKind::Invalid) << load(big).error().to_string();
  EXPECT_EQ(load2(big).error().kind, ErrorKind::Malformed) << load2(big).error().to_string();
  // An offset of 2^32 needs a 64-bit memory.
  auto one_mem = section(5, {0x01, 0x00, 0x01});
  auto far = one_function(
      kToI32, {0x00, 0x41, 0x00, 0x28, 0x02, 0x80, 0x80, 0x80, 0x80, 0x10, 0x0B}, one_mem);
  ASSERT_FALSE(load(far).ok());
  EXPECT_NE(load(far).error().message.find("offset out of range"), std::string::npos)
      << load(far).error().message;
}

// A module's features come from the proposal column of opcodes.def, not from names: SIMD's
// trunc_sat is SIMD, not the scalar non-trapping conversions; a try_table is exception
// handling even in a module with no tags.
TEST(Validator, FeaturesByProposal) {
  auto features = [](const std::vector<uint8_t>& bytes) {
    auto m = load(bytes);
    EXPECT_TRUE(m.ok()) << m.error().to_string();
    return m.ok() ? (*m)->summary().features : std::vector<std::string>{};
  };
  auto has = [](const std::vector<std::string>& f, const char* what) {
    return std::find(f.begin(), f.end(), what) != f.end();
  };
  // (func (result v128) (i32x4.trunc_sat_f32x4_s (v128.const i64x2 0 0)))
  std::vector<uint8_t> simd = {0x00, 0xFD, 0x0C};
  simd.insert(simd.end(), 16, 0);
  simd.insert(simd.end(), {0xFD, 0xF8, 0x01, 0x0B});
  auto f = features(one_function({0x60, 0x00, 0x01, 0x7B}, simd));
  EXPECT_TRUE(has(f, "SIMD (2.0)"));
  EXPECT_FALSE(has(f, "non-trapping float-to-int conversions (2.0)"));
  // (func (result i32) (i32.trunc_sat_f32_s (f32.const 0)))
  f = features(one_function(kToI32, {0x00, 0x43, 0, 0, 0, 0, 0xFC, 0x00, 0x0B}));
  EXPECT_TRUE(has(f, "non-trapping float-to-int conversions (2.0)"));
  EXPECT_FALSE(has(f, "SIMD (2.0)"));
  // (func (try_table (catch_all 0)))
  f = features(one_function({0x60, 0x00, 0x00}, {0x00, 0x1F, 0x40, 0x01, 0x02, 0x00, 0x0B, 0x0B}));
  EXPECT_TRUE(has(f, "exception handling (3.0)"));
}

TEST(Validator, TagsIn3AndNotIn2) {
  // (type (func (param i32))) (tag (type 0)): a tag section (13).
  auto tag = module_bytes({0x01, 0x05, 0x01, 0x60, 0x01, 0x7F, 0x00, 0x0D, 0x03, 0x01, 0x00, 0x00});
  EXPECT_TRUE(load(tag).ok()) << load(tag).error().to_string();
  auto m2 = load2(tag);
  ASSERT_FALSE(m2.ok());
  EXPECT_NE(m2.error().message.find("exception handling"), std::string::npos) << m2.error().message;
  // A tag's type has no results.
  auto bad = module_bytes({0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7F, 0x0D, 0x03, 0x01, 0x00, 0x00});
  ASSERT_FALSE(load(bad).ok());
  EXPECT_NE(load(bad).error().message.find("non-empty tag result type"), std::string::npos)
      << load(bad).error().message;
}

TEST(Validator, MemoryIndicesIn3AndReservedBytesIn2) {
  // (memory 1) (func (result i32) (i32.load 1 (i32.const 0))): memarg alignment with bit 6
  // set, then memory index 1. 3.0: unknown memory 1. 2.0: an alignment of 66.
  auto one_mem = section(5, {0x01, 0x00, 0x01});
  auto load_mem1 = one_function(kToI32, {0x00, 0x41, 0x00, 0x28, 0x42, 0x01, 0x00, 0x0B}, one_mem);
  auto m = load(load_mem1);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message.find("unknown memory 1"), std::string::npos) << m.error().message;
  auto m2 = load2(load_mem1);
  ASSERT_FALSE(m2.ok());
  EXPECT_NE(m2.error().message.find("alignment must not be larger than natural"), std::string::npos)
      << m2.error().message;
  // memory.size with the index 0 in two bytes (0x80 0x00): 3.0 reads index 0, 2.0 wants the
  // single reserved zero byte.
  auto size_long = one_function(kToI32, {0x00, 0x3F, 0x80, 0x00, 0x0B}, one_mem);
  EXPECT_TRUE(load(size_long).ok()) << load(size_long).error().to_string();
  auto s2 = load2(size_long);
  ASSERT_FALSE(s2.ok());
  EXPECT_EQ(s2.error().kind, ErrorKind::Malformed);
  EXPECT_NE(s2.error().message.find("zero byte expected"), std::string::npos) << s2.error().message;
}

TEST(Validator, StackIsPolymorphicAfterUnreachable) {
  // (func (result i32) unreachable i32.add) is valid: operands come from the bottom type.
  auto m = load(one_function(kToI32, {0x00, 0x00, 0x6A, 0x0B}));
  EXPECT_TRUE(m.ok()) << m.error().to_string();
}

TEST(Validator, UnderflowIsInvalid) {
  auto m = load(one_function(kToI32, {0x00, 0x6A, 0x0B}));
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message.find("i32.add"), std::string::npos) << m.error().message;
}

TEST(Validator, ResultsMustMatchFunctionType) {
  auto m = load(one_function(kToI32, {0x00, 0x0B}));
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().kind, ErrorKind::Invalid);
}

TEST(Validator, MultiValueBlockTypeIndex) {
  // type 0: () -> (i32); block of type 0 yields i32.
  auto m = load(one_function(kToI32, {0x00, 0x02, 0x00, 0x41, 0x05, 0x0B, 0x0B}));
  EXPECT_TRUE(m.ok()) << m.error().to_string();
}

TEST(Validator, UnknownLocalIsInvalid) {
  auto m = load(one_function(kToI32, {0x00, 0x20, 0x03, 0x0B}));
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message.find("unknown local 3"), std::string::npos) << m.error().message;
}

TEST(Validator, MemoryInstructionsNeedAMemory) {
  auto m = load(one_function(kToI32, {0x00, 0x41, 0x00, 0x28, 0x02, 0x00, 0x0B}));
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message.find("unknown memory"), std::string::npos) << m.error().message;
}

TEST(Validator, AlignmentLargerThanNaturalIsInvalid) {
  auto mem = section(5, {0x01, 0x00, 0x01});
  auto m = load(one_function(kToI32, {0x00, 0x41, 0x00, 0x28, 0x03, 0x00, 0x0B}, mem));
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message.find("alignment"), std::string::npos) << m.error().message;
}

TEST(Validator, MemoryOver4GiBIsInvalid) {
  auto mem = section(5, {0x01, 0x00, 0x81, 0x80, 0x04});  // min 65537 pages
  auto m = load(one_function(kVoid, {0x00, 0x0B}, mem));
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message.find("memory size must be at most 65536 pages"), std::string::npos)
      << m.error().message;
}

TEST(Validator, DuplicateExportIsInvalid) {
  auto exp = section(7, {0x02, 0x01, 'f', 0x00, 0x00, 0x01, 'f', 0x00, 0x00});
  auto m = load(one_function(kVoid, {0x00, 0x0B}, exp));
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message.find("duplicate export name"), std::string::npos)
      << m.error().message;
}

TEST(Validator, StartFunctionMustTakeAndReturnNothing) {
  auto start = section(8, {0x00});
  auto m = load(one_function(kToI32, {0x00, 0x41, 0x00, 0x0B}, start));
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message.find("start function"), std::string::npos) << m.error().message;
}

TEST(Validator, UndeclaredFunctionReferenceIsInvalid) {
  // (func (result funcref) (ref.func 0)) without an export or element declaring it.
  auto m = load(one_function({0x60, 0x00, 0x01, 0x70}, {0x00, 0xD2, 0x00, 0x0B}));
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message.find("undeclared function reference"), std::string::npos)
      << m.error().message;
}

TEST(Validator, BrTableArityMismatchIsInvalid) {
  // block (result i32) block ... br_table 0 1 with arities 0 and 1.
  auto m = load(one_function(kToI32, {0x00, 0x02, 0x7F, 0x02, 0x40, 0x41, 0x00, 0x0E, 0x01, 0x00,
                                      0x01, 0x0B, 0x41, 0x00, 0x0B, 0x0B}));
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message.find("arities"), std::string::npos) << m.error().message;
}

}  // namespace
}  // namespace edgecar::test

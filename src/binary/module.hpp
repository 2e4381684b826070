// The decoded form of a WebAssembly binary (spec 2.5 "Modules"): what the decoder
// produces and the validator and compiler consume. Function bodies are pre-decoded into
// instruction arrays so later passes never re-read LEB128.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "edgecar/edgecar.hpp"

namespace edgecar::binary {

enum class Opcode : uint16_t {
#define OP(code, id, name, imm, sig, align, lowering, proposal) id = code,
#include "binary/opcodes.def"
#undef OP
};

// Name of an opcode for messages ("i32.add"); "<unknown>" otherwise.
const char* opcode_name(uint16_t op);

// One decoded instruction. Immediates by kind:
//  block/loop/if: imm = block type (see BlockType below);  br/br_if: a = label depth
//  br_table: a = first index into FunctionBody::br_targets, b = count (default last)
//  call/ref.func: a = function;  call_indirect: a = type, b = table
//  local.*, global.*, table.*, data.drop, elem.drop: a = index
//  loads/stores: a = alignment log2, imm = offset
//  i32/i64/f32/f64.const: imm = bit pattern;  ref.null: a = heap type (ValType::heap())
//  select t*: imm = the value type (ValType::bits()), b = number of types
//  call_ref/return_call_ref: a = type;  br_on_null/br_on_non_null: a = label depth
//  struct.new*, array.new(_default), array.get/set/fill: a = type;  struct.get/set: a = type,
//  b = field;  array.new_fixed: b = count;  array.new_data/init_data: b = data;
//  array.new_elem/init_elem: b = elem;  array.copy: a = destination type, b = source type
//  ref.test/ref.cast: a = heap type;  br_on_cast(_fail): a = label, b = target heap type,
//  imm = flags (bit 0 source nullable, bit 1 target nullable) | source heap type << 32
//  memory.init: a = data, b = memory;  table.init: a = elem, b = table
//  table.copy: a = dst table, b = src table
struct Instr {
  uint16_t op;
  uint16_t mem = 0;  // memory instructions: the memory index (memory.copy: the destination)
  uint32_t offset;   // byte offset in the module binary, for error messages
  uint32_t a = 0;
  uint32_t b = 0;
  uint64_t imm = 0;
};

// A block type: empty, one value type, or a type index (multi-value, spec 5.4.1).
struct BlockType {
  // imm: kEmpty; kValue | ValType::bits() (which leaves bits 9-31 clear); or kIndex with
  // the type index in the high 32 bits.
  static constexpr uint64_t kEmpty = 0x40;
  static constexpr uint64_t kValue = uint64_t{1} << 16;
  static constexpr uint64_t kIndex = uint64_t{1} << 17;
  static uint64_t of_index(uint32_t i) { return kIndex | uint64_t{i} << 32; }
  static bool is_index(uint64_t imm) { return (imm & kIndex) != 0; }
  static uint32_t index(uint64_t imm) { return static_cast<uint32_t>(imm >> 32); }
  static bool is_value(uint64_t imm) { return (imm & kValue) != 0; }
  static ValType value(uint64_t imm) { return ValType::from_bits(imm & ~kValue); }
};

// A defined type (3.0, spec 2.3.8): a function, struct or array type, with its declared
// supertype and finality, in a recursion group. binary::Module::types holds the
// function types (empty for a struct or array type), Module::type_defs the rest.
struct FieldType {
  ValType type;        // the unpacked type (i32 for the packed ones)
  uint8_t packed = 0;  // 8 or 16 for the packed storage types i8 and i16, else 0
  bool mut = false;
  friend bool operator==(const FieldType&, const FieldType&) = default;
};
struct TypeDef {
  enum class Kind : uint8_t { Func, Struct, Array };
  Kind kind = Kind::Func;
  bool final = true;
  std::vector<uint32_t> supers;  // declared supertypes (valid: at most one), type indices
  uint32_t rec_start = 0;        // the recursion group: [rec_start, rec_start + rec_size)
  uint32_t rec_size = 1;
  std::vector<FieldType> fields;  // struct fields, or an array's element
};

// A constant expression (spec 3.3.10): a short instruction sequence ending in `end`.
struct ConstExpr {
  std::vector<Instr> code;  // without the final `end`
};

struct TableType {
  ValType elem = ValType::FuncRef;
  Limits limits;
  std::optional<ConstExpr> init;  // 3.0: the initial value of every element (else null)
};

struct MemoryType {
  Limits limits;
};

struct GlobalType {
  ValType type = ValType::I32;
  bool mut = false;
};

struct Import {
  std::string module;
  std::string name;
  ExternKind kind = ExternKind::Func;
  uint32_t func_type = 0;  // also a tag's type
  TableType table;
  MemoryType memory;
  GlobalType global;
};

struct Export {
  std::string name;
  ExternKind kind = ExternKind::Func;
  uint32_t index = 0;
};

struct Global {
  GlobalType type;
  ConstExpr init;
};

enum class SegmentMode : uint8_t { Active, Passive, Declarative };

struct ElemSegment {
  SegmentMode mode = SegmentMode::Active;
  uint32_t table = 0;
  ConstExpr offset;
  ValType type = ValType::FuncRef;
  std::vector<ConstExpr> inits;  // function-index forms are turned into ref.func
};

struct DataSegment {
  SegmentMode mode = SegmentMode::Active;
  uint32_t memory = 0;
  ConstExpr offset;
  std::vector<uint8_t> bytes;
};

// A try_table's catch clause: kind 0 catch, 1 catch_ref, 2 catch_all, 3 catch_all_ref.
struct Catch {
  uint8_t kind = 0;
  uint32_t tag = 0;
  uint32_t label = 0;
};

struct FunctionBody {
  std::vector<ValType> locals;  // declared locals, params excluded
  std::vector<Instr> code;      // includes the final `end`
  std::vector<uint32_t> br_targets;
  std::vector<Catch> catches;  // try_table: a = first, b = count
  uint32_t offset = 0;         // of the body's size field
};

struct CustomSection {
  std::string name;
  std::vector<uint8_t> bytes;
};

struct Module {
  std::vector<FuncType> types;     // function types (empty for struct and array types)
  std::vector<TypeDef> type_defs;  // the same types: kind, supertype, recursion group
  std::vector<Import> imports;
  std::vector<uint32_t> funcs;  // type index of every function, imported ones first
  std::vector<TableType> tables;
  std::vector<MemoryType> memories;
  std::vector<Global> globals;           // defined globals only
  std::vector<GlobalType> global_types;  // imported then defined
  std::vector<Export> exports;
  std::optional<uint32_t> start;
  std::vector<ElemSegment> elems;
  std::vector<DataSegment> datas;
  std::optional<uint32_t> data_count;
  std::vector<FunctionBody> bodies;  // defined functions only
  std::vector<CustomSection> customs;
  std::unordered_map<uint32_t, std::string> func_names;  // from the "name" section
  uint32_t num_imported_funcs = 0;
  uint32_t num_imported_tables = 0;
  uint32_t num_imported_memories = 0;
  uint32_t num_imported_globals = 0;
  std::vector<uint32_t> tags;  // type index of each tag, imported first
  uint32_t num_imported_tags = 0;

  const FuncType& func_type(uint32_t func_index) const { return types[funcs[func_index]]; }
  // A validated block type's parameters and results.
  void block_signature(uint64_t imm, std::vector<ValType>& params,
                       std::vector<ValType>& results) const {
    params.clear();
    results.clear();
    if (BlockType::is_index(imm)) {
      params = types[BlockType::index(imm)].params;
      results = types[BlockType::index(imm)].results;
    } else if (BlockType::is_value(imm)) {
      results.push_back(BlockType::value(imm));
    }
  }
};

// Decodes a binary module (spec 5). Errors are ErrorKind::Malformed with the byte offset.
// Standard::V2_0 reads the reserved bytes of memory instructions as 2.0 does.
Expected<Module> decode(std::span<const uint8_t> bytes, Standard standard = Standard::V3_0);

}  // namespace edgecar::binary

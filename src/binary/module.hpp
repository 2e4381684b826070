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
#define OP(code, id, name, imm, sig, align, lowering) id = code,
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
//  i32/i64/f32/f64.const: imm = bit pattern;  ref.null: a = value type byte
//  select t*: a = first value type byte, b = number of types
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
  static constexpr uint64_t kEmpty = 0x40;
  // imm encoding: 0x40 = empty, 0x6F..0x7F = value type byte, 0x100 + index = type index.
  static bool is_index(uint64_t imm) { return imm >= 0x100; }
  static uint32_t index(uint64_t imm) { return static_cast<uint32_t>(imm - 0x100); }
};

struct TableType {
  ValType elem = ValType::FuncRef;
  Limits limits;
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

// A constant expression (spec 3.3.10): a short instruction sequence ending in `end`.
struct ConstExpr {
  std::vector<Instr> code;  // without the final `end`
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
  std::vector<FuncType> types;
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
    } else if (imm != BlockType::kEmpty) {
      results.push_back(static_cast<ValType>(imm));
    }
  }
};

// Decodes a binary module (spec 5). Errors are ErrorKind::Malformed with the byte offset.
// Standard::Wasm2 reads the reserved bytes of memory instructions as 2.0 does.
Expected<Module> decode(std::span<const uint8_t> bytes, Standard standard = Standard::Wasm3);

}  // namespace edgecar::binary

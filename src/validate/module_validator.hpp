// Validation's internals, shared by module-level (validator.cpp) and function-level
// (function_validator.cpp) checking: the failure they throw and the module validator.
#pragma once

#include <cstring>
#include <set>
#include <string>
#include <unordered_set>
#include <vector>

#include "binary/opcode_info.hpp"
#include "util/format.hpp"
#include "util/limits.hpp"
#include "validate/types.hpp"
#include "validate/validator.hpp"

namespace edgecar::validate::checker {

using binary::ConstExpr;
using binary::Instr;
using binary::Module;
using binary::Opcode;

// The bottom type: the polymorphic stack's values after unreachable, br, br_table, return.
constexpr ValType kUnknown = ValType(ValType::Kind::Bot);

inline std::string type_name(ValType t) {
  return t == kUnknown ? "unknown" : to_string(t);
}

// What a failed check throws: the message and the byte offset it applies to.
struct Invalid {
  std::string message;
  uint32_t offset;
};

[[noreturn]] inline void fail(std::string message, uint32_t offset) {
  throw Invalid{std::move(message), offset};
}

inline void check_limits(const Limits& l, uint64_t range, const char* what, uint32_t offset) {
  if (l.min > range)
    fail(std::string(what) + " size must be at most " + std::to_string(range) +
             (range == limits::kMaxPages ? " pages (4GiB)" : ""),
         offset);
  if (l.max) {
    if (*l.max > range)
      fail(std::string(what) + " size must be at most " + std::to_string(range) +
               (range == limits::kMaxPages ? " pages (4GiB)" : ""),
           offset);
    if (*l.max < l.min) fail("size minimum must not be greater than maximum", offset);
  }
}

// Module-level validation (spec 3.4): types, imports, tables, memories, globals, constant
// expressions, segments, exports; each function body is checked by function(), which
// function_validator.cpp defines.
class ModuleValidator {
 public:
  ModuleValidator(const Module& m, Standard standard) : m_(m), wasm3_(standard == Standard::V3_0) {}

  void run();

 public:
  const std::vector<uint32_t>& ids() const { return ids_; }
  ValType canon(ValType t) const { return validate::canonical(t, ids_); }
  // a <: b, for types of this module.
  bool sub(ValType a, ValType b) const { return validate::matches(canon(a), canon(b)); }
  // A value type's defined heap type must exist.
  void value_type(ValType t, uint32_t offset) const {
    if (t.is_defined() && t.type_index() >= m_.types.size())
      fail("unknown type " + std::to_string(t.type_index()), offset);
  }
  const FuncType& func_type_at(uint32_t idx, uint32_t offset) const {
    if (idx >= m_.types.size()) fail("unknown type " + std::to_string(idx), offset);
    if (kind(idx) != binary::TypeDef::Kind::Func)
      fail("type mismatch: type " + std::to_string(idx) + " is not a function type", offset);
    return m_.types[idx];
  }
  binary::TypeDef::Kind kind(uint32_t idx) const {
    return idx < m_.type_defs.size() ? m_.type_defs[idx].kind : binary::TypeDef::Kind::Func;
  }
  // (ref null ht) of ref.null's immediate, canonical.
  ValType ref_null(uint32_t heap, uint32_t offset) const {
    ValType t = ValType::ref_to(heap, true);
    value_type(t, offset);
    return canon(t);
  }
  // The type of ref.func x: a non-null reference to its function type (3.0).
  ValType func_ref(uint32_t func) const {
    return wasm3_ ? canon(ValType::ref_to(m_.funcs[func], false)) : ValType::FuncRef;
  }

 private:
  // The type section (3.0): references only into earlier recursion groups or their own,
  // at most one supertype, declared earlier, not final, of the same kind and matching.
  void types();

  void collect_refs(const ConstExpr& e) {
    for (const auto& in : e.code)
      if (in.op == static_cast<uint16_t>(Opcode::RefFunc)) refs_.insert(in.a);
  }

  // The globals a segment's constant expressions may read: 2.0 the imported ones, 3.0 all.
  size_t segment_globals() const {
    return wasm3_ ? m_.global_types.size() : m_.num_imported_globals;
  }
  void const_expr(const ConstExpr& e, ValType expected, size_t visible_globals);

  void function(uint32_t func_index);

  // The allocating and converting instructions constant expressions may hold (3.0).
  void gc_const(const Instr& in, std::vector<ValType>& stack);

  friend class FuncValidator;
  const Module& m_;
  bool wasm3_;
  std::unordered_set<uint32_t> refs_;
  std::vector<uint32_t> ids_;  // canonical id of each type index
};

}  // namespace edgecar::validate::checker

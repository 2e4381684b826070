// Defined types across modules (WebAssembly 3.0, spec 3.1.3 and 3.3.1): every function,
// struct and array type of every module is interned process-wide by its recursion group,
// so two types are equivalent (iso-recursively) exactly when they have the same canonical
// id, and a subtype check is a lookup in the supertype chain of an id. Value types whose
// heap type is a canonical id (ValType::kCanonical) compare across modules; those of a
// module's description carry its own type indices and go through canonical() first.
#pragma once

#include <cstdint>
#include <vector>

#include "binary/module.hpp"

namespace edgecar::validate {

// A canonical type: its kind, finality, supertype chain and composite type with its value
// types in canonical form.
struct CanonType {
  binary::TypeDef::Kind kind = binary::TypeDef::Kind::Func;
  bool final = true;
  std::vector<uint32_t> chain;  // canonical ids of its supertypes, the root first, then itself
  FuncType func;                // Func: parameters and results
  std::vector<binary::FieldType> fields;
};

// Interns the module's types: the canonical id of each type index. The module's type
// references must point at earlier recursion groups or into their own (the validator
// checks that before), and declared supertypes must be earlier types. Empty when the
// process holds too many distinct types (4 million) for more.
std::vector<uint32_t> canonicalize(const binary::Module& m);
// The canonical id of a function type without references to defined types (a host
// function's type): final, without supertypes, a recursion group of its own.
uint32_t canonical_func_id(const FuncType& t);
// The canonical type with this id (it never moves: the reference stays valid).
const CanonType& canonical_type(uint32_t id);
// Whether canonical type `sub` is `super` or declares it among its supertypes.
bool is_subtype_id(uint32_t sub, uint32_t super);

// A value type in canonical form: a defined heap type's index replaced by its id.
inline ValType canonical(ValType t, const std::vector<uint32_t>& ids) {
  if (!t.is_defined() || t.is_canonical()) return t;
  return ValType::ref_to(ValType::kCanonical | ids[t.type_index()], t.nullable());
}
FuncType canonical(const FuncType& t, const std::vector<uint32_t>& ids);

// Subtyping of value types in canonical form (spec 3.3.x "Matching"): a <: b. The bottom
// type (ValType::Kind::Bot) matches every type.
bool matches(ValType a, ValType b);
// Function types: parameters contravariant, results covariant.
bool matches(const FuncType& a, const FuncType& b);
// The top of a heap type's hierarchy: any, func, extern or exn (abstract, canonical ids
// resolved through the registry).
ValType::Heap top_heap(ValType t);

}  // namespace edgecar::validate

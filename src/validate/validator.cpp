// Validation per spec 3 and the algorithm of its appendix ("Validation Algorithm"):
// an operand stack of value types where Unknown stands for the polymorphic stack that
// follows unreachable, br, br_table and return.
#include "validate/module_validator.hpp"

namespace edgecar::validate::checker {

void ModuleValidator::run() {
  types();
  for (uint32_t t : m_.funcs) func_type_at(t, 0);
  for (const auto& t : m_.tables) value_type(t.elem, 0);
  for (const auto& g : m_.global_types) value_type(g.type, 0);
  for (const auto& e : m_.elems) value_type(e.type, 0);
  for (const auto& t : m_.tables)
    check_limits(t.limits, t.limits.i64 ? ~uint64_t{0} : 0xFFFFFFFFull, "table", 0);
  for (const auto& mem : m_.memories)
    check_limits(mem.limits, mem.limits.i64 ? limits::kMaxPages64 : limits::kMaxPages, "memory", 0);
  if (m_.memories.size() > 1 && !wasm3_) fail("multiple memories", 0);
  // Tags (exception handling): a function type without results.
  for (uint32_t t : m_.tags) {
    func_type_at(t, 0);
    if (!m_.types[t].results.empty()) fail("non-empty tag result type", 0);
  }
  if (m_.memories.size() > limits::kMaxMemories)
    fail("too many memories: " + std::to_string(m_.memories.size()) + " (at most " +
             std::to_string(limits::kMaxMemories) + ")",
         0);

  // C.refs: functions referenced outside function bodies (spec 3.4.10).
  for (const auto& g : m_.globals) collect_refs(g.init);
  for (const auto& e : m_.elems)
    for (const auto& init : e.inits) collect_refs(init);
  for (const auto& ex : m_.exports)
    if (ex.kind == ExternKind::Func) refs_.insert(ex.index);
  for (const auto& t : m_.tables)
    if (t.init) collect_refs(*t.init);

  // Constant expressions may only read imported globals (spec 3.4.10, context C').
  for (size_t i = 0; i < m_.globals.size(); ++i) {
    // 2.0: imported globals only; 3.0: the imported ones and those defined before.
    const_expr(m_.globals[i].init, m_.globals[i].type.type,
               m_.num_imported_globals + (wasm3_ ? i : 0));
  }
  // Tables: a table of non-nullable references needs an initializer (3.0).
  for (size_t i = m_.num_imported_tables; i < m_.tables.size(); ++i) {
    const auto& t = m_.tables[i];
    if (t.init) {
      const_expr(*t.init, t.elem, m_.num_imported_globals);  // tables precede globals
    } else if (!t.elem.nullable()) {
      fail("type mismatch: a table of " + to_string(t.elem) + " needs an initializer", 0);
    }
  }
  for (const auto& e : m_.elems) {
    if (e.mode == binary::SegmentMode::Active) {
      if (e.table >= m_.tables.size()) fail("unknown table " + std::to_string(e.table), 0);
      if (!sub(e.type, m_.tables[e.table].elem))
        fail("type mismatch: element segment type does not match table", 0);
      const_expr(e.offset, m_.tables[e.table].limits.i64 ? ValType::I64 : ValType::I32,
                 segment_globals());
    }
    for (const auto& init : e.inits) const_expr(init, e.type, segment_globals());
  }
  for (const auto& d : m_.datas) {
    if (d.mode == binary::SegmentMode::Active) {
      if (d.memory >= m_.memories.size()) fail("unknown memory " + std::to_string(d.memory), 0);
      const_expr(d.offset,
                 d.memory < m_.memories.size() && m_.memories[d.memory].limits.i64 ? ValType::I64
                                                                                   : ValType::I32,
                 segment_globals());
    }
  }
  if (m_.start) {
    if (*m_.start >= m_.funcs.size())
      fail("unknown function " + std::to_string(*m_.start) + " (start)", 0);
    const FuncType& ft = m_.func_type(*m_.start);  // checked: a function type
    if (!ft.params.empty() || !ft.results.empty())
      fail("start function must have type [] -> []", 0);
  }
  std::unordered_set<std::string_view> names;
  for (const auto& ex : m_.exports) {
    if (!names.insert(ex.name).second) fail("duplicate export name \"" + ex.name + "\"", 0);
    size_t limit = 0;
    switch (ex.kind) {
      case ExternKind::Func:
        limit = m_.funcs.size();
        break;
      case ExternKind::Table:
        limit = m_.tables.size();
        break;
      case ExternKind::Memory:
        limit = m_.memories.size();
        break;
      case ExternKind::Global:
        limit = m_.global_types.size();
        break;
      case ExternKind::Tag:
        limit = m_.tags.size();
        break;
    }
    if (ex.index >= limit)
      fail("unknown " + std::string(to_string(ex.kind)) + " " + std::to_string(ex.index) +
               " in export \"" + ex.name + "\"",
           0);
  }
  for (size_t i = 0; i < m_.bodies.size(); ++i)
    function(static_cast<uint32_t>(m_.num_imported_funcs + i));
}

void ModuleValidator::types() {
  const size_t n = m_.types.size();
  for (size_t i = 0; i < n && i < m_.type_defs.size(); ++i) {
    const binary::TypeDef& d = m_.type_defs[i];
    uint64_t end = uint64_t{d.rec_start} + d.rec_size;
    auto check = [&](ValType t) {
      if (t.is_defined() && t.type_index() >= end)
        fail("unknown type " + std::to_string(t.type_index()) + " (in type " + std::to_string(i) +
                 ")",
             0);
    };
    for (ValType t : m_.types[i].params) check(t);
    for (ValType t : m_.types[i].results) check(t);
    for (const auto& f : d.fields) check(f.type);
    if (d.fields.size() > limits::kMaxFields) fail("too many struct fields", 0);
    if (d.supers.size() > 1) fail("type " + std::to_string(i) + ": multiple supertypes", 0);
    for (uint32_t s : d.supers)
      if (s >= i)
        fail("unknown type " + std::to_string(s) + " (supertype of " + std::to_string(i) + ")", 0);
  }
  ids_ = validate::canonicalize(m_);
  if (ids_.size() != n) fail("too many distinct types in this process (4 million)", 0);
  for (size_t i = 0; i < n && i < m_.type_defs.size(); ++i) {
    const binary::TypeDef& d = m_.type_defs[i];
    if (d.supers.empty()) continue;
    uint32_t s = d.supers[0];
    const binary::TypeDef& sd = m_.type_defs[s];
    std::string what = "sub type " + std::to_string(i) + " of " + std::to_string(s);
    if (sd.final) fail(what + ": the supertype is final", 0);
    if (sd.kind != d.kind) fail(what + ": type mismatch (different kinds)", 0);
    CanonType a = validate::canonical_type(ids_[i]), b = validate::canonical_type(ids_[s]);
    if (a.chain.size() > limits::kMaxSubtypeDepth + 1) fail(what + ": subtype chain too deep", 0);
    bool ok = true;
    if (d.kind == binary::TypeDef::Kind::Func) {
      ok = validate::matches(a.func, b.func);
    } else {
      ok = a.fields.size() >= b.fields.size();
      for (size_t f = 0; ok && f < b.fields.size(); ++f) {
        const auto &x = a.fields[f], &y = b.fields[f];
        ok = x.mut == y.mut && x.packed == y.packed &&
             (x.mut ? x.type == y.type : validate::matches(x.type, y.type));
      }
    }
    if (!ok) fail(what + ": type mismatch", 0);
  }
}

void ModuleValidator::const_expr(const ConstExpr& e, ValType expected, size_t visible_globals) {
  std::vector<ValType> stack;
  for (const auto& in : e.code) {
    switch (static_cast<Opcode>(in.op)) {
      case Opcode::I32Const:
        stack.push_back(ValType::I32);
        break;
      case Opcode::I64Const:
        stack.push_back(ValType::I64);
        break;
      case Opcode::F32Const:
        stack.push_back(ValType::F32);
        break;
      case Opcode::F64Const:
        stack.push_back(ValType::F64);
        break;
      case Opcode::V128Const:
        stack.push_back(ValType::V128);
        break;
      case Opcode::RefNull:
        stack.push_back(ref_null(in.a, in.offset));
        break;
      case Opcode::RefFunc:
        if (in.a >= m_.funcs.size()) fail("unknown function " + std::to_string(in.a), in.offset);
        stack.push_back(func_ref(in.a));
        break;
      case Opcode::GlobalGet:
        if (in.a >= visible_globals) fail("unknown global " + std::to_string(in.a), in.offset);
        if (m_.global_types[in.a].mut)
          fail("constant expression required: global.get of a mutable global", in.offset);
        stack.push_back(canon(m_.global_types[in.a].type));
        break;
      case Opcode::I32Add:
      case Opcode::I32Sub:
      case Opcode::I32Mul:
      case Opcode::I64Add:
      case Opcode::I64Sub:
      case Opcode::I64Mul: {
        // Extended constant expressions (WebAssembly 3.0).
        auto o = static_cast<Opcode>(in.op);
        ValType t = o == Opcode::I32Add || o == Opcode::I32Sub || o == Opcode::I32Mul
                        ? ValType::I32
                        : ValType::I64;
        if (stack.size() < 2 || stack[stack.size() - 1] != t || stack[stack.size() - 2] != t)
          fail(std::string("type mismatch in constant expression: ") + binary::opcode_name(in.op) +
                   " needs two " + std::string(to_string(t)) + " operands",
               in.offset);
        stack.pop_back();
        break;
      }
      case Opcode::RefI31:
      case Opcode::AnyConvertExtern:
      case Opcode::ExternConvertAny:
      case Opcode::StructNew:
      case Opcode::StructNewDefault:
      case Opcode::ArrayNew:
      case Opcode::ArrayNewDefault:
      case Opcode::ArrayNewFixed:
        if (!wasm3_) goto not_constant;
        gc_const(in, stack);
        break;
      default:
      not_constant:
        fail(std::string("constant expression required: ") + binary::opcode_name(in.op) +
                 " is not constant",
             in.offset);
    }
  }
  if (stack.size() != 1 || !validate::matches(stack[0], canon(expected)))
    fail("type mismatch in constant expression: expected " + to_string(expected),
         e.code.empty() ? 0 : e.code.front().offset);
}

void ModuleValidator::gc_const(const Instr& in, std::vector<ValType>& stack) {
  auto pop = [&](ValType want) {
    if (stack.empty() || !validate::matches(stack.back(), want))
      fail(std::string("type mismatch in constant expression: ") + binary::opcode_name(in.op) +
               " needs " + to_string(want),
           in.offset);
    ValType t = stack.back();
    stack.pop_back();
    return t;
  };
  auto def = [&](binary::TypeDef::Kind kind) -> const binary::TypeDef& {
    if (in.a >= m_.type_defs.size() || m_.type_defs[in.a].kind != kind)
      fail("unknown or mismatched type " + std::to_string(in.a) + " in constant expression",
           in.offset);
    return m_.type_defs[in.a];
  };
  using K = binary::TypeDef::Kind;
  switch (static_cast<Opcode>(in.op)) {
    case Opcode::RefI31:
      pop(ValType::I32);
      stack.push_back(ValType::ref(ValType::I31, false));
      return;
    case Opcode::AnyConvertExtern:
    case Opcode::ExternConvertAny: {
      bool to_any = static_cast<Opcode>(in.op) == Opcode::AnyConvertExtern;
      ValType t = pop(ValType::ref(to_any ? ValType::Extern : ValType::Any, true));
      stack.push_back(ValType::ref(to_any ? ValType::Any : ValType::Extern, t.nullable()));
      return;
    }
    case Opcode::StructNew:
    case Opcode::StructNewDefault: {
      const binary::TypeDef& d = def(K::Struct);
      for (size_t i = d.fields.size(); i-- > 0;) {
        if (static_cast<Opcode>(in.op) == Opcode::StructNew) {
          pop(canon(d.fields[i].type));
        } else if (d.fields[i].type.is_ref() && !d.fields[i].type.nullable()) {
          fail("type mismatch: field type is not defaultable", in.offset);
        }
      }
      break;
    }
    case Opcode::ArrayNew:
    case Opcode::ArrayNewDefault:
    case Opcode::ArrayNewFixed: {
      const binary::FieldType& e = def(K::Array).fields[0];
      auto o = static_cast<Opcode>(in.op);
      if (o != Opcode::ArrayNewFixed) pop(ValType::I32);
      if (o == Opcode::ArrayNew) pop(canon(e.type));
      if (o == Opcode::ArrayNewDefault && e.type.is_ref() && !e.type.nullable())
        fail("type mismatch: array type is not defaultable", in.offset);
      if (o == Opcode::ArrayNewFixed) {
        if (in.b > limits::kMaxArrayNewFixed) fail("array.new_fixed too long", in.offset);
        for (uint32_t i = 0; i < in.b; ++i) pop(canon(e.type));
      }
      break;
    }
    default:
      break;
  }
  stack.push_back(canon(ValType::ref_to(in.a, false)));
}

}  // namespace edgecar::validate::checker

namespace edgecar::validate {

using binary::Module;
using checker::Invalid;
using checker::ModuleValidator;

Expected<void> validate(const Module& module, Standard standard, std::vector<uint32_t>* type_ids) {
  try {
    ModuleValidator v(module, standard);
    v.run();
    if (type_ids) *type_ids = v.ids();
    return {};
  } catch (const Invalid& e) {
    std::string msg = e.message;
    if (msg.find("offset") == std::string::npos && e.offset)
      msg += " at offset " + util::hex(e.offset);
    return Error{ErrorKind::Invalid, msg};
  }
}

}  // namespace edgecar::validate

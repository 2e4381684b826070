// Function bodies (spec 3.3, and the appendix's validation algorithm): an operand stack of
// value types where Unknown stands for the polymorphic stack that follows unreachable, br,
// br_table and return, and a control stack of the enclosing blocks.
#include <cstring>
#include <set>

#include "validate/module_validator.hpp"

namespace edgecar::validate::checker {

namespace {

class FuncValidator {
 public:
  FuncValidator(const ModuleValidator& mv, const Module& m,
                const std::unordered_set<uint32_t>& refs, uint32_t func_index)
      : mv_(mv),
        m_(m),
        refs_(refs),
        func_index_(func_index),
        body_(m.bodies[func_index - m.num_imported_funcs]) {
    const FuncType& ft = m.func_type(func_index);
    for (ValType t : ft.params) locals_.push_back(mv_.canon(t));
    for (ValType t : body_.locals) {
      mv_.value_type(t, body_.offset);
      locals_.push_back(mv_.canon(t));
    }
    // Parameters and defaultable locals start set; non-nullable references do not (3.0).
    local_init_.assign(locals_.size(), true);
    for (size_t i = ft.params.size(); i < locals_.size(); ++i)
      if (locals_[i].is_ref() && !locals_[i].nullable()) local_init_[i] = false;
    results_ = canon(ft.results);
  }

  void run() {
    push_ctrl(static_cast<uint16_t>(Opcode::Block), {}, results_);
    for (const Instr& in : body_.code) {
      cur_ = &in;
      instr(in);
    }
    if (!ctrls_.empty()) err("unexpected end of function: unclosed block");
  }

 private:
  struct Ctrl {
    uint16_t op;
    std::vector<ValType> start, end;
    size_t height;
    bool unreachable;
    size_t init_height;  // of inits_: locals set inside the block are unset after it
  };

  ValType canon(ValType t) const { return mv_.canon(t); }
  std::vector<ValType> canon(const std::vector<ValType>& ts) const {
    std::vector<ValType> out;
    out.reserve(ts.size());
    for (ValType t : ts) out.push_back(canon(t));
    return out;
  }
  static bool sub(ValType a, ValType b) { return validate::matches(a, b); }
  static bool sub(const std::vector<ValType>& a, const std::vector<ValType>& b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
      if (!validate::matches(a[i], b[i])) return false;
    return true;
  }
  const FuncType& func_type(uint32_t idx) { return mv_.func_type_at(idx, cur_->offset); }
  void set_local(uint32_t i) {
    if (!local_init_[i]) {
      local_init_[i] = true;
      inits_.push_back(i);
    }
  }

  [[noreturn]] void err(const std::string& what) {
    fail(what + " (function " + std::to_string(func_index_) + ", offset " +
             util::hex(cur_->offset) + ")",
         cur_->offset);
  }
  [[noreturn]] void mismatch(ValType expected, ValType got) {
    err(std::string("type mismatch in ") + binary::opcode_name(cur_->op) + ", expected " +
        type_name(expected) + " got " +
        (got == kUnknown ? "nothing (empty stack)" : type_name(got)));
  }

  void push(ValType t) { vals_.push_back(t); }
  ValType pop() {
    if (vals_.size() == ctrls_.back().height) {
      if (ctrls_.back().unreachable) return kUnknown;
      err(std::string("type mismatch in ") + binary::opcode_name(cur_->op) +
          ": operand stack underflow");
    }
    ValType t = vals_.back();
    vals_.pop_back();
    return t;
  }
  ValType pop(ValType expect) {
    if (vals_.size() == ctrls_.back().height && ctrls_.back().unreachable) return kUnknown;
    if (vals_.size() == ctrls_.back().height) mismatch(expect, kUnknown);
    ValType actual = pop();
    if (actual != kUnknown && expect != kUnknown && !sub(actual, expect)) mismatch(expect, actual);
    return actual;
  }
  void push_vals(const std::vector<ValType>& ts) {
    for (ValType t : ts) push(t);
  }
  std::vector<ValType> pop_vals(const std::vector<ValType>& ts) {
    std::vector<ValType> popped(ts.size());
    for (size_t i = ts.size(); i-- > 0;) popped[i] = pop(ts[i]);
    return popped;
  }
  void push_ctrl(uint16_t op, std::vector<ValType> in, std::vector<ValType> out) {
    ctrls_.push_back(Ctrl{op, std::move(in), std::move(out), vals_.size(), false, inits_.size()});
    push_vals(ctrls_.back().start);
  }
  Ctrl pop_ctrl() {
    if (ctrls_.empty()) err("unexpected end");
    Ctrl& c = ctrls_.back();
    pop_vals(c.end);
    if (vals_.size() != c.height)
      err(std::string("type mismatch: block leaves ") + std::to_string(vals_.size() - c.height) +
          " extra value(s) on the stack at " + binary::opcode_name(cur_->op));
    for (size_t i = c.init_height; i < inits_.size(); ++i) local_init_[inits_[i]] = false;
    inits_.resize(c.init_height);
    Ctrl out = std::move(c);
    ctrls_.pop_back();
    return out;
  }
  const std::vector<ValType>& label_types(const Ctrl& c) {
    return c.op == static_cast<uint16_t>(Opcode::Loop) ? c.start : c.end;
  }
  void unreachable() {
    vals_.resize(ctrls_.back().height);
    ctrls_.back().unreachable = true;
  }
  std::vector<ValType> tag_params(uint32_t tag) {
    if (tag >= m_.tags.size()) err("unknown tag " + std::to_string(tag));
    return canon(m_.types[m_.tags[tag]].params);
  }
  const Ctrl& label(uint32_t depth) {
    if (depth >= ctrls_.size()) err("unknown label " + std::to_string(depth));
    return ctrls_[ctrls_.size() - 1 - depth];
  }

  void block_type(uint64_t imm, std::vector<ValType>& in, std::vector<ValType>& out) {
    if (binary::BlockType::is_index(imm)) {
      const FuncType& ft = func_type(binary::BlockType::index(imm));
      in = canon(ft.params);
      out = canon(ft.results);
    } else if (binary::BlockType::is_value(imm)) {
      ValType t = binary::BlockType::value(imm);
      mv_.value_type(t, cur_->offset);
      out = {canon(t)};
    }
  }

  void need_memory(uint32_t idx) {
    if (idx >= m_.memories.size()) err("unknown memory " + std::to_string(idx));
  }
  // The type of a memory's addresses: i64 for 64-bit memories (memory64).
  ValType addr_type(uint32_t idx) {
    need_memory(idx);
    return m_.memories[idx].limits.i64 ? ValType::I64 : ValType::I32;
  }
  void need_table(uint32_t t) {
    if (t >= m_.tables.size()) err("unknown table " + std::to_string(t));
  }
  // The type of a table's indices: i64 for 64-bit tables.
  ValType index_type(uint32_t t) {
    need_table(t);
    return m_.tables[t].limits.i64 ? ValType::I64 : ValType::I32;
  }
  void need_elem(uint32_t e) {
    if (e >= m_.elems.size()) err("unknown elem segment " + std::to_string(e));
  }
  void need_data(uint32_t d) {
    size_t n = m_.data_count ? *m_.data_count : m_.datas.size();
    if (d >= n) err("unknown data segment " + std::to_string(d));
  }
  ValType local(uint32_t i) {
    if (i >= locals_.size()) err("unknown local " + std::to_string(i));
    return locals_[i];
  }
  ValType table_elem(uint32_t t) {
    need_table(t);
    return canon(m_.tables[t].elem);
  }
  ValType global_type(uint32_t g) {
    if (g >= m_.global_types.size()) err("unknown global " + std::to_string(g));
    return canon(m_.global_types[g].type);
  }

  void instr(const Instr& in) {
    const binary::OpcodeInfo info = binary::opcode_info(in.op);
    if (info.signature.typed) {
      ValType addr = ValType::I32;
      if (info.natural_alignment >= 0) {  // a load or a store, scalar or vector
        addr = addr_type(in.mem);
        if (in.a > static_cast<uint32_t>(info.natural_alignment))
          err("alignment must not be larger than natural");
        if (addr == ValType::I32 && in.imm > 0xFFFFFFFFu) err("offset out of range");
      }
      if (uint8_t lanes = binary::is_simd(in.op) ? binary::lane_count(in.op) : 0) {
        // load/store_lane carry a memarg, and their lane after it.
        uint32_t lane = info.natural_alignment >= 0 ? in.b : in.a;
        if (lane >= lanes) err("invalid lane index");
      }
      if (in.op == static_cast<uint16_t>(Opcode::I8x16Shuffle)) {
        uint8_t idx[16];
        uint64_t hi = uint64_t{in.b} << 32 | in.a;
        std::memcpy(idx, &in.imm, 8);
        std::memcpy(idx + 8, &hi, 8);
        for (uint8_t x : idx)
          if (x >= 32) err("invalid lane index");
      }
      if (in.op == static_cast<uint16_t>(Opcode::MemorySize) ||
          in.op == static_cast<uint16_t>(Opcode::MemoryGrow)) {
        // Pages in the memory's address type.
        ValType t = addr_type(in.mem);
        if (in.op == static_cast<uint16_t>(Opcode::MemoryGrow)) pop(t);
        push(t);
        return;
      }
      // The address is a load's or store's first operand.
      for (size_t i = info.signature.npop; i-- > 0;)
        pop(i == 0 && info.natural_alignment >= 0 ? addr : info.signature.pop[i]);
      if (info.signature.npush) push(info.signature.push);
      return;
    }
    if (control_instr(in) || call_instr(in) || variable_instr(in) || table_instr(in) ||
        memory_instr(in))
      return;
    if (!gc(in)) err(std::string("unsupported instruction ") + binary::opcode_name(in.op));
  }

  // Blocks, branches, returns and exception handling. False if `in` is not one.
  bool control_instr(const Instr& in) {
    switch (static_cast<Opcode>(in.op)) {
      case Opcode::Unreachable:
        unreachable();
        break;
      case Opcode::Nop:
        break;
      case Opcode::TryTable:
        // Catch clauses branch to labels counted from outside the try_table, carrying
        // the tag's payload (and the exnref for the _ref forms); then it is a block.
        for (uint32_t i = 0; i < in.b; ++i) {
          const binary::Catch& c = body_.catches[in.a + i];
          std::vector<ValType> carried;
          if (c.kind < 2) carried = tag_params(c.tag);
          if (c.kind == 1 || c.kind == 3) carried.push_back(ValType::ref(ValType::Exn, false));
          if (!sub(carried, label_types(label(c.label))))
            err("type mismatch: catch clause " + std::to_string(i) + " and its label");
        }
        [[fallthrough]];
      case Opcode::Block:
      case Opcode::Loop:
      case Opcode::If:
      case Opcode::Try: {  // legacy exception handling: catch blocks follow
        std::vector<ValType> bin, bout;
        block_type(in.imm, bin, bout);
        if (in.op == static_cast<uint16_t>(Opcode::If)) pop(ValType::I32);
        pop_vals(bin);
        push_ctrl(in.op, std::move(bin), std::move(bout));
        break;
      }
      case Opcode::Throw:
        pop_vals(tag_params(in.a));
        unreachable();
        break;
      // Legacy exception handling: catch blocks (the payload as their input), rethrow of
      // the exception a catch block caught, delegate to an outer label.
      case Opcode::Catch:
      case Opcode::CatchAll: {
        if (ctrls_.empty() || (ctrls_.back().op != static_cast<uint16_t>(Opcode::Try) &&
                               ctrls_.back().op != static_cast<uint16_t>(Opcode::Catch)))
          err(in.op == static_cast<uint16_t>(Opcode::Catch) ? "catch without try"
                                                            : "catch_all without try");
        Ctrl c = pop_ctrl();
        std::vector<ValType> payload;
        if (in.op == static_cast<uint16_t>(Opcode::Catch)) payload = tag_params(in.a);
        push_ctrl(in.op, std::move(payload), std::move(c.end));
        break;
      }
      case Opcode::Rethrow: {
        uint16_t op = label(in.a).op;
        if (op != static_cast<uint16_t>(Opcode::Catch) &&
            op != static_cast<uint16_t>(Opcode::CatchAll))
          err("invalid rethrow label");
        unreachable();
        break;
      }
      case Opcode::Delegate: {
        if (ctrls_.empty() || ctrls_.back().op != static_cast<uint16_t>(Opcode::Try))
          err("delegate without try");
        Ctrl c = pop_ctrl();
        if (in.a >= ctrls_.size()) err("unknown label " + std::to_string(in.a));
        push_vals(c.end);
        break;
      }
      case Opcode::ThrowRef:
        pop(ValType::ExnRef);
        unreachable();
        break;
      case Opcode::Else: {
        if (ctrls_.size() < 1 || ctrls_.back().op != static_cast<uint16_t>(Opcode::If))
          err("else without matching if");
        Ctrl c = pop_ctrl();
        push_ctrl(static_cast<uint16_t>(Opcode::Else), std::move(c.start), std::move(c.end));
        break;
      }
      case Opcode::End: {
        Ctrl c = pop_ctrl();
        // An if without else must map its inputs to its outputs unchanged.
        if (c.op == static_cast<uint16_t>(Opcode::If) && !sub(c.start, c.end))
          err("type mismatch: if without else must have matching parameter and result types");
        if (!ctrls_.empty()) push_vals(c.end);
        break;
      }
      case Opcode::Br: {
        pop_vals(label_types(label(in.a)));
        unreachable();
        break;
      }
      case Opcode::BrIf: {
        pop(ValType::I32);
        const auto types = label_types(label(in.a));
        pop_vals(types);
        push_vals(types);
        break;
      }
      case Opcode::BrTable: {
        pop(ValType::I32);
        const uint32_t* targets = &body_.br_targets[in.a];
        uint32_t n = in.b;
        const auto def = label_types(label(targets[n - 1]));
        size_t arity = def.size();
        for (uint32_t i = 0; i + 1 < n; ++i) {
          const auto types = label_types(label(targets[i]));
          if (types.size() != arity) err("type mismatch: br_table targets have different arities");
          push_vals(pop_vals(types));
        }
        pop_vals(def);
        unreachable();
        break;
      }
      case Opcode::Return:
        pop_vals(results_);
        unreachable();
        break;
      case Opcode::BrOnNull:
      case Opcode::BrOnNonNull: {
        // br_on_null l: [t* (ref null ht)] -> [t* (ref ht)], branching with t* on null;
        // br_on_non_null l: [t* (ref null ht)] -> [t*], branching with (ref ht) otherwise.
        bool on_null = in.op == static_cast<uint16_t>(Opcode::BrOnNull);
        ValType t = pop();
        if (t != kUnknown && !is_ref(t))
          err(std::string("type mismatch in ") + binary::opcode_name(in.op) +
              ": expected a reference, got " + type_name(t));
        std::vector<ValType> types = label_types(label(in.a));
        if (!on_null) {
          if (types.empty() || !types.back().is_ref())
            err("type mismatch: br_on_non_null needs a label taking a reference last");
          if (t != kUnknown && !sub(t.as_nullable(false), types.back()))
            mismatch(types.back(), t.as_nullable(false));
          types.pop_back();
        }
        pop_vals(types);
        push_vals(types);
        if (on_null) push(t == kUnknown ? t : t.as_nullable(false));
        break;
      }
      default:
        return false;
    }
    return true;
  }

  // Calls, direct, indirect and by reference, and their tail forms. False if `in` is not one.
  bool call_instr(const Instr& in) {
    switch (static_cast<Opcode>(in.op)) {
      case Opcode::Call:
      case Opcode::CallIndirect:
      case Opcode::CallRef:
      case Opcode::ReturnCall:
      case Opcode::ReturnCallIndirect:
      case Opcode::ReturnCallRef: {
        auto o = static_cast<Opcode>(in.op);
        const char* name = binary::opcode_name(in.op);
        const FuncType* ft = nullptr;
        if (o == Opcode::Call || o == Opcode::ReturnCall) {
          if (in.a >= m_.funcs.size()) err("unknown function " + std::to_string(in.a));
          ft = &m_.func_type(in.a);
        } else if (o == Opcode::CallIndirect || o == Opcode::ReturnCallIndirect) {
          if (!sub(table_elem(in.b), ValType::FuncRef))
            err(std::string("type mismatch: ") + name + " requires a table of functions");
          ft = &func_type(in.a);
          pop(index_type(in.b));
        } else {  // call_ref $t: a (ref null $t) on top of the arguments
          ft = &func_type(in.a);
          pop(canon(ValType::ref_to(in.a, true)));
        }
        std::vector<ValType> params = canon(ft->params), results = canon(ft->results);
        if (o == Opcode::ReturnCall || o == Opcode::ReturnCallIndirect ||
            o == Opcode::ReturnCallRef) {
          // A tail call: the callee's results become this function's (spec 3.3.8.11).
          if (!sub(results, results_))
            err(std::string("type mismatch: ") + name + " to a function returning " +
                FuncType{{}, ft->results}.to_string() + " from one returning " +
                FuncType{{}, results_}.to_string());
          pop_vals(params);
          unreachable();
        } else {
          pop_vals(params);
          push_vals(results);
        }
        break;
      }
      default:
        return false;
    }
    return true;
  }

  // Parametric instructions, locals and globals. False if `in` is not one.
  bool variable_instr(const Instr& in) {
    switch (static_cast<Opcode>(in.op)) {
      case Opcode::Drop:
        pop();
        break;
      case Opcode::Select: {
        pop(ValType::I32);
        ValType t1 = pop();
        ValType t2 = pop();
        if (is_ref(t1) || is_ref(t2))
          err("type mismatch in select: operands must be numeric (use select with a type for "
              "references)");
        if (t1 != t2 && t1 != kUnknown && t2 != kUnknown) mismatch(t1, t2);
        push(t1 == kUnknown ? t2 : t1);
        break;
      }
      case Opcode::SelectT: {
        if (in.b != 1)
          err("invalid result arity: select takes exactly one type, got " + std::to_string(in.b));
        ValType t = ValType::from_bits(in.imm);
        mv_.value_type(t, in.offset);
        t = canon(t);
        pop(ValType::I32);
        pop(t);
        pop(t);
        push(t);
        break;
      }
      case Opcode::LocalGet: {
        ValType t = local(in.a);
        if (!local_init_[in.a]) err("uninitialized local " + std::to_string(in.a));
        push(t);
        break;
      }
      case Opcode::LocalSet:
        pop(local(in.a));
        set_local(in.a);
        break;
      case Opcode::LocalTee: {
        ValType t = local(in.a);
        pop(t);
        set_local(in.a);
        push(t);
        break;
      }
      case Opcode::GlobalGet:
        push(global_type(in.a));
        break;
      case Opcode::GlobalSet: {
        ValType t = global_type(in.a);
        if (!m_.global_types[in.a].mut)
          err("global is immutable: global.set " + std::to_string(in.a));
        pop(t);
        break;
      }
      default:
        return false;
    }
    return true;
  }

  // Tables and references. False if `in` is not one.
  bool table_instr(const Instr& in) {
    switch (static_cast<Opcode>(in.op)) {
      case Opcode::TableGet:
        pop(index_type(in.a));
        push(table_elem(in.a));
        break;
      case Opcode::TableSet:
        pop(table_elem(in.a));
        pop(index_type(in.a));
        break;
      case Opcode::RefNull:
        push(mv_.ref_null(in.a, in.offset));
        break;
      case Opcode::RefIsNull:
      case Opcode::RefAsNonNull: {
        ValType t = pop();
        if (t != kUnknown && !is_ref(t))
          err(std::string("type mismatch in ") + binary::opcode_name(in.op) +
              ": expected a reference, got " + type_name(t));
        if (in.op == static_cast<uint16_t>(Opcode::RefIsNull)) {
          push(ValType::I32);
        } else {
          push(t == kUnknown ? t : t.as_nullable(false));
        }
        break;
      }
      case Opcode::RefFunc:
        if (in.a >= m_.funcs.size()) err("unknown function " + std::to_string(in.a));
        if (!refs_.count(in.a)) err("undeclared function reference " + std::to_string(in.a));
        push(mv_.func_ref(in.a));
        break;
      case Opcode::TableInit:
        need_elem(in.a);
        if (!sub(canon(m_.elems[in.a].type), table_elem(in.b)))
          err("type mismatch in table.init: element segment and table types differ");
        pop(ValType::I32);
        pop(ValType::I32);
        pop(index_type(in.b));
        break;
      case Opcode::ElemDrop:
        need_elem(in.a);
        break;
      case Opcode::TableCopy:
        if (!sub(table_elem(in.b), table_elem(in.a)))
          err("type mismatch in table.copy: table types differ");
        {
          // The length is i64 only between two 64-bit tables.
          ValType d = index_type(in.a), s = index_type(in.b);
          pop(d == ValType::I64 && s == ValType::I64 ? ValType::I64 : ValType::I32);
          pop(s);
          pop(d);
        }
        break;
      case Opcode::TableGrow:
        pop(index_type(in.a));
        pop(table_elem(in.a));
        push(index_type(in.a));
        break;
      case Opcode::TableSize:
        push(index_type(in.a));
        break;
      case Opcode::TableFill:
        pop(index_type(in.a));
        pop(table_elem(in.a));
        pop(index_type(in.a));
        break;
      default:
        return false;
    }
    return true;
  }

  // Memory instructions that are not typed by their opcode row alone. False if `in` is not one.
  bool memory_instr(const Instr& in) {
    switch (static_cast<Opcode>(in.op)) {
      case Opcode::MemoryInit: {
        ValType d = addr_type(in.mem);
        need_data(in.a);
        pop(ValType::I32);
        pop(ValType::I32);
        pop(d);
        break;
      }
      case Opcode::DataDrop:
        need_data(in.a);
        break;
      case Opcode::MemoryCopy: {
        // The length is i64 only when both memories are 64-bit.
        ValType d = addr_type(in.mem), s = addr_type(in.b);
        pop(d == ValType::I64 && s == ValType::I64 ? ValType::I64 : ValType::I32);
        pop(s);
        pop(d);
        break;
      }
      case Opcode::MemoryFill: {
        ValType d = addr_type(in.mem);
        pop(d);
        pop(ValType::I32);
        pop(d);
        break;
      }
      default:
        return false;
    }
    return true;
  }

  // ---- garbage collection (3.0) ----
  const binary::TypeDef& def(uint32_t idx, binary::TypeDef::Kind kind) {
    if (idx >= m_.types.size() || idx >= m_.type_defs.size())
      err("unknown type " + std::to_string(idx));
    const binary::TypeDef& d = m_.type_defs[idx];
    if (d.kind != kind)
      err("type mismatch: type " + std::to_string(idx) + " is not " +
          (kind == binary::TypeDef::Kind::Struct ? "a struct" : "an array") + " type");
    return d;
  }
  const binary::FieldType& field(uint32_t type, uint32_t f) {
    const binary::TypeDef& d = def(type, binary::TypeDef::Kind::Struct);
    if (f >= d.fields.size()) err("unknown field " + std::to_string(f));
    return d.fields[f];
  }
  const binary::FieldType& element(uint32_t type) {
    return def(type, binary::TypeDef::Kind::Array).fields[0];
  }
  ValType ref_to(uint32_t type, bool nullable) { return canon(ValType::ref_to(type, nullable)); }
  static bool defaultable(ValType t) { return !t.is_ref() || t.nullable(); }
  // A packed field or element is read with get_s/get_u, another with get.
  void check_get(const binary::FieldType& f, Opcode o, Opcode plain) {
    if ((o == plain) != (f.packed == 0))
      err(std::string("type mismatch: ") + binary::opcode_name(cur_->op) +
          (f.packed ? " of a packed field (use _s or _u)" : " of a field that is not packed"));
  }
  void check_mutable(const binary::FieldType& f) {
    if (!f.mut) err(std::string("field is immutable: ") + binary::opcode_name(cur_->op));
  }
  // A reference of any type in a hierarchy: the operand of ref.test and the casts.
  ValType pop_ref() {
    ValType t = pop();
    if (t != kUnknown && !t.is_ref())
      err(std::string("type mismatch in ") + binary::opcode_name(cur_->op) +
          ": expected a reference, got " + type_name(t));
    return t;
  }
  // The type named by a cast's heap type immediate, in canonical form.
  ValType cast_type(uint32_t heap, bool nullable) {
    ValType t = ValType::ref_to(heap, nullable);
    mv_.value_type(t, cur_->offset);
    return canon(t);
  }
  static ValType top_of(ValType t) { return ValType::ref(validate::top_heap(t), true); }

  bool gc(const Instr& in) {
    using K = binary::TypeDef::Kind;
    auto o = static_cast<Opcode>(in.op);
    switch (o) {
      case Opcode::StructNew:
      case Opcode::StructNewDefault: {
        const binary::TypeDef& d = def(in.a, K::Struct);
        if (o == Opcode::StructNew) {
          for (size_t i = d.fields.size(); i-- > 0;) pop(canon(d.fields[i].type));
        } else {
          for (const auto& f : d.fields)
            if (!defaultable(f.type)) err("type mismatch: field type is not defaultable");
        }
        push(ref_to(in.a, false));
        return true;
      }
      case Opcode::StructGet:
      case Opcode::StructGetS:
      case Opcode::StructGetU: {
        const binary::FieldType& f = field(in.a, in.b);
        check_get(f, o, Opcode::StructGet);
        pop(ref_to(in.a, true));
        push(canon(f.type));
        return true;
      }
      case Opcode::StructSet: {
        const binary::FieldType& f = field(in.a, in.b);
        check_mutable(f);
        pop(canon(f.type));
        pop(ref_to(in.a, true));
        return true;
      }
      case Opcode::ArrayNew:
      case Opcode::ArrayNewDefault: {
        const binary::FieldType& e = element(in.a);
        pop(ValType::I32);
        if (o == Opcode::ArrayNew) {
          pop(canon(e.type));
        } else if (!defaultable(e.type)) {
          err("type mismatch: array type is not defaultable");
        }
        push(ref_to(in.a, false));
        return true;
      }
      case Opcode::ArrayNewFixed: {
        const binary::FieldType& e = element(in.a);
        if (in.b > limits::kMaxArrayNewFixed)
          err("array.new_fixed of " + std::to_string(in.b) + " operands (at most " +
              std::to_string(limits::kMaxArrayNewFixed) + ")");
        for (uint32_t i = 0; i < in.b; ++i) pop(canon(e.type));
        push(ref_to(in.a, false));
        return true;
      }
      case Opcode::ArrayNewData:
      case Opcode::ArrayInitData:
      case Opcode::ArrayNewElem:
      case Opcode::ArrayInitElem: {
        // From a data segment (numeric or vector elements) or an element segment.
        const binary::FieldType& e = element(in.a);
        bool data = o == Opcode::ArrayNewData || o == Opcode::ArrayInitData;
        if (data) {
          if (e.type.is_ref()) err("type mismatch: array type is not numeric or vector");
          need_data(in.b);
        } else {
          need_elem(in.b);
          if (!sub(canon(m_.elems[in.b].type), canon(e.type)))
            err("type mismatch: element segment type does not match the array's");
        }
        pop(ValType::I32);
        pop(ValType::I32);
        if (o == Opcode::ArrayNewData || o == Opcode::ArrayNewElem) {
          push(ref_to(in.a, false));
        } else {
          check_mutable(e);
          pop(ValType::I32);
          pop(ref_to(in.a, true));
        }
        return true;
      }
      case Opcode::ArrayGet:
      case Opcode::ArrayGetS:
      case Opcode::ArrayGetU: {
        const binary::FieldType& e = element(in.a);
        check_get(e, o, Opcode::ArrayGet);
        pop(ValType::I32);
        pop(ref_to(in.a, true));
        push(canon(e.type));
        return true;
      }
      case Opcode::ArraySet: {
        const binary::FieldType& e = element(in.a);
        check_mutable(e);
        pop(canon(e.type));
        pop(ValType::I32);
        pop(ref_to(in.a, true));
        return true;
      }
      case Opcode::ArrayLen:
        pop(ValType::ref(ValType::Array, true));
        push(ValType::I32);
        return true;
      case Opcode::ArrayFill: {
        const binary::FieldType& e = element(in.a);
        check_mutable(e);
        pop(ValType::I32);
        pop(canon(e.type));
        pop(ValType::I32);
        pop(ref_to(in.a, true));
        return true;
      }
      case Opcode::ArrayCopy: {
        const binary::FieldType& d = element(in.a);
        const binary::FieldType& s = element(in.b);
        check_mutable(d);
        if (d.packed != s.packed || !sub(canon(s.type), canon(d.type)))
          err("type mismatch: array.copy between arrays of incompatible elements");
        pop(ValType::I32);
        pop(ValType::I32);
        pop(ref_to(in.b, true));
        pop(ValType::I32);
        pop(ref_to(in.a, true));
        return true;
      }
      case Opcode::RefTest:
      case Opcode::RefTestNull:
      case Opcode::RefCast:
      case Opcode::RefCastNull: {
        bool nullable = o == Opcode::RefTestNull || o == Opcode::RefCastNull;
        ValType target = cast_type(in.a, nullable);
        ValType t = pop_ref();
        if (t != kUnknown && validate::top_heap(t) != validate::top_heap(target))
          err(std::string("type mismatch in ") + binary::opcode_name(in.op) + ": " + type_name(t) +
              " and " + type_name(target) + " are in different hierarchies");
        push(o == Opcode::RefTest || o == Opcode::RefTestNull ? ValType::I32 : target);
        return true;
      }
      case Opcode::BrOnCast:
      case Opcode::BrOnCastFail: {
        // br_on_cast l rt1 rt2: [t* rt1] -> [t* (rt1 \ rt2)], branching with rt2;
        // br_on_cast_fail: [t* rt1] -> [t* rt2], branching with rt1 \ rt2.
        ValType rt1 = cast_type(static_cast<uint32_t>(in.imm >> 32), (in.imm & 1) != 0);
        ValType rt2 = cast_type(in.b, (in.imm & 2) != 0);
        if (!sub(rt2, rt1))
          err("type mismatch: br_on_cast's target is not a subtype of its source");
        ValType diff = rt2.nullable() ? rt1.as_nullable(false) : rt1;
        ValType carried = o == Opcode::BrOnCast ? rt2 : diff;
        std::vector<ValType> types = label_types(label(in.a));
        if (types.empty() || !types.back().is_ref())
          err(std::string("type mismatch: ") + binary::opcode_name(in.op) +
              " needs a label taking a reference last");
        if (!sub(carried, types.back())) mismatch(types.back(), carried);
        pop(rt1);
        types.pop_back();
        pop_vals(types);
        push_vals(types);
        push(o == Opcode::BrOnCast ? diff : rt2);
        return true;
      }
      case Opcode::AnyConvertExtern:
      case Opcode::ExternConvertAny: {
        bool to_any = o == Opcode::AnyConvertExtern;
        ValType t = pop(ValType::ref(to_any ? ValType::Extern : ValType::Any, true));
        bool nullable = t == kUnknown || t.nullable();
        push(ValType::ref(to_any ? ValType::Any : ValType::Extern, nullable));
        return true;
      }
      case Opcode::RefI31:
        pop(ValType::I32);
        push(ValType::ref(ValType::I31, false));
        return true;
      case Opcode::I31GetS:
      case Opcode::I31GetU:
        pop(ValType::ref(ValType::I31, true));
        push(ValType::I32);
        return true;
      case Opcode::RefEq:
        pop(ValType::ref(ValType::Eq, true));
        pop(ValType::ref(ValType::Eq, true));
        push(ValType::I32);
        return true;
      default:
        return false;
    }
  }

  const ModuleValidator& mv_;
  const Module& m_;
  const std::unordered_set<uint32_t>& refs_;
  uint32_t func_index_;
  const binary::FunctionBody& body_;
  std::vector<ValType> locals_;
  std::vector<ValType> results_;
  std::vector<ValType> vals_;
  std::vector<Ctrl> ctrls_;
  std::vector<bool> local_init_;  // whether each local is set (non-nullable locals, 3.0)
  std::vector<uint32_t> inits_;   // locals set since the start of the blocks open
  const Instr* cur_ = nullptr;
};

}  // namespace

void ModuleValidator::function(uint32_t func_index) {
  FuncValidator(*this, m_, refs_, func_index).run();
}

}  // namespace edgecar::validate::checker

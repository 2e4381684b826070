// Lowering of validated function bodies into interpreter cells (see code.hpp).
//
// The operand-stack height at every instruction is static (spec 3.3), so stack position
// k has a fixed frame slot, slot(k) = locals + k. The lowering goes further and tracks,
// for each stack position, where its value currently lives:
//  - in its own slot (the result of an instruction),
//  - in a local's slot (a local.get not yet copied), or
//  - nowhere yet (a constant not yet written).
// Instructions then read their operands where they already are, so
// `local.get a; local.get b; i32.add; local.set c` becomes one handler writing c.
// Deferred values are written to their own slot ("materialized") only when they must:
// before their local is overwritten, before a block begins, as call arguments, and when
// an operand form needs a slot. Constants become immediates of the common integer
// operations; an i32 comparison followed by br_if or if becomes one fused branch.
// Blocks cost nothing; branches are pre-resolved displacements preceded by slot copies
// only when carried values are not already where the target expects them.
#include <cstring>

#include "binary/module.hpp"
#include "binary/opcode_info.hpp"
#include "interp/code.hpp"
#include "interp/gc.hpp"
#include "interp/simd.hpp"
#include "validate/validator.hpp"

namespace edgecar::interp {

using binary::Instr;
using binary::Opcode;

namespace {

constexpr uint32_t kNone = ~0u;

// Where a stack value lives. A v128 is two entries, its bytes 0-7 then 8-15 (`hi`), in
// adjacent slots wherever an instruction reads it: everything that moves 64-bit values
// (locals, blocks, branches, calls, returns) moves it unchanged.
struct Val {
  uint32_t slot;     // frame slot holding it (kNone for a constant not yet written)
  uint64_t k;        // the constant, when slot == kNone
  bool hi = false;   // the upper half of a v128
  bool ref = false;  // a reference (for the stack maps of garbage collection)
};

bool has_imm_form(Op o) {
  switch (o) {
#define IMM(name) case Op::name:
#include "interp/imm_handlers.def"
#undef IMM
    return true;
    default:
      return false;
  }
}

Op imm_form(Op o) {
  switch (o) {
#define IMM(name) \
  case Op::name:  \
    return Op::name##Imm;
#include "interp/imm_handlers.def"
#undef IMM
    default:
      return o;
  }
}

bool commutative(Op o) {
  switch (o) {
    case Op::I32Add:
    case Op::I32Mul:
    case Op::I32And:
    case Op::I32Or:
    case Op::I32Xor:
    case Op::I32Eq:
    case Op::I32Ne:
    case Op::I64Add:
    case Op::I64Mul:
    case Op::I64And:
    case Op::I64Or:
    case Op::I64Xor:
    case Op::I64Eq:
    case Op::I64Ne:
      return true;
    default:
      return false;
  }
}

// i32 comparison handlers and their fused-branch forms; `negate` gives the opposite test.
struct CmpInfo {
  Op cmp, cmp_imm;
  Op branch, branch_imm;
  int negated;  // index of the negated comparison in kCmps
};
#define CMPI(c) Op::I32##c, Op::I32##c##Imm, Op::JumpIf##c, Op::JumpIf##c##Imm
const CmpInfo kCmps[] = {
    {CMPI(Eq), 1},  {CMPI(Ne), 0},  {CMPI(LtS), 8}, {CMPI(LtU), 9}, {CMPI(GtS), 6},
    {CMPI(GtU), 7}, {CMPI(LeS), 4}, {CMPI(LeU), 5}, {CMPI(GeS), 2}, {CMPI(GeU), 3},
};
#undef CMPI

int cmp_index(Op o, bool& imm) {
  for (int i = 0; i < 10; ++i) {
    if (kCmps[i].cmp == o) {
      imm = false;
      return i;
    }
    if (kCmps[i].cmp_imm == o) {
      imm = true;
      return i;
    }
  }
  return -1;
}

class FunctionCompiler {
 public:
  // with_maps: the module has GC instructions, so frames get stack maps (computed once
  // per module by the caller: a scan here would make loading quadratic).
  FunctionCompiler(const binary::Module& m, uint32_t func_index, Code& out, bool with_maps,
                   bool counting)
      : m_(m),
        body_(m.bodies[func_index - m.num_imported_funcs]),
        cells_(out.cells),
        handlers_(out.handlers),
        maps_(out.stack_maps),
        with_maps_(with_maps),
        def_(func_index - m.num_imported_funcs),
        counting_(counting) {
    const FuncType& ft = m.func_type(func_index);
    for (ValType t : ft.params) add_local(t);
    fc_.num_params = base_;
    for (ValType t : body_.locals) add_local(t);
    // Legacy trys: a hidden local each, holding the exception its catch block caught
    // (for rethrow).
    for (const Instr& in : body_.code)
      if (in.op == static_cast<uint16_t>(Opcode::Try)) {
        legacy_slots_.push_back(base_);
        add_local(ValType::ExnRef);
      }
    fc_.num_locals = base_ - fc_.num_params;
    fc_.num_results = static_cast<uint32_t>(slot_count(ft.results));
    results_ = ft.results;
  }

  FuncCode run() {
    fc_.entry = static_cast<uint32_t>(cells_.size());
    count(kNone);
    label_pos_ = here();
    ctrls_.push_back(Ctrl{
        static_cast<uint16_t>(Opcode::Block), 0, 0, fc_.num_results, 0, {}, kNone, {}, results_});
    for (const Instr& in : body_.code) {
      if (unreachable_) {
        skip(in);
      } else {
        instr(in);
      }
      if (ctrls_.empty()) break;
    }
    fc_.frame_slots = base_ + max_height_;
    return fc_;
  }

 private:
  struct Ctrl {
    uint16_t op;
    uint32_t height;  // stack height below the block's parameters
    uint32_t nparams;
    uint32_t nresults;
    uint32_t loop_pc;                      // loops: cell index of the loop header
    std::vector<uint32_t> fixups;          // cells holding a displacement to this block's end
    uint32_t else_fixup;                   // ifs: the cell that jumps to the else branch
    std::vector<ValType> params, results;  // nparams and nresults count slots
    Handler handler = {};                  // try_tables: the range and clauses so far
    uint32_t exn_slot = kNone;             // legacy trys: the hidden slot of the caught exnref
  };

  void add_local(ValType t) {
    local_slot_.push_back(base_);
    local_type_.push_back(t);
    base_ += slot_width(t);
  }

  // ---- the value stack ----
  uint32_t slot(uint32_t k) const { return base_ + k; }
  uint32_t h() const { return static_cast<uint32_t>(vals_.size()); }
  void push_result(bool hi = false) {  // a value computed into its own slot
    vals_.push_back(Val{slot(h()), 0, hi});
    if (h() > max_height_) max_height_ = h();
  }
  void push_local(uint32_t x, bool hi = false) {
    vals_.push_back(Val{x, 0, hi});
    if (h() > max_height_) max_height_ = h();
  }
  void push_const(uint64_t k, bool hi = false) {
    vals_.push_back(Val{kNone, k, hi});
    if (h() > max_height_) max_height_ = h();
  }
  // Results of these types, each in its own slot(s).
  void push_results(const std::vector<ValType>& types) {
    for (ValType t : types) {
      push_result();
      vals_.back().ref = t.is_ref();
      if (t == ValType::V128) push_result(true);
    }
  }
  void tag_ref(ValType t) { vals_.back().ref = t.is_ref(); }

  // ---- stack maps (garbage collection) ----
  // The frame's slots holding references now: reference locals, then stack values.
  std::vector<uint32_t> live_refs() const {
    std::vector<uint32_t> slots;
    for (size_t i = 0; i < local_type_.size(); ++i)
      if (local_type_[i].is_ref()) slots.push_back(local_slot_[i]);
    for (const Val& v : vals_)
      if (v.ref && v.slot != kNone) slots.push_back(v.slot);
    return slots;
  }
  void stack_map(uint32_t at, std::vector<uint32_t> slots) {
    if (with_maps_) maps_[at] = std::move(slots);
  }
  // The first slot of the v128 at positions k, k+1, both halves made adjacent.
  uint32_t operand_pair(uint32_t k) {
    if (vals_[k].slot != kNone && vals_[k + 1].slot == vals_[k].slot + 1) return vals_[k].slot;
    if (vals_[k].slot == kNone && vals_[k + 1].slot == kNone) {  // a v128.const
      emit_v128_const(slot(k), vals_[k].k, vals_[k + 1].k);
      vals_[k].slot = slot(k);
      vals_[k + 1].slot = slot(k + 1);
      return slot(k);
    }
    materialize(k);
    materialize(k + 1);
    return vals_[k].slot;
  }
  Val pop() {
    Val v = vals_.back();
    vals_.pop_back();
    return v;
  }
  void drop(uint32_t n) { vals_.resize(vals_.size() - n); }

  // Writes the value at position k into its own slot.
  void materialize(uint32_t k) {
    Val& v = vals_[k];
    if (v.slot == slot(k)) return;
    if (v.slot == kNone) {
      emit_const(slot(k), v.k);
    } else {
      emit_copy(slot(k), v.slot);
    }
    v.slot = slot(k);
  }
  void materialize_from(uint32_t k0) {
    for (uint32_t k = k0; k < h(); ++k) materialize(k);
  }
  // Before local x changes: stack values still read from x get their own copy.
  void materialize_refs(uint32_t x) {
    for (uint32_t k = 0; k < h(); ++k)
      if (vals_[k].slot == x) materialize(k);
  }
  bool refs_local(uint32_t x) const {
    for (const Val& v : vals_)
      if (v.slot == x) return true;
    return false;
  }
  // The slot of an operand at position k, writing a constant there first if needed.
  uint32_t operand(uint32_t k) {
    if (vals_[k].slot == kNone) materialize(k);
    return vals_[k].slot;
  }

  // ---- emission ----
  void op(Op o) {
    last_start_ = here();
    cells_.push_back(handler_cells()[static_cast<size_t>(o)]);
  }
  void cell(uint32_t v) { cells_.push_back(v); }
  uint32_t here() const { return static_cast<uint32_t>(cells_.size()); }
  void disp_to(uint32_t target) {
    cells_.push_back(static_cast<uint32_t>(static_cast<int32_t>(target - here())));
  }
  uint32_t disp_fixup() {
    cells_.push_back(0);
    return here() - 1;
  }
  void patch(uint32_t at, uint32_t target) {
    cells_[at] = static_cast<uint32_t>(static_cast<int32_t>(target - at));
  }
  // A branch target at the current position: peepholes must not reach across it.
  void label() { label_pos_ = here(); }
  // Tiering: a TierCount cell at the function's entry (`at` kNone) and at each loop
  // header (`at` the loop's instruction index), so that calls and iterations count.
  void count(uint32_t at) {
    if (!counting_) return;
    op(Op::TierCount);
    cell(def_);
    cell(at);
  }
  void forget_last() { last_kind_ = Last::None; }

  void emit_const(uint32_t dst, uint64_t k) {
    if (k >> 32) {
      op(Op::Const64);
      cell(dst);
      cell(static_cast<uint32_t>(k));
      cell(static_cast<uint32_t>(k >> 32));
    } else {
      op(Op::Const32);
      cell(dst);
      cell(static_cast<uint32_t>(k));
    }
    forget_last();
  }
  // 16 bytes in one instruction of the SIMD runner (which the SIMD instructions around it
  // continue), rather than two 64-bit constants.
  void emit_v128_const(uint32_t dst, uint64_t lo, uint64_t hi) {
    op(Op::Simd);
    cell(simd_cells()[kSimdConstCell]);
    cell(dst);
    cell(static_cast<uint32_t>(lo));
    cell(static_cast<uint32_t>(lo >> 32));
    cell(static_cast<uint32_t>(hi));
    cell(static_cast<uint32_t>(hi >> 32));
    forget_last();
  }
  void emit_copy(uint32_t dst, uint32_t src) {
    op(Op::Copy);
    cell(dst);
    cell(src);
    forget_last();
  }

  // What the last emitted instruction was, for peepholes on it.
  enum class Last { None, Result, Compare, Eqz };
  Last last_kind_ = Last::None;
  uint32_t last_start_ = 0;
  uint32_t last_dst_cell_ = 0;  // Result/Compare/Eqz: index of the dst cell
  uint32_t label_pos_ = 0;
  void emitted_result(Last kind = Last::Result) {
    last_kind_ = kind;
    last_dst_cell_ = last_start_ + 1;
  }

  // ---- control ----
  // A block's parameter and result types, and their counts in slots.
  void block_arity(uint64_t imm, uint32_t& np, uint32_t& nr, std::vector<ValType>& params,
                   std::vector<ValType>& results) {
    m_.block_signature(imm, params, results);
    np = static_cast<uint32_t>(slot_count(params));
    nr = static_cast<uint32_t>(slot_count(results));
  }

  // Moves the top n values (wherever they live) to slots dst, dst+1, ...
  void move_top(uint32_t dst, uint32_t n) {
    uint32_t first = h() - n;
    for (uint32_t i = 0; i < n; ++i) {
      const Val& v = vals_[first + i];
      if (v.slot == kNone) {
        emit_const(dst + i, v.k);
      } else if (v.slot != dst + i) {
        emit_copy(dst + i, v.slot);
      }
    }
  }

  // Returns (and branches, below) may be emitted on one path only (a br_table entry, a
  // taken br_if): they write the slots they need but leave the tracked stack untouched.
  void emit_return() {
    uint32_t n = fc_.num_results;
    if (n == 0) {
      op(Op::Return0);
    } else if (n == 1) {
      const Val& v = vals_.back();
      uint32_t src = v.slot;
      if (src == kNone) {
        src = slot(h() - 1);
        emit_const(src, v.k);
      }
      op(Op::Return1);
      cell(src);
    } else {
      move_top(slot(h() - n), n);
      op(Op::ReturnN);
      cell(slot(h() - n));
      cell(n);
    }
    forget_last();
  }

  uint32_t arity(const Ctrl& c) const {
    return c.op == static_cast<uint16_t>(Opcode::Loop) ? c.nparams : c.nresults;
  }

  // Whether a branch to `depth` needs no value movement (and is not a return).
  bool branch_is_plain(uint32_t depth) {
    if (depth == ctrls_.size() - 1) return false;
    const Ctrl& c = ctrls_[ctrls_.size() - 1 - depth];
    uint32_t n = arity(c);
    for (uint32_t i = 0; i < n; ++i)
      if (vals_[h() - n + i].slot != slot(c.height + i)) return false;
    return true;
  }

  void jump_target(Ctrl& c) {
    if (c.op == static_cast<uint16_t>(Opcode::Loop)) {
      disp_to(c.loop_pc);
    } else {
      c.fixups.push_back(disp_fixup());
    }
  }

  // Moves carried values, then jumps (or returns, for the function's own label).
  void emit_branch(uint32_t depth) {
    if (depth == ctrls_.size() - 1) {
      emit_return();
      return;
    }
    Ctrl& c = ctrls_[ctrls_.size() - 1 - depth];
    move_top(slot(c.height), arity(c));
    op(c.op == static_cast<uint16_t>(Opcode::Loop) ? Op::JumpLoop : Op::Jump);
    jump_target(c);
    forget_last();
  }

  // A branch taken unless `skip` (a conditional jump on slot `s`) jumps over it.
  void branch_unless(Op skip, uint32_t s, uint32_t depth) {
    op(skip);
    cell(s);
    uint32_t skip_over = disp_fixup();
    emit_branch(depth);
    patch(skip_over, here());
    label();
    forget_last();
  }

  void set_unreachable() {
    unreachable_ = true;
    skip_depth_ = 0;
  }

  // Dead code: track nesting only, resume at the else/end of the current block.
  void skip(const Instr& in) {
    switch (static_cast<Opcode>(in.op)) {
      case Opcode::Block:
      case Opcode::Loop:
      case Opcode::If:
      case Opcode::TryTable:
      case Opcode::Try:
        skip_depth_++;
        break;
      case Opcode::Catch:
      case Opcode::CatchAll:
        if (skip_depth_ == 0) instr(in);
        break;
      case Opcode::Delegate:  // ends a try: as `end`
        if (skip_depth_ == 0) {
          instr(in);
        } else {
          skip_depth_--;
        }
        break;
      case Opcode::Else:
        if (skip_depth_ == 0) instr(in);
        break;
      case Opcode::End:
        if (skip_depth_ == 0) {
          instr(in);
        } else {
          skip_depth_--;
        }
        break;
      default:
        break;
    }
  }

  // A comparison (or eqz) that produced the condition just popped, taken out of the code
  // so that the branch can test it directly.
  struct Fused {
    enum { None, Compare, Eqz } kind = None;
    int ci = -1;
    bool imm = false;
    uint32_t a = 0, b = 0;
  };
  Fused take_condition(const Val& cond) {
    Fused f;
    uint32_t cond_slot = slot(h());
    if (cond.slot != cond_slot || label_pos_ > last_start_ || cells_.size() <= last_dst_cell_ ||
        cells_[last_dst_cell_] != cond_slot)
      return f;
    if (last_kind_ == Last::Compare) {
      f.ci = cmp_index(cmp_op_, f.imm);
      f.kind = Fused::Compare;
      f.a = cells_[last_start_ + 2];
      f.b = cells_[last_start_ + 3];
    } else if (last_kind_ == Last::Eqz) {
      f.kind = Fused::Eqz;
      f.a = cells_[last_start_ + 2];
    } else {
      return f;
    }
    cells_.resize(last_start_);
    forget_last();
    return f;
  }

  // A conditional branch on `cond` (already popped), jumping when it is nonzero
  // (`when_true`) or zero, to `target`'s label or, for an if, to its else branch.
  void cond_jump(const Fused& f, const Val& cond, bool when_true, Ctrl& target, bool to_else) {
    // Every branch to a loop's header is a back-edge: its handler checks for interruption
    // (Store::interrupt), whichever form it takes (tests/unit/interrupt_test.cpp).
    bool loop = !to_else && target.op == static_cast<uint16_t>(Opcode::Loop);
    if (f.kind == Fused::Compare) {
      int ci = when_true ? f.ci : kCmps[f.ci].negated;
      op(f.imm ? kCmps[ci].branch_imm : kCmps[ci].branch);
      cell(f.a);
      cell(f.b);
    } else if (f.kind == Fused::Eqz) {
      // Jumps when the eqz operand is zero; to a loop that is a back-edge.
      op(when_true ? (loop ? Op::JumpIfNotLoop : Op::JumpIfNot) : Op::JumpIf);
      cell(f.a);
    } else {
      uint32_t c = popped_slot(cond);
      op(when_true ? (loop ? Op::JumpIfLoop : Op::JumpIf) : Op::JumpIfNot);
      cell(c);
    }
    if (to_else) {
      target.else_fixup = disp_fixup();
    } else {
      jump_target(target);
    }
    forget_last();
  }

  // The slot of a value just popped; a constant is first written to its own slot,
  // which is free now.
  uint32_t popped_slot(const Val& v) {
    if (v.slot != kNone) return v.slot;
    emit_const(slot(h()), v.k);
    return slot(h());
  }

  Op cmp_op_ = Op::Unreachable;  // the comparison handler of a Last::Compare

  // ---- simple instructions (loads, stores, numerics) ----
  void simple(const Instr& in, const binary::Signature& sig) {
    size_t npop = sig.npop;
    uint16_t code = in.op;
    bool is_load = binary::is_load(code);
    bool is_store = binary::is_store(code);
    Op handler = handler_for(static_cast<Opcode>(code));
    if (is_load) {
      uint32_t addr = operand(h() - 1);
      drop(1);
      op(handler);
      cell(slot(h()));
      cell(addr);
      cell(static_cast<uint32_t>(in.imm));
      push_result();
      emitted_result();
      return;
    }
    if (is_store) {
      uint32_t value = operand(h() - 1);
      uint32_t addr = operand(h() - 2);
      drop(2);
      op(handler);
      cell(addr);
      cell(value);
      cell(static_cast<uint32_t>(in.imm));
      forget_last();
      return;
    }
    if (npop == 2) {
      Val b = vals_[h() - 1], a = vals_[h() - 2];
      bool i64 = sig.pop[0] == ValType::I64;
      auto fits = [&](uint64_t k) {
        return i64 ? static_cast<int64_t>(k) == static_cast<int64_t>(static_cast<int32_t>(k))
                   : true;
      };
      if (a.slot == kNone && b.slot != kNone && commutative(handler) && has_imm_form(handler) &&
          fits(a.k))
        std::swap(a, b);
      uint32_t dst = slot(h() - 2);
      Op emitted = handler;
      if (b.slot == kNone && a.slot != kNone && has_imm_form(handler) && fits(b.k)) {
        drop(2);
        emitted = imm_form(handler);
        op(emitted);
        cell(dst);
        cell(a.slot);
        cell(static_cast<uint32_t>(b.k));
      } else {
        uint32_t sb = operand(h() - 1);
        uint32_t sa = operand(h() - 2);
        drop(2);
        op(handler);
        cell(dst);
        cell(sa);
        cell(sb);
      }
      push_result();
      bool imm;
      if (cmp_index(emitted, imm) >= 0) {
        cmp_op_ = emitted;
        emitted_result(Last::Compare);
      } else {
        emitted_result();
      }
      return;
    }
    // Unary (npop == 1; conversions and tests), always with a result.
    uint32_t a = operand(h() - 1);
    drop(1);
    op(handler);
    cell(slot(h()));
    cell(a);
    push_result();
    emitted_result(static_cast<Opcode>(code) == Opcode::I32Eqz ? Last::Eqz : Last::Result);
  }

  // A SIMD instruction: [Simd][its cell in simd_cells()][dst, if it has a result][operand slots,
  // deepest first][memarg offset][lane][shuffle lanes, 4 cells]; a v128 operand or result is the
  // first of its two slots.
  void simd(const Instr& in, const binary::OpcodeInfo& info) {
    if (extract_lane(in)) return;
    const binary::Signature& sig = info.signature;
    uint32_t width = 0;
    for (uint32_t i = 0; i < sig.npop; ++i) width += slot_width(sig.pop[i]);
    uint32_t pos = h() - width, operands[3];
    for (uint32_t i = 0; i < sig.npop; ++i) {
      operands[i] = sig.pop[i] == ValType::V128 ? operand_pair(pos) : operand(pos);
      pos += slot_width(sig.pop[i]);
    }
    drop(width);
    uint32_t start = here();
    op(Op::Simd);
    cell(simd_cells()[binary::simd_index(in.op)]);
    if (sig.npush) cell(slot(h()));
    for (uint32_t i = 0; i < sig.npop; ++i) cell(operands[i]);
    bool memory = info.natural_alignment >= 0;
    if (memory) cell(static_cast<uint32_t>(in.imm));
    if (binary::lane_count(in.op)) cell(memory ? in.b : in.a);
    if (in.op == static_cast<uint16_t>(Opcode::I8x16Shuffle)) {
      cell(static_cast<uint32_t>(in.imm));
      cell(static_cast<uint32_t>(in.imm >> 32));
      cell(in.a);
      cell(in.b);
    }
    if (sig.npush) {
      push_result();
      if (sig.push == ValType::V128) {
        push_result(true);
        // The destination cell, which set_local_v128 may point at a local instead.
        last_kind_ = Last::Result;
        last_start_ = start;
        last_dst_cell_ = start + 2;
        return;
      }
    }
    forget_last();
  }

  // extract_lane of a 64-bit lane is that half of the v128; of a 32-bit lane, that half
  // wrapped or shifted: instructions of the main loop, not a trip to the SIMD runner.
  bool extract_lane(const Instr& in) {
    auto o = static_cast<Opcode>(in.op);
    bool wide = o == Opcode::I64x2ExtractLane || o == Opcode::F64x2ExtractLane;
    if (!wide && o != Opcode::I32x4ExtractLane && o != Opcode::F32x4ExtractLane) return false;
    uint32_t lane = in.a, pos = h() - 2;
    uint32_t half = wide ? lane : lane / 2, shift = wide ? 0 : 32 * (lane % 2);
    Val v = vals_[pos + half];
    drop(2);
    if (v.slot == kNone) {
      uint64_t k = v.k >> shift;
      push_const(wide ? k : k & 0xFFFFFFFF);
      return true;
    }
    if (wide && v.slot == slot(pos)) {  // already in place
      push_result();
      forget_last();
      return true;
    }
    if (wide && v.slot < base_) {  // a local's half: read it from there
      push_local(v.slot);
      return true;
    }
    uint32_t dst = slot(h());
    if (wide) {
      emit_copy(dst, v.slot);
    } else if (shift == 0) {
      op(Op::I32WrapI64);
      cell(dst);
      cell(v.slot);
    } else {
      op(Op::I64ShrUImm);
      cell(dst);
      cell(v.slot);
      cell(shift);
    }
    push_result();
    if (wide) {
      forget_last();
    } else {
      emitted_result();
    }
    return true;
  }

  static Op handler_for(Opcode o) {
    switch (o) {
#define HANDLER_IF_Simple(id) \
  case Opcode::id:            \
    return Op::id;
#define HANDLER_IF_Vector(id)
#define HANDLER_IF_Own(id)
#define OP(code, id, name, imm, signature, align, lowering) HANDLER_IF_##lowering(id)
#include "binary/opcodes.def"
#undef OP
#undef HANDLER_IF_Own
#undef HANDLER_IF_Vector
#undef HANDLER_IF_Simple
      default:
        break;
    }
    return Op::Unreachable;
  }

  // local.set / local.tee of the value on top of the stack.
  void set_local(uint32_t x, bool tee) {
    Val v = vals_.back();
    uint32_t top = slot(h() - 1);
    // The value was just computed into its own slot: write it to x directly instead.
    bool produced_here =
        last_kind_ != Last::None && label_pos_ <= last_start_ && cells_[last_dst_cell_] == top;
    if (v.slot == top && produced_here && !refs_local(x)) {
      cells_[last_dst_cell_] = x;
      drop(1);
      if (tee) {
        push_local(x);
        vals_.back().ref = v.ref;
      }
      return;
    }
    drop(1);
    materialize_refs(x);
    if (v.slot == kNone) {
      emit_const(x, v.k);
    } else if (v.slot != x) {
      emit_copy(x, v.slot);
    }
    if (tee) {
      push_local(x);
      vals_.back().ref = v.ref;
    }
  }

  // local.set of the v128 on top of the stack into slots x, x + 1.
  void set_local_v128(uint32_t x) {
    Val lo = vals_[h() - 2], hi = vals_[h() - 1];
    uint32_t top = slot(h() - 2);
    // Just computed by a SIMD instruction into its own slots: it writes x instead (the
    // SIMD functions read every operand before they write).
    bool produced_here = last_kind_ == Last::Result && label_pos_ <= last_start_ &&
                         cells_[last_dst_cell_] == top && lo.slot == top && hi.slot == top + 1;
    if (produced_here && !refs_local(x) && !refs_local(x + 1)) {
      cells_[last_dst_cell_] = x;
      drop(2);
      return;
    }
    if (lo.slot == kNone && hi.slot == kNone) {
      drop(2);
      materialize_refs(x);
      materialize_refs(x + 1);
      emit_v128_const(x, lo.k, hi.k);
      return;
    }
    set_local(x + 1, false);
    set_local(x, false);
  }

  void instr(const Instr& in) {
    if (in.mem != 0 && on_selected_memory(in)) {
      // Memory 0 lives in the dispatch loop's registers; for an instruction on another
      // memory UseMemory points them at that one, and back at memory 0 after it. Peepholes
      // do not reach across either.
      use_memory(in.mem);
      instr_on(in);
      use_memory(0);
      return;
    }
    instr_on(in);
  }
  // Instructions that work on the memory in the loop's registers (not memory.grow, which
  // names its memory, nor memory.copy between two memories).
  static bool on_selected_memory(const Instr& in) {
    switch (static_cast<Opcode>(in.op)) {
      case Opcode::MemorySize:
      case Opcode::MemoryInit:
      case Opcode::MemoryFill:
        return true;
      case Opcode::MemoryCopy:
        return in.mem == in.b;
      default:
        return binary::opcode_info(in.op).natural_alignment >= 0;
    }
  }
  void use_memory(uint32_t m) {
    op(Op::UseMemory);
    cell(m);
    forget_last();
    label();
  }

  bool is64(uint32_t mem) const { return mem < m_.memories.size() && m_.memories[mem].limits.i64; }
  // A load or store on a 64-bit memory: Addr64 adds the offset to the i64 address and
  // traps unless the sum is below 2^32 (no memory is larger: limits.hpp), leaving it in
  // the operand's own slot; the instruction then runs as on a 32-bit memory, offset 0.
  void address64(const Instr& in, const binary::OpcodeInfo& info) {
    const binary::Signature& sig = info.signature;
    uint32_t width = 0;
    for (uint32_t i = 0; i < sig.npop; ++i) width += slot_width(sig.pop[i]);
    uint32_t pos = h() - width;
    uint32_t src = operand(pos);
    op(Op::Addr64);
    cell(slot(pos));
    cell(src);
    cell(static_cast<uint32_t>(in.imm));
    cell(static_cast<uint32_t>(in.imm >> 32));
    vals_[pos].slot = slot(pos);
    forget_last();
    label();
    Instr at = in;
    at.imm = 0;
    if (info.lowering == binary::Lowering::Simple) return simple(at, sig);
    simd(at, info);
  }
  // memory.grow, .fill, .copy and .init when a 64-bit memory takes part: Bulk64
  // [op][kind][operands][memory][memory or data segment][flags], run out of the loop.
  bool bulk64(const Instr& in) {
    auto o = static_cast<Opcode>(in.op);
    uint32_t kind, other = 0, flags = 0;
    switch (o) {
      case Opcode::MemoryGrow:
        if (!is64(in.mem)) return false;
        kind = 0;
        break;
      case Opcode::MemoryFill:
        if (!is64(in.mem)) return false;
        kind = 1;
        break;
      case Opcode::MemoryCopy:
        if (!is64(in.mem) && !is64(in.b)) return false;
        kind = 2;
        other = in.b;
        flags = (is64(in.mem) ? 1 : 0) | (is64(in.b) ? 2 : 0);
        break;
      case Opcode::MemoryInit:
        if (!is64(in.mem)) return false;
        kind = 3;
        other = in.a;
        break;
      default:
        return false;
    }
    uint32_t n = kind == 0 ? 1 : 3;
    materialize_from(h() - n);
    drop(n);
    op(Op::Bulk64);
    cell(kind);
    cell(slot(h()));
    cell(in.mem);
    cell(other);
    cell(flags);
    if (kind == 0) {
      push_result();
      emitted_result();
    }
    forget_last();
    return true;
  }

  bool table64(uint32_t t) const { return t < m_.tables.size() && m_.tables[t].limits.i64; }
  // A 64-bit table's i64 index at stack position `pos`: Index64 traps with `kind` unless it
  // is below 2^32 (no table is larger) and leaves it in the operand's own slot.
  void index64(uint32_t pos, TrapKind kind) {
    uint32_t src = operand(pos);
    op(Op::Index64);
    cell(slot(pos));
    cell(src);
    cell(static_cast<uint32_t>(kind));
    vals_[pos].slot = slot(pos);
    forget_last();
    label();
  }
  // table.grow, .fill, .copy and .init when a 64-bit table takes part: Table64
  // [op][kind][operands][table][table or segment][flags], run out of the loop.
  bool table_bulk64(const Instr& in) {
    auto o = static_cast<Opcode>(in.op);
    uint32_t kind, table, other = 0, flags = 0, n = 3;
    switch (o) {
      case Opcode::TableGrow:
        if (!table64(in.a)) return false;
        kind = 0, table = in.a, n = 2;
        break;
      case Opcode::TableFill:
        if (!table64(in.a)) return false;
        kind = 1, table = in.a;
        break;
      case Opcode::TableCopy:
        if (!table64(in.a) && !table64(in.b)) return false;
        kind = 2, table = in.a, other = in.b;
        flags = (table64(in.a) ? 1 : 0) | (table64(in.b) ? 2 : 0);
        break;
      case Opcode::TableInit:
        if (!table64(in.b)) return false;
        kind = 3, table = in.b, other = in.a;
        break;
      default:
        return false;
    }
    materialize_from(h() - n);
    drop(n);
    op(Op::Table64);
    cell(kind);
    cell(slot(h()));
    cell(table);
    cell(other);
    cell(flags);
    if (kind == 0) push_result();
    forget_last();
    return true;
  }

  void instr_on(const Instr& in) {
    const binary::OpcodeInfo info = binary::opcode_info(in.op);
    switch (static_cast<Opcode>(in.op)) {
      case Opcode::TableGet:
        if (table64(in.a)) index64(h() - 1, TrapKind::TableOutOfBounds);
        break;
      case Opcode::TableSet:
        if (table64(in.a)) index64(h() - 2, TrapKind::TableOutOfBounds);
        break;
      case Opcode::CallIndirect:
      case Opcode::ReturnCallIndirect:
        if (table64(in.b)) index64(h() - 1, TrapKind::UndefinedElement);
        break;
      default:
        if (table_bulk64(in)) return;
    }
    if (in.mem < m_.memories.size() && m_.memories[in.mem].limits.i64) {
      if (info.natural_alignment >= 0) return address64(in, info);
      if (bulk64(in)) return;
    } else if (in.op == static_cast<uint16_t>(Opcode::MemoryCopy) && bulk64(in)) {
      return;  // from a 64-bit memory into a 32-bit one
    }
    if (info.lowering == binary::Lowering::Simple) return simple(in, info.signature);
    if (info.lowering == binary::Lowering::Vector) return simd(in, info);
    switch (static_cast<Opcode>(in.op)) {
      case Opcode::Unreachable:
      case Opcode::Nop:
      case Opcode::Block:
      case Opcode::Loop:
      case Opcode::If:
      case Opcode::Else:
      case Opcode::End:
      case Opcode::Br:
      case Opcode::BrIf:
      case Opcode::BrTable:
      case Opcode::Return:
      case Opcode::TryTable:
      case Opcode::Throw:
      case Opcode::ThrowRef:
      case Opcode::Try:
      case Opcode::Catch:
      case Opcode::CatchAll:
      case Opcode::Rethrow:
      case Opcode::Delegate:
        return control(in);
      case Opcode::Call:
      case Opcode::CallIndirect:
      case Opcode::ReturnCall:
      case Opcode::ReturnCallIndirect:
      case Opcode::CallRef:
      case Opcode::ReturnCallRef:
        return call(in);
      case Opcode::BrOnNull:
      case Opcode::BrOnNonNull:
        return control(in);
      case Opcode::BrOnCast:
      case Opcode::BrOnCastFail:
        return br_on_cast(in);
      case Opcode::Drop:
      case Opcode::Select:
      case Opcode::SelectT:
      case Opcode::LocalGet:
      case Opcode::LocalSet:
      case Opcode::LocalTee:
      case Opcode::GlobalGet:
      case Opcode::GlobalSet:
      case Opcode::I32Const:
      case Opcode::F32Const:
      case Opcode::I64Const:
      case Opcode::F64Const:
      case Opcode::RefNull:
      case Opcode::RefIsNull:
      case Opcode::RefAsNonNull:
      case Opcode::RefFunc:
      case Opcode::V128Const:
        return value(in);
      default:
        if ((in.op & 0xFF00) == 0xFB00 || in.op == static_cast<uint16_t>(Opcode::RefEq))
          return gc(in);
        return memory_or_table(in);  // validated: nothing else reaches here
    }
  }

  // Structured control: blocks, branches, return (spec 4.4.8).
  // A try_table: a block whose catch clauses get landing stubs, emitted before the body
  // (jumped over): each is a branch to its label from a stack holding the payload in the
  // slots just above the try_table's height, where unwinding writes it.
  void try_table(const Instr& in) {
    uint32_t height = open_block(in).height;
    Handler handler;
    op(Op::Jump);
    uint32_t over = disp_fixup();
    std::vector<Val> saved = vals_;
    for (uint32_t i = 0; i < in.b; ++i) {
      const binary::Catch& c = body_.catches[in.a + i];
      CatchClause clause{c.kind, c.tag, here(), slot(height)};
      label();
      forget_last();
      vals_.resize(height);
      if (c.kind < 2) push_results(m_.types[m_.tags[c.tag]].params);
      if (c.kind == 1 || c.kind == 3) {
        push_result();
        vals_.back().ref = true;
      }
      emit_branch(c.label + 1);  // labels count from outside the try_table
      handler.clauses.push_back(clause);
      vals_ = saved;
    }
    patch(over, here());
    label();
    forget_last();
    handler.start = here();
    marker();
    ctrls_.back().handler = std::move(handler);
  }
  // The first cells of every try body: a jump to the next instruction, so that no inner
  // try starts at the same cell (delegate names a try by its first cell).
  void marker() {
    op(Op::Jump);
    uint32_t at = disp_fixup();
    patch(at, here());
    label();
    forget_last();
  }

  // Legacy exception handling. A try is a block whose body range ends at its first catch;
  // each catch block is a clause landing in place, the payload in the slots at the try's
  // height and the exception in the try's hidden slot (for rethrow).
  void legacy_try(const Instr& in) {
    Ctrl& c = open_block(in);
    c.exn_slot = legacy_slots_[next_legacy_++];
    c.handler.start = here();
    marker();
  }
  // A block, loop, try_table or try: values below it in their own slots (see
  // materialize_refs), its control entry pushed.
  Ctrl& open_block(const Instr& in) {
    materialize_from(0);
    uint32_t np, nr;
    std::vector<ValType> params, results;
    block_arity(in.imm, np, nr, params, results);
    ctrls_.push_back(
        Ctrl{in.op, h() - np, np, nr, here(), {}, kNone, std::move(params), std::move(results)});
    return ctrls_.back();
  }
  void legacy_catch(const Instr& in) {
    Ctrl& c = ctrls_.back();
    if (!unreachable_) {
      materialize_from(c.height);
      op(Op::Jump);
      c.fixups.push_back(disp_fixup());
    }
    if (c.op == static_cast<uint16_t>(Opcode::Try)) c.handler.end = here();  // the body ends
    bool all = in.op == static_cast<uint16_t>(Opcode::CatchAll);
    c.handler.clauses.push_back(CatchClause{static_cast<uint8_t>(all ? 2 : 0), all ? 0 : in.a,
                                            here(), slot(c.height), c.exn_slot});
    label();
    forget_last();
    vals_.resize(c.height);
    if (!all) push_results(m_.types[m_.tags[in.a]].params);
    c.op = static_cast<uint16_t>(Opcode::Catch);
    unreachable_ = false;
  }
  // delegate l: the try's exceptions go on as if thrown at the first cell of the nearest
  // try at or around label l (counted once the try is closed), or out of the function.
  void legacy_delegate(const Instr& in) {
    Ctrl& c = ctrls_.back();
    c.handler.end = here();
    c.handler.delegates = true;
    c.handler.delegates_out = true;
    for (size_t d = in.a + 1; d < ctrls_.size(); ++d) {
      const Ctrl& t = ctrls_[ctrls_.size() - 1 - d];
      if (t.op == static_cast<uint16_t>(Opcode::Try) ||
          t.op == static_cast<uint16_t>(Opcode::TryTable)) {
        c.handler.delegates_out = false;
        c.handler.delegate_at = t.handler.start;
        break;
      }
    }
    handlers_.push_back(std::move(c.handler));
    c.handler = {};
    c.op = static_cast<uint16_t>(Opcode::Block);  // the rest is a block's end
    Instr end = in;
    end.op = static_cast<uint16_t>(Opcode::End);
    control(end);
  }

  void control(const Instr& in) {
    Opcode o = static_cast<Opcode>(in.op);
    switch (o) {
      case Opcode::Unreachable:
        op(Op::Unreachable);
        forget_last();
        set_unreachable();
        break;
      case Opcode::Nop:
        break;
      case Opcode::Block:
      case Opcode::Loop:
        open_block(in);
        if (o == Opcode::Loop) {
          label();
          count(static_cast<uint32_t>(&in - body_.code.data()));
          label();
        }
        forget_last();
        break;
      case Opcode::TryTable:
        try_table(in);
        break;
      case Opcode::Try:
        legacy_try(in);
        break;
      case Opcode::Catch:
      case Opcode::CatchAll:
        legacy_catch(in);
        break;
      case Opcode::Delegate:
        legacy_delegate(in);
        break;
      case Opcode::Rethrow: {
        const Ctrl& c = ctrls_[ctrls_.size() - 1 - in.a];
        op(Op::ThrowRef);
        cell(c.exn_slot);
        forget_last();
        set_unreachable();
        break;
      }
      case Opcode::Throw: {
        // The payload in consecutive slots: [Throw][tag][first slot].
        uint32_t width = static_cast<uint32_t>(slot_count(m_.types[m_.tags[in.a]].params));
        materialize_from(h() - width);
        drop(width);
        op(Op::Throw);
        cell(in.a);
        cell(slot(h()));
        forget_last();
        set_unreachable();
        break;
      }
      case Opcode::ThrowRef: {
        uint32_t ref = operand(h() - 1);
        drop(1);
        op(Op::ThrowRef);
        cell(ref);
        forget_last();
        set_unreachable();
        break;
      }
      case Opcode::If: {
        uint32_t np, nr;
        std::vector<ValType> params, results;
        block_arity(in.imm, np, nr, params, results);
        Val cond = pop();
        // The comparison commutes with the copies below: they write only slots under it.
        Fused f = take_condition(cond);
        materialize_from(0);
        ctrls_.push_back(
            Ctrl{in.op, h() - np, np, nr, 0, {}, kNone, std::move(params), std::move(results)});
        cond_jump(f, cond, /*when_true=*/false, ctrls_.back(), /*to_else=*/true);
        break;
      }
      case Opcode::Else: {
        Ctrl& c = ctrls_.back();
        if (!unreachable_) {
          materialize_from(c.height);
          op(Op::Jump);
          c.fixups.push_back(disp_fixup());
        }
        patch(c.else_fixup, here());
        label();
        c.else_fixup = kNone;
        vals_.resize(c.height);
        push_results(c.params);
        unreachable_ = false;
        forget_last();
        break;
      }
      case Opcode::End: {
        Ctrl& c = ctrls_.back();
        if (ctrls_.size() == 1) {
          if (!unreachable_) emit_return();
          ctrls_.pop_back();
          break;
        }
        if (!unreachable_) materialize_from(c.height);
        if (c.op == static_cast<uint16_t>(Opcode::TryTable) ||
            c.op == static_cast<uint16_t>(Opcode::Try)) {
          c.handler.end = here();
          handlers_.push_back(std::move(c.handler));  // inner try_tables end first
        } else if (c.op == static_cast<uint16_t>(Opcode::Catch)) {
          handlers_.push_back(std::move(c.handler));  // its range ended at the first catch
        }
        if (c.else_fixup != kNone) patch(c.else_fixup, here());
        for (uint32_t f : c.fixups) patch(f, here());
        label();
        vals_.resize(c.height);
        std::vector<ValType> results = std::move(c.results);
        ctrls_.pop_back();
        push_results(results);
        unreachable_ = false;
        forget_last();
        break;
      }
      case Opcode::Br:
        emit_branch(in.a);
        set_unreachable();
        break;
      case Opcode::BrIf: {
        Val cond = pop();
        if (branch_is_plain(in.a)) {
          Fused f = take_condition(cond);
          cond_jump(f, cond, /*when_true=*/true, ctrls_[ctrls_.size() - 1 - in.a], false);
        } else {
          branch_unless(Op::JumpIfNot, popped_slot(cond), in.a);
        }
        break;
      }
      case Opcode::BrTable: {
        Val idx = pop();
        uint32_t idx_slot = popped_slot(idx);
        const uint32_t* targets = &body_.br_targets[in.a];
        uint32_t n = in.b;
        op(Op::BrTable);
        cell(idx_slot);
        cell(n - 1);  // index of the default entry
        uint32_t table = here();
        for (uint32_t i = 0; i < n; ++i) cell(0);
        for (uint32_t i = 0; i < n; ++i) {
          uint32_t depth = targets[i];
          if (branch_is_plain(depth)) {
            Ctrl& c = ctrls_[ctrls_.size() - 1 - depth];
            if (c.op == static_cast<uint16_t>(Opcode::Loop)) {
              patch(table + i, c.loop_pc);
            } else {
              c.fixups.push_back(table + i);
            }
          } else {
            patch(table + i, here());  // a stub that moves values, then branches
            emit_branch(depth);
          }
        }
        forget_last();
        set_unreachable();
        break;
      }
      case Opcode::Return:
        emit_return();
        set_unreachable();
        break;
      case Opcode::BrOnNull: {
        // Branches (without the reference) when it is null: a jump over the branch when not.
        uint32_t r = operand(h() - 1);
        Val ref = pop();
        branch_unless(Op::JumpIfNonNull, r, in.a);
        vals_.push_back(ref);
        break;
      }
      case Opcode::BrOnNonNull: {
        // Branches with the reference when it is not null; drops it otherwise.
        branch_unless(Op::JumpIfNull, operand(h() - 1), in.a);
        drop(1);
        break;
      }
      default:
        break;
    }
  }

  // Calls: direct and through a table; arguments are materialized in place.
  void call(const Instr& in) {
    // [Call][func][args], [CallIndirect][type][table][args][index]; the Return forms are
    // tail calls (the callee replaces this frame), after which the code is unreachable.
    // [CallRef][args][reference].
    Opcode o = static_cast<Opcode>(in.op);
    bool indirect = o == Opcode::CallIndirect || o == Opcode::ReturnCallIndirect;
    bool by_ref = o == Opcode::CallRef || o == Opcode::ReturnCallRef;
    bool tail =
        o == Opcode::ReturnCall || o == Opcode::ReturnCallIndirect || o == Opcode::ReturnCallRef;
    const FuncType& ft = indirect || by_ref ? m_.types[in.a] : m_.func_type(in.a);
    uint32_t np = static_cast<uint32_t>(slot_count(ft.params));
    uint32_t idx_slot = 0;
    // The index or reference is read before the call, above the arguments.
    if (indirect || by_ref) idx_slot = popped_slot(pop());
    materialize_from(h() - np);
    // The caller's references while the callee runs (its arguments included: a host
    // callee reads them from there).
    std::vector<uint32_t> live = with_maps_ ? live_refs() : std::vector<uint32_t>{};
    uint32_t at = here();
    drop(np);
    if (by_ref) {
      op(tail ? Op::ReturnCallRef : Op::CallRef);
      cell(slot(h()));
      cell(idx_slot);
    } else {
      op(indirect ? (tail ? Op::ReturnCallIndirect : Op::CallIndirect)
                  : (tail ? Op::ReturnCall : Op::Call));
      cell(in.a);
      if (indirect) cell(in.b);
      cell(slot(h()));
      if (indirect) cell(idx_slot);
    }
    forget_last();
    // Suspended at the return address; a tail call's host callee returns to the call.
    stack_map(tail ? at : here(), std::move(live));
    if (tail) {
      set_unreachable();
    } else {
      push_results(ft.results);
    }
  }

  // Garbage collection (interp/gc.hpp): [Gc][opcode][base][a][b] over operands made
  // adjacent from base; results from base.
  void gc(const Instr& in) {
    auto o = static_cast<Opcode>(in.op);
    if (field_access(in)) return;
    auto fields = [&]() -> const std::vector<binary::FieldType>& {
      return m_.type_defs[in.a].fields;
    };
    uint32_t n = 1, a = in.a, b = in.b;
    uint16_t emitted = in.op;
    // Most results are one reference (a new object, a cast or converted one).
    std::vector<ValType> results{ValType::ref(ValType::Any, true)};
    bool allocates = false;
    switch (o) {
      case Opcode::StructNew:
        n = 0;
        for (const auto& f : fields()) n += slot_width(f.type);
        allocates = true;
        break;
      case Opcode::StructNewDefault:
        n = 0;
        allocates = true;
        break;
      case Opcode::StructGet:
      case Opcode::StructGetS:
      case Opcode::StructGetU:
        results = {fields()[in.b].type};
        break;
      case Opcode::StructSet:
        n = 1 + slot_width(fields()[in.b].type);
        results.clear();
        break;
      case Opcode::ArrayNew:
        n = slot_width(fields()[0].type) + 1;
        allocates = true;
        break;
      case Opcode::ArrayNewDefault:
      case Opcode::AnyConvertExtern:  // boxes a host value
        allocates = true;
        break;
      case Opcode::ArrayNewFixed:
        n = in.b * slot_width(fields()[0].type);
        allocates = true;
        break;
      case Opcode::ArrayNewData:
      case Opcode::ArrayNewElem:
        n = 2;
        allocates = true;
        break;
      case Opcode::RefEq:
        n = 2;
        results = {ValType::I32};
        break;
      case Opcode::ArrayLen:
      case Opcode::I31GetS:
      case Opcode::I31GetU:
        results = {ValType::I32};
        break;
      case Opcode::ArrayGet:
      case Opcode::ArrayGetS:
      case Opcode::ArrayGetU:
        n = 2;
        results = {fields()[0].type};
        break;
      case Opcode::ArraySet:
        n = 2 + slot_width(fields()[0].type);
        results.clear();
        break;
      case Opcode::ArrayFill:
        n = 3 + slot_width(fields()[0].type);
        results.clear();
        break;
      case Opcode::ArrayCopy:
        n = 5;
        results.clear();
        break;
      case Opcode::ArrayInitData:
      case Opcode::ArrayInitElem:
        n = 4;
        results.clear();
        break;
      case Opcode::RefTest:
      case Opcode::RefTestNull:
      case Opcode::RefCast:
      case Opcode::RefCastNull:
        b = o == Opcode::RefTestNull || o == Opcode::RefCastNull;
        emitted = static_cast<uint16_t>(
            o == Opcode::RefTest || o == Opcode::RefTestNull ? Opcode::RefTest : Opcode::RefCast);
        if (emitted == static_cast<uint16_t>(Opcode::RefTest)) results = {ValType::I32};
        break;
      default:  // ref.i31, extern.convert_any: one operand, one reference
        break;
    }
    materialize_from(h() - n);
    uint32_t base = slot(h() - n);
    // An allocation may collect: the frame's references then, the operands included.
    if (allocates) stack_map(here(), live_refs());
    drop(n);
    op(Op::Gc);
    cell(emitted);
    cell(base);
    cell(a);
    cell(b);
    push_results(results);
    forget_last();
  }

  // Field and element access: handlers of their own with the offset and kind built in.
  bool field_access(const Instr& in) {
    auto o = static_cast<Opcode>(in.op);
    bool sign = o == Opcode::StructGetS || o == Opcode::ArrayGetS;
    switch (o) {
      case Opcode::StructGet:
      case Opcode::StructGetS:
      case Opcode::StructGetU:
      case Opcode::StructSet: {
        const auto& fields = m_.type_defs[in.a].fields;
        uint32_t offset = field_offset(fields, in.b);
        const binary::FieldType& f = fields[in.b];
        uint32_t kind = field_kind(f, sign);
        if (o == Opcode::StructSet) {
          bool wide = f.type == ValType::V128;
          uint32_t v = wide ? operand_pair(h() - 2) : operand(h() - 1);
          uint32_t r = operand(h() - (wide ? 3 : 2));
          drop(wide ? 3 : 2);
          op(Op::StructSet);
          cell(r);
          cell(v);
          cell(offset);
          cell(kind);
        } else {
          uint32_t r = operand(h() - 1);
          drop(1);
          op(Op::StructGet);
          cell(slot(h()));
          cell(r);
          cell(offset);
          cell(kind);
          push_results({f.type});
        }
        forget_last();
        return true;
      }
      case Opcode::ArrayGet:
      case Opcode::ArrayGetS:
      case Opcode::ArrayGetU:
      case Opcode::ArraySet: {
        const binary::FieldType& e = m_.type_defs[in.a].fields[0];
        uint32_t kind = field_kind(e, sign);
        if (o == Opcode::ArraySet) {
          bool wide = e.type == ValType::V128;
          uint32_t v = wide ? operand_pair(h() - 2) : operand(h() - 1);
          uint32_t i = operand(h() - (wide ? 3 : 2));
          uint32_t r = operand(h() - (wide ? 4 : 3));
          drop(wide ? 4 : 3);
          op(Op::ArraySet);
          cell(r);
          cell(i);
          cell(v);
          cell(kind);
        } else {
          uint32_t i = operand(h() - 1);
          uint32_t r = operand(h() - 2);
          drop(2);
          op(Op::ArrayGet);
          cell(slot(h()));
          cell(r);
          cell(i);
          cell(kind);
          push_results({e.type});
        }
        forget_last();
        return true;
      }
      case Opcode::ArrayLen: {
        uint32_t r = operand(h() - 1);
        drop(1);
        op(Op::ArrayLen);
        cell(slot(h()));
        cell(r);
        push_result();
        forget_last();
        return true;
      }
      default:
        return false;
    }
  }

  // br_on_cast(_fail) l rt1 rt2: the test on a copy above the stack, then a branch that
  // carries the reference (taken when it matches rt2, or when it does not).
  void br_on_cast(const Instr& in) {
    uint32_t r = operand(h() - 1);
    uint32_t tmp = slot(h());
    if (h() + 1 > max_height_) max_height_ = h() + 1;
    emit_copy(tmp, r);
    op(Op::Gc);
    cell(static_cast<uint16_t>(Opcode::RefTest));
    cell(tmp);
    cell(in.b);
    cell((in.imm & 2) != 0);
    bool on_match = static_cast<Opcode>(in.op) == Opcode::BrOnCast;
    branch_unless(on_match ? Op::JumpIfNot : Op::JumpIf, tmp, in.a);
  }

  // Parametric, variable, constant and reference instructions: mostly bookkeeping of
  // where values live, few emitted cells.
  void value(const Instr& in) {
    Opcode o = static_cast<Opcode>(in.op);
    switch (o) {
      case Opcode::Drop:
        drop(vals_.back().hi ? 2 : 1);
        break;
      case Opcode::Select:
      case Opcode::SelectT: {
        if (vals_[h() - 2].hi) {  // v128 operands: [a lo, a hi, b lo, b hi, cond]
          uint32_t c = operand(h() - 1);
          uint32_t b = operand_pair(h() - 3);
          uint32_t a = operand_pair(h() - 5);
          drop(5);
          op(Op::SelectV128);
          cell(slot(h()));
          cell(a);
          cell(b);
          cell(c);
          push_result();
          push_result(true);
          forget_last();
          break;
        }
        uint32_t c = operand(h() - 1);
        uint32_t b = operand(h() - 2);
        uint32_t a = operand(h() - 3);
        drop(3);
        op(Op::Select);
        cell(slot(h()));
        cell(a);
        cell(b);
        cell(c);
        push_result();
        if (o == Opcode::SelectT) tag_ref(ValType::from_bits(in.imm));
        emitted_result();
        break;
      }
      case Opcode::LocalGet:
        push_local(local_slot_[in.a]);
        tag_ref(local_type_[in.a]);
        if (local_type_[in.a] == ValType::V128) push_local(local_slot_[in.a] + 1, true);
        break;
      case Opcode::LocalSet:
      case Opcode::LocalTee:
        if (local_type_[in.a] == ValType::V128) {
          uint32_t x = local_slot_[in.a];
          set_local_v128(x);
          if (o == Opcode::LocalTee) {
            push_local(x);
            push_local(x + 1, true);
          }
        } else {
          set_local(local_slot_[in.a], o == Opcode::LocalTee);
        }
        break;
      case Opcode::GlobalGet:
        if (global_type(in.a) == ValType::V128) {
          op(Op::GlobalGetV128);
          cell(slot(h()));
          cell(in.a);
          push_result();
          push_result(true);
          forget_last();
          break;
        }
        op(Op::GlobalGet);
        cell(slot(h()));
        cell(in.a);
        push_result();
        tag_ref(global_type(in.a));
        emitted_result();
        break;
      case Opcode::GlobalSet: {
        if (global_type(in.a) == ValType::V128) {
          uint32_t src = operand_pair(h() - 2);
          drop(2);
          op(Op::GlobalSetV128);
          cell(src);
          cell(in.a);
          forget_last();
          break;
        }
        uint32_t src = operand(h() - 1);
        drop(1);
        op(Op::GlobalSet);
        cell(src);
        cell(in.a);
        forget_last();
        break;
      }
      case Opcode::I32Const:
      case Opcode::F32Const:
        push_const(static_cast<uint32_t>(in.imm));
        break;
      case Opcode::I64Const:
      case Opcode::F64Const:
        push_const(in.imm);
        break;
      case Opcode::RefNull:
        push_const(0);
        break;
      case Opcode::V128Const:  // two 64-bit constants, written where they are needed
        push_const(in.imm);
        push_const(uint64_t{in.b} << 32 | in.a, true);
        break;
      case Opcode::RefAsNonNull: {  // traps on null; the reference stays where it is
        uint32_t a = operand(h() - 1);
        op(Op::RefAsNonNull);
        cell(a);
        forget_last();
        break;
      }
      case Opcode::RefIsNull: {
        uint32_t a = operand(h() - 1);
        drop(1);
        op(Op::RefIsNull);
        cell(slot(h()));
        cell(a);
        push_result();
        emitted_result();
        break;
      }
      case Opcode::RefFunc:
        op(Op::RefFunc);
        cell(slot(h()));
        cell(in.a);
        push_result();
        vals_.back().ref = true;
        emitted_result();
        break;
      default:
        break;
    }
  }

  // Memory and table instructions beyond loads and stores: size, grow and bulk operations.
  void memory_or_table(const Instr& in) {
    Opcode o = static_cast<Opcode>(in.op);
    switch (o) {
      case Opcode::MemorySize:
        op(Op::MemorySize);
        cell(slot(h()));
        push_result();
        emitted_result();
        break;
      case Opcode::MemoryGrow:
        materialize(h() - 1);
        op(Op::MemoryGrow);
        cell(slot(h() - 1));
        cell(in.mem);
        forget_last();
        break;
      case Opcode::MemoryInit:
        materialize_from(h() - 3);
        drop(3);
        op(Op::MemoryInit);
        cell(slot(h()));
        cell(in.a);
        forget_last();
        break;
      case Opcode::DataDrop:
        op(Op::DataDrop);
        cell(in.a);
        forget_last();
        break;
      case Opcode::MemoryCopy:
      case Opcode::MemoryFill:
        materialize_from(h() - 3);
        drop(3);
        if (o == Opcode::MemoryCopy && in.mem != in.b) {
          op(Op::MemoryCopyBetween);
          cell(slot(h()));
          cell(in.mem);
          cell(in.b);
        } else {
          op(o == Opcode::MemoryCopy ? Op::MemoryCopy : Op::MemoryFill);
          cell(slot(h()));
        }
        forget_last();
        break;
      case Opcode::TableGet:  // the index's slot receives the reference
        materialize(h() - 1);
        op(Op::TableGet);
        cell(slot(h() - 1));
        cell(in.a);
        vals_.back().ref = true;
        forget_last();
        break;
      case Opcode::TableSet:
        materialize_from(h() - 2);
        drop(2);
        op(Op::TableSet);
        cell(slot(h()));
        cell(in.a);
        forget_last();
        break;
      case Opcode::TableInit:
        materialize_from(h() - 3);
        drop(3);
        op(Op::TableInit);
        cell(slot(h()));
        cell(in.a);
        cell(in.b);
        forget_last();
        break;
      case Opcode::ElemDrop:
        op(Op::ElemDrop);
        cell(in.a);
        forget_last();
        break;
      case Opcode::TableCopy:
        materialize_from(h() - 3);
        drop(3);
        op(Op::TableCopy);
        cell(slot(h()));
        cell(in.a);
        cell(in.b);
        forget_last();
        break;
      case Opcode::TableGrow:
        materialize_from(h() - 2);
        drop(2);
        op(Op::TableGrow);
        cell(slot(h()));
        cell(in.a);
        push_result();
        forget_last();
        break;
      case Opcode::TableSize:
        op(Op::TableSize);
        cell(slot(h()));
        cell(in.a);
        push_result();
        emitted_result();
        break;
      case Opcode::TableFill:
        materialize_from(h() - 3);
        drop(3);
        op(Op::TableFill);
        cell(slot(h()));
        cell(in.a);
        forget_last();
        break;

      default:
        break;
    }
  }

  ValType global_type(uint32_t g) const { return m_.global_types[g].type; }

  const binary::Module& m_;
  const binary::FunctionBody& body_;
  std::vector<uint32_t> local_slot_;  // first slot of each local (params first)
  std::vector<ValType> local_type_;
  std::vector<ValType> results_;
  std::vector<Cell>& cells_;
  FuncCode fc_;
  std::vector<Handler>& handlers_;
  std::unordered_map<uint32_t, std::vector<uint32_t>>& maps_;
  bool with_maps_;
  uint32_t def_;  // the function's index among the defined ones
  bool counting_;
  std::vector<uint32_t> legacy_slots_;
  size_t next_legacy_ = 0;
  uint32_t base_ = 0;
  uint32_t max_height_ = 0;
  bool unreachable_ = false;
  uint32_t skip_depth_ = 0;
  std::vector<Val> vals_;
  std::vector<Ctrl> ctrls_;
};

}  // namespace

// Whether any body has a GC instruction (0xFB prefix): one pass over the module.
static bool uses_gc(const binary::Module& m, uint64_t& read) {
  for (const auto& b : m.bodies)
    for (const auto& in : b.code) {
      ++read;
      if ((in.op & 0xFF00) == 0xFB00) return true;
    }
  return false;
}

Code compile(const binary::Module& module, bool counting) {
  Code code;
  size_t total = 0;
  for (const auto& b : module.bodies) total += b.code.size() * 3;
  const bool with_maps = uses_gc(module, code.instructions_read);
  code.gc = with_maps;
  counting = counting && !with_maps;  // GC modules are not tiered
  code.cells.reserve(total);
  code.funcs.reserve(module.bodies.size());
  for (size_t i = 0; i < module.bodies.size(); ++i) {
    code.funcs.push_back(FunctionCompiler(module,
                                          static_cast<uint32_t>(module.num_imported_funcs + i),
                                          code, with_maps, counting)
                             .run());
    code.instructions_read +=
        2 * module.bodies[i].code.size();  // the legacy-try scan, then lowering
  }
  code.cells.shrink_to_fit();
  return code;
}

}  // namespace edgecar::interp

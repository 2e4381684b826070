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
#pragma once

#include <cstring>

#include "binary/module.hpp"
#include "binary/opcode_info.hpp"
#include "interp/code.hpp"
#include "interp/gc.hpp"
#include "interp/simd.hpp"
#include "validate/validator.hpp"

namespace edgecar::interp::lowering {

using binary::Instr;
using binary::Opcode;

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

inline bool has_imm_form(Op o) {
  switch (o) {
#define IMM(name) case Op::name:
#include "interp/imm_handlers.def"
#undef IMM
    return true;
    default:
      return false;
  }
}

inline Op imm_form(Op o) {
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

inline bool commutative(Op o) {
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

inline int cmp_index(Op o, bool& imm) {
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

  FuncCode run();

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
  void emit_return();

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
  void skip(const Instr& in);

  // A comparison (or eqz) that produced the condition just popped, taken out of the code
  // so that the branch can test it directly.
  struct Fused {
    enum { None, Compare, Eqz } kind = None;
    int ci = -1;
    bool imm = false;
    uint32_t a = 0, b = 0;
  };
  Fused take_condition(const Val& cond);

  // A conditional branch on `cond` (already popped), jumping when it is nonzero
  // (`when_true`) or zero, to `target`'s label or, for an if, to its else branch.
  void cond_jump(const Fused& f, const Val& cond, bool when_true, Ctrl& target, bool to_else);

  // The slot of a value just popped; a constant is first written to its own slot,
  // which is free now.
  uint32_t popped_slot(const Val& v) {
    if (v.slot != kNone) return v.slot;
    emit_const(slot(h()), v.k);
    return slot(h());
  }

  Op cmp_op_ = Op::Unreachable;  // the comparison handler of a Last::Compare

  // ---- simple instructions (loads, stores, numerics) ----
  void simple(const Instr& in, const binary::Signature& sig);

  // A SIMD instruction: [Simd][its cell in simd_cells()][dst, if it has a result][operand slots,
  // deepest first][memarg offset][lane][shuffle lanes, 4 cells]; a v128 operand or result is the
  // first of its two slots.
  void simd(const Instr& in, const binary::OpcodeInfo& info);

  // extract_lane of a 64-bit lane is that half of the v128; of a 32-bit lane, that half
  // wrapped or shifted: instructions of the main loop, not a trip to the SIMD runner.
  bool extract_lane(const Instr& in);

  static Op handler_for(Opcode o);

  // local.set / local.tee of the value on top of the stack.
  void set_local(uint32_t x, bool tee);

  // local.set of the v128 on top of the stack into slots x, x + 1.
  void set_local_v128(uint32_t x);

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
  void address64(const Instr& in, const binary::OpcodeInfo& info);
  // memory.grow, .fill, .copy and .init when a 64-bit memory takes part: Bulk64
  // [op][kind][operands][memory][memory or data segment][flags], run out of the loop.
  bool bulk64(const Instr& in);

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
  bool table_bulk64(const Instr& in);

  void instr_on(const Instr& in);

  // Structured control: blocks, branches, return (spec 4.4.8).
  // A try_table: a block whose catch clauses get landing stubs, emitted before the body
  // (jumped over): each is a branch to its label from a stack holding the payload in the
  // slots just above the try_table's height, where unwinding writes it.
  void try_table(const Instr& in);
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
  void legacy_catch(const Instr& in);
  // delegate l: the try's exceptions go on as if thrown at the first cell of the nearest
  // try at or around label l (counted once the try is closed), or out of the function.
  void legacy_delegate(const Instr& in);

  void control(const Instr& in);

  // Calls: direct and through a table; arguments are materialized in place.
  void call(const Instr& in);

  // Garbage collection (interp/gc.hpp): [Gc][opcode][base][a][b] over operands made
  // adjacent from base; results from base.
  void gc(const Instr& in);

  // Field and element access: handlers of their own with the offset and kind built in.
  bool field_access(const Instr& in);

  // br_on_cast(_fail) l rt1 rt2: the test on a copy above the stack, then a branch that
  // carries the reference (taken when it matches rt2, or when it does not).
  void br_on_cast(const Instr& in);

  // Parametric, variable, constant and reference instructions: mostly bookkeeping of
  // where values live, few emitted cells.
  void value(const Instr& in);

  // Memory and table instructions beyond loads and stores: size, grow and bulk operations.
  void memory_or_table(const Instr& in);

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

}  // namespace edgecar::interp::lowering

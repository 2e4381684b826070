// Lowering of validated function bodies into interpreter cells (see code.hpp).
//
// The operand stack height at every instruction is static (spec 3.3), so each operand
// gets a fixed frame slot: slot(k) = num_locals_total + k for stack position k. Blocks
// cost nothing; a branch becomes a jump, preceded by slot copies only when the carried
// values are not already where the target expects them. Unreachable code is dropped.
#include <cstring>

#include "binary/module.hpp"
#include "interp/code.hpp"
#include "validate/validator.hpp"

namespace edgecar::interp {

using binary::Instr;
using binary::Opcode;

namespace {

constexpr uint32_t kNoFixup = ~0u;

class FunctionCompiler {
 public:
  FunctionCompiler(const binary::Module& m, uint32_t func_index, Code& out)
      : m_(m), body_(m.bodies[func_index - m.num_imported_funcs]), out_(out), cells_(out.cells) {
    const FuncType& ft = m.func_type(func_index);
    fc_.num_params = static_cast<uint32_t>(ft.params.size());
    fc_.num_results = static_cast<uint32_t>(ft.results.size());
    fc_.num_locals = static_cast<uint32_t>(body_.locals.size());
    base_ = fc_.num_params + fc_.num_locals;
  }

  FuncCode run() {
    fc_.entry = static_cast<uint32_t>(cells_.size());
    ctrls_.push_back(Ctrl{static_cast<uint16_t>(Opcode::Block), 0, 0, fc_.num_results, 0, {}, kNoFixup});
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
    uint32_t loop_pc;  // loops: cell index of the loop header
    std::vector<uint32_t> fixups;  // cells holding a displacement to this block's end
    uint32_t else_fixup;  // ifs: the cell that jumps to the else branch
  };

  uint32_t slot(uint32_t k) const { return base_ + k; }
  void grow(uint32_t n) {
    h_ += n;
    if (h_ > max_height_) max_height_ = h_;
  }

  void op(Op o) { cells_.push_back(handler_cells()[static_cast<size_t>(o)]); }
  void cell(uint32_t v) { cells_.push_back(v); }
  uint32_t here() const { return static_cast<uint32_t>(cells_.size()); }
  // A displacement cell: the target is (cell index + stored value).
  void disp_to(uint32_t target) { cells_.push_back(static_cast<uint32_t>(static_cast<int32_t>(target - here()))); }
  uint32_t disp_fixup() {
    cells_.push_back(0);
    return here() - 1;
  }
  void patch(uint32_t at, uint32_t target) { cells_[at] = static_cast<uint32_t>(static_cast<int32_t>(target - at)); }

  void block_arity(uint64_t imm, uint32_t& np, uint32_t& nr) {
    np = 0;
    nr = 0;
    if (binary::BlockType::is_index(imm)) {
      const FuncType& t = m_.types[binary::BlockType::index(imm)];
      np = static_cast<uint32_t>(t.params.size());
      nr = static_cast<uint32_t>(t.results.size());
    } else if (imm != binary::BlockType::kEmpty) {
      nr = 1;
    }
  }

  void copies(uint32_t dst, uint32_t src, uint32_t n) {
    if (dst == src || n == 0) return;
    if (n == 1) {
      op(Op::Copy);
      cell(dst);
      cell(src);
    } else {
      op(Op::CopyN);
      cell(dst);
      cell(src);
      cell(n);
    }
  }

  void emit_return() {
    uint32_t n = fc_.num_results;
    uint32_t src = slot(h_ - n);
    if (n == 0) {
      op(Op::Return0);
    } else if (n == 1) {
      op(Op::Return1);
      cell(src);
    } else {
      op(Op::ReturnN);
      cell(src);
      cell(n);
    }
  }

  // Whether a branch to `depth` must move values (or is a return).
  bool branch_is_plain(uint32_t depth) {
    if (depth == ctrls_.size() - 1) return false;
    const Ctrl& c = ctrls_[ctrls_.size() - 1 - depth];
    uint32_t arity = c.op == static_cast<uint16_t>(Opcode::Loop) ? c.nparams : c.nresults;
    return arity == 0 || slot(h_ - arity) == slot(c.height);
  }

  // Copies carried values, then jumps (or returns, for the function's own label).
  void emit_branch(uint32_t depth) {
    if (depth == ctrls_.size() - 1) {
      emit_return();
      return;
    }
    Ctrl& c = ctrls_[ctrls_.size() - 1 - depth];
    bool loop = c.op == static_cast<uint16_t>(Opcode::Loop);
    uint32_t arity = loop ? c.nparams : c.nresults;
    copies(slot(c.height), slot(h_ - arity), arity);
    op(loop ? Op::JumpLoop : Op::Jump);
    jump_target(c);
  }

  void jump_target(Ctrl& c) {
    if (c.op == static_cast<uint16_t>(Opcode::Loop)) {
      disp_to(c.loop_pc);
    } else {
      c.fixups.push_back(disp_fixup());
    }
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
      case Opcode::If: skip_depth_++; break;
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
      default: break;
    }
  }

  void simple(const Instr& in, const char* sig) {
    size_t npop = std::strchr(sig, '>') - sig;
    size_t npush = std::strlen(sig) - npop - 1;
    Opcode o = static_cast<Opcode>(in.op);
    uint16_t code = in.op;
    bool is_load = code >= static_cast<uint16_t>(Opcode::I32Load) && code <= static_cast<uint16_t>(Opcode::I64Load32U);
    bool is_store = code >= static_cast<uint16_t>(Opcode::I32Store) && code <= static_cast<uint16_t>(Opcode::I64Store32);
    Op handler = handler_for(o);
    if (is_load) {
      op(handler);
      cell(slot(h_ - 1));
      cell(slot(h_ - 1));
      cell(static_cast<uint32_t>(in.imm));
      return;
    }
    if (is_store) {
      op(handler);
      cell(slot(h_ - 2));
      cell(slot(h_ - 1));
      cell(static_cast<uint32_t>(in.imm));
      h_ -= 2;
      return;
    }
    // Numeric: dst is the first operand's slot.
    uint32_t first = h_ - static_cast<uint32_t>(npop);
    op(handler);
    cell(slot(first));
    for (size_t i = 0; i < npop; ++i) cell(slot(first + static_cast<uint32_t>(i)));
    h_ = first;
    grow(static_cast<uint32_t>(npush));
  }

  static Op handler_for(Opcode o) {
    switch (o) {
#define HANDLER(name) \
  case Opcode::name: return Op::name;
#include "interp/simple_handlers.def"
#undef HANDLER
      default: break;
    }
    return Op::Unreachable;
  }

  void instr(const Instr& in) {
    const char* sig = validate::simple_signature(in.op);
    Opcode o = static_cast<Opcode>(in.op);
    if (*sig && o != Opcode::I32Const && o != Opcode::I64Const && o != Opcode::F32Const &&
        o != Opcode::F64Const && o != Opcode::MemorySize && o != Opcode::MemoryGrow) {
      simple(in, sig);
      return;
    }
    switch (o) {
      case Opcode::Unreachable:
        op(Op::Unreachable);
        set_unreachable();
        break;
      case Opcode::Nop: break;
      case Opcode::Block:
      case Opcode::Loop: {
        uint32_t np, nr;
        block_arity(in.imm, np, nr);
        ctrls_.push_back(Ctrl{in.op, h_ - np, np, nr, here(), {}, kNoFixup});
        break;
      }
      case Opcode::If: {
        uint32_t np, nr;
        block_arity(in.imm, np, nr);
        h_--;
        op(Op::JumpIfNot);
        cell(slot(h_));
        uint32_t f = disp_fixup();
        ctrls_.push_back(Ctrl{in.op, h_ - np, np, nr, 0, {}, f});
        break;
      }
      case Opcode::Else: {
        Ctrl& c = ctrls_.back();
        if (!unreachable_) {
          op(Op::Jump);
          c.fixups.push_back(disp_fixup());
        }
        patch(c.else_fixup, here());
        c.else_fixup = kNoFixup;
        h_ = c.height + c.nparams;
        unreachable_ = false;
        break;
      }
      case Opcode::End: {
        Ctrl c = std::move(ctrls_.back());
        ctrls_.pop_back();
        if (ctrls_.empty()) {
          if (!unreachable_) {
            h_ = c.height + c.nresults;
            emit_return();
          }
          for (uint32_t f : c.fixups) patch(f, here());
          // Branches to the function label were lowered as returns; fixups stay empty.
          break;
        }
        if (c.else_fixup != kNoFixup) patch(c.else_fixup, here());
        for (uint32_t f : c.fixups) patch(f, here());
        h_ = c.height + c.nresults;
        if (h_ > max_height_) max_height_ = h_;
        unreachable_ = false;
        break;
      }
      case Opcode::Br:
        emit_branch(in.a);
        set_unreachable();
        break;
      case Opcode::BrIf: {
        h_--;
        uint32_t cond = slot(h_);
        if (branch_is_plain(in.a)) {
          Ctrl& c = ctrls_[ctrls_.size() - 1 - in.a];
          op(c.op == static_cast<uint16_t>(Opcode::Loop) ? Op::JumpIfLoop : Op::JumpIf);
          cell(cond);
          jump_target(c);
        } else {
          op(Op::JumpIfNot);
          cell(cond);
          uint32_t skip = disp_fixup();
          emit_branch(in.a);
          patch(skip, here());
        }
        break;
      }
      case Opcode::BrTable: {
        h_--;
        const uint32_t* targets = &body_.br_targets[in.a];
        uint32_t n = in.b;
        op(Op::BrTable);
        cell(slot(h_));
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
        set_unreachable();
        break;
      }
      case Opcode::Return:
        emit_return();
        set_unreachable();
        break;
      case Opcode::Call: {
        const FuncType& ft = m_.func_type(in.a);
        uint32_t np = static_cast<uint32_t>(ft.params.size());
        h_ -= np;
        op(Op::Call);
        cell(in.a);
        cell(slot(h_));
        grow(static_cast<uint32_t>(ft.results.size()));
        break;
      }
      case Opcode::CallIndirect: {
        const FuncType& ft = m_.types[in.a];
        uint32_t np = static_cast<uint32_t>(ft.params.size());
        h_--;
        uint32_t idx = slot(h_);
        h_ -= np;
        op(Op::CallIndirect);
        cell(in.a);
        cell(in.b);
        cell(slot(h_));
        cell(idx);
        grow(static_cast<uint32_t>(ft.results.size()));
        break;
      }
      case Opcode::Drop: h_--; break;
      case Opcode::Select:
      case Opcode::SelectT:
        op(Op::Select);
        cell(slot(h_ - 3));
        cell(slot(h_ - 2));
        cell(slot(h_ - 1));
        h_ -= 2;
        break;
      case Opcode::LocalGet:
        copies(slot(h_), in.a, 1);
        grow(1);
        break;
      case Opcode::LocalSet:
        h_--;
        copies(in.a, slot(h_), 1);
        break;
      case Opcode::LocalTee: copies(in.a, slot(h_ - 1), 1); break;
      case Opcode::GlobalGet:
        op(Op::GlobalGet);
        cell(slot(h_));
        cell(in.a);
        grow(1);
        break;
      case Opcode::GlobalSet:
        h_--;
        op(Op::GlobalSet);
        cell(slot(h_));
        cell(in.a);
        break;
      case Opcode::I32Const:
      case Opcode::F32Const:
        op(Op::Const32);
        cell(slot(h_));
        cell(static_cast<uint32_t>(in.imm));
        grow(1);
        break;
      case Opcode::I64Const:
      case Opcode::F64Const:
        op(Op::Const64);
        cell(slot(h_));
        cell(static_cast<uint32_t>(in.imm));
        cell(static_cast<uint32_t>(in.imm >> 32));
        grow(1);
        break;
      case Opcode::RefNull:
        op(Op::Const32);
        cell(slot(h_));
        cell(0);
        grow(1);
        break;
      case Opcode::RefIsNull:
        op(Op::RefIsNull);
        cell(slot(h_ - 1));
        cell(slot(h_ - 1));
        break;
      case Opcode::RefFunc:
        op(Op::RefFunc);
        cell(slot(h_));
        cell(in.a);
        grow(1);
        break;
      case Opcode::MemorySize:
        op(Op::MemorySize);
        cell(slot(h_));
        grow(1);
        break;
      case Opcode::MemoryGrow:
        op(Op::MemoryGrow);
        cell(slot(h_ - 1));
        break;
      case Opcode::MemoryInit:
        h_ -= 3;
        op(Op::MemoryInit);
        cell(slot(h_));
        cell(in.a);
        break;
      case Opcode::DataDrop:
        op(Op::DataDrop);
        cell(in.a);
        break;
      case Opcode::MemoryCopy:
        h_ -= 3;
        op(Op::MemoryCopy);
        cell(slot(h_));
        break;
      case Opcode::MemoryFill:
        h_ -= 3;
        op(Op::MemoryFill);
        cell(slot(h_));
        break;
      case Opcode::TableGet:
        op(Op::TableGet);
        cell(slot(h_ - 1));
        cell(in.a);
        break;
      case Opcode::TableSet:
        h_ -= 2;
        op(Op::TableSet);
        cell(slot(h_));
        cell(in.a);
        break;
      case Opcode::TableInit:
        h_ -= 3;
        op(Op::TableInit);
        cell(slot(h_));
        cell(in.a);
        cell(in.b);
        break;
      case Opcode::ElemDrop:
        op(Op::ElemDrop);
        cell(in.a);
        break;
      case Opcode::TableCopy:
        h_ -= 3;
        op(Op::TableCopy);
        cell(slot(h_));
        cell(in.a);
        cell(in.b);
        break;
      case Opcode::TableGrow:
        h_ -= 2;
        op(Op::TableGrow);
        cell(slot(h_));
        cell(in.a);
        grow(1);
        break;
      case Opcode::TableSize:
        op(Op::TableSize);
        cell(slot(h_));
        cell(in.a);
        grow(1);
        break;
      case Opcode::TableFill:
        h_ -= 3;
        op(Op::TableFill);
        cell(slot(h_));
        cell(in.a);
        break;
      default: break;  // validated: nothing else reaches here
    }
  }

  const binary::Module& m_;
  const binary::FunctionBody& body_;
  Code& out_;
  std::vector<Cell>& cells_;
  FuncCode fc_;
  uint32_t base_ = 0;
  uint32_t h_ = 0;
  uint32_t max_height_ = 0;
  bool unreachable_ = false;
  uint32_t skip_depth_ = 0;
  std::vector<Ctrl> ctrls_;
};

}  // namespace

Code compile(const binary::Module& module) {
  Code code;
  size_t total = 0;
  for (const auto& b : module.bodies) total += b.code.size() * 4;
  code.cells.reserve(total);
  code.funcs.reserve(module.bodies.size());
  for (size_t i = 0; i < module.bodies.size(); ++i) {
    code.funcs.push_back(FunctionCompiler(module, static_cast<uint32_t>(module.num_imported_funcs + i), code).run());
  }
  code.cells.shrink_to_fit();
  return code;
}

}  // namespace edgecar::interp

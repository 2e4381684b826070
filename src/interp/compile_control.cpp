// Lowering, control: blocks, loops, ifs, branches (fused with comparisons), returns,
// calls, exception handling, unreachable code.
#include "interp/compile.hpp"

namespace edgecar::interp::lowering {

void FunctionCompiler::emit_return() {
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

void FunctionCompiler::skip(const Instr& in) {
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

FunctionCompiler::Fused FunctionCompiler::take_condition(const Val& cond) {
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

void FunctionCompiler::cond_jump(const Fused& f, const Val& cond, bool when_true, Ctrl& target,
                                 bool to_else) {
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

void FunctionCompiler::try_table(const Instr& in) {
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

void FunctionCompiler::legacy_catch(const Instr& in) {
  Ctrl& c = ctrls_.back();
  if (!unreachable_) {
    materialize_from(c.height);
    op(Op::Jump);
    c.fixups.push_back(disp_fixup());
  }
  if (c.op == static_cast<uint16_t>(Opcode::Try)) c.handler.end = here();  // the body ends
  bool all = in.op == static_cast<uint16_t>(Opcode::CatchAll);
  c.handler.clauses.push_back(CatchClause{static_cast<uint8_t>(all ? 2 : 0), all ? 0 : in.a, here(),
                                          slot(c.height), c.exn_slot});
  label();
  forget_last();
  vals_.resize(c.height);
  if (!all) push_results(m_.types[m_.tags[in.a]].params);
  c.op = static_cast<uint16_t>(Opcode::Catch);
  unreachable_ = false;
}

void FunctionCompiler::legacy_delegate(const Instr& in) {
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

void FunctionCompiler::control(const Instr& in) {
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

void FunctionCompiler::call(const Instr& in) {
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

}  // namespace edgecar::interp::lowering

// LLVM passes of the native tier that run inside LLVM's O2 pipeline (see codegen.hpp).
//
// BoundedLoopChecks: every Wasm loop header checks the interrupt flag (Store::interrupt,
// timeouts). In an innermost loop that check is an exit LLVM's loop vectorizer cannot
// handle, so loops that native compilers vectorize (a dot product, a pixel loop) stayed
// scalar. A loop whose iterations times body size stay within kUncheckedWork ends soon on
// its own, and whatever runs around it still checks (the enclosing loop's header, the
// caller's loop, the prologue of every call), so such a loop may drop its check:
// - when scalar evolution bounds the count by a constant, the check goes;
// - when the bound is a value computed before the loop (`i < width`), the loop is
//   versioned: a copy without the check runs when that value is small enough, the
//   original with its check otherwise.
// An unbounded loop (`while (1)`, a search, a count that may be huge) keeps its check.
#include <llvm/ADT/SetVector.h>
#include <llvm/Analysis/AssumptionCache.h>
#include <llvm/Analysis/ConstantFolding.h>
#include <llvm/Analysis/LoopInfo.h>
#include <llvm/Analysis/ScalarEvolution.h>
#include <llvm/Analysis/TargetTransformInfo.h>
#include <llvm/IR/Dominators.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/InlineAsm.h>
#include <llvm/IR/Instructions.h>
#include <llvm/Transforms/Utils/BasicBlockUtils.h>
#include <llvm/Transforms/Utils/Cloning.h>
#include <llvm/Transforms/Utils/Local.h>
#include <llvm/Transforms/Utils/LoopSimplify.h>
#include <llvm/Transforms/Utils/LoopUtils.h>
#include <llvm/Transforms/Utils/ScalarEvolutionExpander.h>
#include <llvm/Transforms/Utils/ValueMapper.h>

#include <algorithm>

#include "aot/codegen.hpp"

namespace edgecar::aot {

namespace {

// Loops larger than this are not copied (compile time and code size); they keep the check.
constexpr unsigned kMaxVersionedInstructions = 400;

// How long a loop may run unchecked, in iterations times IR instructions of its body: about
// 2^25, some milliseconds of work (more only when most of it waits for cache misses).
constexpr uint64_t kUncheckedWork = uint64_t{1} << 25;

bool is_check(const llvm::Instruction& I) {
  auto* call = llvm::dyn_cast<llvm::CallInst>(&I);
  if (!call) return false;
  auto* ia = llvm::dyn_cast<llvm::InlineAsm>(call->getCalledOperand());
  return ia && ia->getAsmString() == kInterruptCheckAsm;
}

bool has_check(const llvm::Loop& L) {
  for (llvm::BasicBlock* bb : L.blocks())
    for (llvm::Instruction& I : *bb)
      if (is_check(I)) return true;
  return false;
}

unsigned loop_size(const llvm::Loop& L) {
  unsigned n = 0;
  for (llvm::BasicBlock* bb : L.blocks()) n += static_cast<unsigned>(bb->size());
  return n;
}

// Takes the checks out of `blocks`: the flag reads as 0, the comparisons on it fold and
// the branches to the interrupt trap become unconditional.
void drop_checks(llvm::ArrayRef<llvm::BasicBlock*> blocks, const llvm::DataLayout& DL) {
  llvm::SmallVector<llvm::Instruction*, 4> checks;
  for (llvm::BasicBlock* bb : blocks)
    for (llvm::Instruction& I : *bb)
      if (is_check(I)) checks.push_back(&I);
  for (llvm::Instruction* check : checks) {
    llvm::SmallSetVector<llvm::Instruction*, 2> users;
    for (llvm::User* u : check->users())
      if (auto* ui = llvm::dyn_cast<llvm::Instruction>(u)) users.insert(ui);
    check->replaceAllUsesWith(llvm::ConstantInt::get(check->getType(), 0));
    check->eraseFromParent();
    for (llvm::Instruction* u : users) {
      if (llvm::Constant* c = llvm::ConstantFoldInstruction(u, DL)) {
        u->replaceAllUsesWith(c);
        u->eraseFromParent();
      }
    }
  }
  for (llvm::BasicBlock* bb : blocks) llvm::ConstantFoldTerminator(bb, true);
}

// Runs a copy of L without its check when `bound` (its maximum back-edge count, expanded
// in the preheader) is below `max_iterations`. L must be in simplified and LCSSA
// form; DT is recomputed by the caller.
void version(llvm::Loop& L, const llvm::SCEV* bound, uint64_t max_iterations, llvm::LoopInfo& LI,
             llvm::DominatorTree& DT, llvm::ScalarEvolution& SE, const llvm::DataLayout& DL) {
  llvm::BasicBlock* ph = L.getLoopPreheader();
  llvm::SCEVExpander ex(SE, DL, "bound");
  llvm::Value* n = ex.expandCodeFor(bound, bound->getType(), ph->getTerminator());
  llvm::IRBuilder<> B(ph->getTerminator());
  llvm::Value* small =
      B.CreateICmpULT(n, llvm::ConstantInt::get(n->getType(), max_iterations), "small");
  // An empty preheader for the original loop, so that its copy (which the cloning makes of
  // the preheader too) holds nothing but the branch into the copied loop.
  llvm::BasicBlock* checked_ph = llvm::SplitBlock(ph, ph->getTerminator(), &DT, &LI);
  llvm::ValueToValueMapTy vmap;
  llvm::SmallVector<llvm::BasicBlock*, 16> blocks;
  llvm::Loop* copy =
      llvm::cloneLoopWithPreheader(checked_ph, ph, &L, vmap, ".bounded", &LI, &DT, blocks);
  llvm::remapInstructionsInBlocks(blocks, vmap);
  // The exits are shared: their LCSSA phis take the copy's values from the copy's blocks.
  llvm::SmallVector<llvm::BasicBlock*, 8> exits;
  L.getUniqueExitBlocks(exits);
  for (llvm::BasicBlock* e : exits) {
    for (llvm::PHINode& phi : e->phis()) {
      llvm::SmallVector<std::pair<llvm::Value*, llvm::BasicBlock*>, 4> in;
      for (unsigned i = 0; i < phi.getNumIncomingValues(); ++i)
        if (L.contains(phi.getIncomingBlock(i)))
          in.emplace_back(phi.getIncomingValue(i), phi.getIncomingBlock(i));
      for (auto& [v, b] : in) {
        llvm::Value* mv = vmap.lookup(v);
        phi.addIncoming(mv ? mv : v, llvm::cast<llvm::BasicBlock>(vmap[b]));
      }
    }
  }
  ph->getTerminator()->eraseFromParent();
  llvm::BranchInst::Create(llvm::cast<llvm::BasicBlock>(vmap[checked_ph]), checked_ph, small, ph);
  drop_checks(copy->getBlocks(), DL);
}

}  // namespace

llvm::PreservedAnalyses BoundedLoopChecks::run(llvm::Function& F,
                                               llvm::FunctionAnalysisManager& AM) {
  auto& LI = AM.getResult<llvm::LoopAnalysis>(F);
  llvm::SmallVector<llvm::Loop*, 8> work;
  for (llvm::Loop* L : LI.getLoopsInPreorder())
    if (L->isInnermost() && has_check(*L)) work.push_back(L);
  if (work.empty()) return llvm::PreservedAnalyses::all();
  auto& DT = AM.getResult<llvm::DominatorTreeAnalysis>(F);
  auto& SE = AM.getResult<llvm::ScalarEvolutionAnalysis>(F);
  auto& AC = AM.getResult<llvm::AssumptionAnalysis>(F);
  auto& TTI = AM.getResult<llvm::TargetIRAnalysis>(F);
  const llvm::DataLayout& DL = F.getDataLayout();
  bool changed = false;
  for (llvm::Loop* L : work) {
    changed |= llvm::simplifyLoop(L, &DT, &LI, &SE, &AC, nullptr, false);
    changed |= llvm::formLCSSA(*L, DT, &LI, &SE);
    if (!L->getLoopPreheader() || !L->hasDedicatedExits()) continue;
    // Every exit that scalar evolution can count bounds the iterations; the others
    // (traps, the check itself) only end the loop sooner.
    const llvm::SCEV* bound = SE.getSymbolicMaxBackedgeTakenCount(L);
    if (llvm::isa<llvm::SCEVCouldNotCompute>(bound)) continue;
    unsigned body = loop_size(*L);
    uint64_t max_iterations = kUncheckedWork / std::max(body, 1u);
    llvm::Instruction* at = L->getLoopPreheader()->getTerminator();
    llvm::SCEVExpander ex(SE, DL, "bound");
    if (SE.getUnsignedRangeMax(bound).ult(max_iterations)) {
      drop_checks(L->getBlocks(), DL);
      SE.forgetAllLoops();
      changed = true;
    } else if (!llvm::isa<llvm::SCEVConstant>(bound) && body <= kMaxVersionedInstructions &&
               ex.isSafeToExpandAt(bound, at) &&
               // Computing the bound must cost less than the check saves: no division
               // (`k += i` loops) on every entry to the loop.
               !ex.isHighCostExpansion({bound}, L, 4, &TTI, at)) {
      version(*L, bound, max_iterations, LI, DT, SE, DL);
      DT.recalculate(F);
      SE.forgetAllLoops();
      changed = true;
    }
  }
  return changed ? llvm::PreservedAnalyses::none() : llvm::PreservedAnalyses::all();
}

}  // namespace edgecar::aot

// WebAssembly to LLVM IR (aot/codegen.cpp).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/PassManager.h>

#include "binary/module.hpp"

namespace edgecar::aot {

// The IR of the functions `define` (function indices, defined ones) of a validated module:
// `wasm_fN` (typed) and `wasm_sN` (on slots) for function index N. With `declare_all` the
// module's other functions are declared and called directly (they are compiled too, into
// the same or another object); without, calls to them go through their FuncInst, native
// or not (per-function tiering). Empty with `error` set for an instruction the native tier
// does not compile yet.
std::unique_ptr<llvm::Module> generate(const binary::Module& m, llvm::LLVMContext& C,
                                       std::string& error, const std::vector<uint32_t>& define,
                                       bool declare_all);

// On-stack replacement entries `void wasm_oN(Ctx*, uint64_t* frame, uint32_t loop)` for
// functions `define` (per-function tiering: an interpreted call of N running loop
// instruction `loop` goes on natively; see Gen::run_osr). `loops` gets, per function, the
// loops that have an entry (those entered with no operand on the stack, in functions
// without try blocks).
std::unique_ptr<llvm::Module> generate_osr(const binary::Module& m, llvm::LLVMContext& C,
                                           std::string& error, const std::vector<uint32_t>& define,
                                           std::vector<std::vector<uint32_t>>& loops);

// The interrupt check at every loop header: a one-byte read of the flag in inline
// assembly (codegen.cpp says why), recognised by this text.
inline constexpr const char* kInterruptCheckAsm = "movb ($1), $0";

// Frees innermost loops of the interrupt check where their iteration count is bounded
// (passes.cpp): statically when scalar evolution bounds it, else by versioning the loop on
// its trip count, so that the vectorizer sees loops without an exit of their own. The loop
// (or call) around such a loop still checks.
struct BoundedLoopChecks : llvm::PassInfoMixin<BoundedLoopChecks> {
  llvm::PreservedAnalyses run(llvm::Function& F, llvm::FunctionAnalysisManager& AM);
};

}  // namespace edgecar::aot

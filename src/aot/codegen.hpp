// WebAssembly to LLVM IR (aot/codegen.cpp).
#pragma once

#include <memory>
#include <string>

#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/PassManager.h>

#include "binary/module.hpp"

namespace edgecar::aot {

// The IR of the defined functions of bodies [begin, end) of a validated module (the others
// declared): `wasm_fN` (typed) and `wasm_sN` (on slots) for function index N. Empty with
// `error` set for an instruction the native tier does not compile yet.
std::unique_ptr<llvm::Module> generate(const binary::Module& m, llvm::LLVMContext& C,
                                       std::string& error, uint32_t begin, uint32_t end);

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

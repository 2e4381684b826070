// WebAssembly to LLVM IR (aot/codegen.cpp).
#pragma once

#include <memory>
#include <string>

#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>

#include "binary/module.hpp"

namespace edgecar::aot {

// The IR of every defined function of a validated module: `wasm_fN` (typed) and
// `wasm_sN` (on slots) for function index N. Empty with `error` set for an instruction
// the native tier does not compile yet.
std::unique_ptr<llvm::Module> generate(const binary::Module& m, llvm::LLVMContext& C,
                                       std::string& error);

}  // namespace edgecar::aot

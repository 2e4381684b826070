// The native tier's internals (see docs/aot.md): what generated code reads at run time
// and the runtime functions it calls. The runtime sees only tier.hpp.
#pragma once

#include <array>
#include <csetjmp>
#include <cstdint>
#include <string>

#include "runtime/objects.hpp"

namespace edgecar::aot {

// Per-instance context, the first argument of every native function. Generated code
// reads its fields at fixed offsets (offsetof), so it is a plain struct.
struct Ctx {
  MemoryInst* mem0;   // nullptr when the module has no memory
  MemoryInst** mems;  // every memory (multiple memories, WebAssembly 3.0)
  GlobalInst** globals;
  FuncInst** funcs;
  Store::Impl* store;
  uint32_t* depth;                    // &store->depth: shared with the interpreter
  std::atomic<uint32_t>* call_limit;  // &store->call_limit: 0 while an interrupt is pending
  Frame* frames;                      // store->frames: native frames record their function
  uintptr_t* stack_limit;             // &store->native_stack_limit
  std::atomic<bool>* interrupt;       // &store->interrupt
  InstanceImpl* inst;
  void** aot_entry;  // &store->aot_entry: the innermost native entry or try_table handler
};

// Offsets of the runtime objects' fields generated code reads (computed once at run time:
// the objects are not standard-layout, so offsetof does not apply to them).
struct Layout {
  uint32_t mem_data, mem_size;             // MemoryInst::data, ::size
  uint32_t global_value, global_value_hi;  // GlobalInst::value, ::value_hi
  uint32_t func_type_id, func_native;      // FuncInst::type_id, ::native
  uint32_t func_native_ctx;                // FuncInst::native_ctx
  uint32_t frame_size, frame_fn;           // sizeof(Frame), offsetof(Frame, fn)
  uint32_t entry_size, entry_buf;          // sizeof(Entry), offsetof(Entry, buf)
};
const Layout& layout();

// One native entry (a call from the runtime into native code): where a trap unwinds to.
// A try_table of native code pushes one too (`handler`, in its frame): a thrown exception
// unwinds to the innermost of either kind, traps to the innermost entry.
struct Entry {
  sigjmp_buf buf;
  Entry* prev;
  uint32_t depth;  // store->depth at entry
  TrapKind trap;
  bool handler;
  ExnInst* exn;  // handlers: the exception caught
};

// A module's native code, mapped in this process (aot/jit.cpp). For each defined
// function: its typed entry `R f(Ctx*, params...)` and its slot entry
// `void s(Ctx*, uint64_t* slots)` (arguments in, results out, the interpreter's layout).
struct NativeModule {
  std::vector<void*> entries;
  std::vector<void*> slot_entries;
  std::vector<void*> osr_entries;  // tiering: on-stack replacement entries, as requested
  void* dylib = nullptr;           // the llvm::orc::JITDylib holding the code
  std::vector<char> object;        // the relocatable object it was linked from (for artifacts)
  std::string origin;              // compiled, or the artifact or cache entry it came from
  std::string notes;               // artifacts or cache entries refused on the way, and why
  std::array<uint8_t, 32> module_hash{};  // SHA-256 of the module's bytes
  ~NativeModule();
};

// aot/jit.cpp: the module's code as a relocatable object for this CPU (LLVM, O2), and an
// object mapped into the process with its entries looked up.
// The module's native code as relocatable objects, compiled by `threads` threads (0: one
// per core) on contiguous ranges of functions, bundled: u32 count, u64 sizes, the objects.
Expected<std::vector<char>> emit_object(const binary::Module& module, unsigned threads = 0);
Expected<std::shared_ptr<NativeModule>> link_object(const binary::Module& module,
                                                    std::vector<char> object);
// Per-function tiering (aot/tierup.cpp): functions `funcs` alone, calling the others
// through their FuncInst, as a bundle of objects, and such a bundle mapped (entries in
// the order of `funcs`). `osr`: functions to make on-stack replacement entries for, in
// an object of their own (the loops each can enter go to `osr_loops`, per function).
// Optimization: Baseline (a few linear passes, fast instruction selection and register
// allocation: for big functions), Quick (the same passes, then the usual instruction
// selection and register allocation), O1 (LLVM's O1, codegen "less"), O2 (`--engine aot`).
enum class Opt { Baseline, Quick, O1, O2 };
Expected<std::vector<char>> emit_tier_object(const binary::Module& module,
                                             const std::vector<uint32_t>& funcs,
                                             const std::vector<uint32_t>& osr, Opt level,
                                             std::vector<std::vector<uint32_t>>* osr_loops);
Expected<std::shared_ptr<NativeModule>> link_functions(const std::vector<uint32_t>& funcs,
                                                       std::vector<char> object,
                                                       const std::vector<uint32_t>& osr = {});
// Per-function tiering's batches in the disk cache (aot/artifact.cpp): functions and
// on-stack replacement entries (defined-function indices), the loops each entry can
// enter, the pipeline, and the bundle of objects. Each file has an artifact's header
// (this build, this CPU, the module's SHA-256, the payload's size and SHA-256), checked
// whole before use.
struct TierBatch {
  Opt level = Opt::Quick;
  std::vector<uint32_t> funcs, osr;
  std::vector<std::vector<uint32_t>> loops;  // per on-stack replacement entry
  std::vector<char> bundle;
  std::string path;  // loaded: the file it came from
};
std::string tier_cache_folder(const std::string& cache_dir, const std::array<uint8_t, 32>& module);
// Stores a batch; the file's path.
Expected<std::string> save_tier_batch(const std::string& cache_dir,
                                      const std::array<uint8_t, 32>& module,
                                      const TierBatch& batch);
// Every valid batch cached for the module; files refused are named in `notes`, with why.
std::vector<TierBatch> load_tier_batches(const std::string& cache_dir,
                                         const std::array<uint8_t, 32>& module,
                                         uint32_t defined_funcs, std::string& notes);
// LLVM's one-time start-up (target, ORC), done early by the tiering compiler's thread.
void warm_up();
// An instance's native context (the first argument of its native functions).
std::shared_ptr<Ctx> make_ctx(InstanceImpl& inst, Store::Impl& S);
// The target triple, CPU and features objects are compiled for (part of the artifact key).
std::string target_description();

// Symbol names in generated code.
inline std::string entry_name(uint32_t func) {
  return "wasm_f" + std::to_string(func);
}
inline std::string slot_entry_name(uint32_t func) {
  return "wasm_s" + std::to_string(func);
}
inline std::string osr_entry_name(uint32_t func) {
  return "wasm_o" + std::to_string(func);
}

}  // namespace edgecar::aot

// The runtime functions generated code calls (aot/runtime.cpp): `edgecar_aot_<name>` for
// each row of runtime_functions.def, with C linkage.
namespace edgecar::aot {
extern "C" {
#define EDGECAR_AOT_RETURNS_Returns
#define EDGECAR_AOT_RETURNS_Noreturn [[noreturn]]
#define EDGECAR_AOT_RUNTIME(name, returns, result, params) \
  EDGECAR_AOT_RETURNS_##returns result edgecar_aot_##name params;
#include "aot/runtime_functions.def"
#undef EDGECAR_AOT_RUNTIME
}
}  // namespace edgecar::aot

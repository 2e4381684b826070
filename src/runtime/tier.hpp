// What the runtime needs from an execution tier, declared here so that dependencies run
// one way: the interpreter (src/interp) includes the runtime's objects and implements
// these; the runtime includes no header of src/interp. The native tier (src/aot) sits
// beside it and is reached through the declarations at the end.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "binary/module.hpp"
#include "edgecar/edgecar.hpp"

namespace edgecar {

struct FuncInst;
struct InstanceImpl;

// Frame slots a value takes: two for a v128 (bytes 0-7, then 8-15), one for the others.
inline uint32_t slot_width(ValType t) {
  return t == ValType::V128 ? 2 : 1;
}
inline size_t slot_count(const std::vector<ValType>& types) {
  size_t n = 0;
  for (ValType t : types) n += slot_width(t);
  return n;
}

// The interpreter's code for a module: each validated function lowered once into a
// stream of 32-bit cells [handler][operands...] (see interp/code.hpp).
using Cell = uint32_t;

struct FuncCode {
  uint32_t entry = 0;  // cell index of the first instruction
  uint32_t num_params = 0;
  uint32_t num_results = 0;
  uint32_t num_locals = 0;   // declared locals (zeroed on entry), params excluded
  uint32_t frame_slots = 0;  // params + locals + maximal operand stack height
};

// A try_table's catch clause, lowered: the exception's payload (and for the _ref kinds
// its exnref after it) goes to frame slots from `base`, then the code at cell `stub`
// branches to the clause's label.
struct CatchClause {
  uint8_t kind = 0;  // 0 catch, 1 catch_ref, 2 catch_all, 3 catch_all_ref
  uint32_t tag = 0;  // the module's tag index (kinds 0 and 1)
  uint32_t stub = 0;
  uint32_t base = 0;
  uint32_t ref_slot = UINT32_MAX;  // legacy catch blocks: a hidden slot for `rethrow`
};
// A try_table's (or legacy try's) body, cells [start, end), and its clauses in order. A
// legacy try ending in `delegate` has no clauses: its exceptions go on as if thrown at
// cell `delegate_at` (inside the try the label names), or out of the function.
struct Handler {
  uint32_t start = 0, end = 0;
  std::vector<CatchClause> clauses;
  bool delegates = false, delegates_out = false;
  uint32_t delegate_at = 0;
};

struct Code {
  std::vector<Cell> cells;
  std::vector<FuncCode> funcs;  // defined functions, in module order
  // Stack maps (garbage collection, docs/gc.md): at each point where a collection may
  // run while a frame is suspended or running (the return address of a call, the cell of
  // a tail call or an allocating GC instruction), the frame's slots that hold references.
  // Made for modules with GC instructions; frames without a map are scanned whole.
  std::unordered_map<uint32_t, std::vector<uint32_t>> stack_maps;
  // Every try_table of the module; within a function inner ones come before the ones
  // around them, so the first range holding a cell is the innermost.
  std::vector<Handler> handlers;
  // Instructions read while lowering (whole-module scans and the bodies): a test checks
  // that preparing a module is linear in its size (tests/unit/decoder_test.cpp). The
  // bodies count as read twice each (the legacy-try scan, then lowering).
  uint64_t instructions_read = 0;
  bool gc = false;  // the module has GC instructions (its frames have stack maps)
};

namespace interp {

// Lowers every function body of a validated module (interp/compile.cpp). With
// `counting` (per-function tiering) every function entry and loop header starts with a
// TierCount cell counting down the function's ModuleData::hot (not in a module with GC
// instructions, which is not tiered: Code::gc says so).
Code compile(const binary::Module& module, bool counting = false);

// Runs `cur` from `pc` with frame `fp` until the sentinel frame the caller pushed
// returns (nullopt) or a trap unwinds to it (interp/interpreter.cpp).
std::optional<TrapKind> run(Store::Impl* S, FuncInst* cur, uint64_t* fp, const Cell* pc);

// A one-cell program that leaves the loop: the return address of sentinel frames.
const Cell* exit_code();

}  // namespace interp

namespace aot {

// A module's native code (aot/aot.hpp).
struct NativeModule;

// Where a module's native code may come from.
struct NativeRequest {
  std::span<const uint8_t> bytes;  // the module's binary (its SHA-256 keys artifacts)
  std::string artifact;            // an `edgecar compile` output to use if it matches
  std::string cache_dir;           // look up and store compiled code here ("": no cache)
  bool compile = true;             // compile when no artifact or cache entry matches
  unsigned threads = 0;            // compiler threads (0: one per core)
  std::string* notes = nullptr;    // files refused on the way, and why
  std::array<uint8_t, 32>* hash_out = nullptr;  // set to the module's SHA-256
};
// The SHA-256 of a module's bytes (the key of its native code on disk).
std::array<uint8_t, 32> module_hash(std::span<const uint8_t> bytes);

// A validated module's native code: from a matching artifact or cache entry, else
// compiled in this process (LLVM) when req.compile (else nullptr). Fails, naming the
// instruction, on what the native tier does not compile yet.
Expected<std::shared_ptr<NativeModule>> compile(const binary::Module& module,
                                                const NativeRequest& req);
// Writes the native code as an artifact file (`edgecar compile`).
Expected<void> save(const NativeModule& native, const std::string& path);
// Where the native code came from: "compiled", "artifact PATH", "cache entry PATH".
const std::string& origin(const NativeModule& native);

// Gives the functions an instance defines their native entries; called once its
// memories, tables, globals and functions exist.
void bind(InstanceImpl& inst, Store::Impl& S);

// Per-function tiering (aot/tierup.cpp, docs/aot.md "Tiering"): the interpreter counts
// each function's calls and loop iterations; a function that gets hot is compiled by a
// background thread and installed in an instance the next time the interpreter reports
// one of that instance's counters; new instances start with every function ready.
struct TierUp;
struct TierSettings {
  int32_t threshold = 0;     // calls + loop iterations before compiling (0: the default)
  bool synchronous = false;  // compile on the interpreter's thread, at once (tests)
  // The disk cache ("": none): batches compiled before for this module are linked when
  // tiering starts (their functions start native), and new batches are stored.
  std::string cache_dir;
  std::array<uint8_t, 32> module_hash{};
  std::string* notes = nullptr;  // cache files refused, and why
};
// Sets up tiering for a module (md.hot made here). Without a usable native tier every
// compilation fails and the functions it refuses stop counting.
std::shared_ptr<TierUp> start_tiering(detail::ModuleData& md, const TierSettings& settings);
// The module, which the compiler keeps alive while it compiles its functions (so that
// stop_tiering never waits for it).
void tier_owner(const std::shared_ptr<TierUp>& t, std::weak_ptr<const Module> module);
// The module is going: its queued functions are dropped.
void stop_tiering(TierUp& t);
// A counter of defined function `def` (0-based among defined ones) reached zero at its
// entry (`loop` ~0) or at the header of loop instruction `loop`: queues the function (and
// at a loop, an on-stack replacement entry for it) if cold, installs every function ready
// into `inst`, and sets the counter again. Returns the loop's on-stack replacement entry
// when it is ready: the interpreter then goes on natively (enter(S, entry, ctx, fp)).
void* tier_tick(InstanceImpl* inst, uint32_t def, uint32_t loop);
// A new instance of a tiered module: its native context and the functions ready so far.
void tier_bind(InstanceImpl& inst, Store::Impl& S);
// Counts for tests and `edgecar run --stats`: functions compiled, installed, failed.
struct TierStats {
  uint64_t queued = 0, compiled = 0, failed = 0, osr = 0, osr_taken = 0, batches = 0;
  double compile_seconds = 0;
  uint64_t cached = 0;    // functions and entries linked from the disk cache
  uint64_t upgraded = 0;  // of those, compiled again with a better pipeline
};
TierStats tier_stats(const TierUp& t);

// Calls a native function with arguments and results in `slots` (the interpreter's
// layout). On a trap returns false with its kind in `trap` and the backtrace in
// S->trap_frames.
bool call(Store::Impl* S, FuncInst* f, uint64_t* slots, TrapKind& trap);
// The same for an entry `void fn(Ctx*, uint64_t*)`, or with `loop` an on-stack
// replacement entry `void fn(Ctx*, uint64_t* frame, uint32_t loop)`.
inline constexpr uint32_t kNoLoop = ~0u;
bool enter(Store::Impl* S, void* fn, void* ctx, uint64_t* slots, TrapKind& trap, uint32_t loop);

}  // namespace aot

// What the runtime offers a tier (runtime/store.cpp): calls a function the interpreter
// does not run itself (a host function, or native code) on the value-stack slots; on
// failure records the error in the store and sets `trap` (an out parameter on purpose:
// this is the interpreter's hot path for host calls).
bool call_host(Store::Impl* S, FuncInst* f, InstanceImpl* caller, uint64_t* slots, TrapKind& trap);

// Calls any function (host, interpreted or native) on slots at the store's stack top; a
// trap's kind, with its backtrace in S->trap_frames and a host error in S->host_error.
std::optional<TrapKind> call_function(Store::Impl* S, FuncInst* f, InstanceImpl* caller,
                                      uint64_t* slots);
}  // namespace edgecar

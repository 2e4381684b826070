// The numbers that bound what a module may declare and what the engine keeps between
// stores: the spec's limits and edgecar's implementation limits, in one place.
// Embedder-set caps (memory, table, call depth, stack) are StoreLimits (edgecar.hpp).
#pragma once

#include <cstddef>
#include <cstdint>

namespace edgecar::limits {

// Spec 2.5.5 and 3.2.4: a page is 64 KiB; a 32-bit memory addresses at most 4 GiB.
constexpr uint64_t kPageSize = 65536;
constexpr uint64_t kMaxPages = 65536;
// A 64-bit memory (memory64) may declare up to 2^48 pages; edgecar gives any memory at most
// kMaxPages (StoreLimits::max_memory_pages caps it further), so addresses stay below 2^32.
constexpr uint64_t kMaxPages64 = uint64_t{1} << 48;

// Implementation limit on the memories of one module (multiple memories, WebAssembly 3.0):
// each reserves address space for its largest size (4 GiB without a maximum).
constexpr size_t kMaxMemories = 100;

// Implementation limit on the locals of one function (as in wasmtime).
constexpr uint64_t kMaxLocals = 50000;

// Implementation limits on a module's types (as in the JS API: 1,000,000) and on a
// struct's fields (10,000) and the depth of a subtype chain (63, as the GC proposal's).
constexpr uint64_t kMaxTypes = 1000000;
constexpr uint64_t kMaxFields = 10000;
constexpr uint32_t kMaxSubtypeDepth = 63;
// Operands of one array.new_fixed (as in the JS API: 10,000).
constexpr uint32_t kMaxArrayNewFixed = 10000;

// Reuse between stores on one thread: freed linear memories which committed at most
// kKeepCommittedAtMost are kept, up to kKeptMemories of them; value stacks likewise, up
// to kCachedStacks. A kept memory is reset by restoring the pages written (found by the
// kernel's page scan) while they total at most kResetAtMost; where the kernel cannot
// tell (before Linux 6.7), by copying the whole image and zeroing up to the high-water
// mark, so only memories of at most kKeepImageAtMost are kept there.
constexpr size_t kKeptMemories = 4;
constexpr uint64_t kKeepImageAtMost = 256 << 10;
constexpr uint64_t kKeepCommittedAtMost = 4ull << 20;
constexpr uint64_t kResetAtMost = 1ull << 20;
constexpr size_t kCachedStacks = 4;

// Exceptions a store keeps at once (exception handling): a guest that makes more
// exnrefs than this traps instead of growing the host without bound.
constexpr size_t kMaxExceptions = 1 << 16;

// Reads of a module file.
constexpr size_t kFileReadChunk = 1 << 16;

}  // namespace edgecar::limits

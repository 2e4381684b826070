// edgecar's public embedding API: load and validate WebAssembly modules, instantiate them
// with imports (including host functions written in C++), call exports, access memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace edgecar {

// Value types (WebAssembly 3.0 spec 2.3): numbers, vectors and references. A reference
// type is a heap type and whether null is a value of it. Heap types are either abstract
// (func, extern, any, eq, i31, struct, array, exn and the bottoms none, nofunc,
// noextern, noexn; numbered by their binary encoding) or a defined type: by its index in
// a module's description, or by its process-wide canonical id (validate/types.hpp) where
// types of different modules meet.
class ValType {
 public:
  enum class Kind : uint8_t {
    Bot = 0,
    I32 = 0x7F,
    I64 = 0x7E,
    F32 = 0x7D,
    F64 = 0x7C,
    V128 = 0x7B,
    Ref = 0x64
  };
  // Abstract heap types, by their binary code.
  enum Heap : uint8_t {
    Exn = 0x69,
    Array = 0x6A,
    Struct = 0x6B,
    I31 = 0x6C,
    Eq = 0x6D,
    Any = 0x6E,
    Extern = 0x6F,
    Func = 0x70,
    None = 0x71,
    NoExtern = 0x72,
    NoFunc = 0x73,
    NoExn = 0x74,
  };
  static constexpr uint32_t kAbstract = 0x80000000u;   // heap(): abstract code | kAbstract
  static constexpr uint32_t kCanonical = 0x40000000u;  // heap(): canonical id | kCanonical

  constexpr ValType() = default;  // i32
  constexpr ValType(Kind k) : kind_(k) {}
  // A reference to an abstract heap type, or to a defined type (index or canonical).
  static constexpr ValType ref(Heap h, bool nullable) {
    return ValType(Kind::Ref, nullable, kAbstract | h);
  }
  static constexpr ValType ref_to(uint32_t heap, bool nullable) {
    return ValType(Kind::Ref, nullable, heap);
  }
  static const ValType I32, I64, F32, F64, V128, FuncRef, ExternRef, ExnRef;

  constexpr Kind kind() const { return kind_; }
  constexpr bool is_ref() const { return kind_ == Kind::Ref; }
  constexpr bool nullable() const { return nullable_; }
  constexpr uint32_t heap() const { return heap_; }
  constexpr bool is_abstract() const { return (heap_ & kAbstract) != 0; }
  constexpr Heap abstract() const { return static_cast<Heap>(heap_ & 0xFF); }
  constexpr bool is_canonical() const { return !is_abstract() && (heap_ & kCanonical) != 0; }
  // A defined type: its index (or canonical id, without the flag).
  constexpr uint32_t type_index() const { return heap_ & ~kCanonical; }
  constexpr bool is_defined() const { return is_ref() && !is_abstract(); }
  constexpr ValType as_nullable(bool n) const { return ValType(kind_, n, heap_); }
  // All of it in 64 bits, for instruction immediates.
  constexpr uint64_t bits() const {
    return uint64_t{static_cast<uint8_t>(kind_)} | uint64_t{nullable_} << 8 | uint64_t{heap_} << 32;
  }
  static constexpr ValType from_bits(uint64_t b) {
    return ValType(static_cast<Kind>(b & 0xFF), ((b >> 8) & 1) != 0,
                   static_cast<uint32_t>(b >> 32));
  }
  friend constexpr bool operator==(ValType, ValType) = default;

 private:
  constexpr ValType(Kind k, bool nullable, uint32_t heap)
      : kind_(k), nullable_(nullable), heap_(heap) {}
  Kind kind_ = Kind::I32;
  bool nullable_ = false;
  uint32_t heap_ = 0;
};
inline constexpr ValType ValType::I32{ValType::Kind::I32};
inline constexpr ValType ValType::I64{ValType::Kind::I64};
inline constexpr ValType ValType::F32{ValType::Kind::F32};
inline constexpr ValType ValType::F64{ValType::Kind::F64};
inline constexpr ValType ValType::V128{ValType::Kind::V128};
inline constexpr ValType ValType::FuncRef = ValType::ref(ValType::Func, true);
inline constexpr ValType ValType::ExternRef = ValType::ref(ValType::Extern, true);
inline constexpr ValType ValType::ExnRef = ValType::ref(ValType::Exn, true);

// "i32", "funcref", "(ref null func)" is "funcref", "(ref 3)", "(ref null any)" is "anyref".
std::string to_string(ValType t);
inline bool is_ref(ValType t) {
  return t.is_ref();
}

struct FuncType {
  std::vector<ValType> params;
  std::vector<ValType> results;
  friend bool operator==(const FuncType&, const FuncType&) = default;
  std::string to_string() const;  // "(i32, i64) -> (f64)"
};

enum class ExternKind : uint8_t { Func = 0, Table = 1, Memory = 2, Global = 3, Tag = 4 };
std::string_view to_string(ExternKind k);

struct Limits {
  uint64_t min = 0;
  std::optional<uint64_t> max;
  bool i64 = false;  // a memory with 64-bit addresses (memory64, WebAssembly 3.0)
};

class Function;
class Table;
class Memory;
class Global;
class Tag;
class Instance;
class Store;

// A WebAssembly value. References are pointers (nullptr is the null reference);
// floats keep their exact bit patterns (NaN payloads included).
struct Value {
  ValType type = ValType::I32;
  uint64_t bits = 0;
  uint64_t hi = 0;  // v128: bytes 8-15 (bits holds bytes 0-7, little-endian lanes)

  static Value i32(int32_t v) { return {ValType::I32, static_cast<uint32_t>(v)}; }
  static Value i64(int64_t v) { return {ValType::I64, static_cast<uint64_t>(v)}; }
  static Value f32(float v);
  static Value f64(double v);
  static Value f32_bits(uint32_t b) { return {ValType::F32, b}; }
  static Value v128(uint64_t lo, uint64_t hi) { return {ValType::V128, lo, hi}; }
  static Value f64_bits(uint64_t b) { return {ValType::F64, b}; }
  static Value funcref(const Function* f) {
    return {ValType::FuncRef, reinterpret_cast<uintptr_t>(f)};
  }
  static Value externref(const void* p) {
    return {ValType::ExternRef, reinterpret_cast<uintptr_t>(p)};
  }

  int32_t as_i32() const { return static_cast<int32_t>(static_cast<uint32_t>(bits)); }
  int64_t as_i64() const { return static_cast<int64_t>(bits); }
  float as_f32() const;
  double as_f64() const;
  const Function* as_funcref() const { return reinterpret_cast<const Function*>(bits); }
  const void* as_externref() const { return reinterpret_cast<const void*>(bits); }
  bool is_null_ref() const { return bits == 0; }
  std::string to_string() const;  // "i32:42", "f64:0x1p+0", "funcref:null"
};

// Why a guest stopped abnormally (WebAssembly spec 4.4 traps, plus embedder reasons).
enum class TrapKind : uint8_t {
  Unreachable,
  MemoryOutOfBounds,
  TableOutOfBounds,
  IntegerDivideByZero,
  IntegerOverflow,
  InvalidConversionToInteger,
  IndirectCallTypeMismatch,
  UndefinedElement,
  UninitializedElement,
  CallStackExhausted,
  Interrupted,             // the embedder asked the guest to stop (e.g. a timeout); host
                           // functions may return it too, from a blocking wait
  Host,                    // a host function failed; the message says why
  Exit,                    // a host function ended the guest on purpose (e.g. WASI proc_exit)
  UncaughtException,       // a thrown exception no handler caught (exception handling)
  NullExceptionReference,  // throw_ref of a null exnref
  NullFunctionReference,   // call_ref of a null reference (typed function references)
  NullReference,           // ref.as_non_null of a null reference
  NullStructReference,     // garbage collection: struct.get/set of null
  NullArrayReference,      // array access through null
  NullI31Reference,        // i31.get of null
  ArrayOutOfBounds,        // an array index or range past its end
  CastFailure,             // ref.cast of a reference of another type
  OutOfMemory,             // an allocation beyond the store's GC heap limit
};
std::string_view to_string(TrapKind k);

enum class ErrorKind : uint8_t {
  Io,           // reading a file failed
  Malformed,    // the binary does not decode (spec 5)
  Invalid,      // the module does not validate (spec 3)
  Link,         // imports do not match (spec 4.5.4)
  Trap,         // execution trapped, during instantiation or a call
  Usage,        // the embedding API was misused (wrong argument count, unknown export, ...)
  Unsupported,  // valid, but beyond what this build does (e.g. native code for SIMD yet)
};
std::string_view to_string(ErrorKind k);

struct Error {
  ErrorKind kind = ErrorKind::Usage;
  std::string message;
  std::optional<TrapKind> trap;  // set when kind == Trap
  int32_t exit_code = 0;         // set when trap == Exit
  int32_t guest_code = 0;        // a host module's error code for the guest (WASI-NN's nn_errno)
  std::vector<std::string> backtrace;  // innermost frame first, for traps

  // "<kind>: <message>", e.g. "malformed: unexpected end of section 10 at offset 0x1f3".
  std::string to_string() const;
};

// A value or an error, in the spirit of std::expected (C++23).
template <class T>
class [[nodiscard]] Expected {
 public:
  Expected(T value) : v_(std::move(value)) {}
  Expected(Error error) : v_(std::move(error)) {}
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Expected<void> {
 public:
  Expected() = default;
  Expected(Error error) : e_(std::move(error)) {}
  bool ok() const { return !e_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const& { return *e_; }
  Error&& error() && { return std::move(*e_); }

 private:
  std::optional<Error> e_;
};

// Host-side limits applied to everything a store creates.
struct StoreLimits {
  uint32_t max_memory_pages = 65536;  // cap on any memory's size, in 64 KiB pages
  uint32_t max_table_elements = 10'000'000;
  uint32_t max_call_depth = 20'000;       // wasm frames; deeper recursion traps
  uint32_t value_stack_slots = 1u << 20;  // 8 MiB of operand stack and locals
  // Structs and arrays (garbage collection) at once; they also count against
  // max_memory_pages with the store's linear memories.
  uint64_t max_gc_heap_bytes = 1ull << 30;
};

class Module;
namespace detail {
struct ModuleData;
struct MemoryImage;
// The engine's own view of a module (src/runtime); not part of the embedding API.
const ModuleData& data_of(const Module& m);
}  // namespace detail

struct ImportDesc {
  std::string module;
  std::string name;
  ExternKind kind;
  std::string type;  // human-readable type, e.g. "func (i32) -> ()", "memory {min 1}"
};

struct ExportDesc {
  std::string name;
  ExternKind kind;
  std::string type;
};

// What a module holds, for tools (edgecar inspect).
struct ModuleSummary {
  uint32_t imported_functions = 0, defined_functions = 0;
  uint64_t instructions = 0;  // in the defined functions' bodies
  struct MemoryInfo {
    Limits limits;
    bool imported = false;
  };
  std::vector<MemoryInfo> memories;
  uint32_t tables = 0, globals = 0, data_segments = 0, element_segments = 0;
  uint64_t data_bytes = 0;
  std::optional<uint32_t> start;                                // the start function's index
  std::vector<std::pair<std::string, size_t>> custom_sections;  // name, bytes
  // The proposals beyond the first standard (1.0) the module uses, each with the standard
  // that brought it: "SIMD (2.0)", "tail calls (3.0)", "64-bit memories (3.0)", ...
  std::vector<std::string> features;
};

// Which WebAssembly a module is read as. 3.0 (the default) is the current standard. 2.0
// differs where the same bytes mean something else: the reserved bytes of memory
// instructions must be single zero bytes (3.0 reads a memory index there), a module has at
// most one memory, and constant expressions read imported globals only.
enum class Standard : uint8_t {
  V2_0,  // WebAssembly 2.0
  V3_0,  // WebAssembly 3.0
};

// How a module's functions run.
enum class Engine : uint8_t {
  Interp,  // the interpreter: instant start-up
  Native,  // native code, compiled with LLVM while the module loads (docs/aot.md)
};
std::string_view to_string(Engine e);

struct LoadOptions {
  // Native: native code, from `artifact` or the cache when one matches, else compiled now.
  Engine engine = Engine::Interp;
  // With Engine::Interp: native code all the same when `artifact` or the cache holds a
  // matching one (the "auto" of edgecar run and serve); nothing is compiled.
  bool native_if_available = false;
  std::string artifact;   // a file written by `edgecar compile`, used when it matches
  std::string cache_dir;  // native code is looked up and stored here ("": no cache)
  // Threads compiling native code: 0 is one per core (a large module is split between
  // them); edgecar serve compiles in the background on one.
  unsigned compile_threads = 0;
  Standard standard = Standard::V3_0;
  // With Engine::Interp and no native code found: per-function tiering (docs/aot.md
  // "Tiering"). Functions that get hot (calls and loop iterations counted) are compiled in
  // the background and take over at their next call; the default of edgecar run and serve.
  bool tier_up = false;
  // Tiering: calls + loop iterations before a function is compiled (0: the default, or
  // $EDGECAR_TIER_THRESHOLD); `tier_synchronous` compiles on the thread that ran it, at
  // once (tests: deterministic mixes of interpreted and native frames).
  uint32_t tier_threshold = 0;
  bool tier_synchronous = false;
};

// The native-code cache of this user: $EDGECAR_AOT_CACHE, else $XDG_CACHE_HOME/edgecar/aot,
// else ~/.cache/edgecar/aot; "" when EDGECAR_AOT_CACHE=off or no home is known.
std::string default_native_cache_dir();

// A decoded, validated and compiled module. Immutable and shareable between threads:
// instantiate it any number of times, in any store.
class Module {
 public:
  static Expected<std::shared_ptr<const Module>> from_bytes(std::span<const uint8_t> bytes,
                                                            const LoadOptions& options = {});
  static Expected<std::shared_ptr<const Module>> from_file(const std::string& path,
                                                           const LoadOptions& options = {});
  Engine engine() const;
  // Tiered modules: functions queued for, compiled by and refused by the native tier so far.
  struct TierCounts {
    uint64_t queued = 0, compiled = 0, failed = 0;
    uint64_t osr = 0;        // functions given entries at their loops (on-stack replacement)
    uint64_t osr_taken = 0;  // interpreted calls that went on natively at a loop
    double compile_seconds = 0;
    uint64_t cached = 0;    // functions and loop entries linked from the disk cache at load
    uint64_t upgraded = 0;  // of those, compiled again with a better pipeline (second tier)
  };
  std::optional<TierCounts> tier_counts() const;
  // Native modules: where the code came from ("compiled", "artifact PATH", "cache entry
  // PATH"); any module loaded with native options: artifacts or cache entries refused on
  // the way, with the reason ("" if none).
  std::string native_origin() const;
  std::string native_notes() const;
  // Writes the native code as an artifact (`edgecar compile`); Usage error if not native.
  Expected<void> save_native(const std::string& path) const;

  std::vector<ImportDesc> imports() const;
  std::vector<ExportDesc> exports() const;
  std::optional<FuncType> export_func_type(std::string_view name) const;
  ModuleSummary summary() const;

  ~Module();

 private:
  // Modules come from from_bytes and from_file only.
  explicit Module(std::unique_ptr<detail::ModuleData> d);
  std::unique_ptr<detail::ModuleData> data_;
  friend const detail::ModuleData& detail::data_of(const Module& m);
};

// Arguments and results of a host function call, as raw 64-bit slots: args on entry,
// results on return (they share storage).
class HostCall {
 public:
  HostCall(Store& store, Instance* caller, uint64_t* slots)
      : store_(store), caller_(caller), slots_(slots) {}
  uint32_t u32(size_t i) const { return static_cast<uint32_t>(slots_[i]); }
  int32_t i32(size_t i) const { return static_cast<int32_t>(slots_[i]); }
  uint64_t u64(size_t i) const { return slots_[i]; }
  float f32(size_t i) const;
  double f64(size_t i) const;
  void set_i32(size_t i, int32_t v) { slots_[i] = static_cast<uint32_t>(v); }
  void set_u32(size_t i, uint32_t v) { slots_[i] = v; }
  void set_i64(size_t i, int64_t v) { slots_[i] = static_cast<uint64_t>(v); }
  void set_f32(size_t i, float v);
  void set_f64(size_t i, double v);
  // A v128 takes two slots, i (bytes 0-7) and i + 1 (bytes 8-15); a parameter's first
  // slot is the number of slots before it (one per scalar, two per v128), and results
  // are laid out the same way from slot 0.
  Value v128(size_t i) const { return Value::v128(slots_[i], slots_[i + 1]); }
  void set_v128(size_t i, uint64_t lo, uint64_t hi) {
    slots_[i] = lo;
    slots_[i + 1] = hi;
  }
  uint64_t* slots() { return slots_; }
  Store& store() { return store_; }
  // The instance whose code called this function (nullptr when called from the host),
  // and its memory 0 (nullptr if it has none).
  Instance* caller() const { return caller_; }
  Memory* memory() const;
  // Throws an exception of `tag` with `payload` (values of the tag's parameter types) into
  // the guest that called: return the Error this gives from the host function. A handler
  // of the guest catches it as one the guest threw; uncaught, the call ends with
  // TrapKind::UncaughtException (Store::uncaught_exception() tells which). A payload of
  // other types gives a Host error instead. A host function that gets UncaughtException
  // from a guest it called (Store::call) and returns that error passes the exception on
  // the same way.
  Error throw_exception(Tag* tag, std::span<const Value> payload);

 private:
  Store& store_;
  Instance* caller_;
  uint64_t* slots_;
};

using HostFunc = std::function<Expected<void>(HostCall&)>;

// Helpers for host functions that fail.
Error host_error(std::string message);
Error exit_request(int32_t code);  // ends the guest like WASI proc_exit

class Function {
 public:
  const FuncType& type() const;
  bool is_host() const;
  Instance* instance() const;  // defining instance (nullptr for host functions)
  std::string name() const;    // from the name section or export, for backtraces

  Function() = default;
  Function(const Function&) = delete;
  Function& operator=(const Function&) = delete;
};

class Memory {
 public:
  uint8_t* data();
  const uint8_t* data() const;
  uint64_t size_bytes() const;
  uint32_t size_pages() const;
  const Limits& limits() const;
  // Bounds-checked copies between host and guest memory.
  Expected<void> read(uint64_t offset, std::span<uint8_t> out) const;
  Expected<void> write(uint64_t offset, std::span<const uint8_t> in);
  // Returns the old size in pages, or nullopt when the growth is refused.
  std::optional<uint32_t> grow(uint32_t delta_pages);

  Memory() = default;
  Memory(const Memory&) = delete;
  Memory& operator=(const Memory&) = delete;
};

class Table {
 public:
  ValType elem_type() const;
  uint32_t size() const;
  Expected<Value> get(uint32_t index) const;
  Expected<void> set(uint32_t index, Value v);

  Table() = default;
  Table(const Table&) = delete;
  Table& operator=(const Table&) = delete;
};

class Global {
 public:
  ValType type() const;
  bool is_mutable() const;
  Value get() const;
  Expected<void> set(Value v);

  Global() = default;
  Global(const Global&) = delete;
  Global& operator=(const Global&) = delete;
};

// An exception tag (exception handling): its identity tells exceptions apart, its type
// (params only) is the exception's payload.
class Tag {
 public:
  const FuncType& type() const;

  Tag() = default;
  Tag(const Tag&) = delete;
  Tag& operator=(const Tag&) = delete;
};

// An exception as the embedder sees it (exception handling): its tag and payload.
struct Exception {
  Tag* tag = nullptr;
  std::vector<Value> payload;
};

using Extern = std::variant<Function*, Table*, Memory*, Global*, Tag*>;

// Named imports offered to instantiation, keyed by (module, name).
class Imports {
 public:
  void add(std::string module, std::string name, Extern ext);
  // Offers every export of an instance under the given module name (spec test "register").
  void add_instance(const std::string& module, Instance& instance);
  // Offers everything another set offers (entries already here are replaced).
  void add_all(const Imports& other);
  const Extern* find(std::string_view module, std::string_view name) const;
  // A second function under a name already offered, with another type: instantiation
  // links whichever matches the import's type (WASI's sock_accept has two signatures,
  // preview 1's and WasmEdge's).
  void add_alternative(std::string module, std::string name, Function* fn);
  std::span<Function* const> alternatives(std::string_view module, std::string_view name) const;

 private:
  std::map<std::pair<std::string, std::string>, Extern, std::less<>> map_;
  std::map<std::pair<std::string, std::string>, std::vector<Function*>, std::less<>> alternatives_;
};

class Instance {
 public:
  const Module& module() const;
  std::optional<Extern> get_export(std::string_view name) const;
  Function* get_function(std::string_view name) const;
  Memory* get_memory(std::string_view name) const;
  Global* get_global(std::string_view name) const;
  Memory* memory0() const;  // the instance's first memory, if any
  std::vector<std::pair<std::string, Extern>> exports() const;

  Instance() = default;
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;
};

// Host functions created once and importable by instances of any store: a service
// creates its host modules at start-up instead of once per request. The functions run
// concurrently in many stores, so their per-call state must come from HostCall (memory,
// Store::context), not from their closures.
class HostFunctions {
 public:
  HostFunctions();
  ~HostFunctions();
  HostFunctions(const HostFunctions&) = delete;
  HostFunctions& operator=(const HostFunctions&) = delete;
  Function* add(const std::string& module, const std::string& name, FuncType type, HostFunc fn);
  const Imports& imports() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Owns every instance, function, memory, table and global it creates; they live as long
// as the store. A store is used by one thread at a time.
class Store {
 public:
  explicit Store(StoreLimits limits = {});
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Instantiates a module (spec 4.5.4): links imports, initialises globals, tables and
  // memories, runs the start function.
  Expected<Instance*> instantiate(const std::shared_ptr<const Module>& module,
                                  const Imports& imports);

  Function* create_host_function(FuncType type, HostFunc fn, std::string debug_name = "");
  Memory* create_memory(Limits limits);
  Table* create_table(ValType elem_type, Limits limits);
  Global* create_global(Value init, bool is_mutable);
  // A tag for host functions to throw (HostCall::throw_exception) and modules to import;
  // nullptr if the type has results (a tag's type has parameters only).
  Tag* create_tag(FuncType type);

  // Calls a function with typed arguments; traps come back as Error{kind=Trap}.
  Expected<std::vector<Value>> call(Function* fn, std::span<const Value> args);
  Expected<std::vector<Value>> call(Instance* instance, std::string_view export_name,
                                    std::span<const Value> args);

  // Asks running guest code to stop at its next loop back-edge or call; thread-safe.
  void interrupt();
  void clear_interrupt();
  // A descriptor that is readable while an interrupt is pending: host functions that
  // block (sleeping, waiting for I/O) include it in their poll() to stay interruptible.
  int interrupt_fd();

  // Per-store state for host functions shared between stores (see HostFunctions), found
  // by a key the host module owns (the address of a static object).
  void set_context(const void* key, void* value);
  void* context(const void* key) const;

  const StoreLimits& limits() const;

  // The garbage-collected heap (WebAssembly 3.0 GC, docs/gc.md): what it holds now and how
  // often it was collected. References handed to the embedder (call results, Global::get,
  // Table::get) keep their objects alive as long as the store.
  struct GcStats {
    uint64_t bytes = 0;  // of live and not yet collected objects, headers included
    uint64_t objects = 0;
    uint64_t collections = 0;
    uint64_t limit = 0;  // StoreLimits::max_gc_heap_bytes
    // Interpreter frames the collections read whole for want of a stack map (frames of
    // modules without GC instructions); those of modules with them are read precisely.
    uint64_t frames_read_whole = 0;
  };
  GcStats gc_stats() const;
  // What a reference value is at run time, as the most specific abstract heap type: i31,
  // struct or array in the any hierarchy (any for a host value there); func, extern or
  // exn in the others; the hierarchy's bottom (none, nofunc, noextern, noexn) for null.
  // A Usage error for numbers and vectors.
  Expected<ValType::Heap> reference_kind(const Value& v) const;
  // The exception that ended the last call, when it ended with TrapKind::UncaughtException
  // (its payload's references are kept alive with the store, as call results are).
  std::optional<Exception> uncaught_exception();
  struct Impl;

 private:
  friend class HostCall;
  Memory* create_memory(Limits limits, const detail::MemoryImage* image);
  std::unique_ptr<Impl> impl_;
};

// The instruction set the interpreter's SIMD instructions use on this CPU: "avx2" or
// "sse2" on x86-64 ("generic" elsewhere), chosen once at start-up; EDGECAR_SIMD=baseline
// in the environment forces the baseline.
std::string_view simd_level();

}  // namespace edgecar

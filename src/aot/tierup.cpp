// Per-function tiering (docs/aot.md "Tiering"): a module starts interpreted; the
// interpreter counts each function's calls and loop iterations (TierCount cells) and
// reports a function whose count runs out; the function is queued for a background
// compiler thread, which compiles queued functions in batches (alone: calls to the other
// functions go through their FuncInst, native or not) and publishes their entries. An
// instance installs what is ready when the interpreter next reports one of its counters
// (on the instance's own thread: FuncInsts are never written by another thread), and a
// new instance starts with everything ready so far.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <tuple>

#include "aot/aot.hpp"

namespace edgecar::aot {

namespace {

// Calls + loop iterations before a function is compiled. EDGECAR_TIER_THRESHOLD sets it.
constexpr int32_t kDefaultThreshold = 2000;
// While a function waits for the compiler, the interpreter looks again this often (a
// mutex and a list's length: cheap beside the interpreted work between two looks).
constexpr int32_t kPollInterval = 1000;
// Functions compiled together: one LLVM module (cheaper per function) of at most this many
// instructions, so that a batch stays short and the hottest get out first.
constexpr size_t kBatchInstructions = 4000;
// Functions larger than this are compiled apart with the Baseline pipeline (a few linear
// passes, fast instruction selection and register allocation): O1's loop passes and
// register allocation are superlinear in a function's size (CPython's 41,889-instruction
// evaluation loop: 30 s at O1, about a second at Baseline); smaller ones get O1.
constexpr size_t kBigFunction = 2000;

// EDGECAR_TIER_LOG=1: a line on stderr per batch compiled (what, how long).
bool log_enabled() {
  static const bool on = [] {
    const char* e = std::getenv("EDGECAR_TIER_LOG");
    return e && *e && *e != '0';
  }();
  return on;
}

// The pipeline of functions that are not big: Quick unless EDGECAR_TIER_OPT=o1 (for
// measuring one against the other).
Opt small_level() {
  static const Opt level = [] {
    const char* e = std::getenv("EDGECAR_TIER_OPT");
    return e && std::string(e) == "o1" ? Opt::O1 : Opt::Quick;
  }();
  return level;
}

enum class State : uint8_t { Cold, Queued, Compiling, Ready, Failed };

constexpr uint32_t kEntry = ~0u;  // the interpreter's TierCount at a function's entry

}  // namespace

struct TierUp {
  const binary::Module* module = nullptr;
  std::weak_ptr<const Module> owner;  // kept alive by the compiler while it compiles
  std::atomic<int32_t>* hot = nullptr;
  TierSettings settings;
  std::mutex mu;
  std::vector<State> state;  // per defined function
  struct Osr {
    State state = State::Cold;
    void* entry = nullptr;
    std::vector<uint32_t> loops;  // the loops it can enter (instruction indices)
  };
  std::map<uint32_t, Osr> osr;  // on-stack replacement entries, by defined function
  struct Job {
    uint32_t def;
    bool osr;  // its on-stack replacement entry, else the function
  };
  std::vector<Job> queue;  // waiting for the compiler, in the order they got hot
  struct Ready {
    uint32_t def;
    void* entry;
    void* slots;
  };
  std::vector<Ready> ready;                         // in the order they became ready
  std::vector<std::shared_ptr<NativeModule>> code;  // keeps the batches' code mapped
  bool scheduled = false;                           // on the compiler's list
  bool stopping = false;
  TierStats stats;
};

namespace {

// The compiler thread: works through modules with queued functions, one batch at a time.
class Compiler {
 public:
  static Compiler& get() {
    static Compiler* c = new Compiler;  // lives as long as the process (a thread uses it)
    return *c;
  }
  // Starts the thread (which first warms LLVM up, before any function is hot).
  void start() {
    std::lock_guard<std::mutex> lock(mu_);
    if (started_) return;
    started_ = true;
    std::thread([this] {
      warm_up();
      loop();
    }).detach();
  }
  void schedule(const std::shared_ptr<TierUp>& t) {
    start();
    std::lock_guard<std::mutex> lock(mu_);
    work_.push_back(t);
    wake_.notify_one();
  }

 private:
  void loop() {
    for (;;) {
      std::shared_ptr<TierUp> t;
      {
        std::unique_lock<std::mutex> lock(mu_);
        wake_.wait(lock, [&] { return !work_.empty(); });
        t = std::move(work_.front());
        work_.pop_front();
      }
      if (compile_batch(*t)) schedule(t);
    }
  }

 public:
  // Compiles the next batch of `t`'s queue; true when more is queued.
  static bool compile_batch(TierUp& t) {
    std::vector<uint32_t> funcs, osrs;
    std::shared_ptr<const Module> keep;
    bool big = false;
    {
      std::lock_guard<std::mutex> lock(t.mu);
      keep = t.owner.lock();
      if (t.stopping || t.queue.empty() || (!keep && !t.settings.synchronous)) {
        t.scheduled = false;
        return false;
      }
      // A batch of small functions (quick), or one big function and its entry at loops
      // (baseline).
      auto size = [&](const TierUp::Job& j) { return t.module->bodies[j.def].code.size(); };
      big = size(t.queue[0]) > kBigFunction;
      size_t total = 0;
      std::vector<TierUp::Job> left;
      for (const TierUp::Job& j : t.queue) {
        bool take = (size(j) > kBigFunction) == big &&
                    (total == 0 || (!big && total < kBatchInstructions) ||
                     (big && j.def == t.queue[0].def));
        if (!take) {
          left.push_back(j);
          continue;
        }
        total += size(j);
        if (j.osr) {
          osrs.push_back(j.def);
          t.osr[j.def].state = State::Compiling;
        } else {
          funcs.push_back(j.def);
          t.state[j.def] = State::Compiling;
        }
      }
      t.queue = std::move(left);
    }
    auto start = std::chrono::steady_clock::now();
    Output out;
    std::vector<uint32_t> failed, osr_failed;
    // Together first; when something in the batch is not compiled by the native tier (a
    // GC instruction, say), each alone, so that the others still tier up.
    Opt level = big ? Opt::Baseline : small_level();
    if (!compile(t, funcs, osrs, level, out)) {
      out = Output{};
      for (uint32_t def : funcs)
        if (!compile(t, {def}, {}, level, out)) failed.push_back(def);
      for (uint32_t def : osrs)
        if (!compile(t, {}, {def}, level, out)) osr_failed.push_back(def);
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (log_enabled()) {
      std::string what;
      auto name = [&](uint32_t def) {
        return " f" + std::to_string(t.module->num_imported_funcs + def) + "[" +
               std::to_string(t.module->bodies[def].code.size()) + "]";
      };
      for (uint32_t def : funcs) what += name(def);
      for (uint32_t def : osrs) what += name(def) + "(loops)";
      std::fprintf(stderr, "edgecar tier: %.1f ms %s:%s%s\n", secs * 1e3,
                   big                        ? "baseline"
                   : small_level() == Opt::O1 ? "O1"
                                              : "quick",
                   what.c_str(), failed.empty() && osr_failed.empty() ? "" : " (some refused)");
    }
    std::lock_guard<std::mutex> lock(t.mu);
    for (auto& c : out.code) t.code.push_back(std::move(c));
    for (const auto& r : out.ready) {
      t.state[r.def] = State::Ready;
      t.ready.push_back(r);
    }
    for (auto& [def, entry, loops] : out.osr) {
      TierUp::Osr& o = t.osr[def];
      o.state = State::Ready;
      o.entry = entry;
      o.loops = std::move(loops);
    }
    for (uint32_t def : failed) t.state[def] = State::Failed;
    for (uint32_t def : osr_failed) t.osr[def].state = State::Failed;
    t.stats.compiled += out.ready.size();
    t.stats.failed += failed.size();
    t.stats.osr += out.osr.size();
    t.stats.batches++;
    t.stats.compile_seconds += secs;
    bool more = !t.queue.empty() && !t.stopping;
    if (!more) t.scheduled = false;
    return more;  // `keep` goes after t.mu: the module may end here, which locks it
  }

 private:
  struct Output {
    std::vector<TierUp::Ready> ready;
    std::vector<std::tuple<uint32_t, void*, std::vector<uint32_t>>> osr;
    std::vector<std::shared_ptr<NativeModule>> code;
  };
  static bool compile(TierUp& t, const std::vector<uint32_t>& defs,
                      const std::vector<uint32_t>& osr_defs, Opt level, Output& out) {
    if (defs.empty() && osr_defs.empty()) return true;
    uint32_t nimp = t.module->num_imported_funcs;
    std::vector<uint32_t> funcs, osr;
    for (uint32_t def : defs) funcs.push_back(nimp + def);
    for (uint32_t def : osr_defs) osr.push_back(nimp + def);
    std::vector<std::vector<uint32_t>> loops;
    auto object = emit_tier_object(*t.module, funcs, osr, level, &loops);
    if (!object) return false;
    auto linked = link_functions(funcs, std::move(object).value(), osr);
    if (!linked) return false;
    std::shared_ptr<NativeModule> nm = std::move(linked).value();
    for (size_t i = 0; i < defs.size(); ++i)
      out.ready.push_back({defs[i], nm->entries[i], nm->slot_entries[i]});
    for (size_t i = 0; i < osr_defs.size(); ++i)
      out.osr.emplace_back(osr_defs[i], nm->osr_entries[i], std::move(loops[i]));
    out.code.push_back(std::move(nm));
    return true;
  }

  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<TierUp>> work_;
  bool started_ = false;
};

// Installs the functions that became ready since the instance last looked (t.mu held).
void install(TierUp& t, InstanceImpl& inst) {
  auto* ctx = inst.native_ctx.get();
  for (; inst.tier_installed < t.ready.size(); ++inst.tier_installed) {
    const TierUp::Ready& r = t.ready[inst.tier_installed];
    FuncInst& f = inst.own_funcs[r.def];
    f.native_ctx = ctx;
    f.native_slots = r.slots;
    f.host_slots =
        static_cast<uint32_t>(std::max(slot_count(f.type->params), slot_count(f.type->results)));
    f.native = r.entry;
    // From now on calls take the native entry (an interpreted run of it that is under way
    // goes on in the interpreter: its cells stay).
    f.code = nullptr;
    f.entry = nullptr;
  }
}

}  // namespace

std::shared_ptr<TierUp> start_tiering(detail::ModuleData& md, const TierSettings& settings) {
  auto t = std::make_shared<TierUp>();
  t->module = &md.module;
  t->settings = settings;
  if (t->settings.threshold <= 0) {
    t->settings.threshold = kDefaultThreshold;
    if (const char* e = std::getenv("EDGECAR_TIER_THRESHOLD"); e && *e)
      t->settings.threshold = std::max(1, std::atoi(e));
  }
  size_t n = md.module.bodies.size();
  t->state.assign(n, State::Cold);
  md.hot = std::make_unique<std::atomic<int32_t>[]>(n);
  for (size_t i = 0; i < n; ++i) md.hot[i].store(t->settings.threshold, std::memory_order_relaxed);
  t->hot = md.hot.get();
  if (!settings.synchronous) Compiler::get().start();
  return t;
}

void tier_owner(TierUp& t, std::weak_ptr<const Module> module) {
  std::lock_guard<std::mutex> lock(t.mu);
  t.owner = std::move(module);
}

void stop_tiering(TierUp& t) {
  std::lock_guard<std::mutex> lock(t.mu);
  t.stopping = true;
  t.queue.clear();
}

void* tier_tick(InstanceImpl* inst, uint32_t def, uint32_t loop) {
  const std::shared_ptr<TierUp>& tp = inst->md->tier;
  TierUp& t = *tp;
  bool queued = false;
  std::unique_lock<std::mutex> lock(t.mu);
  if (t.state[def] == State::Cold) {
    t.state[def] = State::Queued;
    t.queue.push_back({def, false});
    t.stats.queued++;
    queued = true;
  }
  if (loop != kEntry && t.state[def] != State::Failed) {
    TierUp::Osr& o = t.osr[def];
    if (o.state == State::Cold) {
      o.state = State::Queued;
      t.queue.push_back({def, true});
      queued = true;
    }
  }
  if (queued) {
    if (t.settings.synchronous) {
      lock.unlock();
      while (Compiler::compile_batch(t)) {
      }
      lock.lock();
    } else if (!t.scheduled) {
      t.scheduled = true;
      Compiler::get().schedule(tp);
    }
  }
  // A function the native tier refuses is not counted any more; the others are looked at
  // again after a while (only interpreted runs count: once installed, a function is not
  // interpreted in this instance but for a run under way).
  t.hot[def].store(
      t.state[def] == State::Failed ? INT32_MAX : std::min(kPollInterval, t.settings.threshold),
      std::memory_order_relaxed);
  install(t, *inst);
  if (loop == kEntry) return nullptr;
  auto it = t.osr.find(def);
  if (it == t.osr.end() || it->second.state != State::Ready) return nullptr;
  const std::vector<uint32_t>& loops = it->second.loops;
  if (std::find(loops.begin(), loops.end(), loop) == loops.end()) return nullptr;
  t.stats.osr_taken++;
  return it->second.entry;
}

void tier_bind(InstanceImpl& inst, Store::Impl& S) {
  inst.native_ctx = make_ctx(inst, S);
  TierUp& t = *inst.md->tier;
  std::lock_guard<std::mutex> lock(t.mu);
  install(t, inst);
}

TierStats tier_stats(const TierUp& t) {
  auto& m = const_cast<TierUp&>(t);
  std::lock_guard<std::mutex> lock(m.mu);
  return t.stats;
}

}  // namespace edgecar::aot

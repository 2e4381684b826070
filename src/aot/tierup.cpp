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
#include <optional>
#include <thread>
#include <tuple>

#include <unistd.h>

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
    if (e && std::string(e) == "baseline") return Opt::Baseline;
    return e && std::string(e) == "o1" ? Opt::O1 : Opt::Quick;
  }();
  return level;
}

// The second tier: the pipeline a cached batch is compiled again with, or its own when it
// has the best one already: O2, but Quick for a big function (O1 and O2's superlinear
// passes take from half a minute to several on CPython's evaluation loop).
Opt best(bool big) {
  return big ? Opt::Quick : Opt::O2;
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
  // Batches compiled by a quick pipeline (in this process, or in an earlier one and loaded
  // from the disk cache), to compile again by a better one once the queue is empty.
  struct Upgrade {
    Opt level;  // the better pipeline
    std::vector<uint32_t> funcs, osr;
    std::string path;  // the cache file it replaces
  };
  std::vector<Upgrade> upgrades;
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
  // Compiles the next batch of `t`'s queue, or when it is empty the next upgrade; true
  // when more is queued.
  static bool compile_batch(TierUp& t) {
    std::vector<uint32_t> funcs, osrs;
    std::shared_ptr<const Module> keep;
    bool big = false;
    std::optional<TierUp::Upgrade> upgrade;
    {
      std::lock_guard<std::mutex> lock(t.mu);
      keep = t.owner.lock();
      if (t.stopping || (t.queue.empty() && t.upgrades.empty()) ||
          (!keep && !t.settings.synchronous)) {
        t.scheduled = false;
        return false;
      }
      if (t.queue.empty()) {
        // Big functions first: baseline code is several times slower than quick code,
        // while O2 gains a tenth or so over quick.
        auto next = std::find_if(t.upgrades.begin(), t.upgrades.end(),
                                 [](const TierUp::Upgrade& u) { return u.level == best(true); });
        if (next == t.upgrades.end()) next = t.upgrades.begin();
        upgrade = std::move(*next);
        t.upgrades.erase(next);
      }
    }
    if (upgrade) return compile_upgrade(t, *upgrade);
    {
      std::lock_guard<std::mutex> lock(t.mu);
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
    bool together = compile(t, funcs, osrs, level, out, true);
    if (!together) {
      out = Output{};
      for (uint32_t def : funcs)
        if (!compile(t, {def}, {}, level, out, true)) failed.push_back(def);
      for (uint32_t def : osrs)
        if (!compile(t, {}, {def}, level, out, true)) osr_failed.push_back(def);
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
    publish(t, out);
    // Big functions' second tier, later in this run when the compiler has nothing newer
    // to do: baseline code is several times slower than quick code (go-jsonnet's evaluator
    // took a fifth of the run's time). Small functions get O2 from the cache, in the next
    // run: doing it here too cost the kernels 5-7% of wall time (the compiler thread
    // shares the machine's two hardware threads with the guest) for a 10% gain on the
    // rest. Not in the synchronous mode of the tests (compiling twice only costs there).
    if (together && level == Opt::Baseline && !t.settings.synchronous)
      t.upgrades.push_back({best(big), std::move(funcs), std::move(osrs), out.path});
    for (uint32_t def : failed) t.state[def] = State::Failed;
    for (uint32_t def : osr_failed) t.osr[def].state = State::Failed;
    t.stats.compiled += out.ready.size();
    t.stats.failed += failed.size();
    t.stats.osr += out.osr.size();
    t.stats.batches++;
    t.stats.compile_seconds += secs;
    return more(t);  // `keep` goes after t.mu: the module may end here, which locks it
  }

  // A batch again with a better pipeline: its code replaces the old one in every instance
  // (at their next report) and its file replaces the old file.
  static bool compile_upgrade(TierUp& t, const TierUp::Upgrade& u) {
    auto start = std::chrono::steady_clock::now();
    Output out;
    bool ok = compile(t, u.funcs, u.osr, u.level, out, true);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (ok && !out.path.empty() && !u.path.empty()) ::unlink(u.path.c_str());
    if (log_enabled())
      std::fprintf(stderr, "edgecar tier: %.1f ms %s: %zu functions, %zu loop entries again%s\n",
                   secs * 1e3, u.level == Opt::O2 ? "O2" : "quick", u.funcs.size(), u.osr.size(),
                   ok ? "" : " (refused)");
    std::lock_guard<std::mutex> lock(t.mu);
    if (ok) {
      publish(t, out);
      t.stats.upgraded += u.funcs.size() + u.osr.size();
    }
    t.stats.compile_seconds += secs;
    return more(t);
  }

 private:
  struct Output {
    std::vector<TierUp::Ready> ready;
    std::vector<std::tuple<uint32_t, void*, std::vector<uint32_t>>> osr;
    std::vector<std::shared_ptr<NativeModule>> code;
    std::string path;  // the last batch's cache file ("" if not stored)
  };
  // t.mu held: whether the compiler goes on with `t`.
  static bool more(TierUp& t) {
    bool m = (!t.queue.empty() || !t.upgrades.empty()) && !t.stopping;
    if (!m) t.scheduled = false;
    return m;
  }
  // Makes compiled code visible to instances (t.mu held).
  static void publish(TierUp& t, Output& out) {
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
  }
  // Compiles and links functions `defs` and entries `osr_defs`; `store`: into the cache.
  static bool compile(TierUp& t, const std::vector<uint32_t>& defs,
                      const std::vector<uint32_t>& osr_defs, Opt level, Output& out, bool store) {
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
    if (store && !t.settings.cache_dir.empty()) {
      // Stored for the next process (a failure to store costs only that).
      TierBatch b{level, defs, osr_defs, loops, nm->object, {}};
      auto saved = save_tier_batch(t.settings.cache_dir, t.settings.module_hash, b);
      if (saved) {
        out.path = *saved;
      } else if (log_enabled()) {
        std::fprintf(stderr, "edgecar tier: not cached: %s\n", saved.error().message.c_str());
      }
    }
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

// Links the batches an earlier process compiled for this module (the disk cache): their
// functions are ready before the first instance, so they run natively from the start.
void load_cached(TierUp& t) {
  auto start = std::chrono::steady_clock::now();
  std::string notes;
  uint32_t nimp = t.module->num_imported_funcs;
  auto n = static_cast<uint32_t>(t.module->bodies.size());
  size_t files = 0;
  std::vector<TierBatch> batches =
      load_tier_batches(t.settings.cache_dir, t.settings.module_hash, n, notes);
  // The best pipeline first: a function in two files (a process ended between storing an
  // upgrade and removing what it replaced, or two processes raced) takes the better code.
  std::stable_sort(batches.begin(), batches.end(),
                   [](const TierBatch& a, const TierBatch& b) { return a.level > b.level; });
  for (TierBatch& b : batches) {
    bool news = false;
    for (uint32_t def : b.funcs) news = news || t.state[def] != State::Ready;
    for (uint32_t def : b.osr) news = news || t.osr[def].state != State::Ready;
    if (!news) {
      ::unlink(b.path.c_str());  // superseded
      continue;
    }
    std::vector<uint32_t> funcs, osr;
    for (uint32_t def : b.funcs) funcs.push_back(nimp + def);
    for (uint32_t def : b.osr) osr.push_back(nimp + def);
    auto linked = link_functions(funcs, std::move(b.bundle), osr);
    if (!linked) {
      notes += (notes.empty() ? "" : "; ") + b.path + " refused: " + linked.error().message;
      continue;
    }
    std::shared_ptr<NativeModule> nm = std::move(linked).value();
    for (size_t i = 0; i < b.funcs.size(); ++i) {
      uint32_t def = b.funcs[i];
      if (t.state[def] == State::Ready) continue;  // in two files (two processes raced)
      t.state[def] = State::Ready;
      t.ready.push_back({def, nm->entries[i], nm->slot_entries[i]});
      t.stats.cached++;
    }
    for (size_t i = 0; i < b.osr.size(); ++i) {
      TierUp::Osr& o = t.osr[b.osr[i]];
      if (o.state == State::Ready) continue;
      o.state = State::Ready;
      o.entry = nm->osr_entries[i];
      o.loops = std::move(b.loops[i]);
      t.stats.cached++;
    }
    t.code.push_back(std::move(nm));
    files++;
    bool big = false;
    for (uint32_t def : b.funcs) big = big || t.module->bodies[def].code.size() > kBigFunction;
    for (uint32_t def : b.osr) big = big || t.module->bodies[def].code.size() > kBigFunction;
    if (b.level < best(big))
      t.upgrades.push_back({best(big), std::move(b.funcs), std::move(b.osr), b.path});
  }
  if (!notes.empty() && t.settings.notes)
    *t.settings.notes += (t.settings.notes->empty() ? "" : "; ") + notes;
  if (log_enabled() && files > 0) {
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::fprintf(stderr,
                 "edgecar tier: %.1f ms: %zu functions and loop entries from %zu cached batches\n",
                 secs * 1e3, static_cast<size_t>(t.stats.cached), files);
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
  if (!t->settings.cache_dir.empty()) load_cached(*t);
  if (settings.synchronous) {
    while (Compiler::compile_batch(*t)) {
    }
  } else {
    Compiler::get().start();
  }
  return t;
}

void tier_owner(const std::shared_ptr<TierUp>& t, std::weak_ptr<const Module> module) {
  std::lock_guard<std::mutex> lock(t->mu);
  t->owner = std::move(module);
  // Upgrades of cached batches start at once (the compiler needs the owner to run).
  if (!t->upgrades.empty() && !t->scheduled && !t->settings.synchronous) {
    t->scheduled = true;
    Compiler::get().schedule(t);
  }
}

void stop_tiering(TierUp& t) {
  std::lock_guard<std::mutex> lock(t.mu);
  t.stopping = true;
  t.queue.clear();
}

void* tier_tick(InstanceImpl* inst, uint32_t def, uint32_t loop) {
  const std::shared_ptr<TierUp>& tp = inst->md->tier;
  TierUp& t = *tp;
  std::unique_lock<std::mutex> lock(t.mu);
  auto compile_now = [&] {
    if (t.settings.synchronous) {
      lock.unlock();
      while (Compiler::compile_batch(t)) {
      }
      lock.lock();
    } else if (!t.scheduled) {
      t.scheduled = true;
      Compiler::get().schedule(tp);
    }
  };
  if (t.state[def] == State::Cold) {
    t.state[def] = State::Queued;
    t.queue.push_back({def, false});
    t.stats.queued++;
    compile_now();
  }
  // An entry at its loops only for a run still interpreted, looping, after its function
  // has native code (a `main`): most functions that loop are called often, and their next
  // call is native anyway (Go's compiler wraps every function in a dispatch loop: asking
  // for both at once doubled the compile work of a Go program).
  if (loop != kEntry && t.state[def] == State::Ready) {
    TierUp::Osr& o = t.osr[def];
    if (o.state == State::Cold) {
      o.state = State::Queued;
      t.queue.push_back({def, true});
      compile_now();
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

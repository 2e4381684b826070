// Compiling generated IR for this machine and mapping it into the process: one LLVM ORC
// LLJIT for the process, one JITDylib per module (removed with the module), the
// runtime functions of aot/runtime.cpp as absolute symbols, the O2 pipeline for the
// host CPU.
#include <llvm/ExecutionEngine/Orc/ExecutionUtils.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/ExecutionEngine/Orc/ThreadSafeModule.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/Transforms/InstCombine/InstCombine.h>
#include <llvm/Transforms/Scalar/EarlyCSE.h>
#include <llvm/Transforms/Scalar/SROA.h>
#include <llvm/Transforms/Scalar/SimplifyCFG.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>

#include "aot/aot.hpp"
#include "aot/codegen.hpp"

namespace edgecar::aot {

namespace {

namespace orc = llvm::orc;

struct Jit {
  std::unique_ptr<orc::LLJIT> lljit;
  std::optional<orc::JITTargetMachineBuilder> jtmb;
  std::string error;
  std::mutex mu;
  uint64_t next_id = 0;
};

std::string to_string(llvm::Error e) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << e;
  return s;
}

Jit& jit() {
  static Jit* J = [] {
    auto* j = new Jit;  // lives as long as the process: code may run until exit
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    llvm::InitializeNativeTargetAsmParser();  // the inline assembly of interrupt checks
    auto jtmb = orc::JITTargetMachineBuilder::detectHost();
    if (!jtmb) {
      j->error = to_string(jtmb.takeError());
      return j;
    }
    jtmb->setCodeGenOptLevel(llvm::CodeGenOptLevel::Aggressive);
    j->jtmb = *jtmb;
    auto built = orc::LLJITBuilder().setJITTargetMachineBuilder(std::move(*jtmb)).create();
    if (!built) {
      j->error = to_string(built.takeError());
      return j;
    }
    j->lljit = std::move(*built);
    orc::MangleAndInterner mangle(j->lljit->getExecutionSession(), j->lljit->getDataLayout());
    orc::SymbolMap syms;
    auto add = [&](const char* name, auto* fn) {
      syms[mangle(name)] = {orc::ExecutorAddr::fromPtr(reinterpret_cast<void*>(fn)),
                            llvm::JITSymbolFlags::Exported | llvm::JITSymbolFlags::Callable};
    };
#define EDGECAR_AOT_RUNTIME(name, returns, result, params) \
  add("edgecar_aot_" #name, &edgecar_aot_##name);
#include "aot/runtime_functions.def"
#undef EDGECAR_AOT_RUNTIME
    add("__sigsetjmp", &__sigsetjmp);
    if (auto e = j->lljit->getMainJITDylib().define(orc::absoluteSymbols(std::move(syms)))) {
      j->error = to_string(std::move(e));
      j->lljit.reset();
    }
    return j;
  }();
  return *J;
}

void optimize(llvm::Module& m, llvm::TargetMachine& tm, Opt level) {
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassBuilder pb(&tm);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  if (level == Opt::Baseline || level == Opt::Quick) {
    // Locals into registers, common subexpressions, the CFG and peepholes: passes linear
    // in practice, so that a 40,000-instruction function compiles in about a second (O1's
    // loop passes and codegen took half a minute on one).
    llvm::FunctionPassManager fpm;
    fpm.addPass(llvm::SROAPass(llvm::SROAOptions::ModifyCFG));
    fpm.addPass(llvm::EarlyCSEPass());
    fpm.addPass(llvm::SimplifyCFGPass());
    fpm.addPass(llvm::InstCombinePass());
    llvm::ModulePassManager mpm;
    mpm.addPass(llvm::createModuleToFunctionPassAdaptor(std::move(fpm)));
    mpm.run(m, mam);
    return;
  }
  pb.registerVectorizerStartEPCallback([](llvm::FunctionPassManager& fpm, llvm::OptimizationLevel) {
    fpm.addPass(BoundedLoopChecks());
  });
  pb.buildPerModuleDefaultPipeline(level == Opt::O1 ? llvm::OptimizationLevel::O1
                                                    : llvm::OptimizationLevel::O2)
      .run(m, mam);
}

}  // namespace

NativeModule::~NativeModule() {
  if (!dylib) return;
  Jit& J = jit();
  auto* jd = static_cast<orc::JITDylib*>(dylib);
  if (auto e = J.lljit->getExecutionSession().removeJITDylib(*jd)) llvm::consumeError(std::move(e));
}

namespace {

// Below this many instructions per thread a module is compiled on fewer threads (threads
// cost more than they save). EDGECAR_AOT_PARTITION_INSTRUCTIONS sets it (tests split
// small modules with it).
uint64_t instructions_per_thread() {
  if (const char* e = std::getenv("EDGECAR_AOT_PARTITION_INSTRUCTIONS"); e && *e)
    return std::max<uint64_t>(1, std::strtoull(e, nullptr, 10));
  return 20000;
}

// One relocatable object for functions `funcs` (see generate); `part` names IR dumps.
Expected<std::vector<char>> emit_functions(
    const binary::Module& module, const std::vector<uint32_t>& funcs, bool declare_all, Opt level,
    llvm::TargetMachine& tm, const std::string& part,
    std::vector<std::vector<uint32_t>>* osr_loops = nullptr) {
  auto ctx = std::make_unique<llvm::LLVMContext>();
  std::string error;
  std::unique_ptr<llvm::Module> m = osr_loops ? generate_osr(module, *ctx, error, funcs, *osr_loops)
                                              : generate(module, *ctx, error, funcs, declare_all);
  if (!m) return Error{ErrorKind::Unsupported, error};
  m->setDataLayout(tm.createDataLayout());
  m->setTargetTriple(tm.getTargetTriple().str());
  // For compiler work (docs/aot.md): the IR before and after optimization.
  auto dump = [&](const char* suffix) {
    const char* base = std::getenv("EDGECAR_AOT_DUMP_IR");
    if (!base || !*base) return;
    std::error_code ec;
    llvm::raw_fd_ostream f(std::string(base) + part + suffix, ec);
    if (!ec) m->print(f, nullptr);
  };
  dump(".in.ll");
  optimize(*m, tm, level);
  dump(".opt.ll");
  llvm::SmallVector<char, 0> buf;
  llvm::raw_svector_ostream os(buf);
  llvm::legacy::PassManager pm;
  if (tm.addPassesToEmitFile(pm, os, nullptr, llvm::CodeGenFileType::ObjectFile))
    return Error{ErrorKind::Unsupported, "native tier: this target cannot emit object files"};
  pm.run(*m);
  return std::vector<char>(buf.begin(), buf.end());
}

// The objects of a bundle (u32 count, u64 sizes, the objects one after the other).
std::optional<std::vector<std::pair<const char*, size_t>>> unbundle(const std::vector<char>& b) {
  uint32_t n = 0;
  if (b.size() < 4) return std::nullopt;
  std::memcpy(&n, b.data(), 4);
  size_t at = 4 + size_t{n} * 8;
  if (n == 0 || n > 4096 || b.size() < at) return std::nullopt;
  std::vector<std::pair<const char*, size_t>> out;
  for (uint32_t i = 0; i < n; ++i) {
    uint64_t size = 0;
    std::memcpy(&size, b.data() + 4 + size_t{i} * 8, 8);
    if (size > b.size() - at) return std::nullopt;
    out.emplace_back(b.data() + at, size);
    at += size;
  }
  if (at != b.size()) return std::nullopt;
  return out;
}

}  // namespace

Expected<std::vector<char>> emit_object(const binary::Module& module, unsigned threads) {
  Jit& J = jit();
  if (!J.lljit) return Error{ErrorKind::Unsupported, "native tier unavailable: " + J.error};
  // Contiguous ranges of functions of about equal size, one per thread.
  uint64_t total = 0;
  for (const auto& b : module.bodies) total += b.code.size();
  unsigned n = threads ? threads : std::max(1u, std::thread::hardware_concurrency());
  n = static_cast<unsigned>(
      std::min<uint64_t>({n, std::max<uint64_t>(1, total / instructions_per_thread()),
                          std::max<size_t>(1, module.bodies.size())}));
  std::vector<uint32_t> cuts{0};
  uint64_t acc = 0;
  for (uint32_t i = 0; i < module.bodies.size() && cuts.size() < n; ++i) {
    acc += module.bodies[i].code.size();
    if (acc * n >= total * cuts.size()) cuts.push_back(i + 1);
  }
  cuts.push_back(static_cast<uint32_t>(module.bodies.size()));
  n = static_cast<unsigned>(cuts.size() - 1);
  // A target machine per thread: they are not shared between threads.
  std::vector<std::unique_ptr<llvm::TargetMachine>> tms;
  for (unsigned k = 0; k < n; ++k) {
    auto tm = J.jtmb->createTargetMachine();
    if (!tm) return Error{ErrorKind::Unsupported, "native tier: " + to_string(tm.takeError())};
    tms.push_back(std::move(*tm));
  }
  std::vector<std::optional<Expected<std::vector<char>>>> parts(n);
  auto work = [&](unsigned k) {
    std::vector<uint32_t> funcs;
    for (uint32_t i = cuts[k]; i < cuts[k + 1]; ++i) funcs.push_back(module.num_imported_funcs + i);
    parts[k].emplace(emit_functions(module, funcs, true, Opt::O2, *tms[k],
                                    n > 1 ? ".p" + std::to_string(k) : ""));
  };
  std::vector<std::thread> pool;
  for (unsigned k = 1; k < n; ++k) pool.emplace_back(work, k);
  work(0);
  for (auto& t : pool) t.join();
  std::vector<char> bundle(4 + size_t{n} * 8);
  std::memcpy(bundle.data(), &n, 4);
  for (unsigned k = 0; k < n; ++k) {
    if (!*parts[k]) return std::move(*parts[k]).error();
    const std::vector<char>& o = **parts[k];
    uint64_t size = o.size();
    std::memcpy(bundle.data() + 4 + size_t{k} * 8, &size, 8);
    bundle.insert(bundle.end(), o.begin(), o.end());
  }
  return bundle;
}

Expected<std::vector<char>> emit_tier_object(const binary::Module& module,
                                             const std::vector<uint32_t>& funcs,
                                             const std::vector<uint32_t>& osr, Opt level,
                                             std::vector<std::vector<uint32_t>>* osr_loops) {
  Jit& J = jit();
  if (!J.lljit) return Error{ErrorKind::Unsupported, "native tier unavailable: " + J.error};
  auto tm = J.jtmb->createTargetMachine();
  if (!tm) return Error{ErrorKind::Unsupported, "native tier: " + to_string(tm.takeError())};
  (*tm)->setOptLevel(level == Opt::Baseline ? llvm::CodeGenOptLevel::None
                     : level == Opt::O2     ? llvm::CodeGenOptLevel::Aggressive
                                            : llvm::CodeGenOptLevel::Less);
  std::vector<std::vector<char>> objects;
  if (!funcs.empty()) {
    auto o = emit_functions(module, funcs, false, level, **tm, ".t" + std::to_string(funcs[0]));
    if (!o) return std::move(o).error();
    objects.push_back(std::move(o).value());
  }
  if (!osr.empty()) {
    auto o =
        emit_functions(module, osr, false, level, **tm, ".o" + std::to_string(osr[0]), osr_loops);
    if (!o) return std::move(o).error();
    objects.push_back(std::move(o).value());
  }
  uint32_t n = static_cast<uint32_t>(objects.size());
  std::vector<char> bundle(4 + size_t{n} * 8);
  std::memcpy(bundle.data(), &n, 4);
  for (uint32_t k = 0; k < n; ++k) {
    uint64_t size = objects[k].size();
    std::memcpy(bundle.data() + 4 + size_t{k} * 8, &size, 8);
    bundle.insert(bundle.end(), objects[k].begin(), objects[k].end());
  }
  return bundle;
}

Expected<std::shared_ptr<NativeModule>> link_object(const binary::Module& module,
                                                    std::vector<char> object) {
  std::vector<uint32_t> funcs;
  for (uint32_t i = 0; i < module.bodies.size(); ++i)
    funcs.push_back(module.num_imported_funcs + i);
  return link_functions(funcs, std::move(object));
}

namespace {

// EDGECAR_PERF_MAP=1: each linked entry is appended to /tmp/perf-PID.map (perf's map of
// JIT code), so `perf report` names native functions (wasm_fN: function N of the module).
// Sizes run to the next entry of the same object (entries only: good enough to attribute).
bool perf_map_enabled() {
  static const bool on = [] {
    const char* e = std::getenv("EDGECAR_PERF_MAP");
    return e && *e && *e != '0';
  }();
  return on;
}

void write_perf_map(const NativeModule& nm, const std::vector<uint32_t>& funcs,
                    const std::vector<uint32_t>& osr) {
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  static FILE* out = std::fopen(("/tmp/perf-" + std::to_string(getpid()) + ".map").c_str(), "a");
  if (!out) return;
  std::vector<std::pair<uintptr_t, std::string>> syms;
  for (size_t i = 0; i < funcs.size(); ++i) {
    syms.emplace_back(reinterpret_cast<uintptr_t>(nm.entries[i]), entry_name(funcs[i]));
    syms.emplace_back(reinterpret_cast<uintptr_t>(nm.slot_entries[i]), slot_entry_name(funcs[i]));
  }
  for (size_t i = 0; i < osr.size(); ++i)
    syms.emplace_back(reinterpret_cast<uintptr_t>(nm.osr_entries[i]), osr_entry_name(osr[i]));
  std::sort(syms.begin(), syms.end());
  for (size_t i = 0; i < syms.size(); ++i) {
    uintptr_t size = i + 1 < syms.size() ? syms[i + 1].first - syms[i].first : 4096;
    if (size > (1u << 24)) size = 4096;  // the next entry is in another section
    std::fprintf(out, "%lx %lx %s\n", static_cast<unsigned long>(syms[i].first),
                 static_cast<unsigned long>(size), syms[i].second.c_str());
  }
  std::fflush(out);
}

}  // namespace

Expected<std::shared_ptr<NativeModule>> link_functions(const std::vector<uint32_t>& funcs,
                                                       std::vector<char> object,
                                                       const std::vector<uint32_t>& osr) {
  Jit& J = jit();
  if (!J.lljit) return Error{ErrorKind::Unsupported, "native tier unavailable: " + J.error};
  std::lock_guard<std::mutex> lock(J.mu);
  auto nm = std::make_shared<NativeModule>();
  auto jd = J.lljit->createJITDylib("wasm" + std::to_string(J.next_id++));
  if (!jd) return Error{ErrorKind::Unsupported, "native tier: " + to_string(jd.takeError())};
  nm->dylib = &*jd;
  jd->addToLinkOrder(J.lljit->getMainJITDylib());
  auto objects = unbundle(object);
  if (!objects) return Error{ErrorKind::Unsupported, "native tier: a malformed object bundle"};
  for (size_t k = 0; k < objects->size(); ++k) {
    auto buffer = llvm::MemoryBuffer::getMemBufferCopy(
        llvm::StringRef((*objects)[k].first, (*objects)[k].second),
        "wasm" + std::to_string(J.next_id) + "." + std::to_string(k));
    if (auto e = J.lljit->addObjectFile(*jd, std::move(buffer)))
      return Error{ErrorKind::Unsupported, "native tier: " + to_string(std::move(e))};
  }
  for (uint32_t fi : funcs) {
    auto f = J.lljit->lookup(*jd, entry_name(fi));
    if (!f) return Error{ErrorKind::Unsupported, "native tier: " + to_string(f.takeError())};
    auto s = J.lljit->lookup(*jd, slot_entry_name(fi));
    if (!s) return Error{ErrorKind::Unsupported, "native tier: " + to_string(s.takeError())};
    nm->entries.push_back(f->toPtr<void*>());
    nm->slot_entries.push_back(s->toPtr<void*>());
  }
  for (uint32_t fi : osr) {
    auto o = J.lljit->lookup(*jd, osr_entry_name(fi));
    if (!o) return Error{ErrorKind::Unsupported, "native tier: " + to_string(o.takeError())};
    nm->osr_entries.push_back(o->toPtr<void*>());
  }
  if (perf_map_enabled()) write_perf_map(*nm, funcs, osr);
  nm->object = std::move(object);
  return nm;
}

void warm_up() {
  Jit& J = jit();
  if (J.lljit) (void)J.jtmb->createTargetMachine();
}

std::string target_description() {
  Jit& J = jit();
  if (!J.jtmb) return "unavailable";
  std::string s = J.jtmb->getTargetTriple().str() + " " + J.jtmb->getCPU() + " " +
                  J.jtmb->getFeatures().getString();
  return s;
}

}  // namespace edgecar::aot

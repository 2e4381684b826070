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

#include <cstdlib>
#include <mutex>
#include <optional>

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
    add("edgecar_aot_trap", &edgecar_aot_trap);
    add("edgecar_aot_call_limit", &edgecar_aot_call_limit);
    add("edgecar_aot_call", &edgecar_aot_call);
    add("edgecar_aot_indirect", &edgecar_aot_indirect);
    add("edgecar_aot_memory_grow", &edgecar_aot_memory_grow);
    add("edgecar_aot_memory_init", &edgecar_aot_memory_init);
    add("edgecar_aot_data_drop", &edgecar_aot_data_drop);
    add("edgecar_aot_memory_copy", &edgecar_aot_memory_copy);
    add("edgecar_aot_memory_fill", &edgecar_aot_memory_fill);
    add("edgecar_aot_table_get", &edgecar_aot_table_get);
    add("edgecar_aot_table_set", &edgecar_aot_table_set);
    add("edgecar_aot_table_size", &edgecar_aot_table_size);
    add("edgecar_aot_table_grow", &edgecar_aot_table_grow);
    add("edgecar_aot_table_fill", &edgecar_aot_table_fill);
    add("edgecar_aot_table_copy", &edgecar_aot_table_copy);
    add("edgecar_aot_table_init", &edgecar_aot_table_init);
    add("edgecar_aot_elem_drop", &edgecar_aot_elem_drop);
    if (auto e = j->lljit->getMainJITDylib().define(orc::absoluteSymbols(std::move(syms)))) {
      j->error = to_string(std::move(e));
      j->lljit.reset();
    }
    return j;
  }();
  return *J;
}

void optimize(llvm::Module& m, llvm::TargetMachine& tm) {
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
  pb.registerVectorizerStartEPCallback([](llvm::FunctionPassManager& fpm, llvm::OptimizationLevel) {
    fpm.addPass(BoundedLoopChecks());
  });
  pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O2).run(m, mam);
}

}  // namespace

NativeModule::~NativeModule() {
  if (!dylib) return;
  Jit& J = jit();
  auto* jd = static_cast<orc::JITDylib*>(dylib);
  if (auto e = J.lljit->getExecutionSession().removeJITDylib(*jd)) llvm::consumeError(std::move(e));
}

Expected<std::vector<char>> emit_object(const binary::Module& module) {
  Jit& J = jit();
  if (!J.lljit) return Error{ErrorKind::Unsupported, "native tier unavailable: " + J.error};
  auto ctx = std::make_unique<llvm::LLVMContext>();
  std::string error;
  std::unique_ptr<llvm::Module> m = generate(module, *ctx, error);
  if (!m) return Error{ErrorKind::Unsupported, error};
  // A target machine per compilation: they are not shared between threads.
  auto tm = J.jtmb->createTargetMachine();
  if (!tm) return Error{ErrorKind::Unsupported, "native tier: " + to_string(tm.takeError())};
  m->setDataLayout((*tm)->createDataLayout());
  m->setTargetTriple((*tm)->getTargetTriple().str());
  // For compiler work (docs/aot.md): the IR before and after optimization.
  auto dump = [&](const char* suffix) {
    const char* base = std::getenv("EDGECAR_AOT_DUMP_IR");
    if (!base || !*base) return;
    std::error_code ec;
    llvm::raw_fd_ostream f(std::string(base) + suffix, ec);
    if (!ec) m->print(f, nullptr);
  };
  dump(".in.ll");
  optimize(*m, **tm);
  dump(".opt.ll");
  llvm::SmallVector<char, 0> buf;
  llvm::raw_svector_ostream os(buf);
  llvm::legacy::PassManager pm;
  if ((*tm)->addPassesToEmitFile(pm, os, nullptr, llvm::CodeGenFileType::ObjectFile))
    return Error{ErrorKind::Unsupported, "native tier: this target cannot emit object files"};
  pm.run(*m);
  return std::vector<char>(buf.begin(), buf.end());
}

Expected<std::shared_ptr<NativeModule>> link_object(const binary::Module& module,
                                                    std::vector<char> object) {
  Jit& J = jit();
  if (!J.lljit) return Error{ErrorKind::Unsupported, "native tier unavailable: " + J.error};
  std::lock_guard<std::mutex> lock(J.mu);
  auto nm = std::make_shared<NativeModule>();
  auto jd = J.lljit->createJITDylib("wasm" + std::to_string(J.next_id++));
  if (!jd) return Error{ErrorKind::Unsupported, "native tier: " + to_string(jd.takeError())};
  nm->dylib = &*jd;
  jd->addToLinkOrder(J.lljit->getMainJITDylib());
  auto buffer = llvm::MemoryBuffer::getMemBufferCopy(llvm::StringRef(object.data(), object.size()),
                                                     "wasm" + std::to_string(J.next_id));
  if (auto e = J.lljit->addObjectFile(*jd, std::move(buffer)))
    return Error{ErrorKind::Unsupported, "native tier: " + to_string(std::move(e))};
  uint32_t nimp = module.num_imported_funcs;
  for (uint32_t i = 0; i < module.bodies.size(); ++i) {
    auto f = J.lljit->lookup(*jd, entry_name(nimp + i));
    if (!f) return Error{ErrorKind::Unsupported, "native tier: " + to_string(f.takeError())};
    auto s = J.lljit->lookup(*jd, slot_entry_name(nimp + i));
    if (!s) return Error{ErrorKind::Unsupported, "native tier: " + to_string(s.takeError())};
    nm->entries.push_back(f->toPtr<void*>());
    nm->slot_entries.push_back(s->toPtr<void*>());
  }
  nm->object = std::move(object);
  return nm;
}

std::string target_description() {
  Jit& J = jit();
  if (!J.jtmb) return "unavailable";
  std::string s = J.jtmb->getTargetTriple().str() + " " + J.jtmb->getCPU() + " " +
                  J.jtmb->getFeatures().getString();
  return s;
}

}  // namespace edgecar::aot

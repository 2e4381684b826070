// Runs the official WebAssembly spec tests (.wast) against edgecar through its public
// API. Each .wast is converted by wabt's wast2json, then every command is executed.
// Each file runs in a child process, so a crash is reported as that file's failure.
//
//   spec_runner [--allow-fail PREFIX]... [--verbose] [--wast2json PATH]
//               [--json-from-wast WASM_TOOLS] [--engine interp|aot|tier]
//               [--standard 2.0|3.0] FILE_OR_DIR...
//
// --engine aot loads every module with native code (LLVM) instead of the interpreter;
// --engine tier interprets and compiles each function at its first call (tiering).
// --skip PREFIX=REASON leaves out files whose name starts with PREFIX, printing the reason.
//
// --json-from-wast converts with `wasm-tools json-from-wast` instead (the 3.0 suite,
// which wabt 1.0.32 cannot parse; same JSON format).
//
// Exit status: 0 when every command of every file passed, except in files whose name
// starts with an --allow-fail prefix (reported, not fatal).
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include "edgecar/edgecar.hpp"

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace edgecar;

namespace {

// Skipped commands, by reason: text-format modules in assert_malformed/assert_invalid
// (tests of text parsers), assert_*_custom (errors in custom sections and annotations,
// which the spec lets an engine ignore), and modules left out by --skip-module with the
// commands acting on them.
struct Counts {
  int passed = 0, failed = 0, skipped = 0;
  int skipped_text = 0, skipped_custom = 0, skipped_module = 0;
};

// --skip-module FILE:LINE=REASON: the module command at that line of that file (as the
// converter numbers it), and every command after it up to the next module, are skipped.
std::map<std::string, std::map<int, std::string>> g_skip_modules;

bool g_verbose = false;
LoadOptions g_load;        // --engine
std::string g_wasm_tools;  // --json-from-wast: also assembles modules the script gives as text

// Bytes of a v128 lane type ("i8" ... "f64").
int lane_bytes(const std::string& lane_type) {
  return lane_type == "i8"                          ? 1
         : lane_type == "i16"                       ? 2
         : lane_type == "i32" || lane_type == "f32" ? 4
                                                    : 8;
}

// Host values for externref and anyref: (ref.extern N) and (ref.host N) are represented by
// the pointer value (N + 1) * 8 (host references are aligned pointers: an odd word in the
// any hierarchy is an i31).
Value parse_value(const json& v, bool& ok) {
  std::string type = v.at("type");
  ok = true;
  if (type == "v128") {  // lanes as unsigned decimal bit patterns, lane 0 first
    uint8_t bytes[16] = {};
    int w = lane_bytes(v.at("lane_type"));
    int i = 0;
    for (const auto& lane : v.at("value")) {
      uint64_t bits = std::stoull(lane.get<std::string>());
      std::memcpy(bytes + i * w, &bits, w);
      ++i;
    }
    uint64_t lo, hi;
    std::memcpy(&lo, bytes, 8);
    std::memcpy(&hi, bytes + 8, 8);
    return Value::v128(lo, hi);
  }
  if (type == "i32")
    return Value{ValType::I32, std::stoull(v.at("value").get<std::string>()) & 0xFFFFFFFFu};
  if (type == "i64") return Value{ValType::I64, std::stoull(v.at("value").get<std::string>())};
  if (type == "f32")
    return Value{ValType::F32, std::stoull(v.at("value").get<std::string>()) & 0xFFFFFFFFu};
  if (type == "f64") return Value{ValType::F64, std::stoull(v.at("value").get<std::string>())};
  if (type == "externref" || type == "funcref" || type == "exnref" || type == "anyref") {
    ValType t = type == "externref" ? ValType::ExternRef
                : type == "funcref" ? ValType::FuncRef
                : type == "anyref"  ? ValType::ref(ValType::Any, true)
                                    : ValType::ExnRef;
    std::string s = v.at("value");
    if (s == "null") return Value{t, 0};
    return Value{t, (std::stoull(s) + 1) * 8};
  }
  ok = false;  // anything newer than WebAssembly 2.0
  return {};
}

// Whether a non-null reference of run-time kind `k` is a value of the abstract type the
// script names ("i31ref", "structref", ...): the reference interpreter's check.
bool kind_matches(const std::string& type, ValType::Heap k) {
  if (type == "i31ref") return k == ValType::I31;
  if (type == "structref") return k == ValType::Struct;
  if (type == "arrayref") return k == ValType::Array;
  if (type == "eqref") return k == ValType::I31 || k == ValType::Struct || k == ValType::Array;
  if (type == "anyref")
    return k == ValType::I31 || k == ValType::Struct || k == ValType::Array || k == ValType::Any;
  if (type == "funcref") return k == ValType::Func;
  if (type == "externref") return k == ValType::Extern;
  if (type == "exnref") return k == ValType::Exn;
  return false;  // a kind this runner does not know: fail rather than accept anything
}

bool match_value(const Store& store, const json& exp, const Value& got, std::string& why) {
  std::string type = exp.at("type");
  if (type == "v128") {  // lane by lane; float lanes may expect a NaN class
    if (got.type != ValType::V128) {
      why = "expected v128, got " + std::string(to_string(got.type));
      return false;
    }
    std::string lt = exp.at("lane_type");
    int w = lane_bytes(lt);
    uint8_t bytes[16];
    std::memcpy(bytes, &got.bits, 8);
    std::memcpy(bytes + 8, &got.hi, 8);
    int i = 0;
    for (const auto& lane : exp.at("value")) {
      std::string s = lane.get<std::string>();
      uint64_t g = 0;
      std::memcpy(&g, bytes + i * w, w);
      bool ok;
      if (s.rfind("nan:", 0) == 0 && lt == "f32") {
        uint32_t b = static_cast<uint32_t>(g);
        bool is_nan = (b & 0x7F800000u) == 0x7F800000u && (b & 0x7FFFFFu);
        ok = s == "nan:canonical" ? (b & 0x7FFFFFFFu) == 0x7FC00000u : is_nan && (b & 0x400000u);
      } else if (s.rfind("nan:", 0) == 0) {
        bool is_nan =
            (g & 0x7FF0000000000000ull) == 0x7FF0000000000000ull && (g & 0xFFFFFFFFFFFFFull);
        ok = s == "nan:canonical" ? (g & 0x7FFFFFFFFFFFFFFFull) == 0x7FF8000000000000ull
                                  : is_nan && (g & 0x8000000000000ull);
      } else {
        uint64_t want = std::stoull(s);
        if (w < 8) want &= (1ull << (8 * w)) - 1;
        ok = want == g;
      }
      if (!ok) {
        why = "v128 lane " + std::to_string(i) + " (" + lt + "): expected " + s + ", got " +
              std::to_string(g) + " (" + got.to_string() + ")";
        return false;
      }
      ++i;
    }
    return true;
  }
  // References compare by value (as the reference interpreter does): a null of any type
  // in the hierarchy, a non-null reference of the kind named, or a host reference's number.
  bool ref_expected =
      type == "refnull" || (type.size() > 3 && type.compare(type.size() - 3, 3, "ref") == 0);
  if (ref_expected) {
    if (!got.type.is_ref()) {
      why = "expected " + type + ", got " + to_string(got.type);
      return false;
    }
    bool want_null = type == "refnull" || type.rfind("null", 0) == 0 ||
                     (exp.contains("value") && exp.at("value") == "null");
    if (want_null || !exp.contains("value")) {
      if ((got.bits == 0) != want_null) {
        why = want_null ? "expected a null reference, got " + got.to_string()
                        : "expected a non-null reference, got null";
        return false;
      }
      if (want_null) return true;
      auto kind = store.reference_kind(got);
      if (kind && kind_matches(type, *kind)) return true;
      why = "expected a non-null " + type + ", got a reference of kind " +
            (kind ? to_string(ValType::ref(*kind, false)) : kind.error().to_string());
      return false;
    }
  } else if (type != to_string(got.type)) {
    why = "expected type " + type + ", got " + to_string(got.type);
    return false;
  }
  std::string s = exp.at("value");
  bool ok;
  if (type == "f32" && s.rfind("nan:", 0) == 0) {
    uint32_t b = static_cast<uint32_t>(got.bits);
    bool is_nan = (b & 0x7F800000u) == 0x7F800000u && (b & 0x7FFFFFu);
    ok = s == "nan:canonical" ? (b & 0x7FFFFFFFu) == 0x7FC00000u : is_nan && (b & 0x400000u);
  } else if (type == "f64" && s.rfind("nan:", 0) == 0) {
    uint64_t b = got.bits;
    bool is_nan = (b & 0x7FF0000000000000ull) == 0x7FF0000000000000ull && (b & 0xFFFFFFFFFFFFFull);
    ok = s == "nan:canonical" ? (b & 0x7FFFFFFFFFFFFFFFull) == 0x7FF8000000000000ull
                              : is_nan && (b & 0x8000000000000ull);
  } else {
    bool pok;
    Value e = parse_value(exp, pok);
    ok = e.bits == got.bits;
  }
  if (!ok) why = "expected " + type + ":" + s + ", got bits " + std::to_string(got.bits);
  return ok;
}

class Script {
 public:
  Script(fs::path dir, std::string file) : dir_(std::move(dir)), file_(std::move(file)) {
    // The standard "spectest" host module.
    FuncType none;
    auto print = [](HostCall&) -> Expected<void> { return {}; };
    auto fn = [&](std::string name, std::vector<ValType> params) {
      spectest_.add("spectest", name,
                    store_.create_host_function(FuncType{params, {}}, print, "spectest." + name));
    };
    fn("print", {});
    fn("print_i32", {ValType::I32});
    fn("print_i64", {ValType::I64});
    fn("print_f32", {ValType::F32});
    fn("print_f64", {ValType::F64});
    fn("print_i32_f32", {ValType::I32, ValType::F32});
    fn("print_f64_f64", {ValType::F64, ValType::F64});
    spectest_.add("spectest", "global_i32", store_.create_global(Value::i32(666), false));
    spectest_.add("spectest", "global_i64", store_.create_global(Value::i64(666), false));
    spectest_.add("spectest", "global_f32", store_.create_global(Value::f32(666.6f), false));
    spectest_.add("spectest", "global_f64", store_.create_global(Value::f64(666.6), false));
    spectest_.add("spectest", "table", store_.create_table(ValType::FuncRef, Limits{10, 20}));
    spectest_.add("spectest", "table64",
                  store_.create_table(ValType::FuncRef, Limits{10, 20, true}));
    spectest_.add("spectest", "memory", store_.create_memory(Limits{1, 2}));
  }

  Counts run(const json& script) {
    const auto skip_here = g_skip_modules.find(file_);
    for (const auto& cmd : script.at("commands")) {
      line_ = cmd.value("line", 0);
      std::string type = cmd.at("type");
      std::string why;
      bool is_module = type == "module" || type == "module_definition";
      if (is_module) skipping_module_ = false;
      if (is_module && skip_here != g_skip_modules.end()) {
        auto it = skip_here->second.find(line_);
        if (it != skip_here->second.end()) {
          std::printf("  skipped: the module at %s:%d and the commands on it (%s)\n", file_.c_str(),
                      line_, it->second.c_str());
          skipping_module_ = true;
          current_ = nullptr;
          if (cmd.contains("name")) named_.erase(cmd.at("name").get<std::string>());
          found_skipped_modules_++;
        }
      }
      if (skipping_module_ && type != "register") {
        counts_.skipped++;
        counts_.skipped_module++;
        continue;
      }
      int r = command(type, cmd, why);  // 1 pass, 0 fail, -1 skip
      if (r > 0) {
        counts_.passed++;
      } else if (r == 0) {
        counts_.failed++;
        if (g_verbose || counts_.failed <= 10)
          std::printf("  FAIL %s:%d %s: %s\n", file_.c_str(), line_, type.c_str(), why.c_str());
      } else {
        counts_.skipped++;
        (type.size() > 7 && type.compare(type.size() - 7, 7, "_custom") == 0
             ? counts_.skipped_custom
             : counts_.skipped_text)++;
      }
    }
    // A --skip-module that matches nothing is a mistake in the command line (a line moved):
    // it fails the file rather than silently running less.
    if (skip_here != g_skip_modules.end() &&
        found_skipped_modules_ != static_cast<int>(skip_here->second.size())) {
      std::printf("  FAIL %s: --skip-module names %zu module(s), %d found\n", file_.c_str(),
                  skip_here->second.size(), found_skipped_modules_);
      counts_.failed++;
    }
    return counts_;
  }

 private:
  Expected<std::shared_ptr<const Module>> load(const json& cmd) {
    fs::path file = dir_ / cmd.at("filename").get<std::string>();
    if (file.extension() == ".wat" && !g_wasm_tools.empty()) {
      // A module the script writes in text (annotations, comments): edgecar reads binaries,
      // so the test harness assembles it first.
      fs::path bin = file;
      bin.replace_extension(".wasm");
      std::string cmdline =
          g_wasm_tools + " parse '" + file.string() + "' -o '" + bin.string() + "' 2>/dev/null";
      if (std::system(cmdline.c_str()) != 0)
        return Error{ErrorKind::Malformed, "wasm-tools cannot assemble " + file.string()};
      file = bin;
    }
    return Module::from_file(file.string(), g_load);
  }

  Instance* target(const json& action) {
    if (action.contains("module")) {
      auto it = named_.find(action.at("module"));
      return it == named_.end() ? nullptr : it->second;
    }
    return current_;
  }

  // Performs an action; on success fills results.
  Expected<std::vector<Value>> act(const json& action) {
    Instance* inst = target(action);
    if (!inst) return Error{ErrorKind::Usage, "no module instance for this action"};
    std::string field = action.at("field");
    if (action.at("type") == "get") {
      Global* g = inst->get_global(field);
      if (!g) return Error{ErrorKind::Usage, "no exported global " + field};
      return std::vector<Value>{g->get()};
    }
    std::vector<Value> args;
    for (const auto& a : action.at("args")) {
      bool ok;
      args.push_back(parse_value(a, ok));
      if (!ok)
        return Error{ErrorKind::Usage,
                     "argument type " + a.at("type").get<std::string>() + " is not supported"};
    }
    return store_.call(inst, field, args);
  }

  static bool is_text(const json& cmd) { return cmd.value("module_type", "binary") == "text"; }

  int command(const std::string& type, const json& cmd, std::string& why) {
    if (type == "module") {
      auto m = load(cmd);
      if (!m) {
        why = m.error().to_string();
        current_ = nullptr;
        return 0;
      }
      auto inst = store_.instantiate(*m, imports());
      if (!inst) {
        why = inst.error().to_string();
        current_ = nullptr;
        return 0;
      }
      current_ = *inst;
      if (cmd.contains("name")) named_[cmd.at("name")] = current_;
      return 1;
    }
    // 3.0 scripts: `(module definition $M ...)` only decodes and validates; `(module
    // instance $I $M)` instantiates such a definition.
    if (type == "module_definition") {
      auto m = load(cmd);
      if (!m) {
        why = m.error().to_string();
        return 0;
      }
      if (cmd.contains("name")) definitions_[cmd.at("name")] = *m;
      return 1;
    }
    if (type == "module_instance") {
      auto it = definitions_.find(cmd.value("module", ""));
      if (it == definitions_.end()) {
        why = "no module definition named " + cmd.value("module", "");
        return 0;
      }
      auto inst = store_.instantiate(it->second, imports());
      if (!inst) {
        why = inst.error().to_string();
        return 0;
      }
      current_ = *inst;
      if (cmd.contains("instance")) named_[cmd.at("instance")] = current_;
      return 1;
    }
    if (type == "register") {
      Instance* inst = cmd.contains("name") ? named_[cmd.at("name")] : current_;
      if (!inst) {
        why = "nothing to register";
        return 0;
      }
      registered_.add_instance(cmd.at("as"), *inst);
      return 1;
    }
    if (type == "action") {
      auto r = act(cmd.at("action"));
      if (!r) why = r.error().to_string();
      return r ? 1 : 0;
    }
    if (type == "assert_return") {
      auto r = act(cmd.at("action"));
      if (!r) {
        why = r.error().to_string();
        return 0;
      }
      const auto& exp = cmd.at("expected");
      if (exp.size() != r->size()) {
        why =
            "expected " + std::to_string(exp.size()) + " results, got " + std::to_string(r->size());
        return 0;
      }
      for (size_t i = 0; i < exp.size(); ++i) {
        // {"type": "either", "values": [...]}: any one of the values (relaxed SIMD's
        // implementation-defined results).
        if (exp[i].at("type") == "either") {
          std::string first_why;
          bool any = false;
          for (const auto& alt : exp[i].at("values")) {
            std::string w;
            if (match_value(store_, alt, (*r)[i], w)) {
              any = true;
              break;
            }
            if (first_why.empty()) first_why = w;
          }
          if (!any) {
            why = "none of the allowed results: " + first_why;
            return 0;
          }
        } else if (!match_value(store_, exp[i], (*r)[i], why)) {
          return 0;
        }
      }
      return 1;
    }
    if (type == "assert_exception") {  // the call ends with an exception no one caught
      auto r = act(cmd.at("action"));
      if (r) {
        why = "expected an uncaught exception, got a result";
        return 0;
      }
      if (r.error().trap != TrapKind::UncaughtException) {
        why = "expected an uncaught exception, got " + r.error().to_string();
        return 0;
      }
      return 1;
    }
    if (type == "assert_trap" || type == "assert_exhaustion") {
      auto r = act(cmd.at("action"));
      if (r) {
        why = "expected a trap (" + cmd.at("text").get<std::string>() + "), got a result";
        return 0;
      }
      return expect_trap(r.error(), cmd.at("text"), why);
    }
    // Errors in custom sections or annotations: an engine may ignore custom sections (spec
    // 5.5.3), and edgecar does; the text ones test text parsers.
    if (type == "assert_malformed_custom" || type == "assert_invalid_custom") return -1;
    if (type == "assert_malformed" || type == "assert_invalid") {
      if (is_text(cmd)) return -1;  // text-format tests are for text parsers
      auto m = load(cmd);
      if (m) {
        why = "module loaded but should be " +
              std::string(type == "assert_invalid" ? "invalid" : "malformed") + " (" +
              cmd.at("text").get<std::string>() + ")";
        return 0;
      }
      ErrorKind want = type == "assert_invalid" ? ErrorKind::Invalid : ErrorKind::Malformed;
      if (m.error().kind != want) {
        why = "wrong error kind: " + m.error().to_string() + " (expected " +
              cmd.at("text").get<std::string>() + ")";
        return 0;
      }
      return 1;
    }
    if (type == "assert_unlinkable" || type == "assert_uninstantiable") {
      auto m = load(cmd);
      if (!m) {
        why = "module failed to load: " + m.error().to_string();
        return 0;
      }
      auto inst = store_.instantiate(*m, imports());
      if (inst) {
        why = "instantiation succeeded but should fail (" + cmd.at("text").get<std::string>() + ")";
        return 0;
      }
      if (type == "assert_unlinkable") {
        if (inst.error().kind != ErrorKind::Link) {
          why = "expected a link error, got " + inst.error().to_string();
          return 0;
        }
        return 1;
      }
      return expect_trap(inst.error(), cmd.at("text"), why);
    }
    why = "unknown command type";
    return 0;
  }

  static int expect_trap(const Error& e, const std::string& text, std::string& why) {
    if (e.kind != ErrorKind::Trap) {
      why = "expected trap \"" + text + "\", got " + e.to_string();
      return 0;
    }
    // One message must be a prefix of the other: the spec's "unreachable" of our
    // "unreachable executed", our "uninitialized element" of the spec's "... element 2".
    if (e.message.rfind(text, 0) != 0 && text.rfind(e.message, 0) != 0) {
      why = "expected trap \"" + text + "\", got \"" + e.message + "\"";
      return 0;
    }
    return 1;
  }

  Imports imports() {
    Imports all = registered_;
    for (const char* n : {"print", "print_i32", "print_i64", "print_f32", "print_f64",
                          "print_i32_f32", "print_f64_f64", "global_i32", "global_i64",
                          "global_f32", "global_f64", "table", "table64", "memory"})
      if (!all.find("spectest", n)) all.add("spectest", n, *spectest_.find("spectest", n));
    return all;
  }

  fs::path dir_;
  std::string file_;
  int line_ = 0;
  Store store_;
  Imports spectest_;
  Imports registered_;
  Instance* current_ = nullptr;
  std::map<std::string, Instance*> named_;
  std::map<std::string, std::shared_ptr<const Module>> definitions_;
  Counts counts_;
  bool skipping_module_ = false;
  int found_skipped_modules_ = 0;
};

// The converter: wabt's wast2json, or wasm-tools (json-from-wast).
struct Converter {
  std::string path = "wast2json";
  bool wasm_tools = false;
};

Counts run_file(const fs::path& wast, const Converter& conv, const fs::path& tmp) {
  fs::path out = tmp / wast.stem();
  fs::create_directories(out);
  std::string json_path = (out / "script.json").string();
  std::string cmd = conv.wasm_tools ? conv.path + " json-from-wast '" + wast.string() + "' -o '" +
                                          json_path + "' --wasm-dir '" + out.string() + "' 2>&1"
                                    : conv.path + " --enable-all '" + wast.string() + "' -o '" +
                                          json_path + "' 2>&1";
  std::string log;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[512];
    while (fgets(buf, sizeof buf, p)) log += buf;
    if (pclose(p) != 0) {
      std::printf("  %s failed on %s:\n%s", conv.path.c_str(), wast.c_str(), log.c_str());
      return Counts{0, 1, 0};
    }
  }
  std::ifstream in(out / "script.json");
  json script = json::parse(in);
  Script s(out, wast.filename().string());
  Counts c = s.run(script);
  fs::remove_all(out);
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> allow_fail;
  std::vector<std::pair<std::string, std::string>> skips;  // file-name prefix, reason
  std::vector<fs::path> inputs;
  Converter conv;
  int expect_files = -1;  // --expect-files N: the suite must have exactly N files
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--allow-fail" && i + 1 < argc) {
      allow_fail.push_back(argv[++i]);
    } else if (a == "--wast2json" && i + 1 < argc) {
      conv = Converter{argv[++i], false};
    } else if (a == "--json-from-wast" && i + 1 < argc) {
      conv = Converter{argv[++i], true};
      g_wasm_tools = conv.path;
    } else if (a == "--skip" && i + 1 < argc) {
      std::string v = argv[++i];
      size_t eq = v.find('=');
      if (eq == std::string::npos || eq + 1 == v.size()) {
        std::fprintf(stderr, "spec_runner: --skip needs PREFIX=REASON\n");
        return 2;
      }
      skips.emplace_back(v.substr(0, eq), v.substr(eq + 1));
    } else if (a == "--skip-module" && i + 1 < argc) {
      std::string v = argv[++i];
      size_t colon = v.find(':'), eq = v.find('=');
      if (colon == std::string::npos || eq == std::string::npos || eq < colon ||
          eq + 1 == v.size()) {
        std::fprintf(stderr, "spec_runner: --skip-module needs FILE:LINE=REASON\n");
        return 2;
      }
      g_skip_modules[v.substr(0, colon)][std::stoi(v.substr(colon + 1, eq - colon - 1))] =
          v.substr(eq + 1);
    } else if (a == "--expect-files" && i + 1 < argc) {
      expect_files = std::stoi(argv[++i]);
    } else if (a == "--engine" && i + 1 < argc) {
      std::string e = argv[++i];
      if (e == "aot") e = "native";  // the former name
      if (e != "native" && e != "interp" && e != "tier") {
        std::fprintf(stderr, "spec_runner: --engine must be interp, native or tier\n");
        return 2;
      }
      g_load.engine = e == "native" ? Engine::Native : Engine::Interp;
      // tier: per-function tiering compiling a function (and its loops' entries) on the
      // spot at its first call or loop iteration, so that interpreted and native frames mix
      // (a call under way stays interpreted; later ones run natively).
      g_load.tier_up = e == "tier";
      g_load.tier_threshold = 1;
      g_load.tier_synchronous = true;
    } else if (a == "--standard" && i + 1 < argc) {
      std::string v = argv[++i];
      if (v != "2.0" && v != "3.0") {
        std::fprintf(stderr, "spec_runner: --standard must be 2.0 or 3.0\n");
        return 2;
      }
      g_load.standard = v == "2.0" ? Standard::V2_0 : Standard::V3_0;
    } else if (a == "--verbose") {
      g_verbose = true;
    } else {
      inputs.push_back(a);
    }
  }
  std::vector<fs::path> files;
  for (const auto& in : inputs) {
    if (fs::is_directory(in)) {
      for (const auto& e : fs::directory_iterator(in))
        if (e.path().extension() == ".wast") files.push_back(e.path());
    } else {
      files.push_back(in);
    }
  }
  if (files.empty()) {
    std::fprintf(stderr,
                 "spec_runner: no .wast files given (is the spec test suite at the given path?)\n");
    return 2;
  }
  std::sort(files.begin(), files.end());
  // A suite that shrank (a file deleted or renamed, a directory not read) must not pass.
  if (expect_files >= 0 && static_cast<int>(files.size()) != expect_files) {
    std::fprintf(stderr, "spec_runner: %zu .wast files found, %d expected (--expect-files)\n",
                 files.size(), expect_files);
    return 1;
  }
  fs::path tmp = fs::temp_directory_path() / ("edgecar-spec-" + std::to_string(getpid()));
  fs::create_directories(tmp);

  Counts required, allowed;
  int failing_files = 0;
  std::printf("%-40s %8s %8s %8s\n", "file", "passed", "failed", "skipped");
  std::map<std::string, int> skipped_files;
  for (const auto& f : files) {
    std::string fname = f.filename().string();
    auto skip = std::find_if(skips.begin(), skips.end(),
                             [&](const auto& s) { return fname.rfind(s.first, 0) == 0; });
    if (skip != skips.end()) {
      skipped_files[skip->first + "* (" + skip->second + ")"]++;
      continue;
    }
    std::fflush(stdout);
    int fds[2];
    if (pipe(fds) != 0) return 2;
    pid_t pid = fork();
    if (pid == 0) {
      close(fds[0]);
      Counts c = run_file(f, conv, tmp);
      std::fflush(stdout);
      (void)!write(fds[1], &c, sizeof c);
      _exit(0);
    }
    close(fds[1]);
    Counts c;
    ssize_t n = read(fds[0], &c, sizeof c);
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    std::string name = f.filename().string();
    bool crashed = n != sizeof c || !WIFEXITED(status) || WEXITSTATUS(status) != 0;
    if (crashed) {
      std::printf("  CRASH %s (status %d)\n", name.c_str(), status);
      c = Counts{0, 1, 0};
    }
    bool tolerated = std::any_of(allow_fail.begin(), allow_fail.end(),
                                 [&](const std::string& p) { return name.rfind(p, 0) == 0; });
    std::printf("%-40s %8d %8d %8d%s\n", name.c_str(), c.passed, c.failed, c.skipped,
                c.failed && tolerated ? "  (allowed to fail: not implemented yet)" : "");
    Counts& bucket = tolerated ? allowed : required;
    bucket.passed += c.passed;
    bucket.failed += c.failed;
    bucket.skipped += c.skipped;
    bucket.skipped_text += c.skipped_text;
    bucket.skipped_custom += c.skipped_custom;
    bucket.skipped_module += c.skipped_module;
    if (!tolerated && c.failed) failing_files++;
  }
  fs::remove_all(tmp);
  std::printf(
      "\nskipped commands: %d assert_malformed/assert_invalid modules in text form (text-parser "
      "tests), %d assert_*_custom (errors in custom sections and annotations, which an engine "
      "may ignore), %d of modules left out by --skip-module (reason printed above)\n",
      required.skipped_text, required.skipped_custom, required.skipped_module);
  if (!allow_fail.empty()) {
    std::string prefixes;
    for (const auto& p : allow_fail) prefixes += " " + p;
    std::printf(
        "files allowed to fail (not implemented yet:%s): %d passed, %d failed, %d skipped\n",
        prefixes.c_str(), allowed.passed, allowed.failed, allowed.skipped);
  }
  for (const auto& [what, n] : skipped_files)
    std::printf("files not run: %d file(s) %s\n", n, what.c_str());
  std::printf("files that must pass: %d file(s) with failures\n", failing_files);
  std::printf("files run: %zu of %zu\n",
              files.size() - std::accumulate(skipped_files.begin(), skipped_files.end(), size_t{0},
                                             [](size_t n, const auto& e) { return n + e.second; }),
              files.size());
  std::printf("SIMD instructions on %s\n", std::string(edgecar::simd_level()).c_str());
  std::printf("required: %d passed, %d failed, %d skipped\n", required.passed, required.failed,
              required.skipped);
  return failing_files ? 1 : 0;
}

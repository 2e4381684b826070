// edgecar's side of the differential test (tests/diff/difftest.py): one process that
// loads modules and calls their exports as told, one JSON command per line on stdin and
// one JSON answer per line on stdout. wasmtime runs the same commands in the driver.
//
//   {"op":"validate","path":P}            -> {"accept":true} | {"accept":false,"error":...}
//   {"op":"module","path":P}              -> {"ok":true} | {"error":"malformed|invalid|link|trap",
//                                                          "trap":CLASS,"message":...}
//   {"op":"call","name":N,"args":[V...]}  -> {"results":[V...]} | {"trap":CLASS,"message":...}
//   {"op":"state"}                        -> {"globals":{N:V},"memories":{N:[pages,hash]},
//                                             "tables":{N:[size,[V...]|"unreadable"]}}
//   {"op":"exports"}                      -> {"funcs":{N:{"params":[T],"results":[T]}},
//                                             "globals":{N:T},"tables":{N:T},"kinds":{N:KIND}}
//
// Values are strings: "i32:<unsigned decimal>", "i64:...", "f32:0x<bits>" (or "f32:nan":
// NaN payloads are not compared), "funcref:null", "funcref:NAME" (a function by the first
// of its export names in sorted order: the driver's modules export everything, so each
// function has one; "funcref:unexported" otherwise), "externref:null|ref". Tables of
// funcref and externref are compared element by element. Trap classes
// are the driver's, shared by both engines (trap_class below). Each call runs under a
// deadline (--timeout-ms), after which the store is interrupted: class "timeout".
#include <edgecar/edgecar.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <mutex>
#include <string>
#include <thread>

namespace {

using nlohmann::json;
using namespace edgecar;

const char* trap_class(TrapKind k) {
  switch (k) {
    case TrapKind::Unreachable:
      return "unreachable";
    case TrapKind::MemoryOutOfBounds:
      return "memory_oob";
    case TrapKind::TableOutOfBounds:
    case TrapKind::UndefinedElement:  // call_indirect past the table's end: wasmtime says
      return "table_oob";             // "table out of bounds" for both
    case TrapKind::UninitializedElement:
      return "null_call";
    case TrapKind::IndirectCallTypeMismatch:
      return "signature";
    case TrapKind::IntegerDivideByZero:
      return "div_zero";
    case TrapKind::IntegerOverflow:
      return "overflow";
    case TrapKind::InvalidConversionToInteger:
      return "conversion";
    case TrapKind::CallStackExhausted:
      return "stack";
    case TrapKind::Interrupted:
      return "timeout";
    case TrapKind::Host:
    case TrapKind::Exit:
      return "host";
    case TrapKind::UncaughtException:
      return "exception";
    case TrapKind::NullExceptionReference:  // wasmtime: NULL_REFERENCE for all of them
    case TrapKind::NullFunctionReference:
    case TrapKind::NullReference:
    case TrapKind::NullStructReference:
    case TrapKind::NullArrayReference:
    case TrapKind::NullI31Reference:
      return "null_ref";
    case TrapKind::ArrayOutOfBounds:
      return "array_oob";
    case TrapKind::CastFailure:
      return "cast";
    case TrapKind::OutOfMemory:
      return "oom";
  }
  return "?";
}

std::string hex(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

// The instance's functions by the first of their export names (sorted), for funcrefs.
std::map<uintptr_t, std::string> g_func_names;

std::string encode(const Value& v) {
  if (v.type == ValType::FuncRef) {
    if (v.is_null_ref()) return "funcref:null";
    auto it = g_func_names.find(v.bits);
    return "funcref:" + (it == g_func_names.end() ? std::string("unexported") : it->second);
  }
  if (v.type == ValType::ExternRef) return v.is_null_ref() ? "externref:null" : "externref:ref";
  switch (v.type.kind()) {
    case ValType::Kind::I32:
      return "i32:" + std::to_string(static_cast<uint32_t>(v.bits));
    case ValType::Kind::I64:
      return "i64:" + std::to_string(v.bits);
    case ValType::Kind::F32: {
      uint32_t b = static_cast<uint32_t>(v.bits);
      bool nan = (b & 0x7f800000u) == 0x7f800000u && (b & 0x007fffffu) != 0;
      return nan ? "f32:nan" : "f32:" + hex(b);
    }
    case ValType::Kind::F64: {
      bool nan = (v.bits & 0x7ff0000000000000ull) == 0x7ff0000000000000ull &&
                 (v.bits & 0x000fffffffffffffull) != 0;
      return nan ? "f64:nan" : "f64:" + hex(v.bits);
    }
    case ValType::Kind::V128:
      return "v128:" + hex(v.bits) + "," + hex(v.hi);
    default:
      return "unsupported";
  }
}

std::optional<Value> decode(const std::string& s) {
  auto colon = s.find(':');
  if (colon == std::string::npos) return std::nullopt;
  std::string type = s.substr(0, colon), text = s.substr(colon + 1);
  if (type == "funcref") return Value::funcref(nullptr);
  if (type == "externref") return Value::externref(nullptr);
  if (type == "v128") {  // v128:LO,HI
    auto comma = text.find(',');
    if (comma == std::string::npos) return std::nullopt;
    return Value::v128(std::stoull(text.substr(0, comma), nullptr, 0),
                       std::stoull(text.substr(comma + 1), nullptr, 0));
  }
  uint64_t bits = std::stoull(text, nullptr, 0);
  if (type == "i32") return Value::i32(static_cast<int32_t>(bits));
  if (type == "i64") return Value::i64(static_cast<int64_t>(bits));
  if (type == "f32") return Value::f32_bits(static_cast<uint32_t>(bits));
  if (type == "f64") return Value::f64_bits(bits);
  return std::nullopt;
}

// The same order-dependent hash as the driver computes with numpy: the sum of every
// little-endian 64-bit word times (2i+1), modulo 2^64.
uint64_t memory_hash(const Memory& m) {
  const uint8_t* p = m.data();
  uint64_t h = 0, n = m.size_bytes() / 8;
  for (uint64_t i = 0; i < n; i++) {
    uint64_t w;
    std::memcpy(&w, p + 8 * i, 8);
    h += w * (2 * i + 1);
  }
  return h;
}

// Interrupts the store when a call outlives its deadline.
class Watchdog {
 public:
  Watchdog() : thread_([this] { loop(); }) {}
  ~Watchdog() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void arm(Store* store, std::chrono::milliseconds timeout) {
    std::lock_guard lock(mu_);
    store_ = store;
    deadline_ = std::chrono::steady_clock::now() + timeout;
    cv_.notify_all();
  }
  void disarm() {
    std::lock_guard lock(mu_);
    store_ = nullptr;
  }

 private:
  void loop() {
    std::unique_lock lock(mu_);
    while (!stop_) {
      if (!store_) {
        cv_.wait(lock);
      } else if (cv_.wait_until(lock, deadline_) == std::cv_status::timeout && store_ &&
                 std::chrono::steady_clock::now() >= deadline_) {
        store_->interrupt();
        store_ = nullptr;
      }
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  Store* store_ = nullptr;
  std::chrono::steady_clock::time_point deadline_;
  bool stop_ = false;
  std::thread thread_;
};

json error_answer(const Error& e) {
  json out = {{"error", std::string(to_string(e.kind))}, {"message", e.message}};
  if (e.trap) out["trap"] = trap_class(*e.trap);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::chrono::milliseconds timeout{2000};
  StoreLimits limits;
  limits.max_memory_pages = 16384;  // 1 GiB, as the driver limits wasmtime
  limits.max_table_elements = 1'000'000;
  // --engine aot: every module as native code; tier: interpreted, each function compiled
  // at its first call and each loop entered natively at its first iteration.
  LoadOptions load;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--timeout-ms") timeout = std::chrono::milliseconds(std::stoul(argv[i + 1]));
    if (flag == "--max-call-depth") limits.max_call_depth = std::stoul(argv[i + 1]);
    if (flag == "--engine") {
      std::string e = argv[i + 1];
      load.engine = e == "native" || e == "aot" ? Engine::Native : Engine::Interp;
      load.tier_up = e == "tier";
      load.tier_threshold = 1;
      load.tier_synchronous = true;
    }
  }
  Watchdog watchdog;
  std::unique_ptr<Store> store;
  Instance* instance = nullptr;
  std::string line;
  while (std::getline(std::cin, line)) {
    json cmd = json::parse(line, nullptr, false);
    json out;
    std::string op = cmd.is_object() ? cmd.value("op", "") : "";
    if (op == "validate" || op == "module") {
      instance = nullptr;
      store.reset();
      auto module = Module::from_file(cmd.value("path", ""), load);
      if (op == "validate") {
        out = module ? json{{"accept", true}}
                     : json{{"accept", false}, {"error", module.error().to_string()}};
      } else if (!module) {
        out = error_answer(module.error());
      } else {
        store = std::make_unique<Store>(limits);
        watchdog.arm(store.get(), timeout);
        auto inst = store->instantiate(*module, Imports{});
        watchdog.disarm();
        store->clear_interrupt();
        if (inst) {
          instance = *inst;
          out = {{"ok", true}};
          g_func_names.clear();
          for (const auto& [name, ext] : instance->exports()) {
            if (auto* f = std::get_if<Function*>(&ext)) {
              auto [it, added] = g_func_names.emplace(reinterpret_cast<uintptr_t>(*f), name);
              if (!added && name < it->second) it->second = name;
            }
          }
        } else {
          out = error_answer(inst.error());
        }
      }
    } else if (op == "call" && instance) {
      std::vector<Value> args;
      for (const auto& a : cmd["args"]) {
        auto v = decode(a.get<std::string>());
        if (!v) break;
        args.push_back(*v);
      }
      watchdog.arm(store.get(), timeout);
      auto r = store->call(instance, cmd.value("name", ""), args);
      watchdog.disarm();
      store->clear_interrupt();
      if (r) {
        json results = json::array();
        for (const auto& v : *r) results.push_back(encode(v));
        out = {{"results", results}};
      } else if (r.error().kind == ErrorKind::Trap) {
        out = {{"trap", trap_class(*r.error().trap)}, {"message", r.error().message}};
      } else {
        out = error_answer(r.error());
      }
    } else if (op == "exports" && instance) {  // function signatures and global types
      json funcs = json::object(), globals = json::object(), kinds = json::object(),
           tables = json::object();
      for (const auto& [name, ext] : instance->exports()) {
        static const char* const kind_names[] = {"func", "table", "memory", "global", "tag"};
        kinds[name] = kind_names[ext.index()];
        if (auto* f = std::get_if<Function*>(&ext)) {
          json params = json::array(), results = json::array();
          for (ValType t : (*f)->type().params) params.push_back(std::string(to_string(t)));
          for (ValType t : (*f)->type().results) results.push_back(std::string(to_string(t)));
          funcs[name] = {{"params", params}, {"results", results}};
        } else if (auto* g = std::get_if<Global*>(&ext)) {
          globals[name] = std::string(to_string((*g)->type()));
        } else if (auto* t = std::get_if<Table*>(&ext)) {
          tables[name] = std::string(to_string((*t)->elem_type()));
        }
      }
      out = {{"funcs", funcs}, {"globals", globals}, {"tables", tables}, {"kinds", kinds}};
    } else if (op == "state" && instance) {
      json globals = json::object(), memories = json::object(), tables = json::object();
      for (const auto& [name, ext] : instance->exports()) {
        if (auto* g = std::get_if<Global*>(&ext)) {
          globals[name] = encode((*g)->get());
        } else if (auto* m = std::get_if<Memory*>(&ext)) {
          memories[name] = json::array({(*m)->size_pages(), hex(memory_hash(**m))});
        } else if (auto* t = std::get_if<Table*>(&ext)) {
          ValType et = (*t)->elem_type();
          if (et != ValType::FuncRef && et != ValType::ExternRef) {
            tables[name] = json::array({(*t)->size(), "unreadable"});  // as on wasmtime's side
            continue;
          }
          json elems = json::array();
          for (uint32_t i = 0; i < (*t)->size(); ++i) {
            auto v = (*t)->get(i);
            elems.push_back(v ? encode(*v) : "error: " + v.error().message);
          }
          tables[name] = json::array({(*t)->size(), elems});
        }
      }
      out = {{"globals", globals}, {"memories", memories}, {"tables", tables}};
    } else {
      out = {{"error", "usage"}, {"message", "unknown command or no instance: " + line}};
    }
    std::cout << out.dump() << '\n' << std::flush;
  }
  return 0;
}

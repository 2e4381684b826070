// Running WAGI functions: CGI environment in, CGI response out, limits enforced.
#include "serve/function.hpp"

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "edgecar/wasi.hpp"

namespace edgecar::serve {

// ---- deadlines ----
struct Deadlines::Impl {
  using Clock = std::chrono::steady_clock;
  std::mutex mu;
  std::condition_variable cv;
  std::map<uint64_t, std::pair<Clock::time_point, Store*>> armed;
  uint64_t next_id = 1;
  bool stop = false;
  std::thread thread;

  void loop() {
    std::unique_lock<std::mutex> lock(mu);
    while (!stop) {
      if (armed.empty()) {
        cv.wait(lock);
        continue;
      }
      auto earliest = armed.begin();
      for (auto it = armed.begin(); it != armed.end(); ++it)
        if (it->second.first < earliest->second.first) earliest = it;
      if (Clock::now() >= earliest->second.first) {
        earliest->second.second->interrupt();
        armed.erase(earliest);
        continue;
      }
      cv.wait_until(lock, earliest->second.first);
    }
  }
};

Deadlines::Deadlines() : impl_(std::make_unique<Impl>()) {
  impl_->thread = std::thread([this] { impl_->loop(); });
}

Deadlines::~Deadlines() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stop = true;
  }
  impl_->cv.notify_all();
  impl_->thread.join();
}

uint64_t Deadlines::arm(Store& store, uint32_t timeout_ms) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  uint64_t id = impl_->next_id++;
  impl_->armed[id] = {Impl::Clock::now() + std::chrono::milliseconds(timeout_ms), &store};
  impl_->cv.notify_all();
  return id;
}

void Deadlines::disarm(uint64_t id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->armed.erase(id);
}

// ---- CGI ----
namespace {

std::string trim(std::string s) {
  size_t a = s.find_first_not_of(" \t\r");
  size_t b = s.find_last_not_of(" \t\r");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

std::string cgi_name(const std::string& header) {
  std::string n = "HTTP_";
  for (char c : header) n += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return n;
}

std::string json_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '"': o += "\\\""; break;
      case '\\': o += "\\\\"; break;
      case '\n': o += "\\n"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          o += buf;
        } else {
          o += c;
        }
    }
  }
  return o;
}

Response json_error(unsigned status, const std::string& kind, const std::string& message, const std::vector<std::string>& backtrace = {}) {
  Response r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/json");
  r.body = "{\"error\":\"" + kind + "\",\"message\":\"" + json_escape(message) + "\"";
  if (!backtrace.empty()) {
    r.body += ",\"backtrace\":[";
    for (size_t i = 0; i < backtrace.size(); ++i) r.body += (i ? ",\"" : "\"") + json_escape(backtrace[i]) + "\"";
    r.body += "]";
  }
  r.body += "}\n";
  return r;
}

}  // namespace

Response parse_cgi_output(std::string out) {
  Response r;
  // Headers are present when the output starts with "Name: value" lines ending in a
  // blank line and naming Content-Type, Status or Location; otherwise it is all body.
  size_t end = out.find("\n\n");
  size_t crlf = out.find("\r\n\r\n");
  size_t body_at = std::string::npos;
  if (crlf != std::string::npos && (end == std::string::npos || crlf < end)) {
    end = crlf;
    body_at = crlf + 4;
  } else if (end != std::string::npos) {
    body_at = end + 2;
  }
  if (end != std::string::npos && end < 16384) {
    Headers hs;
    bool valid = true, recognised = false;
    size_t pos = 0;
    while (pos < end) {
      size_t nl = out.find('\n', pos);
      if (nl == std::string::npos || nl > end) nl = end;
      std::string line = out.substr(pos, nl - pos);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      size_t colon = line.find(':');
      bool token = colon != std::string::npos && colon > 0;
      for (size_t i = 0; token && i < colon; ++i) {
        char c = line[i];
        token = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
      }
      if (!token) {
        valid = false;
        break;
      }
      std::string name = line.substr(0, colon), value = trim(line.substr(colon + 1));
      std::string lower = name;
      for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (lower == "content-type" || lower == "status" || lower == "location") recognised = true;
      hs.emplace_back(name, value);
      pos = nl + 1;
    }
    if (valid && recognised) {
      for (auto& [name, value] : hs) {
        std::string lower = name;
        for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (lower == "status") {
          unsigned code = static_cast<unsigned>(std::atoi(value.c_str()));
          r.status = code >= 100 && code <= 599 ? code : 500;
        } else {
          if (lower == "location" && r.status == 200) r.status = 302;
          r.headers.emplace_back(name, value);
        }
      }
      r.body = out.substr(body_at);
      return r;
    }
  }
  r.headers.emplace_back("Content-Type", "application/octet-stream");
  r.body = std::move(out);
  return r;
}

Expected<std::shared_ptr<Function>> Function::load(const FunctionSpec& spec) {
  auto m = Module::from_file(spec.module);
  if (!m) return std::move(m).error();
  if (!(*m)->export_func_type("_start"))
    return Error{ErrorKind::Usage, spec.module + ": a WAGI function must export _start (a WASI command)"};
  auto f = std::make_shared<Function>();
  f->spec_ = spec;
  f->module_ = *m;
  // Link once against a throwaway store, so a module whose imports cannot be met is
  // rejected at start-up rather than on its first request.
  wasi::Config probe_cfg;
  auto probe = wasi::Context::create(probe_cfg);
  Store store;
  Imports imports;
  (*probe)->add_to(store, imports);
  for (const auto& im : f->module_->imports()) {
    if (!imports.find(im.module, im.name))
      return Error{ErrorKind::Link, spec.module + ": unknown import \"" + im.module + "\" \"" + im.name + "\" (" + im.type + "): the function may use WASI (wasi_snapshot_preview1) only"};
  }
  return f;
}

Invocation Function::invoke(const Request& req, Deadlines& deadlines) const {
  Invocation inv;
  std::string out, err;
  wasi::Config cfg;
  cfg.args = {spec_.name};
  cfg.env = {
      "GATEWAY_INTERFACE=CGI/1.1",
      "SERVER_PROTOCOL=HTTP/1.1",
      "SERVER_SOFTWARE=edgecar",
      "REQUEST_METHOD=" + req.method,
      "PATH_INFO=" + req.path,
      "SCRIPT_NAME=" + spec_.route,
      "QUERY_STRING=" + req.query,
      "REMOTE_ADDR=" + req.remote_addr,
      "SERVER_NAME=" + req.server_name,
      "SERVER_PORT=" + std::to_string(req.server_port),
      "CONTENT_LENGTH=" + std::to_string(req.body.size()),
  };
  for (const auto& [name, value] : req.headers) {
    std::string lower = name;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == "content-type") {
      cfg.env.push_back("CONTENT_TYPE=" + value);
    } else if (lower != "content-length") {
      cfg.env.push_back(cgi_name(name) + "=" + value);
    }
  }
  cfg.env.insert(cfg.env.end(), spec_.env.begin(), spec_.env.end());
  cfg.preopens = spec_.dirs;
  cfg.stdin_from_buffer = true;
  cfg.stdin_data = req.body;
  cfg.stdout_capture = &out;
  cfg.stderr_capture = &err;
  auto ctx = wasi::Context::create(std::move(cfg));
  if (!ctx) {
    inv.outcome = Outcome::Failed;
    inv.response = json_error(500, "setup", ctx.error().message);
    return inv;
  }
  StoreLimits limits;
  limits.max_memory_pages = spec_.limits.max_memory_mib * 16;
  Store store(limits);
  Imports imports;
  (*ctx)->add_to(store, imports);
  uint64_t deadline = deadlines.arm(store, spec_.limits.timeout_ms);
  Expected<void> result;
  auto inst = store.instantiate(module_, imports);
  if (!inst) {
    result = std::move(inst).error();
  } else {
    auto r = store.call(*inst, "_start", {});
    if (!r) result = std::move(r).error();
  }
  deadlines.disarm(deadline);
  if (!result.ok()) {
    const Error& e = result.error();
    if (e.trap == TrapKind::Exit && e.exit_code == 0) {
      // proc_exit(0) is a normal end.
    } else if (e.trap == TrapKind::Interrupted) {
      inv.outcome = Outcome::Timeout;
      inv.response = json_error(504, "timeout", "function " + spec_.name + " exceeded its time limit of " + std::to_string(spec_.limits.timeout_ms) + " ms");
      return inv;
    } else if (e.trap == TrapKind::Exit) {
      inv.outcome = Outcome::Failed;
      inv.response = json_error(500, "exit", "function " + spec_.name + " exited with code " + std::to_string(e.exit_code) + (err.empty() ? "" : ": " + err.substr(0, 1000)));
      return inv;
    } else {
      inv.outcome = Outcome::Trap;
      inv.response = json_error(500, "trap", e.message, e.backtrace);
      return inv;
    }
  }
  inv.response = parse_cgi_output(std::move(out));
  return inv;
}

}  // namespace edgecar::serve

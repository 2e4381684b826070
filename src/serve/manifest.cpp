// Manifest parsing with yaml-cpp. Unknown keys are errors (a typo must not be ignored).
#include "serve/manifest.hpp"

#include "host/host_module.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <set>

namespace edgecar::serve {

namespace {

namespace fs = std::filesystem;

struct Fail {
  int line;
  std::string message;
};

[[noreturn]] void fail(const YAML::Node& n, std::string message) {
  throw Fail{n.Mark().line + 1, std::move(message)};
}

void only_keys(const YAML::Node& map, const std::set<std::string>& allowed,
               const std::string& where) {
  if (!map.IsMap()) fail(map, where + " must be a mapping");
  for (const auto& kv : map) {
    std::string key = kv.first.as<std::string>();
    if (!allowed.count(key)) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      fail(kv.first,
           "unknown key \"" + key + "\" in " + where + " (expected one of: " + list + ")");
    }
  }
}

std::string str(const YAML::Node& n, const std::string& what) {
  if (!n.IsScalar()) fail(n, what + " must be a string");
  return n.as<std::string>();
}

template <class T>
T number(const YAML::Node& n, const std::string& what, T min, T max) {
  if (!n.IsScalar()) fail(n, what + " must be a number");
  T v;
  try {
    v = n.as<T>();
  } catch (const YAML::Exception&) {
    fail(n, what + " must be a number, got \"" + n.Scalar() + "\"");
  }
  if (v < min || v > max)
    fail(n, what + " must be between " + std::to_string(min) + " and " + std::to_string(max));
  return v;
}

std::vector<std::string> strings(const YAML::Node& n, const std::string& what) {
  std::vector<std::string> out;
  if (n.IsScalar()) {
    out.push_back(n.as<std::string>());
  } else if (n.IsSequence()) {
    for (const auto& e : n) out.push_back(str(e, what + " entries"));
  } else {
    fail(n, what + " must be a list of strings");
  }
  return out;
}

std::string resolve(const fs::path& base, const std::string& p) {
  fs::path path(p);
  return (path.is_absolute() ? path : base / path).lexically_normal().string();
}

// YAML merge keys (`<<: *anchor`, as Kubernetes and Compose files use them): the keys of
// the merged mapping(s) that the mapping does not set itself. yaml-cpp leaves `<<` as a
// plain key.
YAML::Node merged(const YAML::Node& n) {
  if (!n.IsMap() || !n["<<"]) return n;
  YAML::Node out(YAML::NodeType::Map);
  for (const auto& kv : n)
    if (kv.first.as<std::string>() != "<<") out[kv.first] = kv.second;
  const YAML::Node& from = n["<<"];
  auto take = [&](const YAML::Node& m) {
    if (!m.IsMap()) fail(n["<<"], "<< must name a mapping (an anchor) or a list of them");
    for (const auto& kv : merged(m)) {
      const YAML::Node& set = out;  // a const look-up: no entry is created
      if (!set[kv.first.as<std::string>()]) out[kv.first] = kv.second;
    }
  };
  if (from.IsSequence()) {
    for (const auto& m : from) take(m);
  } else {
    take(from);
  }
  return out;
}

// Network grants (WasmEdge's socket extension): the rules of `edgecar run`'s flags.
wasi::Network network(const YAML::Node& net, const std::string& where, const std::string& name) {
  wasi::Network out;
  only_keys(net, {"listen", "connect", "lookup", "redirect", "max_sockets"}, where);
  for (const char* kind : {"listen", "connect"}) {
    if (!net[kind]) continue;
    for (const auto& text : strings(net[kind], where + "." + kind)) {
      auto rule = wasi::NetRule::parse(text);
      if (!rule) fail(net[kind], where + "." + kind + ": " + rule.error().message);
      (std::string(kind) == "listen" ? out.listen : out.connect).push_back(*rule);
    }
  }
  if (net["lookup"]) out.lookup = strings(net["lookup"], where + ".lookup");
  if (net["redirect"])
    for (const auto& text : strings(net["redirect"], where + ".redirect")) {
      auto r = wasi::NetRedirect::parse(text);
      if (!r) fail(net["redirect"], where + ".redirect: " + r.error().message);
      out.redirect.push_back(*r);
    }
  if (net["max_sockets"])
    out.max_sockets = number<uint32_t>(net["max_sockets"], "max_sockets", 1, 1'000'000);
  out.log_name = name;
  return out;
}

// A long-running networked guest: its module, its listener's port and what it may use.
ServerSpec server(const YAML::Node& n, const fs::path& base) {
  ServerSpec sv;
  sv.line = n.Mark().line + 1;
  only_keys(n,
            {"module", "port", "args", "env", "dirs", "host_modules", "nn_allow_guest_models",
             "network", "engine", "max_memory_mib"},
            "server");
  if (!n["module"]) fail(n, "server needs a module");
  sv.module = resolve(base, str(n["module"], "server.module"));
  std::error_code ec;
  if (!fs::is_regular_file(sv.module, ec))
    fail(n["module"], "server.module: no such file " + sv.module);
  if (!n["port"]) fail(n, "server needs the port its guest listens on");
  sv.port = number<uint16_t>(n["port"], "server.port", 1, 65535);
  if (n["args"]) sv.args = strings(n["args"], "server.args");
  if (const auto& e = n["env"]) {
    if (!e.IsMap()) fail(e, "server.env must be a mapping");
    for (const auto& kv : e)
      sv.env.push_back(kv.first.as<std::string>() + "=" + kv.second.as<std::string>());
  }
  if (n["dirs"])
    for (const auto& d : strings(n["dirs"], "server.dirs")) {
      size_t colon = d.find(':');
      wasi::Preopen p{resolve(base, d.substr(0, colon)),
                      colon == std::string::npos ? d : d.substr(colon + 1)};
      if (!fs::is_directory(p.host_path, ec))
        fail(n["dirs"], "server.dirs: no such directory " + p.host_path);
      sv.dirs.push_back(p);
    }
  if (n["host_modules"]) {
    sv.host_modules = strings(n["host_modules"], "server.host_modules");
    for (const auto& h : sv.host_modules)
      if (!host::find(h))
        fail(n["host_modules"], "server.host_modules: unknown host module \"" + h +
                                    "\" (available: " + host::names() + ")");
  }
  if (n["nn_allow_guest_models"]) sv.nn_allow_guest_models = n["nn_allow_guest_models"].as<bool>();
  if (n["engine"]) {
    std::string e = str(n["engine"], "server.engine");
    if (e == "auto")
      sv.engine = EngineChoice::Auto;
    else if (e == "interp")
      sv.engine = EngineChoice::Interp;
    else if (e == "native" || e == "aot")  // aot: the former name
      sv.engine = EngineChoice::Native;
    else
      fail(n["engine"], "server.engine must be auto, interp or native");
  }
  if (n["max_memory_mib"])
    sv.max_memory_mib = number<uint32_t>(n["max_memory_mib"], "server.max_memory_mib", 1, 4096);
  if (n["network"]) sv.network = network(n["network"], "server.network", "server");
  // Listening on its own port is what a server is for.
  wasi::NetRule own;
  own.port_lo = own.port_hi = sv.port;
  sv.network.listen.push_back(own);
  return sv;
}

FunctionSpec function(const YAML::Node& node, size_t i, const fs::path& base) {
  const YAML::Node n = merged(node);
  std::string where = "functions[" + std::to_string(i) + "]";
  only_keys(n,
            {"name", "route", "methods", "module", "abi", "engine", "env", "dirs", "host_modules",
             "nn_preload", "nn_allow_guest_models", "network", "limits"},
            where);
  FunctionSpec f;
  f.line = node.Mark().line + 1;
  if (!n["route"]) fail(n, where + " needs a route");
  if (!n["module"]) fail(n, where + " needs a module (path to a .wasm file)");
  f.route = str(n["route"], where + ".route");
  if (f.route.empty() || f.route[0] != '/') fail(n["route"], where + ".route must start with '/'");
  if (f.route.size() >= 2 && f.route.compare(f.route.size() - 2, 2, "/*") == 0) {
    f.prefix = true;
    f.route.pop_back();  // "/api/*" matches paths starting with "/api/"
  }
  f.name = n["name"] ? str(n["name"], where + ".name") : f.route;
  f.module = resolve(base, str(n["module"], where + ".module"));
  std::error_code ec;
  if (!fs::is_regular_file(f.module, ec))
    fail(n["module"], where + ".module: no such file " + f.module);
  if (n["methods"]) {
    for (auto m : strings(n["methods"], where + ".methods")) {
      for (auto& c : m) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      static const std::set<std::string> known = {"GET",    "HEAD",  "POST",   "PUT",
                                                  "DELETE", "PATCH", "OPTIONS"};
      if (!known.count(m)) fail(n["methods"], where + ".methods: unknown method " + m);
      f.methods.push_back(m);
    }
  }
  if (n["abi"]) {
    std::string abi = str(n["abi"], where + ".abi");
    if (abi == "wagi" || abi == "command") {
      f.abi = Abi::Wagi;
    } else if (abi == "handler") {
      f.abi = Abi::Handler;
    } else {
      fail(n["abi"], where + ".abi: \"" + abi + "\" is not supported (supported: wagi, handler)");
    }
  }
  if (n["engine"]) {
    std::string e = str(n["engine"], where + ".engine");
    if (e == "auto") {
      f.engine = EngineChoice::Auto;
    } else if (e == "interp") {
      f.engine = EngineChoice::Interp;
    } else if (e == "native" || e == "aot") {  // aot: the former name
      f.engine = EngineChoice::Native;
    } else {
      fail(n["engine"], where + ".engine: \"" + e + "\" is not one of auto, interp, native");
    }
  }
  if (const auto& env = n["env"]) {
    if (!env.IsMap()) fail(env, where + ".env must be a mapping of NAME: value");
    for (const auto& kv : env)
      f.env.push_back(kv.first.as<std::string>() + "=" + str(kv.second, where + ".env values"));
  }
  if (n["dirs"]) {
    for (const auto& d : strings(n["dirs"], where + ".dirs")) {
      size_t colon = d.find(':');
      wasi::Preopen p;
      p.host_path = resolve(base, d.substr(0, colon));
      p.guest_path = colon == std::string::npos ? d : d.substr(colon + 1);
      if (!fs::is_directory(p.host_path, ec))
        fail(n["dirs"], where + ".dirs: no such directory " + p.host_path);
      f.dirs.push_back(p);
    }
  }
  if (n["host_modules"]) {
    f.host_modules = strings(n["host_modules"], where + ".host_modules");
    for (const auto& h : f.host_modules)
      if (!host::find(h))
        fail(n["host_modules"], where + ".host_modules: unknown host module \"" + h +
                                    "\" (available: " + host::names() + ")");
  }
  if (n["nn_preload"]) {
    for (const auto& spec : strings(n["nn_preload"], where + ".nn_preload")) {
      auto p = nn::parse_preload(spec);
      if (!p) fail(n["nn_preload"], where + ".nn_preload: " + p.error().message);
      p->path = resolve(base, p->path);
      if (!fs::is_regular_file(p->path, ec))
        fail(n["nn_preload"], where + ".nn_preload: no such model file " + p->path);
      f.nn_preload.push_back(*p);
    }
    if (std::find(f.host_modules.begin(), f.host_modules.end(), "wasi_nn") == f.host_modules.end())
      fail(n["nn_preload"], where + ".nn_preload needs host module wasi_nn in host_modules");
  }
  if (n["nn_allow_guest_models"]) {
    f.nn_allow_guest_models = n["nn_allow_guest_models"].as<bool>();
    if (std::find(f.host_modules.begin(), f.host_modules.end(), "wasi_nn") == f.host_modules.end())
      fail(n["nn_allow_guest_models"],
           where + ".nn_allow_guest_models needs host module wasi_nn in host_modules");
  }
  if (n["network"]) f.network = network(n["network"], where + ".network", f.route);
  if (const auto& l = n["limits"]) {
    only_keys(l,
              {"max_memory_mib", "timeout_ms", "max_body_bytes", "max_response_bytes",
               "max_response_headers", "max_concurrent"},
              where + ".limits");
    if (l["max_response_bytes"])
      f.limits.max_response_bytes =
          number<uint64_t>(l["max_response_bytes"], "max_response_bytes", 0, 1ull << 32);
    if (l["max_concurrent"])
      f.limits.max_concurrent =
          number<uint32_t>(l["max_concurrent"], "max_concurrent", 0, 1'000'000);
    if (l["max_response_headers"])
      f.limits.max_response_headers =
          number<uint32_t>(l["max_response_headers"], "max_response_headers", 0, 10'000);
    if (l["max_memory_mib"])
      f.limits.max_memory_mib = number<uint32_t>(l["max_memory_mib"], "max_memory_mib", 1, 4096);
    if (l["timeout_ms"])
      f.limits.timeout_ms = number<uint32_t>(l["timeout_ms"], "timeout_ms", 1, 3'600'000);
    if (l["max_body_bytes"])
      f.limits.max_body_bytes =
          number<uint64_t>(l["max_body_bytes"], "max_body_bytes", 0, 1ull << 32);
  }
  return f;
}

}  // namespace

Expected<Manifest> load_manifest(const std::string& path) {
  Manifest m;
  m.path = path;
  fs::path base = fs::absolute(path).parent_path();
  try {
    YAML::Node root = YAML::LoadFile(path);
    if (!root || root.IsNull()) throw Fail{1, "the manifest is empty"};
    only_keys(
        root,
        {"app_id", "listen", "port", "workers", "max_connections", "max_queued", "write_timeout_ms",
         "cors", "functions", "static", "subscriptions", "bindings", "dapr", "server"},
        "the manifest");
    if (!root["app_id"]) fail(root, "app_id is required");
    m.app_id = str(root["app_id"], "app_id");
    if (root["listen"]) {
      std::string listen = str(root["listen"], "listen");
      size_t colon = listen.rfind(':');
      if (colon == std::string::npos)
        fail(root["listen"], "listen must be ADDRESS:PORT, e.g. 0.0.0.0:8080");
      m.address = listen.substr(0, colon);
      try {
        int port = std::stoi(listen.substr(colon + 1));
        if (port < 0 || port > 65535) throw std::out_of_range("port");
        m.port = static_cast<uint16_t>(port);
      } catch (const std::exception&) {
        fail(root["listen"], "listen: bad port in \"" + listen + "\"");
      }
    }
    if (root["port"]) m.port = number<uint16_t>(root["port"], "port", 0, 65535);
    if (root["workers"]) m.workers = number<uint32_t>(root["workers"], "workers", 1, 1024);
    if (root["max_connections"])
      m.max_connections =
          number<uint32_t>(root["max_connections"], "max_connections", 1, 1'000'000);
    if (root["max_queued"])
      m.max_queued = number<uint32_t>(root["max_queued"], "max_queued", 0, 1'000'000);
    if (root["write_timeout_ms"])
      m.write_timeout_ms =
          number<uint32_t>(root["write_timeout_ms"], "write_timeout_ms", 1, 3'600'000);
    if (root["cors"]) m.cors = root["cors"].as<bool>();
    if (const auto& fns = root["functions"]) {
      if (!fns.IsSequence()) fail(fns, "functions must be a list");
      std::set<std::string> seen;
      for (size_t i = 0; i < fns.size(); ++i) {
        FunctionSpec f = function(fns[i], i, base);
        std::string key = std::string(f.prefix ? "prefix " : "exact ") + f.route;
        if (!seen.insert(key).second)
          fail(fns[i], "functions[" + std::to_string(i) + "]: route " + f.route +
                           (f.prefix ? "*" : "") + " is already used");
        m.functions.push_back(std::move(f));
      }
    }
    for (auto& f : m.functions) f.app_id = m.app_id;
    if (const auto& subs = root["subscriptions"]) {
      if (!subs.IsSequence()) fail(subs, "subscriptions must be a list of {pubsub, topic, route}");
      for (size_t i = 0; i < subs.size(); ++i) {
        std::string where = "subscriptions[" + std::to_string(i) + "]";
        const auto& n = subs[i];
        only_keys(n, {"pubsub", "topic", "route", "rules", "dead_letter_topic"}, where);
        Subscription sub;
        if (!n["pubsub"] || !n["topic"]) fail(n, where + " needs pubsub and topic");
        sub.pubsub = str(n["pubsub"], where + ".pubsub");
        sub.topic = str(n["topic"], where + ".topic");
        sub.route = n["route"] ? str(n["route"], where + ".route") : "/" + sub.topic;
        if (sub.route.empty() || sub.route[0] != '/')
          fail(n["route"], where + ".route must start with '/'");
        if (const auto& rules = n["rules"]) {
          if (!rules.IsSequence()) fail(rules, where + ".rules must be a list of {match, path}");
          for (const auto& r : rules) {
            only_keys(r, {"match", "path"}, where + ".rules");
            if (!r["match"] || !r["path"])
              fail(r, where + ".rules: each rule needs match and path");
            sub.rules.emplace_back(str(r["match"], "match"), str(r["path"], "path"));
          }
        }
        if (n["dead_letter_topic"])
          sub.dead_letter_topic = str(n["dead_letter_topic"], where + ".dead_letter_topic");
        sub.line = n.Mark().line + 1;
        m.subscriptions.push_back(std::move(sub));
      }
    }
    if (root["bindings"]) {
      for (const auto& b : strings(root["bindings"], "bindings")) {
        if (b.empty() || b.find('/') != std::string::npos)
          fail(root["bindings"], "bindings: \"" + b + "\" is not a binding name");
        m.bindings.push_back(b);
      }
    }
    if (const auto& d = root["dapr"]) {
      only_keys(d, {"state_file"}, "dapr");
      if (d["state_file"]) m.state_file = resolve(base, str(d["state_file"], "dapr.state_file"));
    }
    // Every subscription and binding needs a function at its route.
    auto routed = [&](const std::string& path) {
      for (const auto& f : m.functions)
        if (f.prefix ? path.compare(0, f.route.size(), f.route) == 0 : path == f.route) return true;
      return false;
    };
    for (const auto& sub : m.subscriptions) {
      if (!routed(sub.route))
        throw Fail{sub.line,
                   "subscription to " + sub.topic + ": no function serves its route " + sub.route};
      for (const auto& [match, path] : sub.rules)
        if (!routed(path))
          throw Fail{sub.line,
                     "subscription to " + sub.topic + ": no function serves rule path " + path};
    }
    for (const auto& b : m.bindings)
      if (!routed("/" + b)) fail(root["bindings"], "binding " + b + ": no function serves /" + b);
    if (const auto& st = root["static"]) {
      if (!st.IsSequence()) fail(st, "static must be a list of {route, dir}");
      for (size_t i = 0; i < st.size(); ++i) {
        only_keys(st[i], {"route", "dir"}, "static[" + std::to_string(i) + "]");
        StaticSpec s;
        s.line = st[i].Mark().line + 1;
        s.route = st[i]["route"] ? str(st[i]["route"], "static route") : "/";
        if (s.route.empty() || s.route[0] != '/') fail(st[i], "static route must start with '/'");
        if (!st[i]["dir"]) fail(st[i], "static[" + std::to_string(i) + "] needs a dir");
        s.dir = resolve(base, str(st[i]["dir"], "static dir"));
        std::error_code ec;
        if (!fs::is_directory(s.dir, ec))
          fail(st[i]["dir"], "static dir: no such directory " + s.dir);
        m.statics.push_back(std::move(s));
      }
    }
    if (const auto& sv = root["server"]) {
      if (!m.functions.empty() || !m.statics.empty())
        fail(sv,
             "server: an app with a server guest serves nothing else (the guest has its own "
             "listener); give its functions another manifest");
      m.server = server(sv, base);
      m.server->network.log_name = m.app_id;
    }
    if (m.functions.empty() && m.statics.empty() && !m.server)
      fail(root, "nothing to serve: add functions, static or a server");
  } catch (const Fail& f) {
    return Error{ErrorKind::Usage, path + ":" + std::to_string(f.line) + ": " + f.message};
  } catch (const YAML::BadFile&) {
    return Error{ErrorKind::Io, "cannot read manifest " + path};
  } catch (const YAML::Exception& e) {
    return Error{ErrorKind::Usage, path + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg};
  }
  return m;
}

}  // namespace edgecar::serve

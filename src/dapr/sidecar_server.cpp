// Embedded Dapr's HTTP front (sidecar_server.hpp): Boost.Beast, synchronous, a thread per
// connection up to a cap (the clients are the guests of this host, on loopback), each
// connection's reads bounded in time and size.
#include "dapr/sidecar_server.hpp"

#include <utility>  // before Asio: GCC 12 needs std::exchange declared first

#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml-cpp/yaml.h>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "dapr/embedded.hpp"

namespace edgecar::dapr {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace fs = std::filesystem;

std::string default_registry() {
  const char* env = std::getenv("EDGECAR_DAPR_APPS");
  if (env && *env) return env;
  return "/tmp/edgecar-dapr-apps-" + std::to_string(getuid());
}

namespace {

constexpr int kReadTimeoutSeconds = 30;

// The app port another edgecar registered for app_id, if that process still runs.
std::optional<uint16_t> registered_port(const std::string& registry, const std::string& app_id) {
  if (app_id.empty() || app_id.find('/') != std::string::npos || app_id[0] == '.')
    return std::nullopt;
  std::ifstream in(fs::path(registry) / app_id);
  unsigned port = 0;
  long pid = 0;
  if (!(in >> port >> pid) || port == 0 || port > 65535 || pid <= 0) return std::nullopt;
  if (kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) return std::nullopt;
  return static_cast<uint16_t>(port);
}

// The components of a resources folder: local-file secret stores are served, state
// stores are edgecar's own; anything else is named as not provided.
Expected<std::vector<std::string>> load_components(const std::string& dir, Embedded& dapr) {
  std::vector<std::string> notes;
  if (dir.empty()) return notes;
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return Error{ErrorKind::Usage, "--resources-path " + dir + " is not a directory"};
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().extension() == ".yaml" || e.path().extension() == ".yml")
      files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& path : files) {
    std::vector<YAML::Node> docs;
    try {
      docs = YAML::LoadAllFromFile(path.string());
    } catch (const YAML::Exception& e) {
      return Error{ErrorKind::Usage, path.string() + ":" + std::to_string(e.mark.line + 1) +
                                         ": not a Dapr component: " + e.msg};
    }
    for (const auto& doc : docs) {
      if (!doc.IsMap() || !doc["kind"] || doc["kind"].as<std::string>("") != "Component") continue;
      std::string name = doc["metadata"] ? doc["metadata"]["name"].as<std::string>("") : "";
      std::string type = doc["spec"] ? doc["spec"]["type"].as<std::string>("") : "";
      std::map<std::string, std::string> meta;
      if (doc["spec"] && doc["spec"]["metadata"] && doc["spec"]["metadata"].IsSequence())
        for (const auto& m : doc["spec"]["metadata"])
          meta[m["name"].as<std::string>("")] = m["value"].as<std::string>("");
      if (type == "secretstores.local.file") {
        SecretStore s{name, meta["secretsFile"],
                      meta.count("nestedSeparator") ? meta["nestedSeparator"] : ":"};
        if (s.file.empty())
          return Error{ErrorKind::Usage,
                       path.string() + ": secret store " + name + " has no secretsFile"};
        notes.push_back("secret store " + name + ": " + s.file);
        dapr.add_secret_store(std::move(s));
      } else if (type.rfind("state.", 0) == 0) {
        notes.push_back("state store " + name + " (" + type + "): edgecar's own state store");
      } else {
        notes.push_back("component " + name + " (" + type + "): not provided by embedded Dapr");
      }
    }
  }
  return notes;
}

http::Response health(unsigned status) {
  http::Response r;
  r.status = status;
  return r;
}

}  // namespace

struct SidecarServer::Impl {
  SidecarOptions options;
  std::vector<std::string> notes;
  asio::io_context ioc;
  asio::ip::tcp::acceptor acceptor{ioc};
  std::thread accept_thread;
  std::mutex mu;
  std::condition_variable cv;
  std::set<int> connections;  // native handles, for a stop to shut them down
  bool stopping = false;
  bool registered = false;

  void accept_loop();
  void serve(asio::ip::tcp::socket socket);
  http::Response answer(const http::Request& req);
};

http::Response SidecarServer::Impl::answer(const http::Request& req) {
  if (req.path == "/v1.0/healthz" || req.path == "/v1.0/healthz/outbound") return health(204);
  if (req.path == "/v1.0/metadata" && req.method == "GET") {
    http::Response r;
    r.headers.add("Content-Type", "application/json");
    r.body = "{\"id\":\"" + options.app_id + "\",\"runtimeVersion\":\"edgecar-embedded\"}";
    return r;
  }
  return Embedded::instance().call(req, options.app_id);
}

void SidecarServer::Impl::serve(asio::ip::tcp::socket socket) {
  int fd = socket.native_handle();
  timeval tv{kReadTimeoutSeconds, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  beast::flat_buffer buffer;
  beast::error_code ec;
  for (;;) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.body_limit(options.max_body_bytes);
    parser.header_limit(16 * 1024);
    bhttp::read(socket, buffer, parser, ec);
    if (ec) {
      if (ec == bhttp::error::body_limit) {
        bhttp::response<bhttp::string_body> too_big{bhttp::status::payload_too_large, 11};
        too_big.set(bhttp::field::connection, "close");
        too_big.prepare_payload();
        bhttp::write(socket, too_big, ec);
      }
      break;
    }
    auto& in = parser.get();
    http::Request req;
    req.method = std::string(in.method_string());
    std::string target(in.target());
    size_t q = target.find('?');
    req.path = target.substr(0, q);
    if (q != std::string::npos) req.query = target.substr(q + 1);
    for (const auto& h : in) req.headers.add(std::string(h.name_string()), std::string(h.value()));
    req.body = std::move(in.body());
    http::Response out = answer(req);
    bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(out.status), 11};
    for (const auto& [k, v] : out.headers)
      if (!http::iequals(k, "content-length") && !http::iequals(k, "transfer-encoding"))
        res.set(k, v);
    res.body() = std::move(out.body);
    res.keep_alive(in.keep_alive());
    res.prepare_payload();
    bhttp::write(socket, res, ec);
    if (ec || !res.keep_alive()) break;
  }
  socket.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
}

void SidecarServer::Impl::accept_loop() {
  for (;;) {
    asio::ip::tcp::socket socket(ioc);
    beast::error_code ec;
    acceptor.accept(socket, ec);
    std::unique_lock<std::mutex> lock(mu);
    if (stopping) return;
    if (ec) continue;
    if (connections.size() >= options.max_connections) {
      socket.close(ec);  // over the cap: refused at once rather than queued
      continue;
    }
    int fd = socket.native_handle();
    connections.insert(fd);
    std::thread([this, fd, s = std::move(socket)]() mutable {
      serve(std::move(s));
      std::lock_guard<std::mutex> lock(mu);
      connections.erase(fd);
      cv.notify_all();
    }).detach();
  }
}

Expected<std::unique_ptr<SidecarServer>> SidecarServer::start(const SidecarOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  if (impl->options.registry.empty()) impl->options.registry = default_registry();
  Embedded& dapr = Embedded::instance();
  auto notes = load_components(options.resources_path, dapr);
  if (!notes) return std::move(notes).error();
  impl->notes = std::move(*notes);
  std::string registry = impl->options.registry;
  dapr.set_remote_apps([registry](const std::string& app_id,
                                  const http::Request& req) -> std::optional<http::Response> {
    auto port = registered_port(registry, app_id);
    if (!port) return std::nullopt;
    http::Response r = sidecar("127.0.0.1", *port, "")->call(req, "");
    // The client says "daprd" when it cannot reach the port; here that port is an app's.
    if (r.status == 503 && r.body.find("ERR_EDGECAR_SIDECAR_UNAVAILABLE") != std::string::npos)
      return api_error(500, "ERR_DIRECT_INVOKE",
                       "app " + app_id + " (127.0.0.1:" + std::to_string(*port) +
                           ") did not answer the invocation");
    return r;
  });
  beast::error_code ec;
  asio::ip::tcp::endpoint at(asio::ip::make_address("127.0.0.1"), options.http_port);
  impl->acceptor.open(at.protocol(), ec);
  if (!ec) impl->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(at, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return Error{ErrorKind::Usage, "embedded Dapr cannot listen on 127.0.0.1:" +
                                       std::to_string(options.http_port) + ": " + ec.message()};
  if (options.app_port) {
    std::error_code fec;
    fs::create_directories(registry, fec);
    fs::permissions(registry, fs::perms::owner_all, fs::perm_options::replace, fec);
    fs::path file = fs::path(registry) / options.app_id;
    fs::path tmp = file.string() + ".tmp." + std::to_string(getpid());
    std::ofstream(tmp) << options.app_port << " " << getpid() << "\n";
    fs::rename(tmp, file, fec);
    if (fec)
      return Error{ErrorKind::Usage, "cannot register app " + options.app_id + " in " + registry +
                                         ": " + fec.message()};
    impl->registered = true;
  }
  Impl* raw = impl.get();
  impl->accept_thread = std::thread([raw] { raw->accept_loop(); });
  return std::unique_ptr<SidecarServer>(new SidecarServer(std::move(impl)));
}

SidecarServer::SidecarServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

SidecarServer::~SidecarServer() {
  Impl& I = *impl_;
  {
    std::lock_guard<std::mutex> lock(I.mu);
    I.stopping = true;
    for (int fd : I.connections) ::shutdown(fd, SHUT_RDWR);
  }
  beast::error_code ec;
  ::shutdown(I.acceptor.native_handle(), SHUT_RDWR);  // wakes the blocking accept
  if (I.accept_thread.joinable()) I.accept_thread.join();
  I.acceptor.close(ec);
  std::unique_lock<std::mutex> lock(I.mu);
  I.cv.wait(lock, [&] { return I.connections.empty(); });
  if (I.registered) {
    fs::path file = fs::path(I.options.registry) / I.options.app_id;
    std::ifstream in(file);
    unsigned port = 0;
    long pid = 0;
    if (in >> port >> pid && pid == getpid()) {
      std::error_code fec;
      fs::remove(file, fec);
    }
  }
}

const std::vector<std::string>& SidecarServer::notes() const {
  return impl_->notes;
}

}  // namespace edgecar::dapr

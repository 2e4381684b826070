// The apps embedded Dapr reaches: registered by `edgecar serve`, invoked by app id, and
// subscribed to pub/sub topics (with routing rules compiled once). Calls into an app run
// outside the table's lock; removing an app waits for them.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dapr/route_match.hpp"
#include "edgecar/dapr.hpp"

namespace edgecar::dapr {

// What embedded mode needs from an app served by this process.
struct LocalApp {
  std::string app_id;
  std::vector<Subscription> subscriptions;
  // Runs a request against the app, as its HTTP server would (on the caller's thread).
  std::function<http::Response(const http::Request&)> handle;
};

class AppTable {
 public:
  void add(LocalApp app);
  void remove(const std::string& app_id);

  // Runs a request in the app; nullopt (and the ids served) when there is no such app.
  std::optional<http::Response> invoke(const std::string& app_id, const http::Request& req,
                                       std::string& served);

  // A subscriber of a topic, with the path the routing rules picked for an event.
  struct Subscriber {
    LocalApp app;
    Subscription subscription;
    std::string route;
  };
  // The subscribers of pubsub/topic (only `only_app` when set), each marked busy until
  // done(id) is called.
  std::vector<Subscriber> subscribers(const std::string& pubsub, const std::string& topic,
                                      const std::string& only_app, const nlohmann::json& event);
  void done(const std::string& app_id);

 private:
  std::mutex mu_;
  std::map<std::string, LocalApp> apps_;
  // Routing rules' match expressions, compiled at registration (null: not supported).
  std::map<std::string, std::shared_ptr<const RouteMatch>> matchers_;
  std::map<std::string, int> busy_;  // calls running in each app
  std::condition_variable busy_cv_;
};

}  // namespace edgecar::dapr

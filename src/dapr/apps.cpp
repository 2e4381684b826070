// The apps of embedded Dapr (apps.hpp).
#include "dapr/apps.hpp"

#include <cstdio>

namespace edgecar::dapr {

void AppTable::add(LocalApp app) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& sub : app.subscriptions)
    for (const auto& [match, path] : sub.rules) {
      if (matchers_.count(match)) continue;
      auto parsed = RouteMatch::parse(match);
      if (!parsed) {
        std::fprintf(stderr,
                     "edgecar: app %s: pub/sub rule \"%s\" (topic %s, path %s) cannot be evaluated "
                     "in embedded mode: %s; the rule is skipped\n",
                     app.app_id.c_str(), match.c_str(), sub.topic.c_str(), path.c_str(),
                     parsed.error().message.c_str());
        matchers_[match] = nullptr;
      } else {
        matchers_[match] = std::make_shared<const RouteMatch>(std::move(*parsed));
      }
    }
  apps_[app.app_id] = std::move(app);
}

void AppTable::remove(const std::string& app_id) {
  std::unique_lock<std::mutex> lock(mu_);
  apps_.erase(app_id);
  busy_cv_.wait(lock, [&] { return busy_[app_id] == 0; });
}

void AppTable::done(const std::string& app_id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    --busy_[app_id];
  }
  busy_cv_.notify_all();
}

std::optional<http::Response> AppTable::invoke(const std::string& app_id, const http::Request& req,
                                               std::string& served) {
  LocalApp app;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = apps_.find(app_id);
    if (it == apps_.end()) {
      for (const auto& [id, a] : apps_) served += (served.empty() ? "" : ", ") + id;
      return std::nullopt;
    }
    app = it->second;
    ++busy_[app_id];
  }
  struct Done {
    AppTable* t;
    const std::string& id;
    ~Done() { t->done(id); }
  } done{this, app_id};
  return app.handle(req);
}

std::vector<AppTable::Subscriber> AppTable::subscribers(const std::string& pubsub,
                                                        const std::string& topic,
                                                        const std::string& only_app,
                                                        const nlohmann::json& event) {
  std::vector<Subscriber> out;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [id, app] : apps_)
    for (const auto& s : app.subscriptions)
      if (s.pubsub == pubsub && s.topic == topic && (only_app.empty() || only_app == id)) {
        // The first rule whose expression matches the event picks the path, as in daprd.
        std::string route = s.route.empty() ? "/" + s.topic : s.route;
        for (const auto& [match, path] : s.rules) {
          auto m = matchers_.find(match);
          if (m != matchers_.end() && m->second && m->second->matches(event)) {
            route = path;
            break;
          }
        }
        out.push_back({app, s, route});
        ++busy_[id];
      }
  return out;
}

}  // namespace edgecar::dapr

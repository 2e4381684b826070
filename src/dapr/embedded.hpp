// Embedded Dapr: the subset of Dapr's HTTP API that guests use, answered in process when
// no sidecar runs. Service invocation reaches the apps this process serves (apps.hpp);
// state is a SQLite table (state_store.hpp); pub/sub delivers CloudEvents to subscribed
// apps on a delivery thread with retries, dead-letter topics and routing rules
// (pubsub.hpp); secrets come from a JSON file (EDGECAR_SECRETS_FILE), like Dapr's
// secretstores.local.file. Output bindings need a real sidecar.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dapr/api_error.hpp"
#include "dapr/apps.hpp"
#include "dapr/pubsub.hpp"
#include "dapr/state_store.hpp"
#include "edgecar/dapr.hpp"

namespace edgecar::dapr {

// A secretstores.local.file component: a JSON file whose nested keys are joined with
// the separator ("DB_URL": {"MYSQL": ...} is the secret "DB_URL:MYSQL").
struct SecretStore {
  std::string name, file, separator = ":";
};

class Embedded final : public Backend {
 public:
  // The process's embedded Dapr (apps register themselves as they start); never
  // destroyed, since delivery threads may still run at exit.
  static Embedded& instance();
  // State is kept in this SQLite file (created if missing); call before the first use.
  Expected<void> open_state(const std::string& path) { return state_.open(path); }
  void register_app(LocalApp app) { apps_.add(std::move(app)); }
  // Apps of other processes: asked when an invoked app id is not served here
  // (sidecar_server.hpp resolves them); nullopt when it knows none by that id.
  using RemoteApps =
      std::function<std::optional<http::Response>(const std::string&, const http::Request&)>;
  void set_remote_apps(RemoteApps remote) { remote_ = std::move(remote); }
  // Secret stores by name; with none, EDGECAR_SECRETS_FILE serves every store name.
  void add_secret_store(SecretStore store) { secret_stores_.push_back(std::move(store)); }
  // Returns once no invocation or delivery into the app is still running.
  void unregister_app(const std::string& app_id) { apps_.remove(app_id); }

  http::Response call(const http::Request& request, const std::string& caller) override;
  std::string describe() const override { return "embedded (no sidecar)"; }

 private:
  Embedded() = default;
  http::Response secret(const std::vector<std::string>& seg) const;

  AppTable apps_;
  RemoteApps remote_;
  std::vector<SecretStore> secret_stores_;
  StateStore state_;
  PubSub pubsub_{apps_};
};

}  // namespace edgecar::dapr

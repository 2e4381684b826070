// Embedded Dapr: the subset of Dapr's HTTP API that guests use, answered in process when
// no sidecar runs. Service invocation reaches the apps this process serves (apps.hpp);
// state is a SQLite table (state_store.hpp); pub/sub delivers CloudEvents to subscribed
// apps on a delivery thread with retries, dead-letter topics and routing rules
// (pubsub.hpp); secrets come from a JSON file (EDGECAR_SECRETS_FILE), like Dapr's
// secretstores.local.file. Output bindings need a real sidecar.
#pragma once

#include <string>
#include <string_view>

#include "dapr/apps.hpp"
#include "dapr/pubsub.hpp"
#include "dapr/state_store.hpp"
#include "edgecar/dapr.hpp"

namespace edgecar::dapr {

// Dapr's error body: {"errorCode": ..., "message": ...}.
http::Response api_error(unsigned status, std::string_view code, std::string_view message);

class Embedded final : public Backend {
 public:
  // The process's embedded Dapr (apps register themselves as they start); never
  // destroyed, since delivery threads may still run at exit.
  static Embedded& instance();
  // State is kept in this SQLite file (created if missing); call before the first use.
  Expected<void> open_state(const std::string& path) { return state_.open(path); }
  void register_app(LocalApp app) { apps_.add(std::move(app)); }
  // Returns once no invocation or delivery into the app is still running.
  void unregister_app(const std::string& app_id) { apps_.remove(app_id); }

  http::Response call(const http::Request& request, const std::string& caller) override;
  std::string describe() const override { return "embedded (no sidecar)"; }

 private:
  Embedded() = default;
  AppTable apps_;
  StateStore state_;
  PubSub pubsub_{apps_};
};

}  // namespace edgecar::dapr

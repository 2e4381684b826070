// Embedded Dapr's pub/sub (pubsub.hpp).
#include "dapr/pubsub.hpp"

#include <algorithm>
#include <cstdio>
#include <random>

#include "dapr/api_error.hpp"

namespace edgecar::dapr {

using json = nlohmann::json;

namespace {

std::string random_id() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(rng()),
                static_cast<unsigned long long>(rng()));
  return std::string(buf, 8) + "-" + std::string(buf + 8, 4) + "-" + std::string(buf + 12, 4) +
         "-" + std::string(buf + 16, 4) + "-" + std::string(buf + 20, 12);
}

std::string now_rfc3339() {
  auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

PubSub::~PubSub() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void PubSub::loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    if (queue_.empty()) {
      cv_.wait(lock);
      continue;
    }
    auto now = std::chrono::steady_clock::now();
    auto it = std::min_element(
        queue_.begin(), queue_.end(),
        [](const Delivery& a, const Delivery& b) { return a.not_before < b.not_before; });
    if (it->not_before > now) {
      cv_.wait_until(lock, it->not_before);
      continue;
    }
    Delivery d = std::move(*it);
    queue_.erase(it);
    lock.unlock();
    deliver(std::move(d));
    lock.lock();
  }
}

void PubSub::enqueue(Delivery d) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(d));
    if (!thread_.joinable()) thread_ = std::thread([this] { loop(); });
  }
  cv_.notify_all();
}

void PubSub::deliver(Delivery d) {
  json event = json::parse(d.event, nullptr, false);
  auto targets = apps_.subscribers(d.pubsub, d.topic, d.only_app, event);
  for (const auto& [app, sub, route] : targets) {
    struct Done {
      AppTable& t;
      const std::string& id;
      ~Done() { t.done(id); }
    } done{apps_, app.app_id};
    http::Request call;
    call.method = "POST";
    call.path = route;
    call.headers = {{"Content-Type", "application/cloudevents+json"},
                    {"dapr-caller-app-id", d.caller}};
    call.body = d.event;
    http::Response r = app.handle(call);
    std::string status = "SUCCESS";
    json b = json::parse(r.body, nullptr, false);
    if (r.status >= 200 && r.status < 300) {
      if (b.is_object() && b.contains("status") && b["status"].is_string()) status = b["status"];
    } else {
      status = r.status == 404 ? "DROP" : "RETRY";
    }
    if (status == "RETRY" && d.attempt < 4) {
      Delivery again = d;
      again.attempt++;
      again.only_app = app.app_id;
      again.not_before =
          std::chrono::steady_clock::now() + std::chrono::milliseconds(100 << again.attempt);
      std::lock_guard<std::mutex> qlock(mu_);
      queue_.push_back(again);
      cv_.notify_all();
      continue;
    }
    if (status != "SUCCESS") {
      std::fprintf(
          stderr, "edgecar: pubsub %s/%s: %s %s the event after %d attempt(s)%s\n",
          d.pubsub.c_str(), d.topic.c_str(), app.app_id.c_str(),
          status == "DROP" ? "dropped" : "did not accept", d.attempt + 1,
          sub.dead_letter_topic.empty() ? "" : (", sent to " + sub.dead_letter_topic).c_str());
      if (!sub.dead_letter_topic.empty()) {
        Delivery dead = d;
        dead.topic = sub.dead_letter_topic;
        dead.only_app.clear();
        dead.attempt = 0;
        dead.not_before = std::chrono::steady_clock::now();
        std::lock_guard<std::mutex> qlock(mu_);
        queue_.push_back(dead);
        cv_.notify_all();
      }
    }
  }
}

http::Response PubSub::publish(const std::vector<std::string>& seg, const http::Request& req,
                               const std::string& caller) {
  if (seg.size() < 4 || seg[2].empty() || seg[3].empty())
    return api_error(404, "ERR_PUBSUB_NOT_FOUND", "publish needs /v1.0/publish/PUBSUB/TOPIC");
  const std::string* given = req.headers.find("content-type");
  std::string ctype = given ? *given : "application/json";
  std::string traceparent = req.headers.get("traceparent");
  json event;
  if (ctype.find("cloudevents") != std::string::npos) {
    event = json::parse(req.body, nullptr, false);
    if (!event.is_object())
      return api_error(400, "ERR_PUBSUB_CLOUD_EVENTS_SER", "the body is not a CloudEvent");
  } else {
    event = {{"specversion", "1.0"},          {"id", random_id()},        {"source", caller},
             {"type", "com.dapr.event.sent"}, {"datacontenttype", ctype}, {"time", now_rfc3339()}};
    json data =
        ctype.find("json") != std::string::npos ? json::parse(req.body, nullptr, false) : json();
    if (data.is_discarded() || ctype.find("json") == std::string::npos) data = req.body;
    event["data"] = data;
  }
  event["topic"] = seg[3];
  event["pubsubname"] = seg[2];
  if (!traceparent.empty()) event["traceparent"] = traceparent;
  Delivery d{seg[2],
             seg[3],
             caller,
             event.dump(-1, ' ', false, json::error_handler_t::replace),
             "",
             0,
             std::chrono::steady_clock::now()};
  enqueue(std::move(d));
  http::Response r;
  r.status = 204;
  return r;
}

}  // namespace edgecar::dapr

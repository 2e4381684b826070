// Embedded Dapr's pub/sub: published events become CloudEvents delivered to every
// subscribed app on one delivery thread, with retries (exponential back-off, 5
// attempts), dead-letter topics and routing rules.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "dapr/apps.hpp"

namespace edgecar::dapr {

class PubSub {
 public:
  explicit PubSub(AppTable& apps) : apps_(apps) {}
  ~PubSub();
  // POST /v1.0/publish/PUBSUB/TOPIC: seg holds the decoded path segments.
  http::Response publish(const std::vector<std::string>& seg, const http::Request& req,
                         const std::string& caller);

 private:
  struct Delivery {
    std::string pubsub, topic, caller;
    std::string event;     // the CloudEvent, serialized
    std::string only_app;  // a retry goes to the one subscriber that asked for it
    int attempt = 0;
    std::chrono::steady_clock::time_point not_before;
  };
  void enqueue(Delivery d);
  void loop();
  void deliver(Delivery d);

  AppTable& apps_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Delivery> queue_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace edgecar::dapr

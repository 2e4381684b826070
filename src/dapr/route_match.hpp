// Pub/sub routing rules in embedded mode: the `match` expressions of a subscription's
// rules are CEL (Common Expression Language) over the CloudEvent, as daprd evaluates
// them. Embedded mode evaluates the subset that routing rules use in practice:
//
//   event.type == "widget"            event.data.price >= 100 && event.source != 'x'
//   !(event.data.kind == "a")         event.type.startsWith("com.") || has(event.data.id)
//
// Operands: `event` field paths (a.b, a["b"]), string (single or double quotes), number,
// true, false, null. Operators: == != < <= > >= && || ! and parentheses; the methods
// startsWith, endsWith and contains on strings; has(path). Anything else is refused
// when the expression is parsed, with the reason, so a rule never silently fails.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "edgecar/edgecar.hpp"

namespace edgecar::dapr {

class RouteMatch {
 public:
  // The expression, or an error whose message says what in it is not supported.
  static Expected<RouteMatch> parse(std::string_view expr);
  // Whether the event matches. A missing field or a comparison of different types is
  // not a match (CEL reports an error there): the next rule is tried.
  bool matches(const nlohmann::json& event) const;

  struct Node;

 private:
  std::shared_ptr<const Node> root_;
};

}  // namespace edgecar::dapr

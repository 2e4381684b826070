// Routing-rule expressions (a subset of CEL) as embedded Dapr evaluates them.
#include "dapr/route_match.hpp"

#include <gtest/gtest.h>

namespace {

using edgecar::dapr::RouteMatch;
using json = nlohmann::json;

const json kEvent = json::parse(R"({
  "specversion": "1.0", "type": "com.example.widget", "source": "orders", "id": "1",
  "data": {"kind": "widget", "price": 120, "ratio": 0.5, "tags": {"eu": true}, "note": null}
})");

bool match(const char* expr, const json& event = kEvent) {
  auto parsed = RouteMatch::parse(expr);
  if (!parsed) ADD_FAILURE() << expr << ": " << parsed.error().message;
  return parsed && parsed->matches(event);
}

std::string refused(const char* expr) {
  auto parsed = RouteMatch::parse(expr);
  return parsed ? std::string() : parsed.error().message;
}

TEST(RouteMatch, ComparesStringsNumbersAndBooleans) {
  EXPECT_TRUE(match(R"(event.type == "com.example.widget")"));
  EXPECT_TRUE(match("event.data.kind == 'widget'"));
  EXPECT_FALSE(match(R"(event.data.kind == "gadget")"));
  EXPECT_TRUE(match(R"(event.data.kind != "gadget")"));
  EXPECT_TRUE(match("event.data.price > 100"));
  EXPECT_FALSE(match("event.data.price < 100"));
  EXPECT_TRUE(match("event.data.price >= 120 && event.data.price <= 120.0"));
  EXPECT_TRUE(match("event.data.ratio == 0.5"));
  EXPECT_TRUE(match("event.data.tags.eu == true"));
  EXPECT_TRUE(match("event.data.tags.eu"));
  EXPECT_TRUE(match(R"(event["data"]['kind'] == "widget")"));
  EXPECT_TRUE(match("event.data.note == null"));
}

TEST(RouteMatch, LogicAndParentheses) {
  EXPECT_TRUE(match(R"(event.data.kind == "gadget" || event.data.price > 100)"));
  EXPECT_FALSE(match(R"(event.data.kind == "gadget" && event.data.price > 100)"));
  EXPECT_TRUE(match(R"(!(event.data.kind == "gadget"))"));
  EXPECT_TRUE(match(R"((event.data.price > 1000 || event.source == "orders") && !false)"));
}

TEST(RouteMatch, StringMethodsAndHas) {
  EXPECT_TRUE(match(R"(event.type.startsWith("com.example."))"));
  EXPECT_TRUE(match(R"(event.type.endsWith(".widget"))"));
  EXPECT_TRUE(match(R"(event.type.contains("example"))"));
  EXPECT_FALSE(match(R"(event.type.startsWith("org."))"));
  EXPECT_TRUE(match("has(event.data.price)"));
  EXPECT_FALSE(match("has(event.data.weight)"));
}

TEST(RouteMatch, MissingFieldsAndTypeMismatchesDoNotMatch) {
  EXPECT_FALSE(match(R"(event.data.weight == "x")"));
  EXPECT_FALSE(match(R"(event.data.price == "120")"));
  EXPECT_FALSE(match(R"(event.data.price > "a")"));
  EXPECT_FALSE(match("event.data.kind"));  // not a boolean
  // An error on one side of || does not hide a true on the other, as in CEL.
  EXPECT_TRUE(match(R"(event.data.weight > 1 || event.data.kind == "widget")"));
  EXPECT_FALSE(match(R"(event.missing.deeper == 1)", json::array()));
}

TEST(RouteMatch, UnsupportedExpressionsAreRefusedWithTheReason) {
  EXPECT_NE(refused("size(event.data) > 1").find("\"size\" is not supported"), std::string::npos);
  EXPECT_NE(refused("event.data.kind.matches('w.*')").find("method matches() is not supported"),
            std::string::npos);
  EXPECT_NE(refused("event.type == \"unterminated").find("unterminated string"), std::string::npos);
  EXPECT_NE(refused("(event.type == 'a'").find("missing )"), std::string::npos);
  EXPECT_NE(refused("event.type == 'a' extra").find("unexpected"), std::string::npos);
  EXPECT_NE(refused("").find("ends early"), std::string::npos);
  EXPECT_NE(refused("has(other.x)").find("has() takes a field of event"), std::string::npos);
  EXPECT_NE(refused("has(event.type.startsWith(\"a\"))").find("has() takes a field of event"),
            std::string::npos);
}

}  // namespace

// A recursive-descent parser for the CEL subset described in route_match.hpp, and its
// evaluator over a CloudEvent held as JSON.
#include "dapr/route_match.hpp"

#include <cctype>
#include <cstdlib>
#include <optional>
#include <vector>

namespace edgecar::dapr {

using json = nlohmann::json;

struct RouteMatch::Node {
  enum class Kind { Literal, Path, Has, Not, And, Or, Compare, Method } kind;
  json literal;                   // Literal
  std::vector<std::string> path;  // Path, Has: the keys after `event`
  std::string op;  // Compare: == != < <= > >=; Method: startsWith, endsWith, contains
  std::shared_ptr<const Node> a, b;  // operands
};

namespace {

using Node = RouteMatch::Node;
using NodeP = std::shared_ptr<const Node>;

struct ParseError {
  std::string message;
};

class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  NodeP parse() {
    NodeP n = parse_or();
    skip_space();
    if (pos_ < s_.size()) fail("unexpected \"" + std::string(s_.substr(pos_, 12)) + "\"");
    return n;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw ParseError{what + " at column " + std::to_string(pos_ + 1)};
  }

  void skip_space() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  bool eat(std::string_view tok) {
    skip_space();
    if (s_.substr(pos_, tok.size()) != tok) return false;
    pos_ += tok.size();
    return true;
  }
  std::string ident() {
    skip_space();
    size_t start = pos_;
    while (pos_ < s_.size() &&
           (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_'))
      ++pos_;
    return std::string(s_.substr(start, pos_ - start));
  }

  static NodeP make(Node n) { return std::make_shared<const Node>(std::move(n)); }

  NodeP parse_or() {
    NodeP n = parse_and();
    while (eat("||")) n = make({Node::Kind::Or, {}, {}, "", n, parse_and()});
    return n;
  }
  NodeP parse_and() {
    NodeP n = parse_unary();
    while (eat("&&")) n = make({Node::Kind::And, {}, {}, "", n, parse_unary()});
    return n;
  }
  NodeP parse_unary() {
    skip_space();
    if (pos_ < s_.size() && s_[pos_] == '!' && s_.substr(pos_, 2) != "!=") {
      ++pos_;
      return make({Node::Kind::Not, {}, {}, "", parse_unary(), nullptr});
    }
    return parse_compare();
  }
  NodeP parse_compare() {
    NodeP left = parse_operand();
    for (const char* op : {"==", "!=", "<=", ">=", "<", ">"}) {
      if (eat(op)) return make({Node::Kind::Compare, {}, {}, op, left, parse_operand()});
    }
    return left;
  }
  NodeP parse_operand() {
    skip_space();
    if (pos_ >= s_.size()) fail("expression ends early");
    char c = s_[pos_];
    if (c == '(') {
      ++pos_;
      NodeP n = parse_or();
      if (!eat(")")) fail("missing )");
      return n;
    }
    if (c == '"' || c == '\'')
      return make({Node::Kind::Literal, json(string_literal()), {}, "", nullptr, nullptr});
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '.')
      return make({Node::Kind::Literal, number(), {}, "", nullptr, nullptr});
    std::string word = ident();
    if (word == "true" || word == "false")
      return make({Node::Kind::Literal, json(word == "true"), {}, "", nullptr, nullptr});
    if (word == "null") return make({Node::Kind::Literal, json(nullptr), {}, "", nullptr, nullptr});
    if (word == "has") {
      if (!eat("(")) fail("has needs (");
      std::string root = ident(), method;
      if (root != "event") fail("has() takes a field of event");
      auto path = path_after_event(method);
      if (path.empty() || !method.empty()) fail("has() takes a field of event");
      if (!eat(")")) fail("missing ) after has(");
      return make({Node::Kind::Has, {}, std::move(path), "", nullptr, nullptr});
    }
    if (word == "event") {
      std::string method;
      NodeP field = make({Node::Kind::Path, {}, path_after_event(method), "", nullptr, nullptr});
      if (method.empty()) return field;
      if (!eat("(")) fail("missing ( after " + method);
      NodeP arg = parse_operand();
      if (!eat(")")) fail("missing ) after " + method + "(");
      return make({Node::Kind::Method, {}, {}, method, field, arg});
    }
    if (word.empty()) fail("unexpected \"" + std::string(1, c) + "\"");
    fail("\"" + word +
         "\" is not supported (only event fields, literals, has() and string methods)");
  }
  // The keys after `event`; a trailing .startsWith( and the like ends the path and is
  // returned in method.
  std::vector<std::string> path_after_event(std::string& method) {
    std::vector<std::string> path;
    while (true) {
      skip_space();
      if (pos_ < s_.size() && s_[pos_] == '.') {
        ++pos_;
        std::string key = ident();
        if (key.empty()) fail("a field name must follow \".\"");
        skip_space();
        if (pos_ < s_.size() && s_[pos_] == '(') {
          if (key != "startsWith" && key != "endsWith" && key != "contains")
            fail("method " + key + "() is not supported");
          method = key;
          return path;
        }
        path.push_back(key);
      } else if (pos_ < s_.size() && s_[pos_] == '[') {
        ++pos_;
        skip_space();
        if (pos_ >= s_.size() || (s_[pos_] != '"' && s_[pos_] != '\''))
          fail("an index must be a quoted field name");
        path.push_back(string_literal());
        if (!eat("]")) fail("missing ]");
      } else {
        return path;
      }
    }
  }
  std::string string_literal() {
    char quote = s_[pos_++];
    std::string out;
    while (pos_ < s_.size() && s_[pos_] != quote) {
      char c = s_[pos_++];
      if (c == '\\') {
        if (pos_ >= s_.size()) break;
        char e = s_[pos_++];
        switch (e) {
          case 'n':
            out += '\n';
            break;
          case 't':
            out += '\t';
            break;
          case '\\':
          case '"':
          case '\'':
            out += e;
            break;
          default:
            fail(std::string("escape \\") + e + " is not supported");
        }
      } else {
        out += c;
      }
    }
    if (pos_ >= s_.size()) fail("unterminated string");
    ++pos_;
    return out;
  }
  json number() {
    size_t start = pos_;
    if (s_[pos_] == '-') ++pos_;
    while (pos_ < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[pos_])) ||
                                s_[pos_] == '.' || s_[pos_] == 'e' || s_[pos_] == 'E'))
      ++pos_;
    std::string text(s_.substr(start, pos_ - start));
    char* end = nullptr;
    double v = std::strtod(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size()) fail("bad number \"" + text + "\"");
    return json(v);
  }

  std::string_view s_;
  size_t pos_ = 0;
};

// The value of a node; nullopt when it cannot be computed (a missing field, a type
// mismatch): CEL's error, which makes the whole rule not match.
std::optional<json> eval(const Node& n, const json& event) {
  switch (n.kind) {
    case Node::Kind::Literal:
      return n.literal;
    case Node::Kind::Path: {
      const json* cur = &event;
      for (const auto& key : n.path) {
        if (!cur->is_object() || !cur->contains(key)) return std::nullopt;
        cur = &(*cur)[key];
      }
      return *cur;
    }
    case Node::Kind::Has: {
      const json* cur = &event;
      for (size_t i = 0; i < n.path.size(); ++i) {
        if (!cur->is_object()) return std::nullopt;
        if (!cur->contains(n.path[i]))
          return i + 1 == n.path.size() ? std::optional<json>(false) : std::nullopt;
        cur = &(*cur)[n.path[i]];
      }
      return json(true);
    }
    case Node::Kind::Not: {
      auto v = eval(*n.a, event);
      if (!v || !v->is_boolean()) return std::nullopt;
      return json(!v->get<bool>());
    }
    case Node::Kind::And:
    case Node::Kind::Or: {
      // CEL's && and || are commutative over errors: false && error is false.
      bool is_and = n.kind == Node::Kind::And;
      auto l = eval(*n.a, event), r = eval(*n.b, event);
      bool lb = l && l->is_boolean(), rb = r && r->is_boolean();
      if (lb && l->get<bool>() != is_and) return json(!is_and);
      if (rb && r->get<bool>() != is_and) return json(!is_and);
      if (lb && rb) return json(is_and);
      return std::nullopt;
    }
    case Node::Kind::Compare: {
      auto l = eval(*n.a, event), r = eval(*n.b, event);
      if (!l || !r) return std::nullopt;
      if (l->is_number() && r->is_number()) {
        double x = l->get<double>(), y = r->get<double>();
        if (n.op == "==") return json(x == y);
        if (n.op == "!=") return json(x != y);
        if (n.op == "<") return json(x < y);
        if (n.op == "<=") return json(x <= y);
        if (n.op == ">") return json(x > y);
        return json(x >= y);
      }
      if (l->is_string() && r->is_string()) {
        int c = l->get_ref<const std::string&>().compare(r->get_ref<const std::string&>());
        if (n.op == "==") return json(c == 0);
        if (n.op == "!=") return json(c != 0);
        if (n.op == "<") return json(c < 0);
        if (n.op == "<=") return json(c <= 0);
        if (n.op == ">") return json(c > 0);
        return json(c >= 0);
      }
      if (n.op == "==" || n.op == "!=") {
        if (l->type() != r->type() && !(l->is_null() || r->is_null()))
          return std::nullopt;  // CEL: no such overload
        return json((*l == *r) == (n.op == "=="));
      }
      return std::nullopt;
    }
    case Node::Kind::Method: {
      auto l = eval(*n.a, event), r = eval(*n.b, event);
      if (!l || !r || !l->is_string() || !r->is_string()) return std::nullopt;
      const auto& s = l->get_ref<const std::string&>();
      const auto& t = r->get_ref<const std::string&>();
      if (n.op == "startsWith") return json(s.rfind(t, 0) == 0);
      if (n.op == "endsWith")
        return json(s.size() >= t.size() && s.compare(s.size() - t.size(), t.size(), t) == 0);
      return json(s.find(t) != std::string::npos);
    }
  }
  return std::nullopt;
}

}  // namespace

Expected<RouteMatch> RouteMatch::parse(std::string_view expr) {
  try {
    RouteMatch m;
    m.root_ = Parser(expr).parse();
    return m;
  } catch (const ParseError& e) {
    return Error{ErrorKind::Usage, e.message};
  }
}

bool RouteMatch::matches(const json& event) const {
  auto v = eval(*root_, event);
  return v && v->is_boolean() && v->get<bool>();
}

}  // namespace edgecar::dapr

// Names and printing of types, values, traps and errors.
#include <bit>
#include <cstdio>

#include "edgecar/edgecar.hpp"

namespace edgecar {

namespace {
const char* heap_name(ValType::Heap h) {
  switch (h) {
    case ValType::Exn:
      return "exn";
    case ValType::Array:
      return "array";
    case ValType::Struct:
      return "struct";
    case ValType::I31:
      return "i31";
    case ValType::Eq:
      return "eq";
    case ValType::Any:
      return "any";
    case ValType::Extern:
      return "extern";
    case ValType::Func:
      return "func";
    case ValType::None:
      return "none";
    case ValType::NoExtern:
      return "noextern";
    case ValType::NoFunc:
      return "nofunc";
    case ValType::NoExn:
      return "noexn";
  }
  return "<invalid heap type>";
}
}  // namespace

std::string to_string(ValType t) {
  switch (t.kind()) {
    case ValType::Kind::I32:
      return "i32";
    case ValType::Kind::I64:
      return "i64";
    case ValType::Kind::F32:
      return "f32";
    case ValType::Kind::F64:
      return "f64";
    case ValType::Kind::V128:
      return "v128";
    case ValType::Kind::Bot:
      return "bot";
    case ValType::Kind::Ref:
      break;
  }
  if (t.is_abstract()) {
    std::string h = heap_name(t.abstract());
    if (t.nullable()) {
      // The shorthands: funcref, externref, anyref, ..., and nullref for (ref null none).
      if (t.abstract() == ValType::None) return "nullref";
      if (t.abstract() == ValType::NoFunc) return "nullfuncref";
      if (t.abstract() == ValType::NoExtern) return "nullexternref";
      if (t.abstract() == ValType::NoExn) return "nullexnref";
      return h + "ref";
    }
    return "(ref " + h + ")";
  }
  return std::string(t.nullable() ? "(ref null " : "(ref ") + (t.is_canonical() ? "canon " : "") +
         std::to_string(t.type_index()) + ")";
}

std::string_view to_string(ExternKind k) {
  switch (k) {
    case ExternKind::Func:
      return "function";
    case ExternKind::Table:
      return "table";
    case ExternKind::Memory:
      return "memory";
    case ExternKind::Global:
      return "global";
    case ExternKind::Tag:
      return "tag";
  }
  return "<invalid kind>";
}

std::string FuncType::to_string() const {
  auto list = [](const std::vector<ValType>& v) {
    std::string s = "(";
    for (size_t i = 0; i < v.size(); ++i) {
      if (i) s += ", ";
      s += edgecar::to_string(v[i]);
    }
    return s + ")";
  };
  return list(params) + " -> " + list(results);
}

Value Value::f32(float v) {
  return {ValType::F32, std::bit_cast<uint32_t>(v)};
}
Value Value::f64(double v) {
  return {ValType::F64, std::bit_cast<uint64_t>(v)};
}
float Value::as_f32() const {
  return std::bit_cast<float>(static_cast<uint32_t>(bits));
}
double Value::as_f64() const {
  return std::bit_cast<double>(bits);
}

std::string Value::to_string() const {
  char buf[64];
  switch (type.kind()) {
    case ValType::Kind::I32:
      std::snprintf(buf, sizeof buf, "%d", as_i32());
      break;
    case ValType::Kind::I64:
      std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(as_i64()));
      break;
    case ValType::Kind::F32:
      std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(as_f32()));
      break;
    case ValType::Kind::F64:
      std::snprintf(buf, sizeof buf, "%.17g", as_f64());
      break;
    case ValType::Kind::Bot:
      return "bot";
    case ValType::Kind::Ref:
      if (bits == 0) return "null";
      std::snprintf(buf, sizeof buf, "%s:%#llx", edgecar::to_string(type).c_str(),
                    static_cast<unsigned long long>(bits));
      break;
    case ValType::Kind::V128:  // the 16 bytes as i32x4 lanes, as the text format writes them
      std::snprintf(buf, sizeof buf, "i32x4 %#x %#x %#x %#x", static_cast<uint32_t>(bits),
                    static_cast<uint32_t>(bits >> 32), static_cast<uint32_t>(hi),
                    static_cast<uint32_t>(hi >> 32));
      break;
  }
  return buf;
}

std::string_view to_string(TrapKind k) {
  switch (k) {
    case TrapKind::Unreachable:
      return "unreachable executed";
    case TrapKind::MemoryOutOfBounds:
      return "out of bounds memory access";
    case TrapKind::TableOutOfBounds:
      return "out of bounds table access";
    case TrapKind::IntegerDivideByZero:
      return "integer divide by zero";
    case TrapKind::IntegerOverflow:
      return "integer overflow";
    case TrapKind::InvalidConversionToInteger:
      return "invalid conversion to integer";
    case TrapKind::IndirectCallTypeMismatch:
      return "indirect call type mismatch";
    case TrapKind::UndefinedElement:
      return "undefined element";
    case TrapKind::UninitializedElement:
      return "uninitialized element";
    case TrapKind::CallStackExhausted:
      return "call stack exhausted";
    case TrapKind::Interrupted:
      return "interrupted";
    case TrapKind::Host:
      return "host function failed";
    case TrapKind::Exit:
      return "exit";
    case TrapKind::UncaughtException:
      return "uncaught exception";
    case TrapKind::NullExceptionReference:
      return "null exception reference";
    case TrapKind::NullFunctionReference:
      return "null function reference";
    case TrapKind::NullReference:
      return "null reference";
    case TrapKind::NullStructReference:
      return "null structure reference";
    case TrapKind::NullArrayReference:
      return "null array reference";
    case TrapKind::NullI31Reference:
      return "null i31 reference";
    case TrapKind::ArrayOutOfBounds:
      return "out of bounds array access";
    case TrapKind::CastFailure:
      return "cast failure";
    case TrapKind::OutOfMemory:
      return "out of memory: the store's limit on garbage-collected objects";
  }
  return "<invalid trap>";
}

std::string_view to_string(ErrorKind k) {
  switch (k) {
    case ErrorKind::Io:
      return "io";
    case ErrorKind::Malformed:
      return "malformed";
    case ErrorKind::Invalid:
      return "invalid";
    case ErrorKind::Link:
      return "link";
    case ErrorKind::Trap:
      return "trap";
    case ErrorKind::Usage:
      return "usage";
    case ErrorKind::Unsupported:
      return "unsupported";
  }
  return "<invalid error>";
}

std::string Error::to_string() const {
  std::string s = std::string(edgecar::to_string(kind)) + ": " + message;
  if (!backtrace.empty()) {
    // Innermost frames first; deep stacks are cut so the report stays one readable line.
    constexpr size_t kShown = 12;
    s += " [in ";
    for (size_t i = 0; i < backtrace.size() && i < kShown; ++i) {
      if (i) s += " <- ";
      s += backtrace[i];
    }
    if (backtrace.size() > kShown)
      s += " <- ... " + std::to_string(backtrace.size() - kShown) + " more";
    s += "]";
  }
  return s;
}

}  // namespace edgecar

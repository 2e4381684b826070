// A bounds-checked cursor over module bytes with the LEB128 rules of spec 5.2.2:
// at most ceil(N/7) bytes, and unused bits of the last byte must be zero (unsigned)
// or a sign extension (signed).
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>

#include "util/format.hpp"

namespace edgecar::binary {

// Thrown only inside the decoder and caught at its boundary; never crosses the API.
struct DecodeError {
  std::string message;
  size_t offset;
};

class Reader {
 public:
  Reader(std::span<const uint8_t> bytes, size_t base = 0)
      : p_(bytes.data()), begin_(bytes.data()), end_(bytes.data() + bytes.size()), base_(base) {}

  size_t offset() const { return base_ + static_cast<size_t>(p_ - begin_); }
  size_t remaining() const { return static_cast<size_t>(end_ - p_); }
  bool at_end() const { return p_ == end_; }

  // Names what is being read ("section 10") in "unexpected end" messages.
  void set_context(std::string ctx) { ctx_ = std::move(ctx); }

  [[noreturn]] void fail(std::string message) const { fail_at(std::move(message), offset()); }
  [[noreturn]] void fail_at(std::string message, size_t off) const {
    if (!ctx_.empty() && message.rfind("unexpected end", 0) == 0) message += " (in " + ctx_ + ")";
    throw DecodeError{std::move(message), off};
  }

  uint8_t u8() {
    if (p_ == end_) fail("unexpected end");
    return *p_++;
  }
  uint8_t peek() const {
    if (p_ == end_) fail("unexpected end");
    return *p_;
  }

  std::span<const uint8_t> bytes(size_t n) {
    if (n > remaining()) fail("unexpected end (length out of bounds)");
    std::span<const uint8_t> s(p_, n);
    p_ += n;
    return s;
  }

  // A sub-reader over the next n bytes (a section or a function body).
  Reader sub(size_t n) {
    size_t off = offset();
    if (n > remaining()) fail("unexpected end: length out of bounds");
    Reader r(std::span<const uint8_t>(p_, n), off);
    r.ctx_ = ctx_;
    p_ += n;
    return r;
  }

  uint32_t u32() { return static_cast<uint32_t>(uleb(32)); }
  uint64_t u64() { return uleb(64); }
  int32_t s32() { return static_cast<int32_t>(sleb(32)); }
  int64_t s64() { return sleb(64); }
  int64_t s33() { return sleb(33); }

  uint32_t fixed32() {
    auto b = bytes(4);
    uint32_t v;
    std::memcpy(&v, b.data(), 4);
    return v;
  }
  uint64_t fixed64() {
    auto b = bytes(8);
    uint64_t v;
    std::memcpy(&v, b.data(), 8);
    return v;
  }

  std::string name();  // a UTF-8 validated vec(byte)

 private:
  uint64_t uleb(unsigned bits) {
    uint64_t result = 0;
    unsigned shift = 0;
    size_t start = offset();
    for (;;) {
      if (p_ == end_) fail("unexpected end in LEB128 integer");
      uint8_t byte = *p_++;
      unsigned remaining_bits = bits - shift;
      if (remaining_bits < 7) {
        // Last permitted byte: no continuation, and bits beyond the width must be 0.
        if (byte & 0x80) fail_at("integer representation too long", start);
        if (byte >> remaining_bits) fail_at("integer too large", start);
        return result | (static_cast<uint64_t>(byte) << shift);
      }
      result |= static_cast<uint64_t>(byte & 0x7F) << shift;
      shift += 7;
      if (!(byte & 0x80)) return result;
      if (shift == bits) fail_at("integer representation too long", start);
    }
  }

  int64_t sleb(unsigned bits) {
    int64_t result = 0;
    unsigned shift = 0;
    size_t start = offset();
    for (;;) {
      if (p_ == end_) fail("unexpected end in LEB128 integer");
      uint8_t byte = *p_++;
      unsigned remaining_bits = bits - shift;
      if (remaining_bits < 7) {
        if (byte & 0x80) fail_at("integer representation too long", start);
        // Bits from remaining_bits-1 (the sign) up to bit 6 must all equal the sign.
        int8_t sext =
            static_cast<int8_t>(static_cast<uint8_t>(byte << 1)) >> 1;  // 7-bit sign extend
        int8_t expect = static_cast<int8_t>(static_cast<uint8_t>(sext << (8 - remaining_bits))) >>
                        (8 - remaining_bits);
        if (sext != expect) fail_at("integer too large", start);
        result |= static_cast<int64_t>(static_cast<uint64_t>(static_cast<int64_t>(sext)) << shift);
        return result;
      }
      result |= static_cast<int64_t>(static_cast<uint64_t>(byte & 0x7F) << shift);
      shift += 7;
      if (!(byte & 0x80)) {
        if (shift < 64 && (byte & 0x40)) result |= static_cast<int64_t>(~uint64_t{0} << shift);
        return result;
      }
      if (shift == bits) fail_at("integer representation too long", start);
    }
  }

  const uint8_t* p_;
  const uint8_t* begin_;
  const uint8_t* end_;
  size_t base_;
  std::string ctx_;
};

}  // namespace edgecar::binary

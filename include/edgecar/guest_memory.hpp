// Bounds-checked access to the caller's linear memory for one host call: every guest
// pointer and length is checked once, here, by every host module (WASI, WASI-NN, image,
// Dapr, the handler ABI) and by embedders' own host functions.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "edgecar/edgecar.hpp"

namespace edgecar {

class GuestMemory {
 public:
  explicit GuestMemory(Memory* m)
      : data_(m ? m->data() : nullptr), size_(m ? m->size_bytes() : 0) {}
  explicit GuestMemory(const HostCall& c) : GuestMemory(c.memory()) {}

  bool has_memory() const { return data_ != nullptr; }
  uint64_t size() const { return size_; }
  // [ptr, ptr+len) lies inside memory (no wrap-around: both are 64-bit here).
  bool valid(uint64_t ptr, uint64_t len) const { return ptr <= size_ && len <= size_ - ptr; }
  // Only after valid(ptr, ...).
  uint8_t* at(uint64_t ptr) const { return data_ + ptr; }

  // The bytes [ptr, ptr+len), or nullopt when outside memory.
  std::optional<std::span<uint8_t>> span(uint64_t ptr, uint64_t len) const {
    if (!valid(ptr, len)) return std::nullopt;
    return std::span<uint8_t>(data_ + ptr, len);
  }
  template <class T>
  bool load(uint64_t ptr, T& out) const {
    if (!valid(ptr, sizeof(T))) return false;
    std::memcpy(&out, data_ + ptr, sizeof(T));
    return true;
  }
  template <class T>
  bool store(uint64_t ptr, T v) const {
    if (!valid(ptr, sizeof(T))) return false;
    std::memcpy(data_ + ptr, &v, sizeof(T));
    return true;
  }
  bool write(uint64_t ptr, const void* src, size_t n) const {
    if (!valid(ptr, n)) return false;
    if (n) std::memcpy(data_ + ptr, src, n);
    return true;
  }
  bool write(uint64_t ptr, std::span<const uint8_t> bytes) const {
    return write(ptr, bytes.data(), bytes.size());
  }
  // Copies as much of s as fits in [buf, buf+cap); false when that much lies outside memory.
  bool write_prefix(uint64_t buf, uint64_t cap, std::string_view s) const {
    return write(buf, s.data(), cap < s.size() ? cap : s.size());
  }
  // A guest string (not NUL-terminated), or nullopt.
  std::optional<std::string> string(uint64_t ptr, uint64_t len) const {
    if (!valid(ptr, len)) return std::nullopt;
    return std::string(reinterpret_cast<const char*>(data_ + ptr), len);
  }
  std::optional<std::vector<uint8_t>> bytes(uint64_t ptr, uint64_t len) const {
    if (!valid(ptr, len)) return std::nullopt;
    return std::vector<uint8_t>(data_ + ptr, data_ + ptr + len);
  }

 private:
  uint8_t* data_;
  uint64_t size_;
};

}  // namespace edgecar

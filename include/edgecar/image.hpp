// The image host module (edgecar_image), like WasmEdge's image extension: guests hand
// encoded image bytes to the host, which decodes them with Debian's codec libraries
// (libjpeg-turbo, libpng, giflib, libwebp; BMP is read by edgecar) and writes pixels or a
// resized tensor back into guest memory; and encodes pixels as PNG or GIF.
//
// Untrusted input: corrupt or truncated images are errors, and images over
// kMaxPixels are refused from their header, before any pixel is decoded.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "edgecar/edgecar.hpp"

namespace edgecar::image {

enum class Format : uint32_t { Unknown = 0, Jpeg = 1, Png = 2, Gif = 3, Bmp = 4, WebP = 5 };

// Error codes returned to guests (0 is success).
enum class Errc : int32_t {
  Ok = 0,
  InvalidArgument = 1,  // a pointer or length outside guest memory, a bad size
  Unsupported = 2,      // not an image format edgecar reads
  Corrupt = 3,          // the bytes do not decode
  TooLarge = 4,         // over the pixel cap
  BufferTooSmall = 5,   // the output buffer cannot hold the result
};

constexpr uint64_t kMaxPixels = 50'000'000;  // 50 megapixels

struct Rgb8 {
  uint32_t width = 0, height = 0;
  Format format = Format::Unknown;
  std::vector<uint8_t> pixels;  // width * height * 3
};

Format sniff(std::span<const uint8_t> bytes);
// Failures are errors whose guest_code is the Errc a guest receives.
// Width, height and format from the header only (no pixels).
Expected<Rgb8> probe(std::span<const uint8_t> bytes);
// Decodes the image (the first frame of a GIF) to RGB8; alpha is dropped.
Expected<Rgb8> decode(std::span<const uint8_t> bytes);
// For a resize to width x height: a JPEG is decoded at the smallest DCT scale (M/8)
// that keeps at least twice that size (as Pillow's thumbnail drafts); other formats at
// their own size. probe_for_resize gives the size decode_for_resize will decode to.
Expected<Rgb8> probe_for_resize(std::span<const uint8_t> bytes, uint32_t width, uint32_t height);
Expected<Rgb8> decode_for_resize(std::span<const uint8_t> bytes, uint32_t width, uint32_t height);
// Antialiased bilinear resize of RGB8 pixels: Pillow's Image.resize(size, BILINEAR),
// byte for byte (a triangle filter widened by the reduction factor, Pillow's fixed point).
std::vector<uint8_t> resize(const Rgb8& in, uint32_t width, uint32_t height);
// Encodes 1 (grey), 3 (RGB) or 4 (RGBA) channel pixels; GIF takes grey only.
Expected<std::string> encode(std::span<const uint8_t> pixels, uint32_t width, uint32_t height,
                             uint32_t channels, Format format);

// The edgecar_image functions, created once per process; stateless apart from the
// caller's memory.
const HostFunctions& shared_functions();

}  // namespace edgecar::image

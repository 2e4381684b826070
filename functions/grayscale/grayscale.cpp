// grayscale: turns an image grey, as the original demo's grayscale function did.
// Input: JPEG, PNG, GIF, BMP or WebP on stdin. Output: the grey image as PNG (GIF for a
// GIF input), with R = G = B = the ITU-R BT.601 luma of each pixel.
// A WASI command: a WAGI function under edgecar serve, a filter under edgecar run.
#include "../common.hpp"
#include "edgecar_image.h"

#if defined(__wasm_simd128__)
#include <wasm_simd128.h>
#endif

namespace {

// Luma in fixed point: (77 R + 150 G + 29 B + 128) / 256, the weights 0.299, 0.587,
// 0.114 scaled by 256.
uint8_t luma(const uint8_t* p) {
  return static_cast<uint8_t>((77 * p[0] + 150 * p[1] + 29 * p[2] + 128) >> 8);
}

// Built with -msimd128 (functions/CMakeLists.txt): 16 pixels per step with WebAssembly
// SIMD (three loads, byte shuffles to split R, G and B, 16-bit multiply-adds, one
// narrowing store), the same arithmetic as luma(), which does the remaining pixels.
void to_grey(const uint8_t* rgb, uint8_t* grey, size_t count) {
  size_t i = 0;
#if defined(__wasm_simd128__)
  const v128_t kr = wasm_i16x8_splat(77), kg = wasm_i16x8_splat(150), kb = wasm_i16x8_splat(29);
  const v128_t round = wasm_i16x8_splat(128);
  for (; i + 16 <= count; i += 16) {
    const uint8_t* p = rgb + 3 * i;
    v128_t a = wasm_v128_load(p), b = wasm_v128_load(p + 16), c = wasm_v128_load(p + 32);
    // Bytes 3j + channel (j = 0..15): those in a and b first, then those in c.
    v128_t r = wasm_i8x16_shuffle(
        wasm_i8x16_shuffle(a, b, 0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 0, 0, 0, 0, 0), c, 0, 1, 2,
        3, 4, 5, 6, 7, 8, 9, 10, 17, 20, 23, 26, 29);
    v128_t g = wasm_i8x16_shuffle(
        wasm_i8x16_shuffle(a, b, 1, 4, 7, 10, 13, 16, 19, 22, 25, 28, 31, 0, 0, 0, 0, 0), c, 0, 1,
        2, 3, 4, 5, 6, 7, 8, 9, 10, 18, 21, 24, 27, 30);
    v128_t bl = wasm_i8x16_shuffle(
        wasm_i8x16_shuffle(a, b, 2, 5, 8, 11, 14, 17, 20, 23, 26, 29, 0, 0, 0, 0, 0, 0), c, 0, 1, 2,
        3, 4, 5, 6, 7, 8, 9, 16, 19, 22, 25, 28, 31);
    v128_t lo =
        wasm_i16x8_add(wasm_i16x8_add(wasm_i16x8_mul(wasm_u16x8_extend_low_u8x16(r), kr),
                                      wasm_i16x8_mul(wasm_u16x8_extend_low_u8x16(g), kg)),
                       wasm_i16x8_add(wasm_i16x8_mul(wasm_u16x8_extend_low_u8x16(bl), kb), round));
    v128_t hi =
        wasm_i16x8_add(wasm_i16x8_add(wasm_i16x8_mul(wasm_u16x8_extend_high_u8x16(r), kr),
                                      wasm_i16x8_mul(wasm_u16x8_extend_high_u8x16(g), kg)),
                       wasm_i16x8_add(wasm_i16x8_mul(wasm_u16x8_extend_high_u8x16(bl), kb), round));
    wasm_v128_store(grey + i,
                    wasm_u8x16_narrow_i16x8(wasm_u16x8_shr(lo, 8), wasm_u16x8_shr(hi, 8)));
  }
#endif
  for (; i < count; ++i) grey[i] = luma(rgb + 3 * i);
}

}  // namespace

int main() {
  std::vector<uint8_t> image = demo::read_stdin();
  if (image.empty()) demo::fail(400, "empty", "no image in the request body");
  demo::rate_limit("grayscale");
  edgecar_image_info info;
  int32_t e = edgecar_image_info_of(image.data(), static_cast<uint32_t>(image.size()), &info);
  if (e == EDGECAR_IMAGE_UNSUPPORTED)
    demo::fail(415, "unsupported", "not an image (JPEG, PNG, GIF, BMP or WebP expected)");
  if (e == EDGECAR_IMAGE_TOO_LARGE) demo::fail(413, "too_large", "the image has too many pixels");
  if (e != EDGECAR_IMAGE_OK) demo::fail(400, "corrupt", "the image could not be decoded");
  size_t count = static_cast<size_t>(info.width) * info.height;
  std::vector<uint8_t> rgb(count * 3);
  if (edgecar_image_decode_rgb8(image.data(), static_cast<uint32_t>(image.size()), rgb.data(),
                                static_cast<uint32_t>(rgb.size())) != EDGECAR_IMAGE_OK)
    demo::fail(400, "corrupt", "the image could not be decoded");

  std::vector<uint8_t> grey(count);
  to_grey(rgb.data(), grey.data(), count);

  bool gif = info.format == EDGECAR_IMAGE_GIF;
  uint32_t format = gif ? EDGECAR_IMAGE_GIF : EDGECAR_IMAGE_PNG;
  uint32_t need = 0;
  std::vector<uint8_t> out(count + 4096);
  e = edgecar_image_encode(grey.data(), static_cast<uint32_t>(count), info.width, info.height, 1,
                           format, out.data(), static_cast<uint32_t>(out.size()), &need);
  if (e == EDGECAR_IMAGE_BUFFER_TOO_SMALL) {
    out.resize(need);
    e = edgecar_image_encode(grey.data(), static_cast<uint32_t>(count), info.width, info.height, 1,
                             format, out.data(), need, &need);
  }
  if (e != EDGECAR_IMAGE_OK) demo::fail(500, "encode", "encoding the grey image failed");
  demo::record("grayscale", image.size());
  if (demo::cgi()) std::printf("Content-Type: %s\n\n", gif ? "image/gif" : "image/png");
  std::fflush(stdout);
  std::fwrite(out.data(), 1, need, stdout);
  return 0;
}

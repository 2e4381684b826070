// grayscale: turns an image grey, as the original demo's grayscale function did.
// Input: JPEG, PNG, GIF, BMP or WebP on stdin. Output: the grey image as PNG (GIF for a
// GIF input), with R = G = B = the ITU-R BT.601 luma of each pixel.
// A WASI command: a WAGI function under edgecar serve, a filter under edgecar run.
#include "../common.hpp"
#include "edgecar_image.h"

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

  // Luma in fixed point: (77 R + 150 G + 29 B + 128) / 256, the weights 0.299, 0.587,
  // 0.114 scaled by 256.
  std::vector<uint8_t> grey(count);
  for (size_t i = 0; i < count; ++i)
    grey[i] = static_cast<uint8_t>(
        (77 * rgb[i * 3] + 150 * rgb[i * 3 + 1] + 29 * rgb[i * 3 + 2] + 128) >> 8);

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

// The image decoders behind edgecar_image (libjpeg-turbo, libpng, giflib, libwebp and
// edgecar's BMP reader) on arbitrary bytes: pixels or an error code, within the pixel cap.
#include <cstddef>
#include <cstdint>

#include "edgecar/image.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  auto info = edgecar::image::probe(in);
  auto img = edgecar::image::decode(in);
  if (img && img->width * uint64_t{img->height} <= 1'000'000) {
    auto small = edgecar::image::resize(*img, 7, 5);
    (void)edgecar::image::encode(small, 7, 5, 3, edgecar::image::Format::Png);
  }
  (void)info;
  return 0;
}

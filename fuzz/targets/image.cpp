// The image decoders behind edgecar_image (libjpeg-turbo, libpng, giflib, libwebp and
// edgecar's BMP reader) on arbitrary bytes: pixels or an error code, within the pixel cap.
#include <cstddef>
#include <cstdint>

#include "edgecar/image.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  auto info = edgecar::image::probe(in);
  // Canvases up to the 50-megapixel cap decode, slowly: a 412-byte GIF declaring
  // 30848x1024 pixels took 2 s under ASan to fill its 95 MB (a timeout in the first
  // campaign, bounded by the cap). Past 4 megapixels only the header is read here.
  if (!info || uint64_t{info->width} * info->height > 4'000'000) return 0;
  auto img = edgecar::image::decode(in);
  if (img && img->width * uint64_t{img->height} <= 1'000'000) {
    auto small = edgecar::image::resize(*img, 7, 5);
    (void)edgecar::image::encode(small, 7, 5, 3, edgecar::image::Format::Png);
  }
  (void)info;
  return 0;
}

/* The edgecar_image host module for C and C++ guests: the host decodes JPEG, PNG, GIF
 * (first frame), BMP and WebP, resizes, and encodes PNG or GIF; pixels are RGB8, row by
 * row. Every function returns an edgecar_image error code (0 on success). Images over
 * 50 megapixels are refused (EDGECAR_IMAGE_TOO_LARGE) before they are decoded. */
#ifndef EDGECAR_IMAGE_H
#define EDGECAR_IMAGE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
  EDGECAR_IMAGE_OK = 0,
  EDGECAR_IMAGE_INVALID_ARGUMENT = 1,
  EDGECAR_IMAGE_UNSUPPORTED = 2,
  EDGECAR_IMAGE_CORRUPT = 3,
  EDGECAR_IMAGE_TOO_LARGE = 4,
  EDGECAR_IMAGE_BUFFER_TOO_SMALL = 5,
};
enum {
  EDGECAR_IMAGE_JPEG = 1,
  EDGECAR_IMAGE_PNG = 2,
  EDGECAR_IMAGE_GIF = 3,
  EDGECAR_IMAGE_BMP = 4,
  EDGECAR_IMAGE_WEBP = 5
};
enum { EDGECAR_IMAGE_NORM_0_1 = 0, EDGECAR_IMAGE_NORM_MINUS1_1 = 1, EDGECAR_IMAGE_NORM_0_255 = 2 };

typedef struct {
  uint32_t width, height, format;
} edgecar_image_info;

#define EDGECAR_IMAGE_IMPORT(name) \
  __attribute__((import_module("edgecar_image"), import_name(name)))

/* Width, height and format from the header. */
EDGECAR_IMAGE_IMPORT("info")
int32_t edgecar_image_info_of(const void* img, uint32_t len, edgecar_image_info* info);
/* The image at its own size: out_size >= width * height * 3. */
EDGECAR_IMAGE_IMPORT("decode_rgb8")
int32_t edgecar_image_decode_rgb8(const void* img, uint32_t len, uint8_t* out, uint32_t out_size);
/* Resized to width x height (antialiased bilinear, as Pillow's resize(size, BILINEAR); a
 * large JPEG decoded at a reduced DCT scale first, as Pillow's draft), RGB8 or float32 RGB
 * normalised by `norm`. */
EDGECAR_IMAGE_IMPORT("resize_rgb8")
int32_t edgecar_image_resize_rgb8(const void* img, uint32_t len, uint32_t width, uint32_t height,
                                  uint8_t* out, uint32_t out_size);
EDGECAR_IMAGE_IMPORT("resize_f32")
int32_t edgecar_image_resize_f32(const void* img, uint32_t len, uint32_t width, uint32_t height,
                                 uint32_t norm, float* out, uint32_t out_size);
/* Encodes channels (1 grey, 3 RGB, 4 RGBA; GIF: 1) as PNG or GIF into out; *out_len gets
 * the encoded size, also when it exceeds out_size (EDGECAR_IMAGE_BUFFER_TOO_SMALL). */
EDGECAR_IMAGE_IMPORT("encode")
int32_t edgecar_image_encode(const uint8_t* pixels, uint32_t pixels_len, uint32_t width,
                             uint32_t height, uint32_t channels, uint32_t format, void* out,
                             uint32_t out_size, uint32_t* out_len);

#ifdef __cplusplus
}
#endif

#endif

/* Decodes the image on stdin with edgecar_image and writes u32 width, u32 height,
 * u32 format and the RGB8 pixels; with argument "encode-png" or "encode-gif" it instead
 * re-encodes the grey average of the pixels, with "resize [W H]" it writes the image
 * resized to W x H (default 8x8; RGB8). Exits with the error code on failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgecar_image.h"

static unsigned char image[16 << 20];

int main(int argc, char** argv) {
  size_t n = fread(image, 1, sizeof image, stdin);
  edgecar_image_info info;
  int e = edgecar_image_info_of(image, (uint32_t)n, &info);
  if (e) {
    fprintf(stderr, "info: %d\n", e);
    return 10 + e;
  }
  if (argc > 1 && strcmp(argv[1], "resize") == 0) {
    uint32_t w = argc > 3 ? (uint32_t)atoi(argv[2]) : 8, h = argc > 3 ? (uint32_t)atoi(argv[3]) : 8;
    size_t len = (size_t)w * h * 3;
    unsigned char* small = malloc(len ? len : 1);
    if (!small) return 99;
    if ((e = edgecar_image_resize_rgb8(image, (uint32_t)n, w, h, small, (uint32_t)len))) {
      fprintf(stderr, "resize: %d\n", e);
      return 50 + e;
    }
    fwrite(small, 1, len, stdout);
    return 0;
  }
  size_t len = (size_t)info.width * info.height * 3;
  unsigned char* px = malloc(len);
  if (!px) return 99;
  if ((e = edgecar_image_decode_rgb8(image, (uint32_t)n, px, (uint32_t)len))) {
    fprintf(stderr, "decode: %d\n", e);
    return 20 + e;
  }
  if (argc > 1) {
    size_t count = (size_t)info.width * info.height;
    unsigned char* grey = malloc(count);
    for (size_t i = 0; i < count; ++i)
      grey[i] = (unsigned char)((px[i * 3] + px[i * 3 + 1] + px[i * 3 + 2]) / 3);
    uint32_t fmt = strcmp(argv[1], "encode-gif") == 0 ? EDGECAR_IMAGE_GIF : EDGECAR_IMAGE_PNG;
    uint32_t need = 0;
    e = edgecar_image_encode(grey, (uint32_t)count, info.width, info.height, 1, fmt, NULL, 0,
                             &need);
    if (e != EDGECAR_IMAGE_BUFFER_TOO_SMALL) {
      fprintf(stderr, "encode size: %d\n", e);
      return 30 + e;
    }
    unsigned char* out = malloc(need);
    if ((e = edgecar_image_encode(grey, (uint32_t)count, info.width, info.height, 1, fmt, out, need,
                                  &need))) {
      fprintf(stderr, "encode: %d\n", e);
      return 40 + e;
    }
    fwrite(out, 1, need, stdout);
    return 0;
  }
  uint32_t head[3] = {info.width, info.height, info.format};
  fwrite(head, 4, 3, stdout);
  fwrite(px, 1, len, stdout);
  return 0;
}

/* A hostile guest for the edgecar_image host module: pointers outside its memory, sizes
 * that overflow, impossible dimensions and formats. Reads a valid image on stdin and
 * prints one "name=code" line per call; every call must return an error code (never
 * trap) and the guest must reach its end. Checked by tests/nn/test_nn.py. */
#include <stdint.h>
#include <stdio.h>

#include "edgecar_image.h"

#define SHOW(name, expr) printf("%s=%d\n", name, (int)(expr))

static unsigned char image[1 << 20];
static unsigned char out[64 * 64 * 3];

int main(void) {
  uint32_t n = (uint32_t)fread(image, 1, sizeof image, stdin);
  void* far = (void*)0xFFFFFF00u;
  edgecar_image_info info;
  SHOW("info_ok", edgecar_image_info_of(image, n, &info));
  SHOW("info_far_image", edgecar_image_info_of(far, 1000, &info));
  SHOW("info_len_wraps", edgecar_image_info_of(image, 0xFFFFFFF0u, &info));
  SHOW("info_far_result", edgecar_image_info_of(image, n, (edgecar_image_info*)far));
  SHOW("decode_far_out", edgecar_image_decode_rgb8(image, n, (uint8_t*)far, 0xF0000000u));
  SHOW("decode_small_out", edgecar_image_decode_rgb8(image, n, out, 10));
  SHOW("resize_zero_width", edgecar_image_resize_rgb8(image, n, 0, 10, out, sizeof out));
  SHOW("resize_huge", edgecar_image_resize_rgb8(image, n, 100000, 100000, out, sizeof out));
  SHOW("resize_size_wraps", edgecar_image_resize_rgb8(image, n, 65536, 65536, out, 0xFFFFFFFFu));
  SHOW("resize_small_out", edgecar_image_resize_rgb8(image, n, 64, 64, out, 100));
  SHOW("resize_far_out", edgecar_image_resize_rgb8(image, n, 64, 64, (uint8_t*)far, 64 * 64 * 3));
  SHOW("resize_f32_bad_norm",
       edgecar_image_resize_f32(image, n, 8, 8, 7, (float*)out, 8 * 8 * 3 * 4));
  SHOW("resize_f32_size_wraps",
       edgecar_image_resize_f32(image, n, 32768, 32768, 0, (float*)out, 0xFFFFFFFFu));
  uint32_t len = 0;
  SHOW("encode_short_pixels",
       edgecar_image_encode(out, 10, 64, 64, 3, EDGECAR_IMAGE_PNG, image, sizeof image, &len));
  SHOW("encode_two_channels",
       edgecar_image_encode(out, 8 * 8 * 2, 8, 8, 2, EDGECAR_IMAGE_PNG, image, sizeof image, &len));
  SHOW("encode_gif_rgb",
       edgecar_image_encode(out, 8 * 8 * 3, 8, 8, 3, EDGECAR_IMAGE_GIF, image, sizeof image, &len));
  SHOW("encode_bad_format",
       edgecar_image_encode(out, 8 * 8 * 3, 8, 8, 3, 99, image, sizeof image, &len));
  SHOW("encode_far_len", edgecar_image_encode(out, 8 * 8 * 3, 8, 8, 3, EDGECAR_IMAGE_PNG, image,
                                              sizeof image, (uint32_t*)far));
  SHOW("encode_far_out",
       edgecar_image_encode(out, 8 * 8 * 3, 8, 8, 3, EDGECAR_IMAGE_PNG, far, 4096, &len));
  SHOW("encode_dims_wrap",
       edgecar_image_encode(out, 0, 65536, 65536, 1, EDGECAR_IMAGE_PNG, image, sizeof image, &len));
  SHOW("encode_ok",
       edgecar_image_encode(out, 8 * 8 * 3, 8, 8, 3, EDGECAR_IMAGE_PNG, image, sizeof image, &len));
  puts("end");
  return 0;
}

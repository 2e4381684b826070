// Mandelbrot set membership on a grid: float loops with early exit.
#include "kernel.h"
EXPORT uint32_t run(uint32_t size) {
  uint32_t inside = 0;
  for (uint32_t y = 0; y < size; ++y) {
    for (uint32_t x = 0; x < size; ++x) {
      double cr = 2.0 * x / size - 1.5, ci = 2.0 * y / size - 1.0;
      double zr = 0, zi = 0;
      int i = 0;
      for (; i < 50 && zr * zr + zi * zi <= 4.0; ++i) {
        double t = zr * zr - zi * zi + cr;
        zi = 2 * zr * zi + ci;
        zr = t;
      }
      if (i == 50) inside++;
    }
  }
  return inside;
}

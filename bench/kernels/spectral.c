// Spectral norm: double arithmetic with integer division in the index expression.
#include "kernel.h"
#define N 500
static double u[N], v[N], t[N];
static double A(int i, int j) {
  return 1.0 / ((i + j) * (i + j + 1) / 2 + i + 1);
}
static void mul_av(const double* x, double* y) {
  for (int i = 0; i < N; ++i) {
    double s = 0;
    for (int j = 0; j < N; ++j) s += A(i, j) * x[j];
    y[i] = s;
  }
}
static void mul_atv(const double* x, double* y) {
  for (int i = 0; i < N; ++i) {
    double s = 0;
    for (int j = 0; j < N; ++j) s += A(j, i) * x[j];
    y[i] = s;
  }
}
EXPORT uint32_t run(uint32_t iters) {
  for (int i = 0; i < N; ++i) u[i] = 1;
  for (uint32_t k = 0; k < iters; ++k) {
    mul_av(u, t);
    mul_atv(t, v);
    mul_av(v, t);
    mul_atv(t, u);
  }
  double vbv = 0, vv = 0;
  for (int i = 0; i < N; ++i) {
    vbv += u[i] * v[i];
    vv += v[i] * v[i];
  }
  return (uint32_t)(int64_t)(vbv / vv * 1e9);
}

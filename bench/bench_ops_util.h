/* Shared by bench_ops.c and bench_conv.c: wall-clock timing of enqueued work
 * (clFinish before and after, so a time is the device's time for the op plus
 * one launch latency), medians, and uploads of seeded data. */
#ifndef DLGN_BENCH_OPS_UTIL_H
#define DLGN_BENCH_OPS_UTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cl/device.h"
#include "nn/ops.h"
#include "dlgn/rng.h"
#include "dlgn/status.h"
#include "dlgn/util.h"

#define BENCH_MAX_REPEATS 64

typedef int (*bench_fn)(dlgn_device *dev, void *ctx);

/* Run fn once to warm up (kernel lookup, GEMM compilation), then `repeats`
 * times, each timed between two clFinish; *median = median seconds. */
static inline int bench_time(dlgn_device *dev, int repeats, bench_fn fn, void *ctx,
                             double *median) {
  if (fn(dev, ctx) != 0 || dlgn_finish(dev) != 0) return -1;
  double t[BENCH_MAX_REPEATS];
  int n = repeats < 1 ? 1 : (repeats < BENCH_MAX_REPEATS ? repeats : BENCH_MAX_REPEATS);
  for (int r = 0; r < n; r++) {
    double t0 = dlgn_now();
    if (fn(dev, ctx) != 0 || dlgn_finish(dev) != 0) return -1;
    t[r] = dlgn_now() - t0;
  }
  *median = dlgn_median(t, (size_t)n);
  return 0;
}

/* A device buffer of n floats, uniform in [-scale, scale] from seed. */
static inline int bench_random_buffer(dlgn_device *dev, size_t n, float scale, uint64_t seed,
                                      cl_mem *out) {
  float *h = dlgn_malloc((n ? n : 1) * sizeof *h, "benchmark data");
  if (!h) return -1;
  dlgn_rng r;
  dlgn_rng_seed(&r, seed);
  for (size_t i = 0; i < n; i++) h[i] = scale * (2.0f * dlgn_rng_uniform(&r) - 1.0f);
  int rc = ocl_buffer_create(dev, n * sizeof *h, "benchmark data", out);
  if (rc == 0) rc = ocl_buffer_write(dev, *out, 0, n * sizeof *h, h, "benchmark data");
  free(h);
  return rc;
}

static inline nn_buf bench_buf(cl_mem m) { return (nn_buf){m, 0}; }

/* max |got - want| / (abs_tol + rel_tol*|want|) */
static inline double bench_error(const float *got, const double *want, size_t n, double abs_tol,
                                 double rel_tol) {
  double worst = 0;
  for (size_t i = 0; i < n; i++) {
    double e = fabs((double)got[i] - want[i]) / (abs_tol + rel_tol * fabs(want[i]));
    if (!(e <= worst)) worst = e; /* NaN wins */
  }
  return worst;
}

#endif

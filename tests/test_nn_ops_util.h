/* Helpers of the op suites (test_nn_ops*.c): seeded data, device buffers
 * that hold their data at a nonzero offset (so every op is also tested with
 * offsets), comparison against the double-precision twins, and the
 * finite-difference check of the twins' gradients. Static: each suite is its
 * own executable. */
#ifndef DLGN_TEST_NN_OPS_UTIL_H
#define DLGN_TEST_NN_OPS_UTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/ops.h"
#include "nn/ops_ref.h"
#include "dlgn/rng.h"
#include "dlgn/status.h"
#include "testutil.h"

/* Where device data starts inside its buffer. */
#define TOFF 5

/* Host arrays are doubles holding float-representable values, so the device
 * and the twin see the same inputs. */
static inline double *tvec(size_t n) {
  double *a = calloc(n ? n : 1, sizeof *a);
  ck_assert_ptr_nonnull(a);
  return a;
}

static inline double *trand(dlgn_rng *r, size_t n, double lo, double hi) {
  double *a = tvec(n);
  for (size_t i = 0; i < n; i++) a[i] = (float)(lo + (hi - lo) * dlgn_rng_uniform(r));
  return a;
}

/* Values with |x| >= gap: away from the kink of ReLU and the hard gate, so
 * that finite differences and float rounding cannot cross it. */
static inline double *trand_away(dlgn_rng *r, size_t n, double scale, double gap) {
  double *a = trand(r, n, gap, scale);
  for (size_t i = 0; i < n; i++)
    if (dlgn_rng_below(r, 2)) a[i] = -a[i];
  return a;
}

static inline double *tcopy(const double *a, size_t n) {
  double *b = tvec(n);
  memcpy(b, a, n * sizeof *a);
  return b;
}

/* A device buffer of n floats (at offset TOFF) holding a, or NaN when a is
 * NULL (an output that the op must overwrite). */
static inline nn_buf tup(dlgn_device *dev, const double *a, size_t n) {
  size_t total = n + TOFF + 3;
  float *f = malloc(total * sizeof *f);
  ck_assert_ptr_nonnull(f);
  for (size_t i = 0; i < total; i++) f[i] = NAN;
  for (size_t i = 0; a && i < n; i++) f[TOFF + i] = (float)a[i];
  cl_mem m;
  ck_assert_ok(ocl_buffer_create(dev, total * sizeof *f, "test data", &m));
  ck_assert_ok(ocl_buffer_write(dev, m, 0, total * sizeof *f, f, "test data"));
  free(f);
  return (nn_buf){m, TOFF};
}

/* n ints at int offset off (the ints before it -1, written too) */
static inline cl_mem tup_ints(dlgn_device *dev, const int *a, size_t n, size_t off) {
  int *all = malloc((n + off) * sizeof *all);
  ck_assert_ptr_nonnull(all);
  for (size_t i = 0; i < off; i++) all[i] = -1;
  memcpy(all + off, a, n * sizeof *a);
  cl_mem m;
  ck_assert_ok(ocl_buffer_create(dev, (n + off) * sizeof(int), "test ints", &m));
  ck_assert_ok(ocl_buffer_write(dev, m, 0, (n + off) * sizeof(int), all, "test ints"));
  free(all);
  return m;
}

/* Read n floats of b back as doubles (waits for the queue). */
static inline double *tdown(dlgn_device *dev, nn_buf b, size_t n) {
  float *f = malloc((n ? n : 1) * sizeof *f);
  ck_assert_ptr_nonnull(f);
  ck_assert_ok(ocl_buffer_read(dev, b.mem, b.off * sizeof(float), n * sizeof(float), f,
                               "test result"));
  double *a = tvec(n);
  for (size_t i = 0; i < n; i++) a[i] = f[i];
  free(f);
  return a;
}

static inline void tfree(nn_buf *b) { ocl_buffer_release(&b->mem); }

static inline double tmaxabs(const double *a, size_t n) {
  double m = 0;
  for (size_t i = 0; i < n; i++) m = fmax(m, fabs(a[i]));
  return m;
}

/* Every |got - want| <= abs_tol + rel_tol*|want| (NaN never passes). */
static inline void tclose(const char *what, const dlgn_device *dev, const double *got, const double *want,
                   size_t n, double abs_tol, double rel_tol) {
  for (size_t i = 0; i < n; i++) {
    double err = fabs(got[i] - want[i]);
    ck_assert_msg(err <= abs_tol + rel_tol * fabs(want[i]),
                  "%s on '%s': element %zu of %zu is %.9g, want %.9g (err %.3g, tol %.3g + %.3g "
                  "rel)",
                  what, dev->info.name, i, n, got[i], want[i], err, abs_tol, rel_tol);
  }
}

/* Download n floats of b and compare. */
static inline void tcheck(const char *what, dlgn_device *dev, nn_buf b, const double *want, size_t n,
                   double abs_tol, double rel_tol) {
  double *got = tdown(dev, b, n);
  tclose(what, dev, got, want, n, abs_tol, rel_tol);
  free(got);
}

/* ---- finite differences on the twins ---- */

/* The loss of a gradient check: a fixed random linear functional of the op's
 * output, L = sum c[i] y[i], with y computed by the twin from the current
 * inputs (which fd_check perturbs in place). */
typedef double (*fd_loss)(void *ctx);

static inline double tdot(const double *a, const double *b, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; i++) s += a[i] * b[i];
  return s;
}

/* Central differences of loss w.r.t. each x[i] (up to 200 of them, spread
 * out) against the twin's gradient grad. In double with h ~ 1e-5 both the
 * truncation (h^2) and the rounding (1e-16/h) errors are far below 1e-6. */
static inline void fd_check(const char *what, fd_loss loss, void *ctx, double *x, size_t n,
                     const double *grad) {
  size_t step = n > 200 ? n / 200 : 1;
  for (size_t i = 0; i < n; i += step) {
    double keep = x[i], h = 1e-5 * fmax(1.0, fabs(keep));
    x[i] = keep + h;
    double lp = loss(ctx);
    x[i] = keep - h;
    double lm = loss(ctx);
    x[i] = keep;
    double fd = (lp - lm) / (2 * h);
    ck_assert_msg(fabs(fd - grad[i]) <= 1e-6 * (1 + fabs(grad[i])),
                  "gradient check of %s: d/dx[%zu] is %.10g by differences, %.10g by the twin",
                  what, i, fd, grad[i]);
  }
}

/* Open every device, or fail the test with the runtime's message. */
static inline dlgn_device **topen(int *count) {
  dlgn_device **devs;
  ck_assert_ok(test_open_all_devices(&devs, count));
  ck_assert_int_gt(*count, 0);
  return devs;
}

#endif

/* Tuning what training runs (see tune_model.h): a model's training step
 * recorded on the device, and each of its convolutions timed in every
 * strategy that fits. */
#include "nn/tune_model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dlgn/rng.h"
#include "dlgn/status.h"
#include "dlgn/util.h"
#include "nn/model_internal.h"
#include "nn/ops.h"
#include "ops_internal.h"

int nn_record_step(dlgn_device *dev, const dlgn_model_config *cfg, int batch,
                   ocl_call_record *rec) {
  dlgn_model *m;
  DLGN_TRY(dlgn_model_create(&m, dev, cfg, batch, 1));
  /* the values do not matter, only that every buffer holds numbers */
  size_t nx = (size_t)batch * DLGN_IMAGE_C * DLGN_IMAGE_H * DLGN_IMAGE_W;
  int rc = fill_forward(dev, (nn_buf){m->x, 0}, nx, 0.5f) ||
           fill_forward(dev, (nn_buf){m->dlogits, 0}, (size_t)batch * cfg->num_classes, 0.01f);
  dlgn_gate_kind gates = dlgn_model_train_gates(m);
  if (rc == 0) {
    dev->record = rec;
    rc = nn_model_forward(m, batch, gates, true) || nn_model_backward(m, batch, gates) ||
         dlgn_finish(dev);
    dev->record = NULL;
  }
  if (rc != 0)
    dlgn_fail_context("one training step of a %s %s at batch %d", dlgn_class_name(cfg->cls),
                      dlgn_arch_name(cfg->arch), batch);
  dlgn_model_destroy(m);
  return rc ? -1 : 0;
}

/* ---- one convolution in every strategy ---- */

enum { PASS_FWD, PASS_DX, PASS_DW, NPASS };
static const char *const pass_names[NPASS] = {"forward", "dx", "dw"};

typedef struct {
  dlgn_device *dev;
  const ocl_conv_shape *s;
  size_t n[NPASS];       /* floats of y, dx, dw: what each pass writes */
  nn_buf x, w, b, dy;  /* inputs */
  nn_buf out[NPASS];   /* y, dx, dw */
  nn_buf scratch;
  float *ref[NPASS], *got; /* the GEMM's results, and a candidate's */
  double scale[NPASS];     /* max |ref| */
} conv_bench;

static int run_pass(conv_bench *c, int pass, ocl_conv_kind k) {
  nn_buf none = {NULL, 0};
  switch (pass) {
    case PASS_FWD:
      return conv2d_forward_as(c->dev, k, c->out[PASS_FWD], c->x, c->w, c->b, c->scratch, c->s);
    case PASS_DX:
      return conv2d_backward_as(c->dev, k, OCL_CONV_GEMM, c->out[PASS_DX], none, none, c->dy,
                                c->x, c->w, c->scratch, c->s, false);
    default:
      return conv2d_backward_as(c->dev, OCL_CONV_GEMM, k, none, c->out[PASS_DW], none, c->dy,
                                c->x, c->w, c->scratch, c->s, false);
  }
}

static int buf_new(conv_bench *c, size_t n, const char *what, nn_buf *out) {
  out->off = 0;
  return ocl_buffer_create(c->dev, (n ? n : 1) * sizeof(float), what, &out->mem);
}

static int buf_random(conv_bench *c, size_t n, uint64_t seed, const char *what, nn_buf *out) {
  DLGN_TRY(buf_new(c, n, what, out));
  float *h = dlgn_malloc(n * sizeof *h, what);
  if (!h) return -1;
  dlgn_rng r;
  dlgn_rng_seed(&r, seed);
  for (size_t i = 0; i < n; i++) h[i] = 2.0f * dlgn_rng_uniform(&r) - 1.0f;
  int rc = ocl_buffer_write(c->dev, out->mem, 0, n * sizeof *h, h, what);
  free(h);
  return rc;
}

static void bench_free(conv_bench *c) {
  nn_buf *bufs[] = {&c->x, &c->w, &c->b, &c->dy, &c->out[0], &c->out[1], &c->out[2],
                      &c->scratch};
  for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) ocl_buffer_release(&bufs[i]->mem);
  for (int p = 0; p < NPASS; p++) free(c->ref[p]);
  free(c->got);
}

static int bench_init(conv_bench *c, dlgn_device *dev, const ocl_conv_shape *s) {
  memset(c, 0, sizeof *c);
  c->dev = dev;
  c->s = s;
  size_t nx = (size_t)s->C * s->N * s->H * s->W, nw = (size_t)s->OC * s->C * s->k * s->k;
  size_t ny = (size_t)s->OC * s->N * conv2d_out_h(s) * conv2d_out_w(s);
  c->n[PASS_FWD] = ny;
  c->n[PASS_DX] = nx;
  c->n[PASS_DW] = nw;
  size_t scratch = 1;
  for (int k = 0; k < OCL_CONV_NKINDS; k++) {
    /* the strategies that fit some pass of s */
    bool fits = false;
    for (int p = 0; p < NPASS; p++) fits |= conv2d_kind_fits(&dev->info, (ocl_conv_kind)k, p, s);
    if (!fits) continue;
    size_t need = conv2d_scratch_floats_as(dev, s, (ocl_conv_kind)k, (ocl_conv_kind)k,
                                           (ocl_conv_kind)k);
    if (need > scratch) scratch = need;
  }
  size_t most = ny > nx ? ny : nx;
  most = most > nw ? most : nw;
  DLGN_TRY(buf_random(c, nx, 1, "tuner x", &c->x));
  DLGN_TRY(buf_random(c, nw, 2, "tuner w", &c->w));
  DLGN_TRY(buf_random(c, (size_t)s->OC, 3, "tuner b", &c->b));
  DLGN_TRY(buf_random(c, ny, 4, "tuner dy", &c->dy));
  for (int p = 0; p < NPASS; p++) DLGN_TRY(buf_new(c, c->n[p], "tuner output", &c->out[p]));
  DLGN_TRY(buf_new(c, scratch, "tuner scratch", &c->scratch));
  c->got = dlgn_malloc(most * sizeof(float), "tuner results");
  if (!c->got) return -1;
  /* the reference: im2col + GEMM, which takes every shape */
  for (int p = 0; p < NPASS; p++) {
    c->ref[p] = dlgn_malloc(c->n[p] * sizeof(float), "tuner reference");
    if (!c->ref[p]) return -1;
    DLGN_TRY(run_pass(c, p, OCL_CONV_GEMM));
    DLGN_TRY(ocl_buffer_read(dev, c->out[p].mem, 0, c->n[p] * sizeof(float), c->ref[p],
                             "tuner reference"));
    double m = 0;
    for (size_t i = 0; i < c->n[p]; i++) m = fmax(m, fabs((double)c->ref[p][i]));
    c->scale[p] = m;
  }
  return 0;
}

/* The candidate's result against the GEMM's: within 1e-3 of the largest
 * magnitude (Winograd's transforms and other summation orders stay far
 * inside; a kernel that drops work does not). */
static int bench_verify(conv_bench *c, int pass, bool *ok) {
  DLGN_TRY(ocl_buffer_read(c->dev, c->out[pass].mem, 0, c->n[pass] * sizeof(float), c->got,
                           "tuner result"));
  double tol = 1e-3 * c->scale[pass] + 1e-6, worst = 0;
  for (size_t i = 0; i < c->n[pass]; i++) {
    double d = fabs((double)c->got[i] - (double)c->ref[pass][i]);
    if (!(d <= worst)) worst = d; /* NaN counts as the worst */
  }
  *ok = worst <= tol;
  return 0;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Median wall time in ms of reps runs, each waited for. */
static int bench_time(conv_bench *c, int pass, ocl_conv_kind k, bool quick, double *ms) {
  enum { MAX_REPS = 15 };
  double t[MAX_REPS], start = dlgn_now();
  int n = 0, min_reps = quick ? 2 : 3;
  double budget = quick ? 0.2 : 1.0;
  while (n < MAX_REPS && (n < min_reps || dlgn_now() - start < budget)) {
    double t0 = dlgn_now();
    DLGN_TRY(run_pass(c, pass, k));
    DLGN_TRY(dlgn_finish(c->dev));
    t[n++] = 1e3 * (dlgn_now() - t0);
  }
  qsort(t, (size_t)n, sizeof t[0], cmp_double);
  *ms = n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
  return 0;
}

int nn_tune_conv(dlgn_device *dev, const ocl_conv_shape *s, bool quick, FILE *log,
                 ocl_tuned_conv *out) {
  memset(out, 0, sizeof *out);
  out->shape = *s;
  conv_bench c;
  int rc = bench_init(&c, dev, s);
  for (int p = 0; rc == 0 && p < NPASS; p++) {
    double best = INFINITY;
    ocl_conv_kind winner = OCL_CONV_GEMM;
    for (int k = 0; rc == 0 && k < OCL_CONV_NKINDS; k++) {
      if (!conv2d_kind_fits(&dev->info, (ocl_conv_kind)k, p, s)) continue;
      bool ok = true;
      double ms = 0;
      /* the first run compiles and touches memory; its result is checked */
      rc = run_pass(&c, p, (ocl_conv_kind)k) || dlgn_finish(dev) ||
           bench_verify(&c, p, &ok);
      if (rc == 0 && ok) rc = bench_time(&c, p, (ocl_conv_kind)k, quick, &ms);
      if (rc != 0) break;
      if (log && ok)
        fprintf(log, "    %-7s %-6s %9.3f ms\n", pass_names[p],
                ocl_conv_kind_name((ocl_conv_kind)k), ms);
      if (log && !ok)
        fprintf(log, "    %-7s %-6s skipped: its result differs from the GEMM's\n",
                pass_names[p], ocl_conv_kind_name((ocl_conv_kind)k));
      if (ok && ms < best) {
        best = ms;
        winner = (ocl_conv_kind)k;
      }
    }
    if (rc == 0 && !isfinite(best))
      rc = dlgn_fail("no convolution strategy gave the right %s result on device '%s'",
                     pass_names[p], dev->info.name);
    if (rc == 0) {
      if (p == PASS_FWD) out->fwd = winner;
      if (p == PASS_DX) out->dx = winner;
      if (p == PASS_DW) out->dw = winner;
      out->ms[p] = best;
    }
  }
  bench_free(&c);
  if (rc != 0)
    return dlgn_fail_context("tuning the convolution N=%d C=%d %dx%d OC=%d k=%d stride=%d pad=%d",
                             s->N, s->C, s->H, s->W, s->OC, s->k, s->stride, s->pad);
  return 0;
}

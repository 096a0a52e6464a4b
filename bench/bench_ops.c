/* Per-op times on one device for the shapes of the two reference models at
 * batch 128: FC 5x128 (3072 -> 128 x5 -> 10) and C4GAP-128 (4 conv 3x3 of 128
 * channels at 32x32, GAP, dense 10). Each op is first run on a small case and
 * checked against its C twin; then each is timed (median of --repeat runs,
 * each between two clFinish) and reported with GFLOP/s (GEMM-like ops) or
 * GB/s (the rest: bytes that must move at least once).
 *   bench_ops [--device SEL] [--repeat R] [--batch N]   ($DLGN_DEVICE too) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_ops_util.h"
#include "dlgn/data.h"
#include "cl/gemm.h"
#include "nn/ops_ref.h"

typedef enum {
  INPUT, DENSE_F, DENSE_B, CONV_F, CONV_B, GATE_F, GATE_B, RELU_F, RELU_B, POOL_F, POOL_B,
  GAP_F, GAP_B, BN_F, BN_B, XENT_F, XENT_B, SGD, ADAM
} op_kind;

/* One timed op. Dimensions by kind: INPUT N (b: cnhw); DENSE N, IN, OUT;
 * GATE/RELU/SGD/ADAM n = a; POOL P, H, W; GAP C, N, HW; BN C, M; XENT N, K. */
typedef struct {
  op_kind kind;
  int a, b, c;
  ocl_conv_shape conv;
  dlgn_gate_kind gate;
  bool with_dx;
} op_case;

/* The device buffers every case of a table shares: each float buffer holds
 * the largest operand of the table. Roles by kind in run_op. */
typedef struct {
  size_t floats;
  cl_mem x, y, dx, dy, q, w, dw, b, db, m, v, scratch, stats, x8, aug, labels, correct, loss;
} pool;

#define HYPER_LR 0.01f

static int run_op(dlgn_device *dev, pool *p, const op_case *o) {
  nn_buf x = bench_buf(p->x), y = bench_buf(p->y), dx = bench_buf(p->dx);
  nn_buf dy = bench_buf(p->dy), q = bench_buf(p->q), w = bench_buf(p->w);
  nn_buf dw = bench_buf(p->dw), b = bench_buf(p->b), db = bench_buf(p->db);
  nn_buf st = bench_buf(p->stats), none = {NULL, 0};
  const float mean[3] = {0.49f, 0.48f, 0.45f}, sd[3] = {0.25f, 0.24f, 0.26f};
  switch (o->kind) {
  case INPUT:
    return input_forward(dev, y, p->x8, 0, p->aug, 0, o->a, 32, 32, mean, sd, o->b != 0);
  case DENSE_F: return dense_forward(dev, y, x, w, b, o->a, o->b, o->c);
  case DENSE_B:
    return dense_backward(dev, o->with_dx ? dx : none, dw, db, dy, x, w, o->a, o->b, o->c, false);
  case CONV_F: return conv2d_forward(dev, y, x, w, b, bench_buf(p->scratch), &o->conv);
  case CONV_B:
    return conv2d_backward(dev, o->with_dx ? dx : none, dw, db, dy, x, w, bench_buf(p->scratch),
                           &o->conv, false);
  case GATE_F: return gate_forward(dev, y, x, q, (size_t)o->a, 4.0f, o->gate);
  case GATE_B: /* hard gates are fixed: no dq */
    return gate_backward(dev, dx, o->gate == DLGN_GATE_SOFT ? dw : none, dy, x, q, (size_t)o->a,
                         4.0f, o->gate, false);
  case RELU_F: return relu_forward(dev, y, x, (size_t)o->a);
  case RELU_B: return relu_backward(dev, dx, dy, x, (size_t)o->a, false);
  case POOL_F: return avgpool2_forward(dev, y, x, o->a, o->b, o->c);
  case POOL_B: return avgpool2_backward(dev, dx, dy, o->a, o->b, o->c, false);
  case GAP_F: return gap_forward(dev, y, x, o->a, o->b, o->c);
  case GAP_B: return gap_backward(dev, dx, dy, o->a, o->b, o->c, false);
  case BN_F: /* stats: running mean, running var, saved mean, saved invstd */
    return batchnorm_forward(dev, y, x, w, b, st, nn_at(st, (size_t)o->a),
                             nn_at(st, 2 * (size_t)o->a), nn_at(st, 3 * (size_t)o->a), o->a,
                             o->b, 0.1f, 1e-5f, true);
  case BN_B:
    return batchnorm_backward(dev, dx, dw, db, dy, x, w, nn_at(st, 2 * (size_t)o->a),
                              nn_at(st, 3 * (size_t)o->a), o->a, o->b);
  case XENT_F:
    return xent_forward(dev, bench_buf(p->loss), p->correct, 0, x, p->labels, 0, o->a, o->b);
  case XENT_B: return xent_backward(dev, dx, x, p->labels, 0, o->a, o->b);
  case SGD:
    return sgd_update(dev, x, dy, bench_buf(p->m), (size_t)o->a, HYPER_LR, 0.9f, 5e-4f, false,
                      false);
  case ADAM:
    return adam_update(dev, x, dy, bench_buf(p->m), bench_buf(p->v), (size_t)o->a, 1e-3f, 0.9f,
                       0.999f, 1e-8f, 0.0f, 3);
  }
  return dlgn_fail("bench_ops: unknown op kind %d", (int)o->kind);
}

static int run_op_cb(dlgn_device *dev, void *ctx) {
  void **pc = ctx;
  return run_op(dev, pc[0], pc[1]);
}

/* ---- the pool ---- */

static int pool_create(dlgn_device *dev, pool *p, size_t floats, size_t scratch, int nimages,
                       int nlabels, int K) {
  memset(p, 0, sizeof *p);
  p->floats = floats;
  cl_mem *f[] = {&p->x, &p->y, &p->dx, &p->dy, &p->q, &p->w, &p->dw, &p->b, &p->db};
  for (int i = 0; i < 9; i++) DLGN_TRY(bench_random_buffer(dev, floats, 1.0f, 10 + i, f[i]));
  /* optimizer state starts non-negative (v is a running mean of squares) */
  DLGN_TRY(bench_random_buffer(dev, floats, 0.1f, 30, &p->m));
  DLGN_TRY(bench_random_buffer(dev, floats, 0.0f, 31, &p->v));
  DLGN_TRY(ocl_buffer_create(dev, (scratch ? scratch : 1) * sizeof(float), "scratch",
                             &p->scratch));
  /* batch norm statistics: running var and saved invstd must be positive */
  DLGN_TRY(bench_random_buffer(dev, 4 * 1024, 0.0f, 32, &p->stats));
  DLGN_TRY(ocl_buffer_fill_float(dev, p->stats, 0, 4 * 1024, 1.0f, "statistics"));
  DLGN_TRY(bench_random_buffer(dev, 1, 0.0f, 33, &p->loss));
  dlgn_rng r;
  dlgn_rng_seed(&r, 34);
  size_t nb = (size_t)nimages * DLGN_IMAGE_BYTES;
  uint8_t *bytes = dlgn_malloc(nb + 1, "bench images");
  dlgn_aug *aug = dlgn_malloc(((size_t)nimages + 1) * sizeof *aug, "bench aug");
  int *labels = dlgn_malloc(((size_t)nlabels + 1) * sizeof *labels, "bench labels");
  if (!bytes || !aug || !labels) return -1;
  for (size_t i = 0; i < nb; i++) bytes[i] = (uint8_t)dlgn_rng_below(&r, 256);
  for (int i = 0; i < nimages; i++)
    aug[i] = (dlgn_aug){(int)dlgn_rng_below(&r, 9) - 4, (int)dlgn_rng_below(&r, 9) - 4,
                        (int)dlgn_rng_below(&r, 2)};
  for (int i = 0; i < nlabels; i++) labels[i] = (int)dlgn_rng_below(&r, (uint32_t)K);
  int zero = 0;
  int rc = ocl_buffer_create(dev, nb, "images", &p->x8) ||
           ocl_buffer_write(dev, p->x8, 0, nb, bytes, "images") ||
           ocl_buffer_create(dev, (size_t)nimages * sizeof *aug, "aug", &p->aug) ||
           ocl_buffer_write(dev, p->aug, 0, (size_t)nimages * sizeof *aug, aug, "aug") ||
           ocl_buffer_create(dev, (size_t)nlabels * sizeof(int), "labels", &p->labels) ||
           ocl_buffer_write(dev, p->labels, 0, (size_t)nlabels * sizeof(int), labels, "labels") ||
           ocl_buffer_create(dev, sizeof zero, "correct", &p->correct) ||
           ocl_buffer_write(dev, p->correct, 0, sizeof zero, &zero, "correct");
  free(bytes), free(aug), free(labels);
  return rc ? -1 : 0;
}

static void pool_release(pool *p) {
  cl_mem *all[] = {&p->x,  &p->y,  &p->dx,      &p->dy,    &p->q,   &p->w,
                   &p->dw, &p->b,  &p->db,      &p->m,     &p->v,   &p->scratch,
                   &p->stats, &p->x8, &p->aug, &p->labels, &p->correct, &p->loss};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) ocl_buffer_release(all[i]);
}

/* ---- checks against the twins ---- */

static double *down(dlgn_device *dev, cl_mem m, size_t n, int *rc) {
  float *f = malloc((n ? n : 1) * sizeof *f);
  double *d = malloc((n ? n : 1) * sizeof *d);
  if (!f || !d || ocl_buffer_read(dev, m, 0, n * sizeof *f, f, "check data") != 0) *rc = -1;
  for (size_t i = 0; *rc == 0 && i < n; i++) d[i] = f[i];
  free(f);
  return d;
}

/* err/tol of got (device) against want (twin) */
static double compare(dlgn_device *dev, cl_mem got, const double *want, size_t n, int *rc) {
  double *g = down(dev, got, n, rc), worst = 0, scale = 0;
  for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(want[i]));
  for (size_t i = 0; *rc == 0 && i < n; i++) {
    double e = fabs(g[i] - want[i]) / (1e-4 * scale + 1e-4 * fabs(want[i]) + 1e-30);
    if (!(e <= worst)) worst = e;
  }
  free(g);
  return worst;
}

/* Run op o once on the small pool and compare its outputs with the twin's. */
static int check_op(dlgn_device *dev, pool *p, const op_case *o, const char *name) {
  int rc = 0, n = o->a;
  size_t F = p->floats;
  double *x = down(dev, p->x, F, &rc), *dy = down(dev, p->dy, F, &rc);
  double *q = down(dev, p->q, F, &rc), *w = down(dev, p->w, F, &rc);
  double *b = down(dev, p->b, F, &rc), *st = down(dev, p->stats, 4096, &rc);
  double *m = down(dev, p->m, F, &rc), *v = down(dev, p->v, F, &rc);
  double *r1 = calloc(F, sizeof *r1), *r2 = calloc(F, sizeof *r2), *r3 = calloc(F, sizeof *r3);
  int *labels = calloc((size_t)(o->a > 0 ? o->a : 1), sizeof *labels);
  float *fin = calloc((size_t)o->a * 3072 + 1, sizeof *fin);
  if (rc || !r1 || !r2 || !r3 || !labels || !fin || run_op(dev, p, o) != 0) rc = -1;
  double err = 0;
  if (rc == 0) switch (o->kind) {
    case INPUT: {
      uint8_t *x8 = malloc((size_t)n * DLGN_IMAGE_BYTES);
      dlgn_aug *aug = malloc((size_t)n * sizeof *aug);
      const float mean[3] = {0.49f, 0.48f, 0.45f}, sd[3] = {0.25f, 0.24f, 0.26f};
      rc = ocl_buffer_read(dev, p->x8, 0, (size_t)n * DLGN_IMAGE_BYTES, x8, "images") ||
           ocl_buffer_read(dev, p->aug, 0, (size_t)n * sizeof *aug, aug, "aug");
      dlgn_input_ref(fin, x8, aug, n, mean, sd, o->b != 0);
      for (size_t i = 0; i < (size_t)n * 3072; i++) r1[i] = fin[i];
      if (rc == 0) err = compare(dev, p->y, r1, (size_t)n * 3072, &rc);
      free(x8), free(aug);
      break;
    }
    case DENSE_F:
      dense_forward_ref(r1, x, w, b, o->a, o->b, o->c);
      err = compare(dev, p->y, r1, (size_t)o->a * o->c, &rc);
      break;
    case DENSE_B:
      dense_backward_ref(r1, r2, r3, dy, x, w, o->a, o->b, o->c);
      err = fmax(compare(dev, p->dw, r2, (size_t)o->b * o->c, &rc),
                 compare(dev, p->db, r3, (size_t)o->c, &rc));
      if (o->with_dx) err = fmax(err, compare(dev, p->dx, r1, (size_t)o->a * o->b, &rc));
      break;
    case CONV_F:
      conv2d_forward_ref(r1, x, w, b, &o->conv);
      err = compare(dev, p->y, r1,
                    (size_t)o->conv.OC * o->conv.N * conv2d_out_h(&o->conv) *
                        conv2d_out_w(&o->conv),
                    &rc);
      break;
    case CONV_B: {
      const ocl_conv_shape *s = &o->conv;
      conv2d_backward_ref(r1, r2, r3, dy, x, w, s);
      err = fmax(compare(dev, p->dw, r2, (size_t)s->OC * s->C * s->k * s->k, &rc),
                 compare(dev, p->db, r3, (size_t)s->OC, &rc));
      if (o->with_dx)
        err = fmax(err, compare(dev, p->dx, r1, (size_t)s->C * s->N * s->H * s->W, &rc));
      break;
    }
    case GATE_F:
      gate_forward_ref(r1, x, q, (size_t)n, 4.0, o->gate);
      err = compare(dev, p->y, r1, (size_t)n, &rc);
      break;
    case GATE_B:
      gate_backward_ref(r1, r2, dy, x, q, (size_t)n, 4.0, o->gate);
      err = compare(dev, p->dx, r1, (size_t)n, &rc);
      if (o->gate == DLGN_GATE_SOFT) err = fmax(err, compare(dev, p->dw, r2, (size_t)n, &rc));
      break;
    case RELU_F:
      relu_forward_ref(r1, x, (size_t)n);
      err = compare(dev, p->y, r1, (size_t)n, &rc);
      break;
    case RELU_B:
      relu_backward_ref(r1, dy, x, (size_t)n);
      err = compare(dev, p->dx, r1, (size_t)n, &rc);
      break;
    case POOL_F:
      avgpool2_forward_ref(r1, x, o->a, o->b, o->c);
      err = compare(dev, p->y, r1, (size_t)o->a * o->b * o->c / 4, &rc);
      break;
    case POOL_B:
      avgpool2_backward_ref(r1, dy, o->a, o->b, o->c);
      err = compare(dev, p->dx, r1, (size_t)o->a * o->b * o->c, &rc);
      break;
    case GAP_F:
      gap_forward_ref(r1, x, o->a, o->b, o->c);
      err = compare(dev, p->y, r1, (size_t)o->a * o->b, &rc);
      break;
    case GAP_B:
      gap_backward_ref(r1, dy, o->a, o->b, o->c);
      err = compare(dev, p->dx, r1, (size_t)o->a * o->b * o->c, &rc);
      break;
    case BN_F: {
      int C = o->a;
      batchnorm_forward_ref(r1, x, w, b, st, st + C, st + 2 * C, st + 3 * C, C, o->b, 0.1, 1e-5,
                            true);
      err = fmax(compare(dev, p->y, r1, (size_t)C * o->b, &rc),
                 compare(dev, p->stats, st, 4 * (size_t)C, &rc));
      break;
    }
    case BN_B: {
      int C = o->a;
      batchnorm_backward_ref(r1, r2, r3, dy, x, w, st + 2 * C, st + 3 * C, C, o->b);
      err = fmax(compare(dev, p->dx, r1, (size_t)C * o->b, &rc),
                 fmax(compare(dev, p->dw, r2, (size_t)C, &rc),
                      compare(dev, p->db, r3, (size_t)C, &rc)));
      break;
    }
    case XENT_F:
    case XENT_B:
      rc = ocl_buffer_read(dev, p->labels, 0, (size_t)o->a * sizeof(int), labels, "labels");
      if (o->kind == XENT_F) {
        r1[0] = xent_forward_ref(NULL, x, labels, o->a, o->b);
        err = compare(dev, p->loss, r1, 1, &rc);
      } else {
        xent_backward_ref(r1, x, labels, o->a, o->b);
        err = compare(dev, p->dx, r1, (size_t)o->a * o->b, &rc);
      }
      break;
    case SGD:
      sgd_update_ref(x, dy, m, (size_t)n, HYPER_LR, 0.9, 5e-4, false, false);
      err = fmax(compare(dev, p->x, x, (size_t)n, &rc), compare(dev, p->m, m, (size_t)n, &rc));
      break;
    case ADAM:
      adam_update_ref(x, dy, m, v, (size_t)n, 1e-3, 0.9f, 0.999f, 1e-8f, 0.0, 3);
      err = fmax(compare(dev, p->x, x, (size_t)n, &rc), compare(dev, p->v, v, (size_t)n, &rc));
      break;
    }
  if (rc == 0 && !(err <= 1))
    rc = dlgn_fail("bench_ops: %s disagrees with its C twin (error/tolerance %.3g)", name, err);
  free(x), free(dy), free(q), free(w), free(b), free(st), free(m), free(v);
  free(r1), free(r2), free(r3), free(labels), free(fin);
  return rc ? -1 : 0;
}

/* ---- the tables ---- */

typedef struct {
  char name[48], shape[48];
  op_case op;
  double flops, bytes;
} row;

static int nrows;
static row rows[64];

static op_case op3(op_kind kind, int a, int b, int c) {
  return (op_case){.kind = kind, .a = a, .b = b, .c = c};
}

static op_case op_gate(op_kind kind, int n, dlgn_gate_kind g) {
  return (op_case){.kind = kind, .a = n, .gate = g};
}

static op_case op_conv(op_kind kind, ocl_conv_shape s, bool with_dx) {
  return (op_case){.kind = kind, .conv = s, .with_dx = with_dx};
}

static void add(const char *name, const char *shape, op_case op, double flops, double bytes) {
  row *r = &rows[nrows++];
  snprintf(r->name, sizeof r->name, "%s", name);
  snprintf(r->shape, sizeof r->shape, "%s", shape);
  r->op = op;
  r->flops = flops;
  r->bytes = bytes;
}

static void add_dense(int N, int IN, int OUT, bool with_dx) {
  char shape[48];
  snprintf(shape, sizeof shape, "%dx%d -> %d", N, IN, OUT);
  double f = 2.0 * N * IN * OUT;
  add("dense fwd", shape, op3(DENSE_F, N, IN, OUT), f, 0);
  add(with_dx ? "dense bwd" : "dense bwd (no dx)", shape,
      (op_case){.kind = DENSE_B, .a = N, .b = IN, .c = OUT, .with_dx = with_dx}, with_dx ? 2 * f : f, 0);
}

static void add_conv(dlgn_device *dev, ocl_conv_shape s, bool with_dx) {
  char shape[48], name[48];
  snprintf(shape, sizeof shape, "%d->%d, N=%d, %dx%d, k%d", s.C, s.OC, s.N, s.H, s.W, s.k);
  double f = 2.0 * s.OC * s.C * s.k * s.k * (double)s.N * conv2d_out_h(&s) * conv2d_out_w(&s);
  const char *strategy = "?";
  if (conv2d_forward_strategy(dev, &s, &strategy) != 0) strategy = "?";
  snprintf(name, sizeof name, "conv fwd (%s)", strategy);
  add(name, shape, op_conv(CONV_F, s, false), f, 0);
  add(with_dx ? "conv bwd" : "conv bwd (no dx)", shape,
      op_conv(CONV_B, s, with_dx), with_dx ? 2 * f : f, 0);
}

static void add_elementwise(int n, const char *shape) {
  add("gate soft fwd", shape, op_gate(GATE_F, n, DLGN_GATE_SOFT), 0, 12.0 * n);
  add("gate soft bwd", shape, op_gate(GATE_B, n, DLGN_GATE_SOFT), 0, 20.0 * n);
  add("gate hard fwd", shape, op_gate(GATE_F, n, DLGN_GATE_HARD), 0, 12.0 * n);
  add("gate hard bwd", shape, op_gate(GATE_B, n, DLGN_GATE_HARD), 0, 12.0 * n);
  add("relu fwd", shape, op3(RELU_F, n, 0, 0), 0, 8.0 * n);
  add("relu bwd", shape, op3(RELU_B, n, 0, 0), 0, 12.0 * n);
}

static void add_tail(int N, int K, int nparams) {
  char shape[48];
  snprintf(shape, sizeof shape, "N=%d, K=%d", N, K);
  add("xent fwd", shape, op3(XENT_F, N, K, 0), 0, 4.0 * N * K);
  add("xent bwd", shape, op3(XENT_B, N, K, 0), 0, 8.0 * N * K);
  snprintf(shape, sizeof shape, "%d params", nparams);
  add("sgd (momentum, wd)", shape, op3(SGD, nparams, 0, 0), 0, 20.0 * nparams);
  add("adam", shape, op3(ADAM, nparams, 0, 0), 0, 28.0 * nparams);
}

static void tables_fc(int N) {
  char shape[48];
  snprintf(shape, sizeof shape, "N=%d, 3x32x32", N);
  add("input (N,F)", shape, op3(INPUT, N, 0, 0), 0, 17.0 * 3072 * N);
  add_dense(N, 3072, 128, false);
  add_dense(N, 128, 128, true);
  add_dense(N, 128, 10, true);
  snprintf(shape, sizeof shape, "%d x 128", N);
  add_elementwise(N * 128, shape);
  add_tail(N, 10, 3072 * 128 + 128 + 4 * (128 * 128 + 128) + 128 * 10 + 10);
}

static void tables_c4gap(dlgn_device *dev, int N) {
  char shape[48];
  snprintf(shape, sizeof shape, "N=%d, 3x32x32", N);
  add("input (CNHW)", shape, op3(INPUT, N, 1, 0), 0, 17.0 * 3072 * N);
  add_conv(dev, (ocl_conv_shape){N, 3, 32, 32, 128, 3, 1, 1}, false);
  add_conv(dev, (ocl_conv_shape){N, 128, 32, 32, 128, 3, 1, 1}, true);
  int n = 128 * N * 1024;
  snprintf(shape, sizeof shape, "128 x %d x 32x32", N);
  add_elementwise(n, shape);
  add("avgpool2 fwd", shape, op3(POOL_F, 128 * N, 32, 32), 0, 5.0 * n);
  add("avgpool2 bwd", shape, op3(POOL_B, 128 * N, 32, 32), 0, 5.0 * n);
  add("gap fwd", shape, op3(GAP_F, 128, N, 1024), 0, 4.0 * n);
  add("gap bwd", shape, op3(GAP_B, 128, N, 1024), 0, 4.0 * n);
  add("batchnorm fwd (train)", shape, op3(BN_F, 128, N * 1024, 0), 0, 12.0 * n);
  add("batchnorm bwd", shape, op3(BN_B, 128, N * 1024, 0), 0, 20.0 * n);
  add_dense(N, 128, 10, true);
  add_tail(N, 10, 3 * 9 * 128 + 128 + 3 * (128 * 1152 + 128) + 128 * 10 + 10);
}

/* The largest operand and scratch of rows[from..nrows). */
static void table_needs(dlgn_device *dev, int from, size_t *floats, size_t *scratch, int *images, int *labels) {
  *floats = 4096, *scratch = 0, *images = 1, *labels = 1;
  for (int i = from; i < nrows; i++) {
    const op_case *o = &rows[i].op;
    size_t need = (size_t)o->a;
    switch (o->kind) {
    case INPUT: need = (size_t)o->a * 3072, *images = o->a > *images ? o->a : *images; break;
    case DENSE_F:
    case DENSE_B:
      need = (size_t)o->b * (o->a > o->c ? o->a : o->c);
      if ((size_t)o->a * o->c > need) need = (size_t)o->a * o->c;
      break;
    case CONV_F:
    case CONV_B: {
      const ocl_conv_shape *s = &o->conv;
      size_t in = (size_t)s->C * s->N * s->H * s->W, w = (size_t)s->OC * s->C * s->k * s->k;
      size_t out = (size_t)s->OC * s->N * conv2d_out_h(s) * conv2d_out_w(s);
      need = in > out ? in : out;
      need = need > w ? need : w;
      size_t sc = 0;
      if (conv2d_scratch_floats(dev, s, &sc) != 0) sc = 0; /* the conv itself then says why */
      *scratch = sc > *scratch ? sc : *scratch;
      break;
    }
    case POOL_F:
    case POOL_B: need = (size_t)o->a * o->b * o->c; break;
    case GAP_F:
    case GAP_B: need = (size_t)o->a * o->b * o->c; break;
    case BN_F:
    case BN_B: need = (size_t)o->a * o->b; break;
    case XENT_F:
    case XENT_B: need = (size_t)o->a * o->b, *labels = o->a > *labels ? o->a : *labels; break;
    default: break;
    }
    if (need > *floats) *floats = need;
  }
}

static int check_all(dlgn_device *dev) {
  nrows = 0;
  add("input (N,F)", "", op3(INPUT, 3, 0, 0), 0, 0);
  add("input (CNHW)", "", op3(INPUT, 3, 1, 0), 0, 0);
  add_dense(7, 13, 5, true);
  add_dense(7, 13, 5, false);
  add_conv(dev, (ocl_conv_shape){3, 4, 9, 21, 6, 3, 1, 1}, true);
  add_elementwise(1000, "");
  add("avgpool2 fwd", "", op3(POOL_F, 6, 6, 10), 0, 0);
  add("avgpool2 bwd", "", op3(POOL_B, 6, 6, 10), 0, 0);
  add("gap fwd", "", op3(GAP_F, 4, 3, 50), 0, 0);
  add("gap bwd", "", op3(GAP_B, 4, 3, 50), 0, 0);
  add("batchnorm fwd", "", op3(BN_F, 3, 300, 0), 0, 0);
  add("batchnorm bwd", "", op3(BN_B, 3, 300, 0), 0, 0);
  add_tail(37, 10, 1000);
  size_t floats, scratch;
  int images, labels;
  table_needs(dev, 0, &floats, &scratch, &images, &labels);
  pool p;
  int rc = pool_create(dev, &p, floats, scratch, images, labels, 10);
  for (int i = 0; rc == 0 && i < nrows; i++) rc = check_op(dev, &p, &rows[i].op, rows[i].name);
  if (rc == 0) printf("checked %d op cases against their C twins: all agree\n", nrows);
  pool_release(&p);
  return rc;
}

static int run_table(dlgn_device *dev, const char *title, int repeat) {
  size_t floats, scratch;
  int images, labels;
  table_needs(dev, 0, &floats, &scratch, &images, &labels);
  pool p;
  int rc = pool_create(dev, &p, floats, scratch, images, labels, 10);
  printf("\n%s\n%-24s %-28s %10s %9s %8s\n", title, "op", "shape", "ms", "GFLOP/s", "GB/s");
  double total = 0;
  for (int i = 0; rc == 0 && i < nrows; i++) {
    double t;
    void *ctx[2] = {&p, &rows[i].op};
    if ((rc = bench_time(dev, repeat, run_op_cb, ctx, &t)) != 0) break;
    total += t;
    char gf[16] = "-", gb[16] = "-";
    if (rows[i].flops > 0) snprintf(gf, sizeof gf, "%.1f", rows[i].flops / t * 1e-9);
    if (rows[i].bytes > 0) snprintf(gb, sizeof gb, "%.1f", rows[i].bytes / t * 1e-9);
    printf("%-24s %-28s %10.3f %9s %8s\n", rows[i].name, rows[i].shape, 1e3 * t, gf, gb);
    fflush(stdout);
  }
  if (rc == 0) printf("%-24s %-28s %10.3f\n", "sum of the rows", "", 1e3 * total);
  pool_release(&p);
  return rc;
}

int main(int argc, char **argv) {
  const char *sel = NULL;
  int repeat = 5, batch = 128;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--device") == 0 && i + 1 < argc) sel = argv[++i];
    else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) repeat = atoi(argv[++i]);
    else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc) batch = atoi(argv[++i]);
    else {
      fprintf(stderr, "usage: bench_ops [--device SEL] [--repeat R] [--batch N]\n");
      return 2;
    }
  }
  dlgn_device *dev;
  if (dlgn_device_open(&dev, sel, 0) != 0) {
    fprintf(stderr, "bench_ops: %s\n", dlgn_error());
    return 1;
  }
  printf("device: %s (%s), GEMM backend %s, median of %d runs\n", dev->info.name,
         dlgn_device_type_name(dev->info.type), ocl_gemm_backend_name(ocl_gemm_backend_of(dev)),
         repeat);
  int rc = check_all(dev);
  char title[96];
  if (rc == 0) {
    nrows = 0;
    tables_fc(batch);
    snprintf(title, sizeof title, "FC 5x128 (3072 -> 128 x5 -> 10), batch %d", batch);
    rc = run_table(dev, title, repeat);
  }
  if (rc == 0) {
    nrows = 0;
    tables_c4gap(dev, batch);
    snprintf(title, sizeof title, "C4GAP-128 (4 conv 3x3 x128 at 32x32, GAP, dense 10), batch %d",
             batch);
    rc = run_table(dev, title, repeat);
  }
  if (rc) fprintf(stderr, "bench_ops: %s\n", dlgn_error());
  dlgn_device_close(dev);
  return rc ? 1 : 0;
}

/* The elementwise, pooling, normalisation, loss and optimizer ops on every
 * OpenCL device against their double-precision twins (ops_ref.h), and a
 * finite-difference check of every backward twin. Tolerances: elementwise
 * float math is within 1e-5 relative of the twin (plus 1e-6 of the largest
 * value, for results that cancel); reductions over M terms get sqrt(M) times
 * that. Outputs start as NaN so that "overwrite" is checked too; accumulating
 * variants start from random values. */
#include "dlgn/data.h"
#include "test_nn_ops_util.h"

/* ---- gradient checks of the twins ---- */

typedef struct {
  double *v, *q, *c, *y, beta;
  size_t n;
  dlgn_gate_kind kind;
} gate_ctx;

static double gate_loss(void *p) {
  gate_ctx *g = p;
  gate_forward_ref(g->y, g->v, g->q, g->n, g->beta, g->kind);
  return tdot(g->c, g->y, g->n);
}

typedef struct {
  double *x, *c, *y;
  const int *perm;
  int outer, C, inner;
} perm_ctx;

static double perm_loss(void *p) {
  perm_ctx *g = p;
  permute_channels_forward_ref(g->y, g->x, g->perm, g->outer, g->C, g->inner);
  return tdot(g->c, g->y, (size_t)g->outer * g->C * g->inner);
}

typedef struct {
  double *x, *c, *y;
  int a, b, d; /* relu: n; avgpool2: P, H, W; gap: C, N, HW */
} unary_ctx;

static double relu_loss(void *p) {
  unary_ctx *g = p;
  relu_forward_ref(g->y, g->x, (size_t)g->a);
  return tdot(g->c, g->y, (size_t)g->a);
}

static double pool_loss(void *p) {
  unary_ctx *g = p;
  avgpool2_forward_ref(g->y, g->x, g->a, g->b, g->d);
  return tdot(g->c, g->y, (size_t)g->a * (g->b / 2) * (g->d / 2));
}

static double gap_loss(void *p) {
  unary_ctx *g = p;
  gap_forward_ref(g->y, g->x, g->a, g->b, g->d);
  return tdot(g->c, g->y, (size_t)g->a * g->b);
}

typedef struct {
  double *x, *gamma, *beta, *rm, *rv, *c, *y;
  int C, M;
} bn_ctx;

static double bn_loss(void *p) {
  bn_ctx *g = p;
  batchnorm_forward_ref(g->y, g->x, g->gamma, g->beta, g->rm, g->rv, NULL, NULL, g->C, g->M, 0.1,
                        1e-5, true);
  return tdot(g->c, g->y, (size_t)g->C * g->M);
}

typedef struct {
  double *logits;
  const int *labels;
  int N, K;
} xent_ctx;

static double xent_loss(void *p) {
  xent_ctx *g = p;
  return xent_forward_ref(NULL, g->logits, g->labels, g->N, g->K);
}

START_TEST(test_ref_gradients) {
  dlgn_rng r;
  dlgn_rng_seed(&r, 11);
  for (int kind = 0; kind < 2; kind++) { /* soft, hard */
    size_t n = 50;
    gate_ctx g = {trand(&r, n, -2, 2), trand_away(&r, n, 1.5, 1e-3), trand(&r, n, -1, 1), tvec(n),
                  kind ? 1.0 : 4.0, n, kind ? DLGN_GATE_HARD : DLGN_GATE_SOFT};
    double *dv = tvec(n), *dq = tvec(n);
    gate_backward_ref(dv, dq, g.c, g.v, g.q, n, g.beta, g.kind);
    fd_check(kind ? "hard gate dv" : "soft gate dv", gate_loss, &g, g.v, n, dv);
    fd_check(kind ? "hard gate dq" : "soft gate dq", gate_loss, &g, g.q, n, dq);
    free(g.v), free(g.q), free(g.c), free(g.y), free(dv), free(dq);
  }
  {
    int perm[5] = {3, 0, 4, 1, 2};
    perm_ctx g = {trand(&r, 60, -1, 1), trand(&r, 60, -1, 1), tvec(60), perm, 3, 5, 4};
    double *dx = tvec(60);
    permute_channels_backward_ref(dx, g.c, perm, 3, 5, 4);
    fd_check("permute_channels", perm_loss, &g, g.x, 60, dx);
    free(g.x), free(g.c), free(g.y), free(dx);
  }
  {
    unary_ctx g = {trand_away(&r, 40, 2, 1e-3), trand(&r, 40, -1, 1), tvec(40), 40, 0, 0};
    double *dx = tvec(40);
    relu_backward_ref(dx, g.c, g.x, 40);
    fd_check("relu", relu_loss, &g, g.x, 40, dx);
    free(g.x), free(g.c), free(g.y), free(dx);
  }
  {
    unary_ctx g = {trand(&r, 3 * 4 * 6, -1, 1), trand(&r, 3 * 2 * 3, -1, 1), tvec(18), 3, 4, 6};
    double *dx = tvec(72);
    avgpool2_backward_ref(dx, g.c, 3, 4, 6);
    fd_check("avgpool2", pool_loss, &g, g.x, 72, dx);
    free(g.x), free(g.c), free(g.y), free(dx);
  }
  {
    unary_ctx g = {trand(&r, 4 * 3 * 5, -1, 1), trand(&r, 12, -1, 1), tvec(12), 4, 3, 5};
    double *dx = tvec(60);
    gap_backward_ref(dx, g.c, 4, 3, 5);
    fd_check("gap", gap_loss, &g, g.x, 60, dx);
    free(g.x), free(g.c), free(g.y), free(dx);
  }
  {
    int C = 3, M = 17;
    size_t n = (size_t)C * M;
    bn_ctx g = {trand(&r, n, -2, 3), trand(&r, C, 0.5, 1.5), trand(&r, C, -1, 1), tvec(C),
                tvec(C), trand(&r, n, -1, 1), tvec(n), C, M};
    double *mean = tvec(C), *invstd = tvec(C), *dx = tvec(n), *dgamma = tvec(C), *dbeta = tvec(C);
    batchnorm_forward_ref(g.y, g.x, g.gamma, g.beta, g.rm, g.rv, mean, invstd, C, M, 0.1, 1e-5,
                          true);
    batchnorm_backward_ref(dx, dgamma, dbeta, g.c, g.x, g.gamma, mean, invstd, C, M);
    fd_check("batchnorm dx", bn_loss, &g, g.x, n, dx);
    fd_check("batchnorm dgamma", bn_loss, &g, g.gamma, C, dgamma);
    fd_check("batchnorm dbeta", bn_loss, &g, g.beta, C, dbeta);
    free(g.x), free(g.gamma), free(g.beta), free(g.rm), free(g.rv), free(g.c), free(g.y);
    free(mean), free(invstd), free(dx), free(dgamma), free(dbeta);
  }
  {
    int N = 6, K = 7, labels[6];
    for (int i = 0; i < N; i++) labels[i] = (int)dlgn_rng_below(&r, K);
    xent_ctx g = {trand(&r, (size_t)N * K, -3, 3), labels, N, K};
    double *d = tvec((size_t)N * K);
    xent_backward_ref(d, g.logits, labels, N, K);
    fd_check("xent", xent_loss, &g, g.logits, (size_t)N * K, d);
    free(g.logits), free(d);
  }
}
END_TEST

/* ---- input and fill ---- */

START_TEST(test_input_fill) {
  int count;
  dlgn_device **devs = topen(&count);
  dlgn_rng r;
  dlgn_rng_seed(&r, 21);
  const int N = 5, H = 32, W = 32;
  const size_t img = 3 * H * W, n = (size_t)N * img, x8_off = 7, aug_off = 2;
  uint8_t *x8 = malloc(n + x8_off);
  for (size_t i = 0; i < n + x8_off; i++) x8[i] = (uint8_t)dlgn_rng_below(&r, 256);
  dlgn_aug aug[2 + 5];
  for (int i = 0; i < N + 2; i++)
    aug[i] = (dlgn_aug){(int)dlgn_rng_below(&r, 9) - 4, (int)dlgn_rng_below(&r, 9) - 4,
                        (int)dlgn_rng_below(&r, 2)};
  aug[aug_off] = (dlgn_aug){-4, 4, 1}; /* the extreme shifts */
  const float mean[3] = {0.49f, 0.48f, 0.45f}, sd[3] = {0.25f, 0.24f, 0.26f};
  float *want = malloc(n * sizeof *want);
  double *wantd = tvec(n);
  for (int d = 0; d < count; d++) {
    dlgn_device *dev = devs[d];
    cl_mem x8m, augm;
    ck_assert_ok(ocl_buffer_create(dev, n + x8_off, "test bytes", &x8m));
    ck_assert_ok(ocl_buffer_write(dev, x8m, 0, n + x8_off, x8, "test bytes"));
    ck_assert_ok(ocl_buffer_create(dev, sizeof aug, "test aug", &augm));
    ck_assert_ok(ocl_buffer_write(dev, augm, 0, sizeof aug, aug, "test aug"));
    for (int variant = 0; variant < 4; variant++) {
      bool cnhw = variant & 1, with_aug = variant & 2;
      nn_buf out = tup(dev, NULL, n);
      ck_assert_ok(input_forward(dev, out, x8m, x8_off, with_aug ? augm : NULL, aug_off, N, H, W,
                                 mean, sd, cnhw));
      dlgn_input_ref(want, x8 + x8_off, with_aug ? aug + aug_off : NULL, N, mean, sd, cnhw);
      for (size_t i = 0; i < n; i++) wantd[i] = want[i];
      tcheck(cnhw ? "input_forward (CNHW)" : "input_forward (N,F)", dev, out, wantd, n, 1e-6,
             1e-6);
      tfree(&out);
    }
    /* the crop really moves pixels: image 0 with dy=-4, dx=4, flip: row 0
     * comes from outside (raw 0) */
    dlgn_input_ref(want, x8 + x8_off, aug + aug_off, N, mean, sd, false);
    ck_assert_float_eq_tol(want[0], -mean[0] / sd[0], 1e-6);
    nn_buf f = tup(dev, NULL, 1001);
    ck_assert_ok(fill_forward(dev, f, 1001, 1.0f));
    double *ones = tvec(1001);
    fill_forward_ref(ones, 1001, 1.0);
    tcheck("fill_forward", dev, f, ones, 1001, 0, 0);
    free(ones);
    tfree(&f);
    /* repeat over images and its backward, the sum over images (odd sizes:
     * no vector fits) */
    for (int shape = 0; shape < 2; shape++) {
      int C = shape ? 1 : 5, Nr = shape ? 9 : 3, P = shape ? 10 : 37;
      size_t small = (size_t)C * P, big = small * Nr;
      double *x = tvec(small), *y = tvec(big), *dy = tvec(big), *dx = tvec(small);
      for (size_t i = 0; i < small; i++) x[i] = dlgn_rng_normal(&r);
      for (size_t i = 0; i < big; i++) dy[i] = dlgn_rng_normal(&r);
      repeat_images_forward_ref(y, x, C, Nr, P);
      repeat_images_backward_ref(dx, dy, C, Nr, P);
      nn_buf bx = tup(dev, x, small), by = tup(dev, NULL, big), bdy = tup(dev, dy, big),
               bdx = tup(dev, NULL, small);
      ck_assert_ok(repeat_images_forward(dev, by, bx, C, Nr, P));
      tcheck("repeat_images_forward", dev, by, y, big, 0, 0);
      ck_assert_ok(repeat_images_backward(dev, bdx, bdy, C, Nr, P));
      tcheck("repeat_images_backward", dev, bdx, dx, small, 1e-6, 1e-6);
      tfree(&bx), tfree(&by), tfree(&bdy), tfree(&bdx);
      free(x), free(y), free(dy), free(dx);
    }
    ocl_buffer_release(&x8m);
    ocl_buffer_release(&augm);
  }
  free(x8), free(want), free(wantd);
  test_close_all_devices(devs, count);
}
END_TEST

/* ---- gates, permutation, ReLU ---- */

START_TEST(test_gate_relu_permute) {
  int count;
  dlgn_device **devs = topen(&count);
  for (int d = 0; d < count; d++) {
    dlgn_device *dev = devs[d];
    dlgn_rng r;
    dlgn_rng_seed(&r, 31);
    const size_t sizes[] = {1, 37, 1000};
    for (int si = 0; si < 3; si++)
      for (int kind = 0; kind < 3; kind++) { /* soft beta 4, soft beta 10, hard */
        size_t n = sizes[si];
        dlgn_gate_kind gk = kind == 2 ? DLGN_GATE_HARD : DLGN_GATE_SOFT;
        double beta = kind == 1 ? 10.0 : 4.0;
        /* q up to +-30: beta*q reaches +-300, where a naive sigmoid overflows */
        double *v = trand(&r, n, -2, 2), *q = trand_away(&r, n, 30, 1e-3);
        double *dout = trand(&r, n, -1, 1), *old = trand(&r, n, -1, 1);
        double *y = tvec(n), *dv = tvec(n), *dq = tvec(n);
        gate_forward_ref(y, v, q, n, beta, gk);
        gate_backward_ref(dv, dq, dout, v, q, n, beta, gk);
        nn_buf bv = tup(dev, v, n), bq = tup(dev, q, n), bd = tup(dev, dout, n);
        nn_buf by = tup(dev, NULL, n), bdv = tup(dev, NULL, n), bdq = tup(dev, NULL, n);
        ck_assert_ok(gate_forward(dev, by, bv, bq, n, (float)beta, gk));
        /* values are O(1); dq loses ~6e-8 absolute in 1 - g where g rounds to 1,
         * times |dout*v*beta| <= 2*beta */
        tcheck("gate_forward", dev, by, y, n, 1e-6, 1e-5);
        ck_assert_ok(gate_backward(dev, bdv, bdq, bd, bv, bq, n, (float)beta, gk, false));
        tcheck("gate_backward dv", dev, bdv, dv, n, 1e-6, 1e-5);
        tcheck("gate_backward dq", dev, bdq, dq, n, 1e-6 * beta, 1e-5);
        /* accumulate into dq; dv is always overwritten */
        nn_buf bacc = tup(dev, old, n), bdv2 = tup(dev, NULL, n);
        ck_assert_ok(gate_backward(dev, bdv2, bacc, bd, bv, bq, n, (float)beta, gk, true));
        for (size_t i = 0; i < n; i++) dq[i] += old[i];
        tcheck("gate_backward dq +=", dev, bacc, dq, n, 1e-6 * beta, 1e-5);
        tcheck("gate_backward dv (dq +=)", dev, bdv2, dv, n, 1e-6, 1e-5);
        /* dq skipped */
        nn_buf bdv3 = tup(dev, NULL, n);
        ck_assert_ok(gate_backward(dev, bdv3, (nn_buf){NULL, 0}, bd, bv, bq, n, (float)beta, gk,
                                   false));
        tcheck("gate_backward dv (no dq)", dev, bdv3, dv, n, 1e-6, 1e-5);
        /* ReLU on the same data */
        relu_forward_ref(y, q, n);
        relu_backward_ref(dv, dout, q, n);
        ck_assert_ok(relu_forward(dev, by, bq, n));
        tcheck("relu_forward", dev, by, y, n, 0, 0);
        ck_assert_ok(relu_backward(dev, bdv, bd, bq, n, false));
        tcheck("relu_backward", dev, bdv, dv, n, 0, 0);
        ck_assert_ok(relu_backward(dev, bdv, bd, bq, n, true));
        for (size_t i = 0; i < n; i++) dv[i] *= 2;
        tcheck("relu_backward +=", dev, bdv, dv, n, 0, 0);
        tfree(&bv), tfree(&bq), tfree(&bd), tfree(&by), tfree(&bdv), tfree(&bdq);
        tfree(&bacc), tfree(&bdv2), tfree(&bdv3);
        free(v), free(q), free(dout), free(old), free(y), free(dv), free(dq);
      }
    /* permutations: dense (N,C) and CNHW views */
    const int shapes[][3] = {{7, 13, 1}, {1, 5, 2 * 3 * 5}, {3, 4, 6}};
    for (int si = 0; si < 3; si++) {
      int outer = shapes[si][0], C = shapes[si][1], inner = shapes[si][2];
      size_t n = (size_t)outer * C * inner;
      int *perm = malloc((size_t)C * sizeof *perm);
      uint32_t *idx = malloc((size_t)C * sizeof *idx);
      for (int c = 0; c < C; c++) idx[c] = (uint32_t)c;
      dlgn_rng_shuffle(&r, idx, (size_t)C);
      for (int c = 0; c < C; c++) perm[c] = (int)idx[c];
      double *x = trand(&r, n, -1, 1), *y = tvec(n), *dx = tvec(n), *old = trand(&r, n, -1, 1);
      permute_channels_forward_ref(y, x, perm, outer, C, inner);
      permute_channels_backward_ref(dx, x, perm, outer, C, inner);
      cl_mem pm = tup_ints(dev, perm, (size_t)C, 0);
      nn_buf bx = tup(dev, x, n), by = tup(dev, NULL, n), bdx = tup(dev, NULL, n);
      nn_buf bacc = tup(dev, old, n);
      ck_assert_ok(permute_channels_forward(dev, by, bx, pm, outer, C, inner));
      tcheck("permute_channels_forward", dev, by, y, n, 0, 0);
      ck_assert_ok(permute_channels_backward(dev, bdx, bx, pm, outer, C, inner, false));
      tcheck("permute_channels_backward", dev, bdx, dx, n, 0, 0);
      ck_assert_ok(permute_channels_backward(dev, bacc, bx, pm, outer, C, inner, true));
      for (size_t i = 0; i < n; i++) dx[i] += old[i];
      tcheck("permute_channels_backward +=", dev, bacc, dx, n, 1e-7, 1e-7);
      ocl_buffer_release(&pm);
      tfree(&bx), tfree(&by), tfree(&bdx), tfree(&bacc);
      free(perm), free(idx), free(x), free(y), free(dx), free(old);
    }
  }
  test_close_all_devices(devs, count);
}
END_TEST

/* ---- pooling ---- */

/* gap_backward_ref's output, freshly allocated */
static double *gap_grad_refs(const double *dy, int C, int N, int HW) {
  double *d = tvec((size_t)C * N * HW);
  gap_backward_ref(d, dy, C, N, HW);
  return d;
}

START_TEST(test_pool) {
  int count;
  dlgn_device **devs = topen(&count);
  for (int d = 0; d < count; d++) {
    dlgn_device *dev = devs[d];
    dlgn_rng r;
    dlgn_rng_seed(&r, 41);
    const int pshapes[][3] = {{5, 6, 4}, {3, 2, 2}, {2, 32, 32}};
    for (int si = 0; si < 3; si++) {
      int P = pshapes[si][0], H = pshapes[si][1], W = pshapes[si][2];
      size_t n = (size_t)P * H * W, m = n / 4;
      double *x = trand(&r, n, -1, 1), *dy = trand(&r, m, -1, 1), *old = trand(&r, n, -1, 1);
      double *y = tvec(m), *dx = tvec(n);
      avgpool2_forward_ref(y, x, P, H, W);
      avgpool2_backward_ref(dx, dy, P, H, W);
      nn_buf bx = tup(dev, x, n), by = tup(dev, NULL, m), bdy = tup(dev, dy, m);
      nn_buf bdx = tup(dev, NULL, n), bacc = tup(dev, old, n);
      ck_assert_ok(avgpool2_forward(dev, by, bx, P, H, W));
      tcheck("avgpool2_forward", dev, by, y, m, 1e-7, 1e-6);
      ck_assert_ok(avgpool2_backward(dev, bdx, bdy, P, H, W, false));
      tcheck("avgpool2_backward", dev, bdx, dx, n, 0, 0);
      ck_assert_ok(avgpool2_backward(dev, bacc, bdy, P, H, W, true));
      for (size_t i = 0; i < n; i++) dx[i] += old[i];
      tcheck("avgpool2_backward +=", dev, bacc, dx, n, 1e-7, 1e-6);
      subsample2_forward_ref(y, x, P, H, W);
      subsample2_backward_ref(dx, dy, P, H, W);
      ck_assert_ok(subsample2_forward(dev, by, bx, P, H, W));
      tcheck("subsample2_forward", dev, by, y, m, 0, 0);
      ck_assert_ok(subsample2_backward(dev, bdx, bdy, P, H, W));
      tcheck("subsample2_backward", dev, bdx, dx, n, 0, 0);
      tfree(&bx), tfree(&by), tfree(&bdy), tfree(&bdx), tfree(&bacc);
      free(x), free(dy), free(old), free(y), free(dx);
    }
    ck_assert_int_ne(avgpool2_forward(dev, (nn_buf){NULL, 0}, (nn_buf){NULL, 0}, 1, 3, 4), 0);
    ck_assert_int_ne(subsample2_forward(dev, (nn_buf){NULL, 0}, (nn_buf){NULL, 0}, 1, 4, 3),
                     0);
    /* gap: planes smaller and larger than a work-group */
    const int gshapes[][3] = {{5, 3, 7}, {3, 2, 300}, {2, 7, 1}, {4, 3, 1024}};
    for (int si = 0; si < 4; si++) {
      int C = gshapes[si][0], N = gshapes[si][1], HW = gshapes[si][2];
      size_t n = (size_t)C * N * HW, m = (size_t)C * N;
      double *x = trand(&r, n, -1, 1), *dy = trand(&r, m, -1, 1), *old = trand(&r, n, -1, 1);
      double *y = tvec(m), *dx = tvec(n);
      gap_forward_ref(y, x, C, N, HW);
      gap_backward_ref(dx, dy, C, N, HW);
      nn_buf bx = tup(dev, x, n), by = tup(dev, NULL, m), bdy = tup(dev, dy, m);
      nn_buf bdx = tup(dev, NULL, n), bacc = tup(dev, old, n);
      ck_assert_ok(gap_forward(dev, by, bx, C, N, HW));
      /* a mean of HW terms of size <= 1 */
      tcheck("gap_forward", dev, by, y, m, 1e-6, 1e-5);
      ck_assert_ok(gap_backward(dev, bdx, bdy, C, N, HW, false));
      tcheck("gap_backward", dev, bdx, dx, n, 1e-7, 1e-6);
      ck_assert_ok(gap_backward(dev, bacc, bdy, C, N, HW, true));
      for (size_t i = 0; i < n; i++) dx[i] += old[i];
      tcheck("gap_backward +=", dev, bacc, dx, n, 1e-7, 1e-6);
      if (HW % 16 == 0) {
        /* the last layer's gate and ReLU backward fed by it: x as v, old as
         * the gate pre-activation q */
        double *gout = gap_grad_refs(dy, C, N, HW), *dv = tvec(n), *dq = tvec(n);
        nn_buf bq = tup(dev, old, n); /* bacc holds old + dx by now */
        for (int k = 0; k < 2; k++) {
          dlgn_gate_kind gk = k ? DLGN_GATE_HARD : DLGN_GATE_SOFT;
          gate_backward_ref(dv, dq, gout, x, old, n, 1.5, gk);
          nn_buf bdv = tup(dev, NULL, n), bdq = tup(dev, NULL, n);
          ck_assert_ok(gate_backward_gap(dev, bdv, bdq, bdy, bx, bq, C, N, HW, 1.5f, gk, false));
          tcheck("gate_backward_gap dv", dev, bdv, dv, n, 1e-6, 1e-5);
          if (!k) tcheck("gate_backward_gap dq", dev, bdq, dq, n, 1e-6, 1e-5);
          tfree(&bdv), tfree(&bdq);
        }
        relu_backward_ref(dv, gout, x, n);
        ck_assert_ok(relu_backward_gap(dev, bdx, bdy, bx, C, N, HW));
        tcheck("relu_backward_gap", dev, bdx, dv, n, 1e-6, 1e-5);
        tfree(&bq);
        free(gout), free(dv), free(dq);
      } else {
        ck_assert_int_ne(relu_backward_gap(dev, bdx, bdy, bx, C, N, HW), 0);
      }
      tfree(&bx), tfree(&by), tfree(&bdy), tfree(&bdx), tfree(&bacc);
      free(x), free(dy), free(old), free(y), free(dx);
    }
  }
  test_close_all_devices(devs, count);
}
END_TEST

/* ---- residual shortcut ---- */

START_TEST(test_shortcut) {
  int count;
  dlgn_device **devs = topen(&count);
  for (int d = 0; d < count; d++) {
    dlgn_device *dev = devs[d];
    dlgn_rng r;
    dlgn_rng_seed(&r, 43);
    /* C, OC, N, H, W, stride: identity (whole vectors of 16, and a tail),
     * stride 2 with doubled channels, odd sizes */
    const int shapes[][6] = {{4, 4, 3, 6, 6, 1}, {3, 5, 2, 5, 3, 1}, {3, 6, 2, 8, 8, 2},
                             {2, 5, 3, 6, 4, 2}, {16, 32, 2, 32, 32, 2}};
    for (int si = 0; si < 5; si++) {
      int C = shapes[si][0], OC = shapes[si][1], N = shapes[si][2], H = shapes[si][3],
          W = shapes[si][4], st = shapes[si][5];
      size_t n = (size_t)C * N * H * W, m = (size_t)OC * N * (H / st) * (W / st);
      double *x = trand(&r, n, -1, 1), *y = trand(&r, m, -1, 1), *dy = trand(&r, m, -1, 1);
      double *old = trand(&r, n, -1, 1), *dx = tvec(n), *y0 = tcopy(y, m);
      nn_buf bx = tup(dev, x, n), by = tup(dev, y, m), bdy = tup(dev, dy, m);
      nn_buf bdx = tup(dev, NULL, n), bacc = tup(dev, old, n);
      shortcut_add_forward_ref(y, x, C, OC, N, H, W, st);
      shortcut_add_backward_ref(dx, dy, C, OC, N, H, W, st);
      /* the backward is the adjoint of the forward: <dy, y - y0> = <dx, x> */
      double lhs = 0;
      for (size_t i = 0; i < m; i++) lhs += dy[i] * (y[i] - y0[i]);
      ck_assert_double_eq_tol(lhs, tdot(dx, x, n), 1e-9 * (1 + fabs(lhs)));
      ck_assert_ok(shortcut_add_forward(dev, by, bx, C, OC, N, H, W, st));
      tcheck("shortcut_add_forward", dev, by, y, m, 1e-7, 1e-6);
      ck_assert_ok(shortcut_add_backward(dev, bdx, bdy, C, OC, N, H, W, st, false));
      tcheck("shortcut_add_backward", dev, bdx, dx, n, 0, 0);
      ck_assert_ok(shortcut_add_backward(dev, bacc, bdy, C, OC, N, H, W, st, true));
      for (size_t i = 0; i < n; i++) dx[i] += old[i];
      tcheck("shortcut_add_backward +=", dev, bacc, dx, n, 1e-7, 1e-6);
      tfree(&bx), tfree(&by), tfree(&bdy), tfree(&bdx), tfree(&bacc);
      free(x), free(y), free(dy), free(old), free(dx), free(y0);
    }
    nn_buf none = {NULL, 0};
    ck_assert_int_ne(shortcut_add_forward(dev, none, none, 4, 2, 1, 4, 4, 1), 0);
    ck_assert_int_ne(shortcut_add_forward(dev, none, none, 2, 4, 1, 5, 5, 2), 0);
  }
  test_close_all_devices(devs, count);
}
END_TEST

/* ---- batch norm ---- */

/* batchnorm_forward_fused, in training and evaluation, with each epilogue
 * (soft and hard gate, ReLU), without and with a shortcut onto all but the
 * last channel: out from the C twin's y, and y still written. rm, rv: the
 * device's running statistics before the training call. */
static void bn_check_epilogues(dlgn_device *dev, dlgn_rng *r, const double *x,
                               const double *gamma, const double *beta, const double *rm,
                               const double *rv, int C, int M, double tol) {
  size_t n = (size_t)C * M;
  int RC = C > 1 ? C - 1 : 1;
  double *q = trand(r, n, -1, 1), *y = tvec(n), *want = tvec(n);
  double *res = trand(r, (size_t)RC * M, -1, 1);
  nn_buf bres = tup(dev, res, (size_t)RC * M);
  double *rm1 = tvec(C), *rv1 = tvec(C), *mean = tvec(C), *invstd = tvec(C);
  nn_buf bx = tup(dev, x, n), bq = tup(dev, q, n), bg = tup(dev, gamma, C);
  nn_buf bb = tup(dev, beta, C), by = tup(dev, NULL, n), bout = tup(dev, NULL, n);
  nn_buf bsm = tup(dev, NULL, C), bsi = tup(dev, NULL, C);
  const conv_epilogue_kind kinds[3] = {CONV_EPI_GATE, CONV_EPI_GATE, CONV_EPI_RELU};
  const char *names[3] = {"soft gate", "hard gate", "ReLU"};
  for (int training = 0; training < 2; training++)
    for (int k = 0; k < 6; k++) {
      bool with_res = k >= 3;
      memcpy(rm1, rm, (size_t)C * sizeof *rm1);
      memcpy(rv1, rv, (size_t)C * sizeof *rv1);
      nn_buf brm = tup(dev, rm1, C), brv = tup(dev, rv1, C);
      conv_epilogue e = {kinds[k % 3], bout, bq, 2.5f,
                         k % 3 == 1 ? DLGN_GATE_HARD : DLGN_GATE_SOFT};
      batchnorm_forward_ref(y, x, gamma, beta, rm1, rv1, mean, invstd, C, M, 0.1, 1e-5,
                            training);
      if (with_res)
        for (size_t i = 0; i < (size_t)RC * M; i++) y[i] += res[i];
      if (k % 3 < 2) gate_forward_ref(want, y, q, n, e.beta, e.gates);
      else relu_forward_ref(want, y, n);
      /* a hard gate or ReLU flips where y is within tol of 0: take the
       * device's own y there */
      ck_assert_ok(batchnorm_forward_fused(dev, by, bx, bg, bb, brm, brv, bsm, bsi, C, M, 0.1f,
                                           1e-5f, training, with_res ? bres : (nn_buf){NULL, 0},
                                           with_res ? RC : 0, &e));
      char what[140];
      snprintf(what, sizeof what, "batchnorm_forward (%s), epilogue %s%s, C=%d M=%d",
               training ? "train" : "eval", names[k % 3], with_res ? ", shortcut" : "", C, M);
      tcheck(what, dev, by, y, n, tol, 1e-5);
      double *got_y = tdown(dev, by, n);
      for (size_t i = 0; i < n; i++)
        if (k % 3 > 0 && fabs(y[i]) <= tol)
          want[i] = k % 3 == 1 ? (q[i] > 0 ? got_y[i] : 0) : (got_y[i] > 0 ? got_y[i] : 0);
      tcheck(what, dev, bout, want, n, tol, 1e-5);
      free(got_y);
      tfree(&brm), tfree(&brv);
    }
  tfree(&bx), tfree(&bq), tfree(&bg), tfree(&bb), tfree(&by), tfree(&bout), tfree(&bsm);
  tfree(&bsi), tfree(&bres);
  free(res), free(q), free(y), free(want), free(rm1), free(rv1), free(mean), free(invstd);
}

START_TEST(test_batchnorm) {
  int count;
  dlgn_device **devs = topen(&count);
  for (int d = 0; d < count; d++) {
    dlgn_device *dev = devs[d];
    dlgn_rng r;
    dlgn_rng_seed(&r, 51);
    /* M: a vector tail, whole vectors over several work-items, a single
     * value, an odd size; the last shape's values lie 1000 from zero */
    const int shapes[][2] = {{4, 37}, {3, 1000}, {2, 1}, {5, 2 * 7 * 9}, {3, 4096 + 5}};
    for (int si = 0; si < 5; si++) {
      int C = shapes[si][0], M = shapes[si][1];
      size_t n = (size_t)C * M;
      /* an offset mean: the variance must not come from E[x^2] - E[x]^2 */
      double lo = si == 4 ? 1000 : 20;
      double *x = trand(&r, n, lo, lo + 3), *dy = trand(&r, n, -1, 1);
      /* the twin reads the floats the device reads */
      for (size_t i = 0; i < n; i++) x[i] = (float)x[i];
      double *gamma = trand(&r, C, 0.5, 1.5), *beta = trand(&r, C, -1, 1);
      double *rm = trand(&r, C, -1, 1), *rv = trand(&r, C, 0.5, 2);
      double *y = tvec(n), *mean = tvec(C), *invstd = tvec(C);
      double *dx = tvec(n), *dgamma = tvec(C), *dbeta = tvec(C);
      nn_buf bx = tup(dev, x, n), bdy = tup(dev, dy, n), bg = tup(dev, gamma, C);
      nn_buf bb = tup(dev, beta, C), brm = tup(dev, rm, C), brv = tup(dev, rv, C);
      nn_buf by = tup(dev, NULL, n), bsm = tup(dev, NULL, C), bsi = tup(dev, NULL, C);
      nn_buf bdx = tup(dev, NULL, n), bdg = tup(dev, NULL, C), bdb = tup(dev, NULL, C);
      const double mom = 0.1, eps = 1e-5;
      batchnorm_forward_ref(y, x, gamma, beta, rm, rv, mean, invstd, C, M, mom, eps, true);
      ck_assert_ok(batchnorm_forward(dev, by, bx, bg, bb, brm, brv, bsm, bsi, C, M, (float)mom,
                                     (float)eps, true));
      /* xhat ~ (x - mean)*invstd: float x of ~20 carries 1e-6 relative, so
       * xhat errors scale with |mean|*invstd */
      double s = 1e-6 * (1 + (lo + 3) * tmaxabs(invstd, C)) * sqrt(M) + 1e-6 * tmaxabs(y, n);
      tcheck("batchnorm_forward (train) y", dev, by, y, n, s, 1e-5);
      tcheck("batchnorm_forward save_mean", dev, bsm, mean, C, 1e-6 * (lo + 3), 1e-5);
      tcheck("batchnorm_forward save_invstd", dev, bsi, invstd, C, 0, 1e-5);
      tcheck("batchnorm_forward running_mean", dev, brm, rm, C, 1e-5, 1e-5);
      tcheck("batchnorm_forward running_var", dev, brv, rv, C, 1e-6, 1e-5);
      batchnorm_backward_ref(dx, dgamma, dbeta, dy, x, gamma, mean, invstd, C, M);
      ck_assert_ok(batchnorm_backward(dev, bdx, bdg, bdb, bdy, bx, bg, bsm, bsi, C, M));
      tcheck("batchnorm_backward dx", dev, bdx, dx, n, 1e-5 * tmaxabs(dx, n), 1e-5);
      /* dgamma sums dy * (x - mean): the float mean's rounding (2^-24 of
       * |mean|) times invstd times sum dy comes on top */
      double tg = 1e-5 * sqrt(M) + 2e-7 * (lo + 3) * tmaxabs(invstd, C) * tmaxabs(dbeta, C);
      tcheck("batchnorm_backward dgamma", dev, bdg, dgamma, C, tg, 1e-5);
      tcheck("batchnorm_backward dbeta", dev, bdb, dbeta, C, 1e-6 * sqrt(M), 1e-5);
      /* evaluation: the running statistics, nothing updated */
      double *rmd = tdown(dev, brm, C), *rvd = tdown(dev, brv, C);
      batchnorm_forward_ref(y, x, gamma, beta, rmd, rvd, NULL, NULL, C, M, mom, eps, false);
      ck_assert_ok(batchnorm_forward(dev, by, bx, bg, bb, brm, brv, bsm, bsi, C, M, (float)mom,
                                     (float)eps, false));
      tcheck("batchnorm_forward (eval)", dev, by, y, n, 1e-5 * tmaxabs(y, n), 1e-5);
      tcheck("batchnorm eval keeps running_mean", dev, brm, rmd, C, 0, 0);
      bn_check_epilogues(dev, &r, x, gamma, beta, rmd, rvd, C, M, s);
      tfree(&bx), tfree(&bdy), tfree(&bg), tfree(&bb), tfree(&brm), tfree(&brv), tfree(&by);
      tfree(&bsm), tfree(&bsi), tfree(&bdx), tfree(&bdg), tfree(&bdb);
      free(x), free(dy), free(gamma), free(beta), free(rm), free(rv);
      free(y), free(mean), free(invstd), free(dx), free(dgamma), free(dbeta), free(rmd), free(rvd);
    }
  }
  test_close_all_devices(devs, count);
}
END_TEST

/* ---- cross-entropy ---- */

START_TEST(test_xent) {
  int count;
  dlgn_device **devs = topen(&count);
  for (int d = 0; d < count; d++) {
    dlgn_device *dev = devs[d];
    dlgn_rng r;
    dlgn_rng_seed(&r, 61);
    const int shapes[][2] = {{7, 10}, {300, 3}, {1, 1}, {128, 100}};
    for (int si = 0; si < 4; si++) {
      int N = shapes[si][0], K = shapes[si][1];
      size_t n = (size_t)N * K;
      /* logits up to +-80: exp overflows without the max shift */
      double *z = trand(&r, n, -80, 80), *dz = tvec(n);
      int *labels = malloc((size_t)N * sizeof *labels);
      for (int i = 0; i < N; i++) labels[i] = (int)dlgn_rng_below(&r, (uint32_t)K);
      int correct = 5;
      double loss = xent_forward_ref(&correct, z, labels, N, K);
      xent_backward_ref(dz, z, labels, N, K);
      nn_buf bz = tup(dev, z, n), bl = tup(dev, NULL, 1), bdz = tup(dev, NULL, n);
      cl_mem lab = tup_ints(dev, labels, (size_t)N, TOFF), cor = tup_ints(dev, (int[]){5}, 1, TOFF);
      ck_assert_ok(xent_forward(dev, bl, cor, TOFF, bz, lab, TOFF, N, K));
      /* a mean of terms up to ~160 computed in float */
      tcheck("xent_forward loss", dev, bl, &loss, 1, 1e-4, 1e-5);
      int got = 0;
      ck_assert_ok(ocl_buffer_read(dev, cor, TOFF * sizeof(int), sizeof got, &got, "correct"));
      ck_assert_msg(got == correct, "xent_forward correct on '%s': %d, want %d", dev->info.name,
                    got, correct);
      ck_assert_ok(xent_backward(dev, bdz, bz, lab, TOFF, N, K));
      tcheck("xent_backward", dev, bdz, dz, n, 1e-6 / N, 1e-5);
      tfree(&bz), tfree(&bl), tfree(&bdz);
      ocl_buffer_release(&lab), ocl_buffer_release(&cor);
      free(z), free(dz), free(labels);
    }
  }
  test_close_all_devices(devs, count);
}
END_TEST

/* ---- optimizers ---- */

START_TEST(test_optim) {
  int count;
  dlgn_device **devs = topen(&count);
  for (int d = 0; d < count; d++) {
    dlgn_device *dev = devs[d];
    dlgn_rng r;
    dlgn_rng_seed(&r, 71);
    const size_t n = 1003;
    /* SGD: plain, momentum, nesterov, each with weight decay, 5 steps */
    const double cfg[][3] = {{0, 0, 0}, {0.9, 5e-4, 0}, {0.9, 5e-4, 1}, {0.5, 0, 1}};
    for (int ci = 0; ci < 4; ci++) {
      double momentum = cfg[ci][0], wd = cfg[ci][1], lr = 0.05;
      bool nesterov = cfg[ci][2] != 0;
      double *p = trand(&r, n, -1, 1), *m = tvec(n);
      nn_buf bp = tup(dev, p, n), bm = tup(dev, NULL, n);
      for (int step = 0; step < 5; step++) {
        double *g = trand(&r, n, -1, 1);
        nn_buf bg = tup(dev, g, n);
        ck_assert_ok(sgd_update(dev, bp, bg, momentum != 0 ? bm : (nn_buf){NULL, 0}, n,
                                (float)lr, (float)momentum, (float)wd, nesterov, step == 0));
        sgd_update_ref(p, g, m, n, lr, momentum, wd, nesterov, step == 0);
        tfree(&bg);
        free(g);
      }
      tcheck("sgd_update params", dev, bp, p, n, 1e-6, 1e-5);
      if (momentum != 0) tcheck("sgd_update momentum", dev, bm, m, n, 1e-6, 1e-5);
      tfree(&bp), tfree(&bm);
      free(p), free(m);
    }
    /* Adam, with and without L2 weight decay, 5 steps */
    for (int ci = 0; ci < 2; ci++) {
      double wd = ci ? 1e-2 : 0, lr = 1e-3;
      double *p = trand(&r, n, -1, 1), *m = tvec(n), *v = tvec(n);
      nn_buf bp = tup(dev, p, n), bm = tup(dev, m, n), bv = tup(dev, v, n);
      for (int t = 1; t <= 5; t++) {
        double *g = trand(&r, n, -1, 1);
        nn_buf bg = tup(dev, g, n);
        ck_assert_ok(adam_update(dev, bp, bg, bm, bv, n, (float)lr, 0.9f, 0.999f, 1e-8f,
                                 (float)wd, t));
        adam_update_ref(p, g, m, v, n, lr, 0.9f, 0.999f, 1e-8f, wd, t);
        tfree(&bg);
        free(g);
      }
      /* each step moves p by about lr; its float error is ~1e-5 of that */
      tcheck("adam_update params", dev, bp, p, n, 1e-7, 1e-6);
      tcheck("adam_update m", dev, bm, m, n, 1e-7, 1e-5);
      tcheck("adam_update v", dev, bv, v, n, 1e-9, 1e-5);
      tfree(&bp), tfree(&bm), tfree(&bv);
      free(p), free(m), free(v);
    }
    ck_assert_int_ne(adam_update(dev, (nn_buf){NULL, 0}, (nn_buf){NULL, 0},
                                 (nn_buf){NULL, 0}, (nn_buf){NULL, 0}, 1, 1, 0.9f, 0.99f,
                                 1e-8f, 0, 0),
                     0);
    /* axpy */
    double *y = trand(&r, n, -1, 1), *x = trand(&r, n, -1, 1);
    nn_buf by = tup(dev, y, n), bx = tup(dev, x, n);
    ck_assert_ok(axpy(dev, by, bx, n, -0.75f));
    axpy_ref(y, x, n, -0.75);
    tcheck("axpy", dev, by, y, n, 1e-7, 1e-6);
    tfree(&by), tfree(&bx);
    free(y), free(x);
  }
  test_close_all_devices(devs, count);
}
END_TEST

Suite *make_suite(void) {
  Suite *s = suite_create("nn_ops");
  TCase *tc = tcase_create("ops");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, test_ref_gradients);
  tcase_add_test(tc, test_input_fill);
  tcase_add_test(tc, test_gate_relu_permute);
  tcase_add_test(tc, test_pool);
  tcase_add_test(tc, test_shortcut);
  tcase_add_test(tc, test_batchnorm);
  tcase_add_test(tc, test_xent);
  tcase_add_test(tc, test_optim);
  suite_add_tcase(s, tc);
  return s;
}

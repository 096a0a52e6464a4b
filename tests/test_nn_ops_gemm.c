/* The GEMM-based ops (dense, conv2d) on every OpenCL device against their
 * double-precision twins, and finite-difference checks of their backward
 * twins. Tolerance of a result that sums K products of terms bounded by a and
 * b: 1e-5*sqrt(K)*a*b absolute plus 1e-5 relative (float rounding of such a
 * sum is ~6e-8*sqrt(K)*a*b for random data: a margin of ~100). */
#include <stdlib.h>

#include "test_nn_ops_util.h"
#include "cl/gemm.h"
#include "cl/tune.h"
#include "nn/ops_internal.h"
#include "nn/tune_model.h"

static double gemm_tol(size_t K, double a, double b) { return 1e-5 * sqrt((double)K) * a * b; }

/* ---- gradient checks of the twins ---- */

typedef struct {
  double *x, *w, *b, *c, *y;
  int N, IN, OUT;
} dense_ctx;

static double dense_loss(void *p) {
  dense_ctx *g = p;
  dense_forward_ref(g->y, g->x, g->w, g->b, g->N, g->IN, g->OUT);
  return tdot(g->c, g->y, (size_t)g->N * g->OUT);
}

typedef struct {
  double *x, *w, *b, *c, *y;
  ocl_conv_shape s;
} conv_ctx;

static size_t conv_in(const ocl_conv_shape *s) { return (size_t)s->C * s->N * s->H * s->W; }
static size_t conv_out(const ocl_conv_shape *s) {
  return (size_t)s->OC * s->N * conv2d_out_h(s) * conv2d_out_w(s);
}
static size_t conv_wn(const ocl_conv_shape *s) { return (size_t)s->OC * s->C * s->k * s->k; }

static double conv_loss(void *p) {
  conv_ctx *g = p;
  conv2d_forward_ref(g->y, g->x, g->w, g->b, &g->s);
  return tdot(g->c, g->y, conv_out(&g->s));
}

START_TEST(test_ref_gradients) {
  dlgn_rng r;
  dlgn_rng_seed(&r, 101);
  {
    int N = 3, IN = 4, OUT = 5;
    dense_ctx g = {trand(&r, (size_t)N * IN, -1, 1), trand(&r, (size_t)OUT * IN, -1, 1),
                   trand(&r, OUT, -1, 1), trand(&r, (size_t)N * OUT, -1, 1),
                   tvec((size_t)N * OUT), N, IN, OUT};
    double *dx = tvec((size_t)N * IN), *dw = tvec((size_t)OUT * IN), *db = tvec(OUT);
    dense_backward_ref(dx, dw, db, g.c, g.x, g.w, N, IN, OUT);
    fd_check("dense dx", dense_loss, &g, g.x, (size_t)N * IN, dx);
    fd_check("dense dw", dense_loss, &g, g.w, (size_t)OUT * IN, dw);
    fd_check("dense db", dense_loss, &g, g.b, OUT, db);
    free(g.x), free(g.w), free(g.b), free(g.c), free(g.y), free(dx), free(dw), free(db);
  }
  const ocl_conv_shape shapes[] = {{2, 2, 5, 6, 3, 3, 1, 1},
                                    {1, 2, 6, 5, 2, 3, 2, 0},
                                    {2, 1, 4, 4, 2, 5, 2, 2},
                                    {2, 3, 3, 4, 2, 1, 1, 0}};
  for (int si = 0; si < 4; si++) {
    const ocl_conv_shape *s = &shapes[si];
    conv_ctx g = {trand(&r, conv_in(s), -1, 1), trand(&r, conv_wn(s), -1, 1),
                  trand(&r, s->OC, -1, 1), trand(&r, conv_out(s), -1, 1), tvec(conv_out(s)), *s};
    double *dx = tvec(conv_in(s)), *dw = tvec(conv_wn(s)), *db = tvec(s->OC);
    conv2d_backward_ref(dx, dw, db, g.c, g.x, g.w, s);
    fd_check("conv2d dx", conv_loss, &g, g.x, conv_in(s), dx);
    fd_check("conv2d dw", conv_loss, &g, g.w, conv_wn(s), dw);
    fd_check("conv2d db", conv_loss, &g, g.b, s->OC, db);
    free(g.x), free(g.w), free(g.b), free(g.c), free(g.y), free(dx), free(dw), free(db);
  }
}
END_TEST

/* ---- dense ---- */

START_TEST(test_dense) {
  int count;
  dlgn_device **devs = topen(&count);
  dlgn_rng r;
  dlgn_rng_seed(&r, 111);
  int shapes[8][3] = {{7, 13, 5}, {1, 1, 1}, {33, 70, 17}, {128, 300, 10}, {2, 3072, 9}};
  for (int i = 5; i < 8; i++) /* seeded random shapes */
    for (int j = 0; j < 3; j++) shapes[i][j] = 1 + (int)dlgn_rng_below(&r, j == 1 ? 150 : 60);
  for (int d = 0; d < count; d++) {
    dlgn_device *dev = devs[d];
    for (int si = 0; si < 8; si++) {
      int N = shapes[si][0], IN = shapes[si][1], OUT = shapes[si][2];
      size_t nx = (size_t)N * IN, nw = (size_t)OUT * IN, ny = (size_t)N * OUT;
      double *x = trand(&r, nx, -1, 1), *w = trand(&r, nw, -1, 1), *b = trand(&r, OUT, -1, 1);
      double *dy = trand(&r, ny, -1, 1), *old = trand(&r, nx, -1, 1);
      double *y = tvec(ny), *dx = tvec(nx), *dw = tvec(nw), *db = tvec(OUT);
      dense_forward_ref(y, x, w, b, N, IN, OUT);
      dense_backward_ref(dx, dw, db, dy, x, w, N, IN, OUT);
      nn_buf bx = tup(dev, x, nx), bw = tup(dev, w, nw), bb = tup(dev, b, OUT);
      nn_buf bdy = tup(dev, dy, ny), by = tup(dev, NULL, ny), bdx = tup(dev, NULL, nx);
      nn_buf bdw = tup(dev, NULL, nw), bdb = tup(dev, NULL, OUT), bacc = tup(dev, old, nx);
      char what[96];
      snprintf(what, sizeof what, "dense N=%d IN=%d OUT=%d", N, IN, OUT);
      ck_assert_ok(dense_forward(dev, by, bx, bw, bb, N, IN, OUT));
      tcheck(what, dev, by, y, ny, gemm_tol((size_t)IN + 1, 1, 1), 1e-5);
      ck_assert_ok(dense_backward(dev, bdx, bdw, bdb, bdy, bx, bw, N, IN, OUT, false));
      tcheck("dense_backward dx", dev, bdx, dx, nx, gemm_tol((size_t)OUT, 1, 1), 1e-5);
      tcheck("dense_backward dw", dev, bdw, dw, nw, gemm_tol((size_t)N, 1, 1), 1e-5);
      tcheck("dense_backward db", dev, bdb, db, OUT, gemm_tol((size_t)N, 1, 1), 1e-5);
      ck_assert_ok(dense_backward(dev, bacc, bdw, bdb, bdy, bx, bw, N, IN, OUT, true));
      for (size_t i = 0; i < nx; i++) dx[i] += old[i];
      tcheck("dense_backward dx +=", dev, bacc, dx, nx, gemm_tol((size_t)OUT, 1, 1), 1e-5);
      ck_assert_ok(
          dense_backward(dev, (nn_buf){NULL, 0}, bdw, bdb, bdy, bx, bw, N, IN, OUT, false));
      tcheck("dense_backward dw (no dx)", dev, bdw, dw, nw, gemm_tol((size_t)N, 1, 1), 1e-5);
      tfree(&bx), tfree(&bw), tfree(&bb), tfree(&bdy), tfree(&by), tfree(&bdx), tfree(&bdw);
      tfree(&bdb), tfree(&bacc);
      free(x), free(w), free(b), free(dy), free(old), free(y), free(dx), free(dw), free(db);
    }
  }
  test_close_all_devices(devs, count);
}
END_TEST

/* ---- conv2d ---- */

/* One shape on one device: forward with the given strategy, backward with and
 * without accumulation and without dx. */
static void conv_case(dlgn_device *dev, dlgn_rng *r, const ocl_conv_shape *s) {
  size_t nx = conv_in(s), ny = conv_out(s), nw = conv_wn(s);
  double *x = trand(r, nx, -1, 1), *w = trand(r, nw, -1, 1), *b = trand(r, s->OC, -1, 1);
  double *dy = trand(r, ny, -1, 1), *old = trand(r, nx, -1, 1);
  double *y = tvec(ny), *dx = tvec(nx), *dw = tvec(nw), *db = tvec(s->OC);
  conv2d_forward_ref(y, x, w, b, s);
  conv2d_backward_ref(dx, dw, db, dy, x, w, s);
  nn_buf bx = tup(dev, x, nx), bw = tup(dev, w, nw), bb = tup(dev, b, s->OC);
  nn_buf bdy = tup(dev, dy, ny), by = tup(dev, NULL, ny), bdx = tup(dev, NULL, nx);
  nn_buf bdw = tup(dev, NULL, nw), bdb = tup(dev, NULL, s->OC), bacc = tup(dev, old, nx);
  size_t nscratch;
  ck_assert_ok(conv2d_scratch_floats(dev, s, &nscratch));
  const char *strategy;
  ck_assert_ok(conv2d_forward_strategy(dev, s, &strategy));
  nn_buf scratch = tup(dev, NULL, nscratch);
  char what[160];
  snprintf(what, sizeof what,
           "conv2d_forward (%s) N=%d C=%d %dx%d OC=%d k=%d stride=%d pad=%d scratch=%zu",
           strategy, s->N, s->C, s->H, s->W, s->OC, s->k, s->stride, s->pad,
           nscratch);
  size_t kf = (size_t)s->C * s->k * s->k, kb = (size_t)s->OC * s->k * s->k;
  size_t km = (size_t)s->N * conv2d_out_h(s) * conv2d_out_w(s);
  ck_assert_ok(conv2d_forward(dev, by, bx, bw, bb, scratch, s));
  tcheck(what, dev, by, y, ny, gemm_tol(kf + 1, 1, 1), 1e-5);
  /* the fused epilogues: soft and hard gates, ReLU, and y still written */
  {
    double *g = trand(r, ny, -1, 1), *want = tvec(ny);
    nn_buf bg = tup(dev, g, ny), bout = tup(dev, NULL, ny);
    const conv_epilogue_kind kinds[3] = {CONV_EPI_GATE, CONV_EPI_GATE, CONV_EPI_RELU};
    const char *names[3] = {"soft gate", "hard gate", "ReLU"};
    for (int k = 0; k < 3; k++) {
      conv_epilogue e = {kinds[k], bout, bg, 2.5f, k == 1 ? DLGN_GATE_HARD : DLGN_GATE_SOFT};
      if (k < 2) gate_forward_ref(want, y, g, ny, e.beta, e.gates);
      else relu_forward_ref(want, y, ny);
      ck_assert_ok(conv2d_forward_fused(dev, by, bx, bw, bb, scratch, s, &e));
      char ewhat[200];
      snprintf(ewhat, sizeof ewhat, "%s, epilogue %s", what, names[k]);
      tcheck(ewhat, dev, bout, want, ny, gemm_tol(kf + 1, 1, 1), 1e-5);
      tcheck(ewhat, dev, by, y, ny, gemm_tol(kf + 1, 1, 1), 1e-5);
    }
    tfree(&bg), tfree(&bout);
    free(g), free(want);
  }
  ck_assert_ok(conv2d_backward(dev, bdx, bdw, bdb, bdy, bx, bw, scratch, s, false));
  char shape[120];
  snprintf(shape, sizeof shape, "(conv strategy %s) N=%d C=%d %dx%d OC=%d k=%d stride=%d pad=%d",
           dev->conv.forced ? ocl_conv_kind_name(dev->conv.force) : "measured", s->N, s->C, s->H, s->W, s->OC, s->k,
           s->stride, s->pad);
  snprintf(what, sizeof what, "conv2d_backward dx %s", shape);
  tcheck(what, dev, bdx, dx, nx, gemm_tol(kb, 1, 1), 1e-5);
  snprintf(what, sizeof what, "conv2d_backward dw %s", shape);
  tcheck(what, dev, bdw, dw, nw, gemm_tol(km, 1, 1), 1e-5);
  tcheck("conv2d_backward db", dev, bdb, db, s->OC, gemm_tol(km, 1, 1), 1e-5);
  ck_assert_ok(conv2d_backward(dev, bacc, bdw, bdb, bdy, bx, bw, scratch, s, true));
  for (size_t i = 0; i < nx; i++) dx[i] += old[i];
  tcheck("conv2d_backward dx +=", dev, bacc, dx, nx, gemm_tol(kb, 1, 1), 1e-5);
  ck_assert_ok(conv2d_backward(dev, (nn_buf){NULL, 0}, bdw, bdb, bdy, bx, bw, scratch, s, false));
  tcheck("conv2d_backward dw (no dx)", dev, bdw, dw, nw, gemm_tol(km, 1, 1), 1e-5);
  tfree(&bx), tfree(&bw), tfree(&bb), tfree(&bdy), tfree(&by), tfree(&bdx), tfree(&bdw);
  tfree(&bdb), tfree(&bacc), tfree(&scratch);
  free(x), free(w), free(b), free(dy), free(old), free(y), free(dx), free(dw), free(db);
}

START_TEST(test_conv) {
  int count;
  dlgn_device **devs = topen(&count);
  dlgn_rng r;
  dlgn_rng_seed(&r, 121);
  /* wide rows (37, 21) reach the direct kernel's vector path (16 pixels) and
   * its tail; the rest its lane-by-lane border path; rows of 32 and 16 the
   * row kernel (output channels not a multiple of its 8, one and two rows;
   * the last of them tall enough that its weight gradient is summed in three
   * chunks of images); 2x2, 4x4 and 8x8 planes the flat kernels (planes
   * sharing a vector, a plane over several; the first shape's weight
   * gradient in two chunks); batches of whole vectors of 16 with rows of 2, 4
   * and 8 the batch kernels (square and not, one and several vectors, few
   * work-items so that the weight gradient is summed in chunks); 3x3 stride-2
 * layers whose stride-1 twins take the row (32, 16) and batch kernels */
  enum { NSHAPES = 29 };
  ocl_conv_shape shapes[NSHAPES] = {
      {64, 2, 2, 2, 600, 3, 1, 1},
      {32, 5, 8, 8, 13, 3, 1, 1}, {16, 4, 5, 4, 25, 3, 1, 1}, {48, 3, 3, 2, 7, 3, 1, 1},
      {16, 3, 2, 2, 9, 3, 1, 1}, {6, 4, 4, 4, 10, 3, 1, 1}, {2, 5, 8, 8, 17, 3, 1, 1},
      {5, 2, 70, 32, 20, 3, 1, 1},
      {2, 3, 5, 32, 17, 3, 1, 1}, {2, 5, 6, 16, 9, 3, 1, 1}, {3, 2, 1, 32, 8, 3, 1, 1},
      {2, 3, 5, 37, 17, 3, 1, 1}, {1, 2, 4, 21, 18, 3, 1, 0}, {2, 2, 4, 5, 3, 1, 1, 1},
      {2, 3, 7, 9, 5, 3, 1, 1}, {3, 4, 8, 6, 6, 3, 2, 1}, {2, 2, 9, 7, 3, 5, 1, 2},
      {3, 5, 5, 5, 4, 1, 1, 0}, {2, 3, 6, 7, 2, 1, 2, 0}, {1, 2, 5, 8, 7, 3, 2, 0},
      {2, 3, 4, 4, 9, 5, 2, 2}, {7, 3, 11, 13, 10, 3, 1, 1}, {2, 3, 3, 3, 3, 3, 1, 2},
      {3, 4, 8, 32, 9, 3, 2, 1}, {2, 5, 6, 16, 10, 3, 2, 1}, {16, 3, 4, 4, 5, 3, 2, 1}};
  for (int i = NSHAPES - 3; i < NSHAPES; i++) { /* seeded random shapes */
    int k = 1 + 2 * (int)dlgn_rng_below(&r, 3);
    shapes[i] = (ocl_conv_shape){1 + (int)dlgn_rng_below(&r, 5), 1 + (int)dlgn_rng_below(&r, 6),
                                  k + (int)dlgn_rng_below(&r, 9), k + (int)dlgn_rng_below(&r, 9),
                                  1 + (int)dlgn_rng_below(&r, 12), k,
                                  1 + (int)dlgn_rng_below(&r, 2), (int)dlgn_rng_below(&r, 3)};
  }
  /* $DLGN_TEST_SMALL=1 (the run under Oclgrind, which interprets every
   * work-item): the shapes of at most about 10^5 multiply-adds per pass,
   * which still reach every strategy: flat planes, rows of 16 and 32, the
   * direct kernel's vector path and border, strides, 1x1 and 5x5 kernels. */
  const char *small_env = getenv("DLGN_TEST_SMALL");
  const bool small = small_env && *small_env && strcmp(small_env, "0") != 0;
  for (int d = 0; d < count; d++)
    for (int si = 0; si < NSHAPES; si++) {
      const ocl_conv_shape *s = &shapes[si];
      if (small && (size_t)s->N * s->C * s->k * s->k * s->OC * conv2d_out_h(s) * conv2d_out_w(s) >
                       100000)
        continue;
      /* every strategy (rows and Winograd where they fit, else the
       * default); im2col and Winograd with the batch in one chunk and in
       * chunks of a few images (for N=7 im2col's chunks of 2 leave 3) */
      size_t cols = 2 * (size_t)s->C * s->k * s->k * conv2d_out_h(s) * conv2d_out_w(s);
      const ocl_conv_kind kinds[] = {OCL_CONV_GEMM, OCL_CONV_DIRECT, OCL_CONV_GEMM,
                                      OCL_CONV_ROWS, OCL_CONV_WINO,   OCL_CONV_WINO,
                                      OCL_CONV_BATCH, OCL_CONV_SUB};
      ocl_conv_options saved = devs[d]->conv;
      for (int variant = 0; variant < 8; variant++) {
        /* sub is for 3x3 stride-2 layers only: elsewhere it would repeat the
         * default plan's case */
        if (kinds[variant] == OCL_CONV_SUB && (s->k != 3 || s->stride != 2)) continue;
        devs[d]->conv.forced = true;
        devs[d]->conv.force = kinds[variant];
        if (variant == 2 || variant == 5) devs[d]->conv.columns = cols;
        conv_case(devs[d], &r, s);
        devs[d]->conv = saved;
      }
    }
  /* shapes that do not fit are refused with a message */
  ocl_conv_shape bad = {1, 1, 2, 2, 1, 5, 1, 0};
  ck_assert_int_ne(conv2d_forward(devs[0], (nn_buf){NULL, 0}, (nn_buf){NULL, 0},
                                  (nn_buf){NULL, 0}, (nn_buf){NULL, 0}, (nn_buf){NULL, 0},
                                  &bad),
                   0);
  ck_assert_ptr_nonnull(strstr(dlgn_error(), "does not fit"));
  /* the options are read once, when a device opens, and a value nobody
   * knows is refused there rather than ignored */
  ocl_conv_options o;
  setenv("DLGN_CONV", "rowz", 1);
  ck_assert_int_ne(ocl_conv_options_from_env(&o), 0);
  ck_assert_ptr_nonnull(strstr(dlgn_error(), "$DLGN_CONV=rowz"));
  setenv("DLGN_CONV", "batch", 1);
  setenv("DLGN_CONV_COLUMNS", "12x", 1);
  ck_assert_int_ne(ocl_conv_options_from_env(&o), 0);
  ck_assert_ptr_nonnull(strstr(dlgn_error(), "$DLGN_CONV_COLUMNS=12x"));
  setenv("DLGN_CONV_COLUMNS", "4096", 1);
  ck_assert_int_eq(ocl_conv_options_from_env(&o), 0);
  ck_assert(o.forced);
  ck_assert_int_eq(o.force, OCL_CONV_BATCH);
  ck_assert_uint_eq(o.columns, 4096);
  unsetenv("DLGN_CONV");
  unsetenv("DLGN_CONV_COLUMNS");
  test_close_all_devices(devs, count);
}
END_TEST

/* The tuner on one small shape (every strategy checked against the GEMM,
 * the fastest that fits per pass), and a tuning entry honoured: the plan of
 * exactly that shape takes it, each pass where it fits, and the results stay
 * right. */
START_TEST(test_conv_tuned) {
  int count;
  dlgn_device **devs = topen(&count);
  dlgn_rng r;
  dlgn_rng_seed(&r, 7);
  for (int d = 0; d < count; d++) {
    dlgn_device *dev = devs[d];
    ocl_conv_shape s = {16, 4, 8, 8, 6, 3, 1, 1};
    ocl_tuned_conv e;
    ck_assert_ok(nn_tune_conv(dev, &s, true, NULL, &e));
    ck_assert_mem_eq(&e.shape, &s, sizeof s);
    ck_assert(conv2d_kind_fits(&dev->info, e.fwd, 0, &s));
    ck_assert(conv2d_kind_fits(&dev->info, e.dx, 1, &s));
    ck_assert(conv2d_kind_fits(&dev->info, e.dw, 2, &s));
    ck_assert(e.ms[0] > 0 && e.ms[1] > 0 && e.ms[2] > 0);
    /* an entry unlike the built-in choice, and one that does not fit */
    ocl_tuning *t = calloc(1, sizeof *t);
    ck_assert_ptr_nonnull(t);
    snprintf(t->device, sizeof t->device, "%s", dev->info.name);
    snprintf(t->driver, sizeof t->driver, "%s", dev->info.driver);
    e.fwd = OCL_CONV_GEMM;
    e.dx = OCL_CONV_DIRECT;
    e.dw = OCL_CONV_GEMM;
    ck_assert_ok(ocl_tuning_put_conv(t, &e));
    ocl_conv_shape odd = {3, 4, 8, 8, 6, 3, 1, 1};
    e.shape = odd;
    e.fwd = e.dx = e.dw = OCL_CONV_BATCH; /* wants whole vectors of 16 images */
    ck_assert_ok(ocl_tuning_put_conv(t, &e));
    ck_assert_ok(ocl_gemm_use_tuning(dev, t, "test table"));
    const char *name;
    ck_assert_ok(conv2d_forward_strategy(dev, &s, &name));
    ck_assert_str_eq(name, "im2col+gemm");
    char plan[96];
    conv2d_describe_plan(&dev->info, &dev->conv, t, &s, plan, sizeof plan);
    ck_assert_str_eq(plan, "im2col+gemm/direct/im2col+gemm (tuned)");
    ck_assert_ok(conv2d_forward_strategy(dev, &odd, &name));
    ck_assert_str_ne(name, "batch");
    conv_case(dev, &r, &s);
    conv_case(dev, &r, &odd);
    /* a forced strategy still wins over the file */
    dev->conv.forced = true;
    dev->conv.force = OCL_CONV_DIRECT;
    ck_assert_ok(conv2d_forward_strategy(dev, &s, &name));
    ck_assert_str_eq(name, "direct");
    dev->conv.forced = false;
    free(t);
  }
  test_close_all_devices(devs, count);
}
END_TEST

Suite *make_suite(void) {
  Suite *s = suite_create("nn_ops_gemm");
  TCase *tc = tcase_create("gemm ops");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, test_ref_gradients);
  tcase_add_test(tc, test_dense);
  tcase_add_test(tc, test_conv);
  tcase_add_test(tc, test_conv_tuned);
  suite_add_tcase(s, tc);
  return s;
}

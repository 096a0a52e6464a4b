/* ocl_gemm on every OpenCL device with both backends against ocl_gemm_ref:
 * the four transpose cases, sizes that are multiples of no tile, offsets,
 * padded leading dimensions, alpha/beta in {0, 1, other}, beta = 0 over a C
 * full of NaN; and the tuning file written by a tiny search, read back and
 * applied by the next device that opens.
 *
 * Tolerance: operands are uniform in [-1, 1], so a result sums K products
 * bounded by 1; float accumulation errs by about sqrt(K) * 6e-8 for such
 * sums. We allow 2e-6 * (K + 4) * (|alpha| + 1) absolute plus 1e-5 relative,
 * a margin above 100 for every K used here, still far below the error of a
 * dropped or doubled product (~0.3). Outside the C block the buffer must be
 * bit-for-bit untouched. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cl/gemm.h"
#include "dlgn/rng.h"
#include "dlgn/status.h"
#include "cl/tune.h"
#include "testutil.h"

typedef struct {
  bool ta, tb;
  size_t M, N, K;
  size_t offa, offb, offc; /* floats */
  size_t pada, padb, padc; /* leading dimension beyond the minimum */
  float alpha, beta;
} gemm_case;

static void fill_uniform(dlgn_rng *r, float *x, size_t n) {
  for (size_t i = 0; i < n; i++) x[i] = 2.0f * dlgn_rng_uniform(r) - 1.0f;
}

/* When set, run_case without own parameters runs the work-group kernel in
 * this form instead of the device's backend. */
static const ocl_gemm_wg_params *wg_form;

/* Run one case on dev with the current backend (or own params p when not
 * NULL, or wg_form) and compare; returns a message on mismatch, NULL when it
 * agrees. */
static const char *run_case(dlgn_device *dev, const ocl_gemm_own_params *p, const gemm_case *c,
                            uint64_t seed, char *msg, size_t msgsize) {
  size_t ar = c->ta ? c->K : c->M, ac = c->ta ? c->M : c->K;
  size_t br = c->tb ? c->N : c->K, bc = c->tb ? c->K : c->N;
  size_t lda = ac + c->pada, ldb = bc + c->padb, ldc = c->N + c->padc;
  if (lda == 0) lda = 1;
  if (ldb == 0) ldb = 1;
  size_t na = c->offa + ar * lda + 3, nb = c->offb + br * ldb + 3, nc = c->offc + c->M * ldc + 3;
  float *a = malloc(na * sizeof *a), *b = malloc(nb * sizeof *b);
  float *c0 = malloc(nc * sizeof *c0), *want = malloc(nc * sizeof *want),
        *got = malloc(nc * sizeof *got);
  ck_assert(a && b && c0 && want && got);
  dlgn_rng r;
  dlgn_rng_seed(&r, seed);
  fill_uniform(&r, a, na);
  fill_uniform(&r, b, nb);
  if (c->beta == 0.0f)
    for (size_t i = 0; i < nc; i++) c0[i] = NAN; /* must not be read */
  else
    fill_uniform(&r, c0, nc);
  memcpy(want, c0, nc * sizeof *want);
  ocl_gemm_ref(c->ta, c->tb, c->M, c->N, c->K, c->alpha, a + c->offa, lda, b + c->offb, ldb,
               c->beta, want + c->offc, ldc);

  cl_mem A, B, C;
  ck_assert_ok(ocl_buffer_create(dev, na * sizeof *a, "test A", &A));
  ck_assert_ok(ocl_buffer_create(dev, nb * sizeof *b, "test B", &B));
  ck_assert_ok(ocl_buffer_create(dev, nc * sizeof *c0, "test C", &C));
  ck_assert_ok(ocl_buffer_write(dev, A, 0, na * sizeof *a, a, "test A"));
  ck_assert_ok(ocl_buffer_write(dev, B, 0, nb * sizeof *b, b, "test B"));
  ck_assert_ok(ocl_buffer_write(dev, C, 0, nc * sizeof *c0, c0, "test C"));
  if (p) {
    ocl_gemm_call call = {.ta = c->ta,
                           .tb = c->tb,
                           .M = c->M,
                           .N = c->N,
                           .K = c->K,
                           .alpha = c->alpha,
                           .A = A,
                           .offa = c->offa,
                           .lda = lda,
                           .B = B,
                           .offb = c->offb,
                           .ldb = ldb,
                           .beta = c->beta,
                           .C = C,
                           .offc = c->offc,
                           .ldc = ldc};
    ck_assert_ok(ocl_gemm_own(dev, p, &call));
  } else if (wg_form) {
    ocl_gemm_call call = {c->ta, c->tb, c->M,  c->N,      c->K, c->alpha, A,       c->offa,
                           lda,   B,     c->offb, ldb, c->beta, C,        c->offc, ldc};
    ck_assert_ok(ocl_gemm_wg(dev, wg_form, &call));
  } else {
    ck_assert_ok(ocl_gemm(dev, c->ta, c->tb, c->M, c->N, c->K, c->alpha, A, c->offa, lda, B,
                          c->offb, ldb, c->beta, C, c->offc, ldc));
  }
  ck_assert_ok(ocl_buffer_read(dev, C, 0, nc * sizeof *got, got, "test C"));
  ocl_buffer_release(&A);
  ocl_buffer_release(&B);
  ocl_buffer_release(&C);

  const char *bad = NULL;
  double abs_tol = 2e-6 * (double)(c->K + 4) * (fabs(c->alpha) + 1.0);
  for (size_t i = 0; i < nc && !bad; i++) {
    bool inside = i >= c->offc && (i - c->offc) / ldc < c->M && (i - c->offc) % ldc < c->N;
    if (inside) {
      double err = test_compare(&got[i], &want[i], 1, abs_tol, 1e-5, NULL);
      if (err > 1) {
        size_t row = (i - c->offc) / ldc, col = (i - c->offc) % ldc;
        snprintf(msg, msgsize, "C[%zu,%zu] = %.7g, reference %.7g (error %.2f x tolerance %.2g)",
                 row, col, got[i], want[i], err, abs_tol);
        bad = msg;
      }
    } else if (memcmp(&got[i], &c0[i], sizeof got[i]) != 0) {
      snprintf(msg, msgsize, "C buffer element %zu outside the block was changed (%g -> %g)", i,
               c0[i], got[i]);
      bad = msg;
    }
  }
  free(a);
  free(b);
  free(c0);
  free(want);
  free(got);
  return bad;
}

static void write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fputs(text, f);
  ck_assert_int_eq(fclose(f), 0);
}

static void case_name(const gemm_case *c, char *out, size_t size) {
  snprintf(out, size, "%c%c M=%zu N=%zu K=%zu off=%zu/%zu/%zu pad=%zu/%zu/%zu alpha=%g beta=%g",
           c->ta ? 't' : 'n', c->tb ? 't' : 'n', c->M, c->N, c->K, c->offa, c->offb, c->offc,
           c->pada, c->padb, c->padc, c->alpha, c->beta);
}

/* $DLGN_TEST_SMALL=1 (the runs under Oclgrind, which interprets every
 * work-item): only the cases of at most a million multiply-adds. */
static bool small_only(void) {
  const char *e = getenv("DLGN_TEST_SMALL");
  return e && *e && strcmp(e, "0") != 0;
}

/* Sizes that are multiples of no tile (1, 7, 33, 129...), each with every
 * transpose case, cycling through offsets, paddings and alpha/beta. */
static int make_cases(gemm_case *out, int max) {
  static const size_t dims[][3] = {{1, 1, 1},   {7, 33, 129}, {33, 7, 1},   {129, 65, 33},
                                   {1, 129, 7}, {67, 1, 300}, {45, 97, 64}, {16, 32, 17}};
  static const float alphas[] = {1.0f, -0.75f, 0.0f, 1.5f};
  static const float betas[] = {0.0f, 1.0f, 0.5f, 0.0f, -2.0f};
  int n = 0;
  for (size_t d = 0; d < sizeof dims / sizeof dims[0]; d++)
    for (int tr = 0; tr < 4 && n < max; tr++, n++) {
      gemm_case *c = &out[n];
      *c = (gemm_case){
          .ta = tr & 1, .tb = (tr & 2) != 0, .M = dims[d][0], .N = dims[d][1], .K = dims[d][2]};
      c->offa = (size_t)(n % 3) * 5;
      c->offb = (size_t)(n % 4) * 3;
      c->offc = (size_t)(n % 5) * 7;
      c->pada = (size_t)(n % 2) * 3;
      c->padb = (size_t)((n + 1) % 3) * 2;
      c->padc = (size_t)(n % 4);
      c->alpha = alphas[n % 4];
      c->beta = betas[n % 5];
    }
  /* Larger: several K blocks and tiles in the own kernel, CLBlast's indirect
   * (padding) path instead of its direct kernel. */
  for (int tr = 0; tr < 4 && n < max && !small_only(); tr++, n++)
    out[n] = (gemm_case){.ta = tr & 1,
                         .tb = (tr & 2) != 0,
                         .M = 300,
                         .N = 257,
                         .K = 1100,
                         .offa = 11,
                         .offb = 2,
                         .offc = 5,
                         .pada = 7,
                         .padb = 0,
                         .padc = 9,
                         .alpha = 0.5f,
                         .beta = tr % 2 ? 0.0f : 1.0f};
  /* A weight-gradient shape (A B^T, M < N, long K): the operands swap and
   * the large side is read in place */
  if (n < max && !small_only())
    out[n++] = (gemm_case){.ta = false,
                           .tb = true,
                           .M = 16,
                           .N = 600,
                           .K = 14000,
                           .offa = 1,
                           .offb = 3,
                           .offc = 2,
                           .pada = 5,
                           .padb = 16,
                           .padc = 1,
                           .alpha = 1.0f,
                           .beta = 1.0f};
  /* K past 65535: Mesa's llvmpipe ends longer loops early, so the
   * work-group kernel runs K in several launches */
  if (n < max && !small_only())
    out[n++] = (gemm_case){.ta = true,
                           .tb = true,
                           .M = 3,
                           .N = 5,
                           .K = 70001,
                           .offa = 2,
                           .offb = 1,
                           .padc = 1,
                           .alpha = 1.0f,
                           .beta = 0.5f};
  /* K = 0 leaves beta * C */
  if (n < max)
    out[n++] =
        (gemm_case){.M = 9, .N = 5, .K = 0, .offc = 1, .padc = 2, .alpha = 1.0f, .beta = 0.5f};
  return n;
}

static void check_backend(dlgn_device *dev, ocl_gemm_backend backend) {
  ck_assert_ok(ocl_gemm_set_backend(dev, backend));
  ck_assert_int_eq(ocl_gemm_backend_of(dev), backend);
  gemm_case cases[64];
  int n = make_cases(cases, 64);
  for (int i = 0; i < n; i++) {
    char msg[256], name[160];
    const char *bad = run_case(dev, NULL, &cases[i], 1000 + (uint64_t)i, msg, sizeof msg);
    case_name(&cases[i], name, sizeof name);
    ck_assert_msg(!bad, "device '%s', backend %s, %s: %s", dev->info.name,
                  ocl_gemm_backend_name(backend), name, bad);
  }
}

START_TEST(test_gemm_both_backends) {
  dlgn_device **devs;
  int count;
  ck_assert_ok(test_open_all_devices(&devs, &count));
  for (int d = 0; d < count; d++) {
    /* $DLGN_TEST_NO_CLBLAST=1: under Oclgrind, which checks our kernels */
    const char *no_clblast = getenv("DLGN_TEST_NO_CLBLAST");
    check_backend(devs[d], OCL_GEMM_OWN);
    if (!no_clblast || !*no_clblast || strcmp(no_clblast, "0") == 0)
      check_backend(devs[d], OCL_GEMM_CLBLAST);
    /* (under Oclgrind, test_gemm_wg_forms runs the backend's form) */
    if (!small_only()) check_backend(devs[d], OCL_GEMM_WG);
  }
  test_close_all_devices(devs, count);
}
END_TEST

/* Both forms of the work-group kernel the backend choice measures, and
 * others: one value per work-item, tiles wider than tall and the reverse,
 * K steps that divide no K of the cases, on every case of make_cases. */
START_TEST(test_gemm_wg_forms) {
  dlgn_device **devs;
  int count;
  ck_assert_ok(test_open_all_devices(&devs, &count));
  for (int d = 0; d < count; d++) {
    ocl_gemm_wg_params forms[6];
    int nf = ocl_gemm_wg_candidates(devs[d], forms);
    forms[nf++] = (ocl_gemm_wg_params){8, 8, 0, 1, 1};
    forms[nf++] = (ocl_gemm_wg_params){8, 8, 3, 1, 1};
    forms[nf++] = (ocl_gemm_wg_params){16, 32, 5, 2, 4};
    forms[nf++] = (ocl_gemm_wg_params){24, 8, 0, 3, 2};
    gemm_case cases[64];
    int n = make_cases(cases, 64);
    for (int f = 0; f < nf; f++) {
      wg_form = &forms[f];
      for (int i = 0; i < n; i++) {
        /* Under Oclgrind (small cases), each form takes one transpose case
         * of each size, a different one for each form, and the K = 0 case:
         * every form and every transpose case still run. */
        if (small_only() && i < n - 1 && (i + f) % 4 != 0) continue;
        char msg[256], name[160];
        const char *bad = run_case(devs[d], NULL, &cases[i], 2000 + (uint64_t)i, msg, sizeof msg);
        case_name(&cases[i], name, sizeof name);
        ck_assert_msg(!bad, "device '%s', work-group form %dx%dx%d %dx%d, %s: %s",
                      devs[d]->info.name, forms[f].tsm, forms[f].tsn, forms[f].tsk, forms[f].wptm,
                      forms[f].wptn, name, bad);
      }
    }
    wg_form = NULL;
    /* invalid forms are refused with a reason */
    ocl_gemm_wg_params badp = {30, 32, 16, 4, 4};
    ck_assert_int_ne(ocl_gemm_wg_params_check(devs[d], &badp), 0);
    ck_assert_ptr_nonnull(strstr(dlgn_error(), "30x32x16"));
  }
  test_close_all_devices(devs, count);
}
END_TEST

/* The backend choice is measured once per device and driver, stored, read
 * back by the next device, and a damaged record is measured again. */
START_TEST(test_gemm_choice_cached) {
  char dir[256], path[1024], old[1024];
  test_tmpdir(dir, sizeof dir);
  const char *prev = getenv("DLGN_CACHE_DIR");
  snprintf(old, sizeof old, "%s", prev ? prev : "");
  ck_assert_int_eq(setenv("DLGN_CACHE_DIR", dir, 1), 0);
  unsetenv("DLGN_GEMM");
  dlgn_device *dev;
  ck_assert_ok(dlgn_device_open(&dev, NULL, 0));
  ocl_gemm_backend b, back;
  char note[256];
  ck_assert_int_eq(ocl_gemm_choice_read(&dev->info, &b, note, sizeof note), 0);
  b = ocl_gemm_backend_of(dev);
  ck_assert_msg(strncmp(ocl_gemm_backend_source(dev), "measured now", 12) == 0, "source: %s",
                ocl_gemm_backend_source(dev));
  ck_assert_int_eq(ocl_gemm_choice_read(&dev->info, &back, note, sizeof note), 1);
  ck_assert_int_eq(back, b);
  ck_assert_ptr_nonnull(strstr(note, "ms for the three test products"));
  dlgn_device_close(dev);

  ck_assert_ok(dlgn_device_open(&dev, NULL, 0));
  ck_assert_int_eq(ocl_gemm_backend_of(dev), b);
  ck_assert_msg(strncmp(ocl_gemm_backend_source(dev), "measured earlier", 16) == 0,
                "source: %s", ocl_gemm_backend_source(dev));
  ck_assert_ok(ocl_gemm_choice_path(&dev->info, path, sizeof path));
  dlgn_device_close(dev);

  /* a record naming a form this device cannot run is measured again */
  write_text(path, "backend workgroup\nworkgroup tsm=512 tsn=8 tsk=0 wptm=1 wptn=1\n");
  ck_assert_ok(dlgn_device_open(&dev, NULL, 0));
  ck_assert_msg(strncmp(ocl_gemm_backend_source(dev), "measured now", 12) == 0, "source: %s",
                ocl_gemm_backend_source(dev));
  ocl_gemm_wg_params w;
  ck_assert_ok(ocl_gemm_wg_params_of(dev, &w));
  ck_assert_ok(ocl_gemm_wg_params_check(dev, &w));
  dlgn_device_close(dev);
  test_rmtree(dir);
  if (old[0]) setenv("DLGN_CACHE_DIR", old, 1);
  else unsetenv("DLGN_CACHE_DIR");
}
END_TEST

/* Tiles and K blocks other than the default, including one-row tiles, a
 * single vector per row and K blocks that do not divide K. */
START_TEST(test_gemm_own_params) {
  dlgn_device **devs;
  int count;
  ck_assert_ok(test_open_all_devices(&devs, &count));
  for (int d = 0; d < count; d++) {
    ocl_gemm_own_params def;
    ocl_gemm_own_default(devs[d], &def);
    const ocl_gemm_own_params ps[] = {{1, def.vw, def.vw, 0, 0},
                                       {5, 2 * def.vw, def.vw, 7, 0},
                                       {3, def.vw, def.vw, 64, 1},
                                       {def.tm, def.tn, def.vw, 1, 0},
                                       {4, 8, 4, 33, 3},
                                       {2, 3, 1, 5, 64},
                                       {def.tm, def.tn, def.vw, 16, 4}};
    const gemm_case cases[] = {{false, false, 37, 41, 100, 3, 1, 2, 1, 0, 3, 1.0f, 0.0f},
                               {true, true, 19, 70, 65, 0, 4, 0, 0, 2, 0, -1.0f, 1.0f},
                               {false, true, 8, 33, 129, 1, 0, 3, 2, 2, 2, 0.25f, 0.0f},
                               {true, false, 50, 9, 31, 2, 2, 2, 0, 1, 1, 2.0f, -0.5f}};
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++)
      for (size_t j = 0; j < sizeof cases / sizeof cases[0]; j++) {
        char msg[256], name[160];
        const char *bad = run_case(devs[d], &ps[i], &cases[j], 77 + j, msg, sizeof msg);
        case_name(&cases[j], name, sizeof name);
        ck_assert_msg(!bad, "device '%s', own tile %dx%d vw=%d kc=%d ks=%d, %s: %s",
                      devs[d]->info.name, ps[i].tm, ps[i].tn, ps[i].vw, ps[i].kc, ps[i].ks, name,
                      bad);
      }
    /* invalid parameters are refused with a reason */
    ocl_gemm_own_params badp = {4, 24, 16, 0, 0};
    ck_assert_int_ne(ocl_gemm_own_params_check(devs[d], &badp), 0);
    ck_assert_ptr_nonnull(strstr(dlgn_error(), "multiple of vw"));
  }
  test_close_all_devices(devs, count);
}
END_TEST

START_TEST(test_gemm_bad_arguments) {
  dlgn_device **devs;
  int count;
  ck_assert_ok(test_open_all_devices(&devs, &count));
  cl_mem X;
  ck_assert_ok(ocl_buffer_create(devs[0], 4096, "test X", &X));
  ck_assert_int_ne(ocl_gemm(devs[0], false, false, 4, 4, 4, 1.0f, X, 0, 3, X, 0, 4, 0.0f, X, 0, 4),
                   0);
  ck_assert_ptr_nonnull(strstr(dlgn_error(), "lda=3"));
  ocl_buffer_release(&X);
  ocl_gemm_backend b;
  ck_assert_int_ne(ocl_gemm_backend_parse("cublas", &b), 0);
  ck_assert_ptr_nonnull(strstr(dlgn_error(), "cublas"));
  test_close_all_devices(devs, count);
}
END_TEST

/* ---- tuning file ---- */


START_TEST(test_tuning_roundtrip) {
  char dir[256], path[1024];
  test_tmpdir(dir, sizeof dir);
  ck_assert_int_eq(setenv("DLGN_TUNING_DIR", dir, 1), 0);
  dlgn_device *dev;
  ck_assert_ok(dlgn_device_open(&dev, NULL, 0));
  ck_assert_ptr_null(ocl_gemm_tuning_file(dev));

  /* a tiny search: one small shape, two candidates of each kind */
  const ocl_gemm_shape shape = {"small", false, true, 40, 72, 96};
  ocl_tune_options opt = {.quick = true,
                           .own = true,
                           .clblast = true,
                           .shapes = &shape,
                           .nshapes = 1,
                           .max_candidates = 2};
  ocl_tuning t;
  memset(&t, 0, sizeof t);
  ck_assert_ok(ocl_tune(dev, &opt, &t));
  ck_assert(t.has_own_default);
  ck_assert_int_eq(t.nshapes, 1);
  ck_assert_ok(ocl_tuning_path(&dev->info, path, sizeof path));
  ck_assert_ptr_eq(strstr(path, dir), path);
  ck_assert_ok(ocl_tuning_write(path, &t));
  ck_assert_int_eq(access(path, R_OK), 0);

  ocl_tuning back;
  ck_assert_ok(ocl_tuning_read(path, &back));
  ck_assert_str_eq(back.device, dev->info.name);
  ck_assert_str_eq(back.driver, dev->info.driver);
  ck_assert(memcmp(&back.own_default, &t.own_default, sizeof t.own_default) == 0);
  ck_assert_int_eq(back.nshapes, 1);
  ck_assert(memcmp(&back.shapes[0].own, &t.shapes[0].own, sizeof t.shapes[0].own) == 0);
  ck_assert_int_eq(back.shapes[0].M, 40);
  ck_assert_int_eq(back.nclblast, t.nclblast);
  for (int i = 0; i < t.nclblast; i++) {
    ck_assert_str_eq(back.clblast[i].kernel, t.clblast[i].kernel);
    ck_assert_int_eq(back.clblast[i].n, t.clblast[i].n);
    for (int j = 0; j < t.clblast[i].n; j++) {
      ck_assert_str_eq(back.clblast[i].names[j], t.clblast[i].names[j]);
      ck_assert_int_eq(back.clblast[i].values[j], t.clblast[i].values[j]);
    }
  }
  dlgn_device_close(dev);

  /* Applied by the next device: give the shape a distinctive tile and the
   * default another, and CLBlast an explicit parameter set. */
  ocl_gemm_own_params def;
  ck_assert_ok(dlgn_device_open(&dev, NULL, 0));
  ocl_gemm_own_default(dev, &def);
  dlgn_device_close(dev);
  back.shapes[0].own = (ocl_gemm_own_params){5, def.vw, def.vw, 24, 2};
  back.own_default = (ocl_gemm_own_params){3, 2 * def.vw, def.vw, 0, 0};
  back.nclblast = 1;
  memset(&back.clblast[0], 0, sizeof back.clblast[0]);
  snprintf(back.clblast[0].kernel, sizeof back.clblast[0].kernel, "GemmRoutine");
  snprintf(back.clblast[0].names[0], sizeof back.clblast[0].names[0], "XGEMM_MIN_INDIRECT_SIZE");
  back.clblast[0].values[0] = 1;
  back.clblast[0].n = 1;
  ck_assert_ok(ocl_tuning_write(path, &back));

  ck_assert_ok(dlgn_device_open(&dev, NULL, 0));
  ocl_gemm_own_params p;
  ck_assert_ok(ocl_gemm_own_params_for(dev, false, true, 40, 72, 96, &p));
  ck_assert_int_eq(p.tm, 5);
  ck_assert_int_eq(p.kc, 24);
  ck_assert_int_eq(p.ks, 2);
  ck_assert_ok(ocl_gemm_own_params_for(dev, false, false, 40, 72, 96, &p));
  ck_assert_int_eq(p.tm, 3);
  ck_assert_str_eq(ocl_gemm_tuning_file(dev), path);
  /* and both backends still compute the right thing under it */
  gemm_case c = {false, true, 40, 72, 96, 1, 2, 3, 1, 1, 1, 1.0f, 0.0f};
  char msg[256];
  for (int b = 0; b < 2; b++) {
    ck_assert_ok(ocl_gemm_set_backend(dev, b ? OCL_GEMM_CLBLAST : OCL_GEMM_OWN));
    const char *bad = run_case(dev, NULL, &c, 5, msg, sizeof msg);
    ck_assert_msg(!bad, "backend %s under the tuning file: %s", b ? "clblast" : "own", bad);
  }
  dlgn_device_close(dev);

  /* A broken file fails every GEMM with its name and line. */
  write_text(path, "device x\ndriver y\nown-default tm=4 tn=16 vw=16\n");
  ck_assert_ok(dlgn_device_open(&dev, NULL, 0));
  cl_mem X;
  ck_assert_ok(ocl_buffer_create(dev, 64, "test X", &X));
  ck_assert_int_ne(ocl_gemm(dev, false, false, 2, 2, 2, 1.0f, X, 0, 2, X, 0, 2, 0.0f, X, 0, 2), 0);
  ck_assert_msg(strstr(dlgn_error(), path) && strstr(dlgn_error(), "line 3"), "message: %s",
                dlgn_error());
  /* so does one made for another device */
  write_text(path, "device some other device\ndriver 0.0\n");
  ck_assert_int_ne(ocl_gemm(dev, false, false, 2, 2, 2, 1.0f, X, 0, 2, X, 0, 2, 0.0f, X, 0, 2), 0);
  ck_assert_msg(strstr(dlgn_error(), "made for device 'some other device'"), "message: %s",
                dlgn_error());
  ocl_buffer_release(&X);
  dlgn_device_close(dev);
  test_rmtree(dir);
  setenv("DLGN_TUNING_DIR", "/dev/null/no-tuning", 1);
}
END_TEST

Suite *make_suite(void) {
  Suite *s = suite_create("cl_gemm");
  TCase *tc = tcase_create("gemm");
  tcase_set_timeout(tc, 600);
  /* (the Oclgrind run takes this case only: CK_RUN_CASE=gemm) */
  TCase *tt = tcase_create("tuning");
  tcase_set_timeout(tt, 600);
  /* No tuning file from the user's own folders may change what is tested
   * (a folder that cannot exist holds none). */
  setenv("DLGN_TUNING_DIR", "/dev/null/no-tuning", 1);
  tcase_add_test(tc, test_gemm_both_backends);
  tcase_add_test(tc, test_gemm_own_params);
  tcase_add_test(tc, test_gemm_wg_forms);
  tcase_add_test(tc, test_gemm_bad_arguments);
  tcase_add_test(tt, test_gemm_choice_cached);
  tcase_add_test(tt, test_tuning_roundtrip);
  suite_add_tcase(s, tc);
  suite_add_tcase(s, tt);
  return s;
}

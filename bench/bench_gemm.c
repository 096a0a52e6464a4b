/* ocl_gemm on the model GEMM shapes (FC 5x128 and C4GAP-128 at batch 128,
 * forward and backward) and 1024^3 / 2048^3: median time and GFLOPS of the
 * three backends, the own kernel (with the parameters ocl_gemm would pick,
 * i.e. the tuning file's when there is one), the work-group kernel (with the
 * parameters chosen with the device's backend) and CLBlast, beside
 * OpenBLAS's cblas_sgemm on the host in the same run, with ratios to
 * OpenBLAS. It names the backend ocl_gemm uses on the device. Every path is
 * first checked against ocl_gemm_ref on a small case with the shape's
 * transposes and the parameters of that shape.
 *
 *   bench_gemm [--device SEL] [--min-reps N] [--budget S] [--only TEXT] [--no-clblast]
 *
 * OpenBLAS reads OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE when it loads; these
 * machines set them for old builds, which forces a slower kernel. The
 * benchmark therefore re-executes itself without them (as
 * `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE bench_gemm ...` would);
 * --keep-openblas-env keeps them. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cl/gemm.h"
#include "dlgn/rng.h"
#include "dlgn/status.h"
#include "cl/tune.h"
#include "dlgn/util.h"
#ifdef DLGN_HAVE_OPENBLAS
#include <cblas.h>
#endif

#ifdef DLGN_HAVE_OPENBLAS
static void openblas_run(const ocl_gemm_shape *s, const float *a, const float *b, float *c) {
  cblas_sgemm(CblasRowMajor, s->ta ? CblasTrans : CblasNoTrans, s->tb ? CblasTrans : CblasNoTrans,
              (int)s->M, (int)s->N, (int)s->K, 1.0f, a, (int)(s->ta ? s->M : s->K), b,
              (int)(s->tb ? s->K : s->N), 0.0f, c, (int)s->N);
}

static double openblas_time(const ocl_gemm_shape *s, const float *a, const float *b, float *c,
                            int min_reps, double budget) {
  double t[64];
  int n = 0;
  openblas_run(s, a, b, c);
  double start = dlgn_now();
  while (n < 64 && (n < min_reps || dlgn_now() - start < budget)) {
    double t0 = dlgn_now();
    openblas_run(s, a, b, c);
    t[n++] = dlgn_now() - t0;
  }
  return dlgn_median(t, (size_t)n);
}
#endif

enum { PATH_OWN, PATH_WG, PATH_CLBLAST, PATH_OPENBLAS };

/* Small case with the shape's transposes: own (with p), work-group (with
 * wg), CLBlast or OpenBLAS (host) against the C twin. */
static int check_small(dlgn_device *dev, const ocl_gemm_shape *s, const ocl_gemm_own_params *p,
                       const ocl_gemm_wg_params *wg, int which) {
  enum { M = 45, N = 37, K = 71 };
  static float a[M * K], b[K * N], c[M * N], want[M * N];
  dlgn_rng r;
  dlgn_rng_seed(&r, 3);
  for (int i = 0; i < M * K; i++) a[i] = dlgn_rng_uniform(&r) * 2 - 1;
  for (int i = 0; i < K * N; i++) b[i] = dlgn_rng_uniform(&r) * 2 - 1;
  size_t lda = s->ta ? M : K, ldb = s->tb ? K : N;
  ocl_gemm_ref(s->ta, s->tb, M, N, K, 1.0f, a, lda, b, ldb, 0.0f, want, N);
  const char *names[] = {"own", "workgroup", "clblast", "openblas"};
  if (which == PATH_OPENBLAS) {
#ifdef DLGN_HAVE_OPENBLAS
    ocl_gemm_shape small = {s->name, s->ta, s->tb, M, N, K};
    openblas_run(&small, a, b, c);
#endif
  } else {
    cl_mem A, B, C;
    DLGN_TRY(ocl_buffer_create(dev, sizeof a, "check A", &A));
    DLGN_TRY(ocl_buffer_create(dev, sizeof b, "check B", &B));
    DLGN_TRY(ocl_buffer_create(dev, sizeof c, "check C", &C));
    ocl_gemm_call call = {s->ta, s->tb, M, N, K, 1.0f, A, 0, lda, B, 0, ldb, 0.0f, C, 0, N};
    int rc = ocl_buffer_write(dev, A, 0, sizeof a, a, "check A") ||
             ocl_buffer_write(dev, B, 0, sizeof b, b, "check B") ||
             (which == PATH_OWN  ? ocl_gemm_own(dev, p, &call)
              : which == PATH_WG ? ocl_gemm_wg(dev, wg, &call)
                                 : ocl_gemm_clblast(dev, &call)) ||
             ocl_buffer_read(dev, C, 0, sizeof c, c, "check C");
    ocl_buffer_release(&A);
    ocl_buffer_release(&B);
    ocl_buffer_release(&C);
    if (rc) return -1;
  }
  for (int i = 0; i < M * N; i++)
    if (!(fabsf(c[i] - want[i]) <= 1e-4f * sqrtf((float)K) + 1e-5f * fabsf(want[i])))
      return dlgn_fail("%s gives a wrong result for %s's transposes (element %d: %g, want %g)",
                       names[which], s->name, i, c[i], want[i]);
  return 0;
}

static void usage(FILE *out) {
  fprintf(out,
          "usage: bench_gemm [--device SEL] [--min-reps N] [--budget S] [--only TEXT]\n"
          "                  [--no-clblast] [--keep-openblas-env]\n\n"
          "  --device SEL         index, 'gpu', 'cpu' or a name substring (default: $DLGN_DEVICE,\n"
          "                       else the first GPU, else the first CPU device)\n"
          "  --min-reps N         timed runs per measurement at least (default 3); more while\n"
          "  --budget S           seconds per measurement are not spent (default 0.5)\n"
          "  --only TEXT          only shapes whose name contains TEXT\n"
          "  --no-clblast         skip CLBlast (its default parameters are slow on CPUs)\n"
          "  --keep-openblas-env  do not re-execute without OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE\n");
}

int main(int argc, char **argv) {
  const char *selector = NULL, *only = NULL;
  int min_reps = 3;
  double budget = 0.5;
  bool clblast = true, keep_env = false;
  static const struct option opts[] = {
      {"device", required_argument, NULL, 'd'}, {"min-reps", required_argument, NULL, 'r'},
      {"budget", required_argument, NULL, 'b'}, {"only", required_argument, NULL, 'o'},
      {"no-clblast", no_argument, NULL, 'n'},   {"keep-openblas-env", no_argument, NULL, 'k'},
      {"help", no_argument, NULL, 'h'},         {0}};
  int c;
  while ((c = getopt_long(argc, argv, "d:r:b:o:nkh", opts, NULL)) != -1) {
    if (c == 'd')
      selector = optarg;
    else if (c == 'r')
      min_reps = atoi(optarg);
    else if (c == 'b')
      budget = atof(optarg);
    else if (c == 'o')
      only = optarg;
    else if (c == 'n')
      clblast = false;
    else if (c == 'k')
      keep_env = true;
    else if (c == 'h') {
      usage(stdout);
      return 0;
    } else {
      usage(stderr);
      return 2;
    }
  }
#ifdef DLGN_HAVE_OPENBLAS
  if (!keep_env && (getenv("OPENBLAS_CORETYPE") || getenv("OPENBLAS_L2_SIZE"))) {
    unsetenv("OPENBLAS_CORETYPE");
    unsetenv("OPENBLAS_L2_SIZE");
    execv("/proc/self/exe", argv);
    perror("bench_gemm: re-executing without the OPENBLAS_* settings failed");
    return 1;
  }
#endif
  (void)keep_env;

  dlgn_device *dev;
  if (dlgn_device_open(&dev, selector, 0) != 0) {
    fprintf(stderr, "bench_gemm: %s\n", dlgn_error());
    return 1;
  }
  const ocl_gemm_shape *model;
  int nmodel = ocl_tune_model_shapes(&model);
  ocl_gemm_shape shapes[40];
  int ns = 0;
  for (int i = 0; i < nmodel; i++) shapes[ns++] = model[i];
  shapes[ns++] = (ocl_gemm_shape){"2048^3", false, false, 2048, 2048, 2048};
  ocl_gemm_own_params p0; /* opens the GEMM state: reads the tuning file */
  if (ocl_gemm_own_params_for(dev, false, false, 1, 1, 1, &p0) != 0) {
    fprintf(stderr, "bench_gemm: %s\n", dlgn_error());
    return 1;
  }
  const char *tf = ocl_gemm_tuning_file(dev);
  ocl_gemm_wg_params wg;
  if (ocl_gemm_wg_params_of(dev, &wg) != 0) {
    fprintf(stderr, "bench_gemm: %s\n", dlgn_error());
    return 1;
  }
  printf("device [%d] %s (driver %s); own parameters from %s\n", dev->info.index, dev->info.name,
         dev->info.driver, tf ? tf : "built-in defaults (no tuning file)");
  printf("backend ocl_gemm uses: %s (%s); work-group kernel %dx%d tiles, k step %d, %dx%d per "
         "work-item\n",
         ocl_gemm_backend_name(ocl_gemm_backend_of(dev)), ocl_gemm_backend_source(dev), wg.tsm,
         wg.tsn, wg.tsk, wg.wptm, wg.wptn);
#ifdef DLGN_HAVE_OPENBLAS
  printf("OpenBLAS %s, %d threads, core %s\n", openblas_get_config(), openblas_get_num_threads(),
         openblas_get_corename());
#endif
  printf("median of >= %d runs or %.1f s each; GFLOPS = 2MNK/time; ratio = GFLOPS / OpenBLAS\n",
         min_reps, budget);
  /* Timings on a shared machine mean little without the load beside them. */
  FILE *la = fopen("/proc/loadavg", "r");
  char load[64] = "?";
  if (la) {
    if (!fgets(load, sizeof load, la)) snprintf(load, sizeof load, "?");
    fclose(la);
  }
  printf("load average at start: %s\n", load);
  printf("%-18s %2s %5s %6s %6s | %-12s %8s %7s | %8s %7s | %8s %7s | %8s %7s | %6s %6s %6s\n",
         "shape", "tr", "M", "N", "K", "tile/kc/ks", "own ms", "GFLOPS", "wg ms", "GFLOPS",
         "clb ms", "GFLOPS", "oblas ms", "GFLOPS", "own/ob", "wg/ob", "clb/ob");

  size_t na = 1, nb = 1, nc = 1;
  for (int i = 0; i < ns; i++) {
    if (only && !strstr(shapes[i].name, only)) continue;
    const ocl_gemm_shape *s = &shapes[i];
    if (s->M * s->K > na) na = s->M * s->K;
    if (s->K * s->N > nb) nb = s->K * s->N;
    if (s->M * s->N > nc) nc = s->M * s->N;
  }
  cl_mem A, B, C;
  float *ha = malloc(na * sizeof *ha), *hb = malloc(nb * sizeof *hb), *hc = malloc(nc * sizeof *hc);
  if (!ha || !hb || !hc) {
    fprintf(stderr, "bench_gemm: out of host memory\n");
    return 1;
  }
  dlgn_rng r;
  dlgn_rng_seed(&r, 1);
  for (size_t i = 0; i < na; i++) ha[i] = dlgn_rng_uniform(&r) - 0.5f;
  for (size_t i = 0; i < nb; i++) hb[i] = dlgn_rng_uniform(&r) - 0.5f;
  memset(hc, 0, nc * sizeof *hc);
  if (ocl_buffer_create(dev, na * 4, "bench A", &A) ||
      ocl_buffer_create(dev, nb * 4, "bench B", &B) ||
      ocl_buffer_create(dev, nc * 4, "bench C", &C) ||
      ocl_buffer_write(dev, A, 0, na * 4, ha, "bench A") ||
      ocl_buffer_write(dev, B, 0, nb * 4, hb, "bench B")) {
    fprintf(stderr, "bench_gemm: %s\n", dlgn_error());
    return 1;
  }

  double log_own = 0, log_wg = 0, log_clb = 0;
  int nlog = 0;
  for (int i = 0; i < ns; i++) {
    const ocl_gemm_shape *s = &shapes[i];
    if (only && !strstr(s->name, only)) continue;
    ocl_gemm_own_params p;
    double flop = 2.0 * (double)s->M * (double)s->N * (double)s->K;
    double t_own = NAN, t_wg = NAN, t_clb = NAN, t_ob = NAN;
    ocl_gemm_call call = {
        s->ta, s->tb, s->M, s->N, s->K, 1.0f, A, 0, s->ta ? s->M : s->K, B, 0, s->tb ? s->K : s->N,
        0.0f,  C,     0,    s->N};
    if (ocl_gemm_own_params_for(dev, s->ta, s->tb, s->M, s->N, s->K, &p) ||
        check_small(dev, s, &p, NULL, PATH_OWN) ||
        ocl_gemm_time(dev, &p, NULL, &call, min_reps, 50, budget, &t_own, NULL) ||
        check_small(dev, s, NULL, &wg, PATH_WG) ||
        ocl_gemm_time(dev, NULL, &wg, &call, min_reps, 50, budget, &t_wg, NULL))
      goto fail;
    if (clblast && (check_small(dev, s, NULL, NULL, PATH_CLBLAST) ||
                    ocl_gemm_time(dev, NULL, NULL, &call, min_reps, 50, budget, &t_clb, NULL)))
      goto fail;
#ifdef DLGN_HAVE_OPENBLAS
    if (check_small(dev, s, NULL, NULL, PATH_OPENBLAS)) goto fail;
    t_ob = openblas_time(s, ha, hb, hc, min_reps, budget);
#endif
    char ps[32];
    snprintf(ps, sizeof ps, "%dx%d/%d/%d", p.tm, p.tn, p.kc, p.ks);
    double g_own = flop / t_own * 1e-9, g_wg = flop / t_wg * 1e-9, g_clb = flop / t_clb * 1e-9,
           g_ob = flop / t_ob * 1e-9;
    printf("%-18s %c%c %5zu %6zu %6zu | %-12s %8.3f %7.1f | %8.3f %7.1f | %8.3f %7.1f | %8.3f "
           "%7.1f | %6.2f %6.2f %6.2f\n",
           s->name, s->ta ? 't' : 'n', s->tb ? 't' : 'n', s->M, s->N, s->K, ps, t_own * 1e3, g_own,
           t_wg * 1e3, g_wg, t_clb * 1e3, g_clb, t_ob * 1e3, g_ob, g_own / g_ob, g_wg / g_ob,
           g_clb / g_ob);
    fflush(stdout);
    if (isfinite(g_ob)) {
      log_own += log(g_own / g_ob);
      log_wg += log(g_wg / g_ob);
      log_clb += log(g_clb / g_ob);
      nlog++;
    }
  }
  if (nlog)
    printf("\ngeometric mean of the ratios to OpenBLAS: own %.2f, workgroup %.2f, clblast %.2f\n",
           exp(log_own / nlog), exp(log_wg / nlog), exp(log_clb / nlog));
  la = fopen("/proc/loadavg", "r");
  if (la) {
    if (fgets(load, sizeof load, la)) printf("load average at end: %s", load);
    fclose(la);
  }
  ocl_buffer_release(&A);
  ocl_buffer_release(&B);
  ocl_buffer_release(&C);
  free(ha);
  free(hb);
  free(hc);
  dlgn_device_close(dev);
  return 0;
fail:
  fprintf(stderr, "bench_gemm: %s\n", dlgn_error());
  dlgn_device_close(dev);
  return 1;
}

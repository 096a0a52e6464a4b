/* `dlgn tune`: measure candidate GEMM parameters on the model shapes.
 *
 * Own kernel: every tile (tm x tn, vector width from the device) whose
 * accumulators fill a half to all of the vector registers, each checked
 * against ocl_gemm_ref on a small odd-sized product, then timed on every
 * shape with automatic K blocks. The tile with the best geometric-mean GFLOPS becomes
 * the default; for each shape the best tile (and the runner-up) then tries
 * other K blocks, and the winner is stored for that exact shape.
 *
 * CLBlast: a small set of Xgemm and XgemmDirect parameter sets (GPU ones from
 * configurations in CLBlast's own database, CPU ones found by trying large
 * per-work-item tiles on PoCL), passed
 * with CLBlastOverrideParameters. Xgemm sets are timed with the direct kernel
 * switched off, direct sets on the small shapes only with it forced on; the
 * switch-over size (GemmRoutine XGEMM_MIN_INDIRECT_SIZE) is then chosen from
 * those timings and the combination is kept only if it beats CLBlast's
 * built-in parameters. Each CLBlast candidate recompiles CLBlast's GEMM
 * program, so the CLBlast search always times the shapes cut to an eighth
 * of their work (as --quick does for the own kernel). */
#include "cl/tune.h"
#include "dlgn/util.h"

#include <clblast_c.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dlgn/rng.h"
#include "dlgn/status.h"

static const ocl_gemm_shape model_shapes[] = {
    /* FC 5x128 on 3072 inputs, batch 128: y = x w^T, dw = dy^T x, dx = dy w */
    {"fc1 forward", false, true, 128, 128, 3072},
    {"fc1 dW", true, false, 128, 3072, 128},
    {"fc hidden forward", false, true, 128, 128, 128},
    {"fc hidden dW", true, false, 128, 128, 128},
    {"fc hidden dX", false, false, 128, 128, 128},
    {"fc out forward", false, true, 128, 10, 128},
    {"fc out dW", true, false, 10, 128, 128},
    {"fc out dX", false, false, 128, 128, 10},
    /* C4GAP, 128 channels, 32x32 images, batch 128: im2col GEMMs */
    {"conv1 forward", false, false, 128, 131072, 27},
    {"conv1 dW", false, true, 128, 27, 131072},
    {"conv forward", false, false, 128, 131072, 1152},
    {"conv dW", false, true, 128, 1152, 131072},
    {"conv dX", true, false, 1152, 131072, 128},
    {"1024^3", false, false, 1024, 1024, 1024},
};

int ocl_tune_model_shapes(const ocl_gemm_shape **out) {
  *out = model_shapes;
  return (int)(sizeof model_shapes / sizeof model_shapes[0]);
}

static int run_once(dlgn_device *dev, const ocl_gemm_own_params *p, const ocl_gemm_wg_params *wg,
                    const ocl_gemm_call *call) {
  DLGN_TRY(p    ? ocl_gemm_own(dev, p, call)
           : wg ? ocl_gemm_wg(dev, wg, call)
                : ocl_gemm_clblast(dev, call));
  return dlgn_finish(dev);
}

int ocl_gemm_time(dlgn_device *dev, const ocl_gemm_own_params *p, const ocl_gemm_wg_params *wg,
                  const ocl_gemm_call *call, int min_reps, int max_reps, double budget_s,
                  double *median_s, double *best_s) {
  if (min_reps < 1) min_reps = 1;
  if (max_reps < min_reps) max_reps = min_reps;
  DLGN_TRY(run_once(dev, p, wg, call));
  double *t = dlgn_malloc((size_t)max_reps * sizeof *t, "GEMM timings");
  if (!t) return -1;
  int n = 0;
  double start = dlgn_now();
  while (n < max_reps && (n < min_reps || dlgn_now() - start < budget_s)) {
    double t0 = dlgn_now();
    if (run_once(dev, p, wg, call) != 0) {
      free(t);
      return -1;
    }
    t[n++] = dlgn_now() - t0;
  }
  *median_s = dlgn_median(t, (size_t)n);
  if (best_s) *best_s = t[0]; /* sorted by dlgn_median */
  free(t);
  return 0;
}

/* ---- the search's buffers and bookkeeping ---- */

typedef struct {
  dlgn_device *dev;
  const ocl_tune_options *opt;
  int nshapes;
  ocl_gemm_shape *full;  /* the shapes as given */
  ocl_gemm_shape *proxy; /* the shapes timed (cut for --quick and CLBlast) */
  cl_mem A, B, C;
} tuner;

static double gflops_of(const ocl_gemm_shape *s, double sec) {
  return 2.0 * (double)s->M * (double)s->N * (double)s->K / sec * 1e-9;
}

/* A shape with an eighth of the work: its largest dimension divided by 8, so
 * that tiles see the same panels and only the tile count changes. */
static ocl_gemm_shape cut_shape(ocl_gemm_shape s) {
  if ((double)s.M * (double)s.N * (double)s.K <= 1 << 30) return s;
  size_t *big = s.M >= s.N && s.M >= s.K ? &s.M : s.N >= s.K ? &s.N : &s.K;
  *big = (*big + 7) / 8;
  return s;
}

static ocl_gemm_call call_of(const tuner *tu, const ocl_gemm_shape *s) {
  ocl_gemm_call c = {.ta = s->ta,
                      .tb = s->tb,
                      .M = s->M,
                      .N = s->N,
                      .K = s->K,
                      .alpha = 1.0f,
                      .beta = 0.0f,
                      .A = tu->A,
                      .B = tu->B,
                      .C = tu->C};
  c.lda = s->ta ? s->M : s->K;
  c.ldb = s->tb ? s->K : s->N;
  c.ldc = s->N;
  return c;
}

static void tune_log(const tuner *tu, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tune_log(const tuner *tu, const char *fmt, ...) {
  if (!tu->opt->log) return;
  va_list ap;
  va_start(ap, fmt);
  vfprintf(tu->opt->log, fmt, ap);
  va_end(ap);
  fflush(tu->opt->log);
}

/* Time one shape; 0 GFLOPS (and a log line) when the candidate fails. */
static double measure(tuner *tu, const ocl_gemm_own_params *p, const ocl_gemm_shape *s,
                      bool quick) {
  ocl_gemm_call c = call_of(tu, s);
  double median, sec;
  /* The fastest run: other processes on the machine only ever add time. */
  if (ocl_gemm_time(tu->dev, p, NULL, &c, quick ? 2 : 3, 20, quick ? 0.05 : 0.2, &median, &sec) != 0) {
    tune_log(tu, "    %-18s failed: %s\n", s->name, dlgn_error());
    return 0;
  }
  return gflops_of(s, sec);
}

/* A candidate must compute the right thing before its speed counts. */
static int verify_candidate(dlgn_device *dev, const ocl_gemm_own_params *p) {
  enum { M = 37, N = 45, K = 53 };
  static float a[M * K], b[K * N], c[M * N], want[M * N];
  dlgn_rng rng;
  dlgn_rng_seed(&rng, 7);
  for (int i = 0; i < M * K; i++) a[i] = dlgn_rng_uniform(&rng) - 0.5f;
  for (int i = 0; i < K * N; i++) b[i] = dlgn_rng_uniform(&rng) - 0.5f;
  cl_mem A = NULL, B = NULL, C = NULL;
  int rc = -1;
  if (ocl_buffer_create(dev, sizeof a, "tuner check A", &A) ||
      ocl_buffer_create(dev, sizeof b, "tuner check B", &B) ||
      ocl_buffer_create(dev, sizeof c, "tuner check C", &C) ||
      ocl_buffer_write(dev, A, 0, sizeof a, a, "tuner check A") ||
      ocl_buffer_write(dev, B, 0, sizeof b, b, "tuner check B"))
    goto done;
  for (int tr = 0; tr < 4; tr++) {
    bool ta = tr & 1, tb = tr & 2;
    ocl_gemm_call call = {ta,         tb, M, N,          K,    1.0f, A, 0,
                           ta ? M : K, B,  0, tb ? K : N, 0.0f, C,    0, N};
    if (p ? ocl_gemm_own(dev, p, &call) : ocl_gemm_clblast(dev, &call)) goto done;
    if (ocl_buffer_read(dev, C, 0, sizeof c, c, "tuner check C")) goto done;
    ocl_gemm_ref(ta, tb, M, N, K, 1.0f, a, ta ? M : K, b, tb ? K : N, 0.0f, want, N);
    for (int i = 0; i < M * N; i++)
      if (!(fabsf(c[i] - want[i]) <= 1e-4f * K)) {
        dlgn_fail("wrong result (ta=%d tb=%d, element %d: %g instead of %g)", ta, tb, i, c[i],
                  want[i]);
        goto done;
      }
  }
  rc = 0;
done:
  ocl_buffer_release(&A);
  ocl_buffer_release(&B);
  ocl_buffer_release(&C);
  return rc;
}

static double geomean(const double *g, int n) {
  double s = 0;
  for (int i = 0; i < n; i++) {
    if (g[i] <= 0) return 0;
    s += log(g[i]);
  }
  return n ? exp(s / n) : 0;
}

/* ---- own kernel ---- */

#define MAX_OWN_CANDIDATES 32

/* The default tile, then tiles whose tm x tn/vw accumulators, tn/vw B
 * vectors and one broadcast A value fit the vector registers (32 with
 * 16-float vectors, else 16) and use at least half of them. --quick keeps
 * the default and the multi-vector tiles using three quarters. */
static int own_candidates(const dlgn_device *dev, bool quick, ocl_gemm_own_params *out) {
  ocl_gemm_own_params def;
  ocl_gemm_own_default(dev, &def);
  int vw = def.vw, regs = vw >= 16 ? 32 : 16, n = 0;
  /* The built-in default goes first, so that it is always measured. */
  out[n++] = def;
  static const int tms[] = {2, 3, 4, 6, 8, 12, 14, 16, 24, 28};
  for (int nv = 1; nv <= 4; nv++)
    for (size_t i = 0; i < sizeof tms / sizeof tms[0]; i++) {
      int acc = tms[i] * nv;
      if (acc + nv + 1 > regs - 1 || acc < regs / 2) continue;
      if (quick && (acc != regs * 3 / 4 || nv < 2)) continue;
      if (tms[i] == def.tm && nv * vw == def.tn) continue;
      if (n < MAX_OWN_CANDIDATES) out[n++] = (ocl_gemm_own_params){tms[i], nv * vw, vw, 0, 0};
    }
  return n;
}

static int tune_own(tuner *tu, ocl_tuning *t) {
  const bool quick = tu->opt->quick;
  ocl_gemm_own_params cand[MAX_OWN_CANDIDATES];
  int nc = own_candidates(tu->dev, quick, cand);
  if (tu->opt->max_candidates > 0 && nc > tu->opt->max_candidates) nc = tu->opt->max_candidates;
  int ns = tu->nshapes;
  double *g = dlgn_calloc((size_t)nc * (size_t)ns, sizeof *g, "tuner results");
  if (!g) return -1;
  tune_log(tu, "own kernel: %d tiles x %d shapes, automatic K blocks\n", nc, ns);
  int best = -1;
  double best_gm = 0;
  for (int c = 0; c < nc; c++) {
    tune_log(tu, "  tile %dx%d vw=%d\n", cand[c].tm, cand[c].tn, cand[c].vw);
    if (verify_candidate(tu->dev, &cand[c]) != 0) {
      tune_log(tu, "    skipped: %s\n", dlgn_error());
      continue;
    }
    for (int s = 0; s < ns; s++) {
      g[c * ns + s] = measure(tu, &cand[c], &tu->proxy[s], quick);
      tune_log(tu, "    %-18s %8.1f GFLOPS\n", tu->full[s].name, g[c * ns + s]);
    }
    double gm = geomean(&g[c * ns], ns);
    tune_log(tu, "    geometric mean %.1f GFLOPS\n", gm);
    if (gm > best_gm) {
      best_gm = gm;
      best = c;
    }
  }
  if (best < 0) {
    free(g);
    return dlgn_fail("tuning the own GEMM on device '%s': no candidate worked (last error: %s)",
                     tu->dev->info.name, dlgn_error());
  }
  t->has_own_default = true;
  t->own_default = cand[best];
  t->nshapes = 0;

  /* -1: all of K in one block, tried where K is short enough to stay in cache */
  static const int kcs_full[] = {256, 512, 1024, 2048, 4096, -1};
  static const int kcs_quick[] = {256, 2048};
  const int *kcs = quick ? kcs_quick : kcs_full;
  int nkc = quick ? 2 : 6;
  for (int s = 0; s < ns && t->nshapes < OCL_TUNE_MAX_SHAPES; s++) {
    /* the two best tiles for this shape */
    int b1 = -1, b2 = -1;
    for (int c = 0; c < nc; c++) {
      double v = g[c * ns + s];
      if (v <= 0) continue;
      if (b1 < 0 || v > g[b1 * ns + s]) {
        b2 = b1;
        b1 = c;
      } else if (b2 < 0 || v > g[b2 * ns + s]) {
        b2 = c;
      }
    }
    if (b1 < 0) continue;
    ocl_tuned_shape *e = &t->shapes[t->nshapes++];
    *e = (ocl_tuned_shape){tu->full[s].ta, tu->full[s].tb, tu->full[s].M, tu->full[s].N,
                            tu->full[s].K,  cand[b1],       g[b1 * ns + s]};
    const ocl_gemm_shape *sh = &tu->proxy[s];
    size_t K = sh->K;
    for (int r = 0; r < (quick ? 1 : 2); r++) {
      int c = r == 0 ? b1 : b2;
      if (c < 0) continue;
      /* K blocks that come out alike (all at least K) are timed once */
      size_t tried[8];
      int ntried = 0;
      tried[ntried++] = ocl_gemm_own_block(&cand[c], sh->ta, sh->tb, sh->M, sh->N, K);
      for (int k = 0; k < nkc; k++) {
        if (kcs[k] < 0 && K > 4096) continue;
        ocl_gemm_own_params p = cand[c];
        p.kc = kcs[k] < 0 ? (int)K : kcs[k];
        size_t eff = ocl_gemm_own_block(&p, sh->ta, sh->tb, sh->M, sh->N, K);
        bool seen = false;
        for (int i = 0; i < ntried; i++) seen |= tried[i] == eff;
        if (seen) continue;
        tried[ntried++] = eff;
        double v = measure(tu, &p, sh, quick);
        tune_log(tu, "  %-18s tile %dx%d kc=%-5d %8.1f GFLOPS\n", tu->full[s].name, p.tm, p.tn,
                 p.kc, v);
        if (v > e->gflops) {
          e->own = p;
          e->gflops = v;
        }
      }
    }
    /* K blocks side by side: the automatic choice against fixed counts */
    size_t kb = ocl_gemm_own_block(&e->own, sh->ta, sh->tb, sh->M, sh->N, K);
    size_t nblocks = (K + kb - 1) / kb;
    for (int ks = 1; !quick && ks <= 16 && (size_t)ks <= nblocks; ks *= 2) {
      ocl_gemm_own_params p = e->own;
      p.ks = ks;
      double v = measure(tu, &p, sh, quick);
      tune_log(tu, "  %-18s tile %dx%d kc=%-5d ks=%-2d %8.1f GFLOPS\n", tu->full[s].name, p.tm,
               p.tn, p.kc, p.ks, v);
      if (v > e->gflops) {
        e->own = p;
        e->gflops = v;
      }
    }
    tune_log(tu, "  %-18s best: tile %dx%d vw=%d kc=%d ks=%d, %.1f GFLOPS\n", tu->full[s].name,
             e->own.tm, e->own.tn, e->own.vw, e->own.kc, e->own.ks, e->gflops);
  }
  free(g);
  return 0;
}

/* ---- CLBlast ---- */

/* Xgemm (GEMMK=0, KREG=1): KWG KWI MDIMA MDIMC MWG NDIMB NDIMC NWG SA SB STRM STRN VWM VWN */
static const char *xgemm_names[] = {"GEMMK", "KREG", "KWG", "KWI", "MDIMA", "MDIMC", "MWG", "NDIMB",
                                    "NDIMC", "NWG",  "SA",  "SB",  "STRM",  "STRN",  "VWM", "VWN"};
static const size_t xgemm_sets[][14] = {
    {32, 2, 8, 8, 32, 16, 16, 32, 1, 1, 0, 0, 4, 2},     /* CLBlast's generic default */
    {16, 2, 16, 16, 128, 16, 16, 128, 1, 1, 1, 1, 4, 4}, /* large GPU tile, 8x8 per thread */
    {32, 2, 16, 16, 64, 8, 8, 64, 1, 1, 0, 0, 4, 4},     /* NVIDIA Pascal-class */
    {16, 2, 16, 32, 128, 32, 8, 64, 1, 1, 1, 1, 4, 2},   /* AMD GCN-class */
    {32, 8, 4, 4, 64, 4, 4, 64, 0, 0, 0, 0, 16, 16},     /* CPU: 16x16 per work-item */
    {16, 2, 16, 16, 128, 16, 16, 128, 1, 1, 1, 1, 8, 8}, /* CPU: 8x8 per work-item */
    {16, 2, 32, 16, 64, 16, 8, 128, 1, 1, 0, 1, 2, 8},   /* NVIDIA, wide N */
    {16, 2, 8, 16, 64, 8, 8, 128, 1, 1, 1, 0, 4, 8},     /* NVIDIA Maxwell-class */
    {32, 2, 16, 16, 64, 16, 16, 64, 1, 1, 0, 0, 4, 4},   /* AMD Fiji-class */
    {32, 2, 8, 8, 128, 8, 8, 128, 0, 0, 1, 1, 16, 16},   /* CPU: 16x16 per work-item */
    {32, 2, 8, 8, 64, 8, 8, 64, 0, 0, 0, 0, 8, 8},       /* CPU */
    {32, 8, 16, 16, 64, 32, 32, 64, 0, 1, 1, 0, 1, 2},   /* CPU */
};
/* XgemmDirect: KWID MDIMAD MDIMCD NDIMBD NDIMCD PADA PADB VWMD VWND WGD */
static const char *direct_names[] = {"KWID", "MDIMAD", "MDIMCD", "NDIMBD", "NDIMCD",
                                     "PADA", "PADB",   "VWMD",   "VWND",   "WGD"};
static const size_t direct_sets[][10] = {
    {2, 8, 8, 8, 8, 1, 1, 1, 2, 16},     /* CLBlast's generic default */
    {2, 8, 8, 16, 16, 1, 1, 4, 2, 32},   /* NVIDIA */
    {2, 16, 16, 8, 8, 1, 1, 1, 1, 16},   /* AMD */
    {16, 8, 8, 16, 16, 1, 1, 1, 1, 32},  /* NVIDIA Pascal-class */
    {8, 16, 16, 16, 16, 0, 0, 1, 1, 64}, /* CPU */
    {2, 8, 8, 8, 8, 0, 0, 2, 2, 64},     /* CPU */
    {2, 8, 8, 16, 8, 0, 0, 4, 4, 64},    /* CPU */
};

static bool divides(size_t a, size_t b) { return a != 0 && b % a == 0; }

static bool xgemm_valid(const dlgn_device *dev, const size_t *v) {
  size_t KWG = v[0], KWI = v[1], MDIMA = v[2], MDIMC = v[3], MWG = v[4], NDIMB = v[5], NDIMC = v[6],
         NWG = v[7], SA = v[8], SB = v[9], VWM = v[12], VWN = v[13];
  size_t local = (SA ? KWG * MWG : 0) + (SB ? KWG * NWG : 0);
  return divides(MDIMC * VWM, MWG) && divides(NDIMC * VWN, NWG) && divides(MDIMA * VWM, MWG) &&
         divides(NDIMB * VWN, NWG) && divides(MDIMC * NDIMC / MDIMA, KWG) &&
         divides(MDIMC * NDIMC / NDIMB, KWG) && divides(KWI, KWG) &&
         MDIMC * NDIMC <= dev->info.max_work_group && local * 4 <= dev->info.local_mem;
}

static bool direct_valid(const dlgn_device *dev, const size_t *v) {
  size_t KWID = v[0], MDIMAD = v[1], MDIMCD = v[2], NDIMBD = v[3], NDIMCD = v[4], PADA = v[5],
         PADB = v[6], VWMD = v[7], VWND = v[8], WGD = v[9];
  size_t local = WGD * (WGD + PADA) + WGD * (WGD + PADB);
  return divides(MDIMCD * VWMD, WGD) && divides(NDIMCD * VWND, WGD) &&
         divides(MDIMAD * VWMD, WGD) && divides(NDIMBD * VWND, WGD) &&
         divides(MDIMCD * NDIMCD / MDIMAD, WGD) && divides(MDIMCD * NDIMCD / NDIMBD, WGD) &&
         divides(KWID, WGD) && MDIMCD * NDIMCD <= dev->info.max_work_group &&
         local * 4 <= dev->info.local_mem;
}

static void set_xgemm(ocl_clblast_params *p, const size_t *v) {
  memset(p, 0, sizeof *p);
  snprintf(p->kernel, sizeof p->kernel, "Xgemm");
  p->n = 16;
  for (int i = 0; i < 16; i++) {
    snprintf(p->names[i], sizeof p->names[i], "%s", xgemm_names[i]);
    p->values[i] = i == 0 ? 0 : i == 1 ? 1 : v[i - 2];
  }
}

static void set_direct(ocl_clblast_params *p, const size_t *v) {
  memset(p, 0, sizeof *p);
  snprintf(p->kernel, sizeof p->kernel, "XgemmDirect");
  p->n = 10;
  for (int i = 0; i < 10; i++) {
    snprintf(p->names[i], sizeof p->names[i], "%s", direct_names[i]);
    p->values[i] = v[i];
  }
}

static void set_routine(ocl_clblast_params *p, size_t min_indirect) {
  memset(p, 0, sizeof *p);
  snprintf(p->kernel, sizeof p->kernel, "GemmRoutine");
  p->n = 1;
  snprintf(p->names[0], sizeof p->names[0], "XGEMM_MIN_INDIRECT_SIZE");
  p->values[0] = min_indirect;
}

/* Back to CLBlast's built-in database, then apply t's overrides. */
static int clblast_reset(const dlgn_device *dev, const ocl_tuning *t) {
  CLBlastStatusCode st = CLBlastClearCache();
  if (st != CLBlastSuccess) return dlgn_fail("CLBlastClearCache failed with status %d", (int)st);
  return t ? ocl_tuning_apply_clblast(dev, t) : 0;
}

/* Small shapes are where the direct kernel can win. */
static bool small_shape(const ocl_gemm_shape *s) {
  return (double)s->M * (double)s->N * (double)s->K <= (double)(1 << 27);
}

/* Time all shapes under overrides t (NULL: built-in); shapes marked off in
 * use are skipped (0). Returns the geometric mean over the shapes timed. */
static double clblast_round(tuner *tu, const ocl_tuning *t, const bool *use, double *g,
                            const char *label) {
  if (clblast_reset(tu->dev, t) != 0 || verify_candidate(tu->dev, NULL) != 0) {
    tune_log(tu, "  %s: skipped: %s\n", label, dlgn_error());
    return 0;
  }
  double s = 0;
  int n = 0;
  for (int i = 0; i < tu->nshapes; i++) {
    g[i] = 0;
    if (use && !use[i]) continue;
    g[i] = measure(tu, NULL, &tu->proxy[i], true);
    if (g[i] <= 0) {
      tune_log(tu, "  %s: failed on %s\n", label, tu->full[i].name);
      return 0;
    }
    s += log(g[i]);
    n++;
  }
  double gm = n ? exp(s / n) : 0;
  tune_log(tu, "  %-34s %8.1f GFLOPS (geometric mean)\n", label, gm);
  return gm;
}

static int tune_clblast(tuner *tu, ocl_tuning *t) {
  int ns = tu->nshapes, nx = (int)(sizeof xgemm_sets / sizeof xgemm_sets[0]),
      nd = (int)(sizeof direct_sets / sizeof direct_sets[0]);
  if (tu->opt->quick) {
    nx = 6;
    nd = 3;
  }
  if (tu->opt->max_candidates > 0) {
    if (nx > tu->opt->max_candidates) nx = tu->opt->max_candidates;
    if (nd > tu->opt->max_candidates) nd = tu->opt->max_candidates;
  }
  double *g = dlgn_calloc((size_t)(nx + nd + 3) * (size_t)ns, sizeof *g, "tuner results");
  bool *small = dlgn_calloc((size_t)ns, sizeof *small, "tuner shape flags");
  ocl_tuning *cand = dlgn_calloc(1, sizeof *cand, "CLBlast candidate");
  int rc = -1;
  if (!g || !small || !cand) goto done;
  int nsmall = 0;
  for (int i = 0; i < ns; i++) nsmall += small[i] = small_shape(&tu->proxy[i]);
  tune_log(tu, "CLBlast: %d Xgemm and %d XgemmDirect candidates, shapes cut to 1/8 of their work\n",
           nx, nsmall ? nd : 0);

  double *base = g;                       /* built-in parameters */
  double *xg = g + ns;                    /* Xgemm candidates, direct kernel off */
  double *dg = g + (size_t)(nx + 1) * ns; /* direct candidates, small shapes only */
  double *fin = g + (size_t)(nx + nd + 1) * ns;
  double base_gm = clblast_round(tu, NULL, NULL, base, "built-in parameters");

  int bx = -1;
  double bx_gm = 0;
  for (int c = 0; c < nx; c++) {
    char label[64];
    snprintf(label, sizeof label, "Xgemm set %d", c + 1);
    if (!xgemm_valid(tu->dev, xgemm_sets[c])) {
      tune_log(tu, "  %s: does not fit this device\n", label);
      continue;
    }
    memset(cand, 0, sizeof *cand);
    set_xgemm(&cand->clblast[0], xgemm_sets[c]);
    set_routine(&cand->clblast[1], 1); /* indirect kernel for everything */
    cand->nclblast = 2;
    double gm = clblast_round(tu, cand, NULL, xg + (size_t)c * ns, label);
    if (gm > bx_gm) {
      bx_gm = gm;
      bx = c;
    }
  }
  int bd = -1;
  double bd_gm = 0;
  for (int c = 0; nsmall && c < nd; c++) {
    char label[64];
    snprintf(label, sizeof label, "XgemmDirect set %d (small shapes)", c + 1);
    if (!direct_valid(tu->dev, direct_sets[c])) {
      tune_log(tu, "  %s: does not fit this device\n", label);
      continue;
    }
    memset(cand, 0, sizeof *cand);
    set_direct(&cand->clblast[0], direct_sets[c]);
    set_routine(&cand->clblast[1], 100000); /* direct kernel for everything */
    cand->nclblast = 2;
    double gm = clblast_round(tu, cand, small, dg + (size_t)c * ns, label);
    if (gm > bd_gm) {
      bd_gm = gm;
      bd = c;
    }
  }
  if (bx < 0) {
    tune_log(tu, "  no Xgemm candidate worked: keeping CLBlast's built-in parameters\n");
    t->nclblast = 0;
    rc = clblast_reset(tu->dev, t);
    goto done;
  }
  /* Use the direct kernel for the smallest shapes, up to the first product
   * size (M*N*K) where some shape runs faster with the indirect one. */
  double limit = 0;
  for (;;) {
    double next = INFINITY;
    for (int i = 0; i < ns; i++) {
      double mnk = (double)tu->full[i].M * (double)tu->full[i].N * (double)tu->full[i].K;
      if (mnk > limit && mnk < next) next = mnk;
    }
    bool direct_wins = bd >= 0 && isfinite(next);
    for (int i = 0; direct_wins && i < ns; i++) {
      double mnk = (double)tu->full[i].M * (double)tu->full[i].N * (double)tu->full[i].K;
      if (mnk == next && (!small[i] || dg[(size_t)bd * ns + i] <= xg[(size_t)bx * ns + i]))
        direct_wins = false;
    }
    if (!direct_wins) break;
    limit = next;
  }
  /* CLBlast goes direct when M*N*K < XGEMM_MIN_INDIRECT_SIZE^3 */
  size_t min_indirect = limit > 0 ? (size_t)floor(cbrt(limit) + 1e-6) + 1 : 0;
  memset(cand, 0, sizeof *cand);
  set_xgemm(&cand->clblast[0], xgemm_sets[bx]);
  set_routine(&cand->clblast[1], min_indirect);
  cand->nclblast = 2;
  if (bd >= 0 && min_indirect > 0) set_direct(&cand->clblast[cand->nclblast++], direct_sets[bd]);
  char label[96];
  if (min_indirect > 0)
    snprintf(label, sizeof label, "Xgemm %d + direct %d below %zu^3", bx + 1, bd + 1, min_indirect);
  else
    snprintf(label, sizeof label, "Xgemm %d, no direct kernel", bx + 1);
  double fin_gm = clblast_round(tu, cand, NULL, fin, label);
  if (fin_gm > base_gm * 1.02) {
    t->nclblast = cand->nclblast;
    memcpy(t->clblast, cand->clblast, sizeof cand->clblast);
    tune_log(tu, "  CLBlast: %s, %.1f -> %.1f GFLOPS (geometric mean)\n", label, base_gm, fin_gm);
  } else {
    t->nclblast = 0;
    tune_log(tu, "  CLBlast: built-in parameters kept (%.1f vs %.1f GFLOPS)\n", base_gm, fin_gm);
  }
  rc = clblast_reset(tu->dev, t);
done:
  free(g);
  free(small);
  free(cand);
  return rc;
}

/* ---- driver ---- */

static size_t max_size(const ocl_gemm_shape *s, int n, int which) {
  size_t m = 1;
  for (int i = 0; i < n; i++) {
    size_t v = which == 0 ? s[i].M * s[i].K : which == 1 ? s[i].K * s[i].N : s[i].M * s[i].N;
    if (v > m) m = v;
  }
  return m;
}

int ocl_tune(dlgn_device *dev, const ocl_tune_options *opt, ocl_tuning *t) {
  tuner tu = {.dev = dev, .opt = opt};
  const ocl_gemm_shape *shapes = opt->shapes;
  tu.nshapes = opt->nshapes;
  if (!shapes) tu.nshapes = ocl_tune_model_shapes(&shapes);
  if (tu.nshapes <= 0) return dlgn_fail("ocl_tune: no shapes to tune");
  tu.full = dlgn_calloc((size_t)tu.nshapes, sizeof *tu.full, "tuner shapes");
  tu.proxy = dlgn_calloc((size_t)tu.nshapes, sizeof *tu.proxy, "tuner shapes");
  int rc = -1;
  if (!tu.full || !tu.proxy) goto done;
  for (int i = 0; i < tu.nshapes; i++) {
    tu.full[i] = shapes[i];
    /* CLBlast recompiles per candidate, so it always times the cut shapes */
    tu.proxy[i] = opt->quick || (opt->clblast && !opt->own) ? cut_shape(shapes[i]) : shapes[i];
  }
  /* Both searches time the larger of their shape sets; buffers hold the
   * largest operand of each role, filled with a constant (speed does not
   * depend on the values; results are checked separately). */
  size_t na = max_size(tu.full, tu.nshapes, 0), nb = max_size(tu.full, tu.nshapes, 1),
         nc = max_size(tu.full, tu.nshapes, 2);
  if (ocl_buffer_create(dev, na * sizeof(float), "tuner A", &tu.A) ||
      ocl_buffer_create(dev, nb * sizeof(float), "tuner B", &tu.B) ||
      ocl_buffer_create(dev, nc * sizeof(float), "tuner C", &tu.C) ||
      ocl_buffer_fill_float(dev, tu.A, 0, na, 0.5f, "tuner A") ||
      ocl_buffer_fill_float(dev, tu.B, 0, nb, 0.25f, "tuner B") ||
      ocl_buffer_fill_float(dev, tu.C, 0, nc, 0.0f, "tuner C") || dlgn_finish(dev))
    goto done;
  snprintf(t->device, sizeof t->device, "%s", dev->info.name);
  snprintf(t->driver, sizeof t->driver, "%s", dev->info.driver);
  if (opt->own && tune_own(&tu, t) != 0) goto done;
  if (opt->clblast) {
    for (int i = 0; i < tu.nshapes; i++) tu.proxy[i] = cut_shape(shapes[i]);
    if (tune_clblast(&tu, t) != 0) goto done;
  }
  rc = 0;
done:
  ocl_buffer_release(&tu.A);
  ocl_buffer_release(&tu.B);
  ocl_buffer_release(&tu.C);
  free(tu.full);
  free(tu.proxy);
  return rc;
}

/* Which GEMM backend a device uses, by measurement rather than by device
 * type: a CPU device may be PoCL (which runs one-work-item tiles well, since
 * it loops over work-items in compiled code) or Mesa's llvmpipe (which
 * vectorises across the work-items of a group and runs a group of one
 * scalar, 100 times slower); a GPU needs work-groups and may or may not have
 * a CLBlast tuning.
 *
 * On first use per device and driver, each backend runs three products of
 * the models' kinds (a long-K forward product, a long-N weight gradient, a
 * square one), after one untimed run for compilation; the backend with the
 * least total of median times wins. A backend is dropped as soon as one
 * timed run takes longer than three times the best total so far, so a slow
 * candidate costs little (a second or two on llvmpipe, where the
 * one-work-item kernel runs at 0.3 GFLOPS). A backend that fails is skipped;
 * its error is reported only if none works. The winner is stored in the
 * kernel cache folder (one small text file per device, driver and version
 * of this measurement), so later runs read it back. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dlgn/status.h"
#include "dlgn/util.h"
#include "gemm_internal.h"

/* Bump when the kernels or the measurement change, so that old choices are
 * measured again. */
#define SELECT_VERSION 1

typedef struct {
  bool ta, tb;
  size_t M, N, K;
} select_shape;

static const select_shape shapes[] = {
    {false, true, 128, 128, 1024}, /* FC first layer forward, shortened */
    {true, false, 128, 1024, 128}, /* its weight gradient */
    {false, false, 256, 256, 256},
};
#define NSHAPES (sizeof shapes / sizeof shapes[0])

static uint64_t fnv1a(uint64_t h, const char *s) {
  for (; *s; s++) {
    h ^= (unsigned char)*s;
    h *= 0x100000001b3ull;
  }
  return (h ^ 0xff) * 0x100000001b3ull; /* separator */
}

int ocl_gemm_choice_path(const dlgn_device_info *info, char *out, size_t size) {
  char dir[900];
  if (dlgn_cache_dir(dir, sizeof dir) != 0) return -1;
  uint64_t h = 0xcbf29ce484222325ull;
  h = fnv1a(h, info->name);
  h = fnv1a(h, info->driver);
  h = fnv1a(h, info->version);
  h = fnv1a(h, info->platform_name);
  h = fnv1a(h, info->platform_version);
  snprintf(out, size, "%s/gemm-backend-v%d-%016llx.txt", dir, SELECT_VERSION,
           (unsigned long long)h);
  return 0;
}

/* The file: "backend NAME", "workgroup tsm=.. tsn=.. tsk=.. wptm=.. wptn=..",
 * then comment lines with the measured times. */
static int choice_parse(const dlgn_device *dev, FILE *f, ocl_gemm_backend *out,
                        ocl_gemm_wg_params *wg, char *note, size_t size) {
  char line[256] = "", name[32] = "";
  if (!fgets(line, sizeof line, f) || sscanf(line, "backend %31s", name) != 1 ||
      ocl_gemm_backend_parse(name, out) != 0)
    return 0;
  ocl_gemm_wg_params p;
  if (!fgets(line, sizeof line, f) ||
      sscanf(line, "workgroup tsm=%d tsn=%d tsk=%d wptm=%d wptn=%d", &p.tsm, &p.tsn, &p.tsk,
             &p.wptm, &p.wptn) != 5 ||
      (dev && ocl_gemm_wg_params_check(dev, &p) != 0))
    return 0;
  if (wg) *wg = p;
  if (note) {
    if (!fgets(line, sizeof line, f)) line[0] = '\0';
    line[strcspn(line, "\n")] = '\0';
    snprintf(note, size, "%s", line[0] == '#' ? line + (line[1] == ' ' ? 2 : 1) : line);
  }
  return 1;
}

static int choice_read(const dlgn_device_info *info, const dlgn_device *dev, ocl_gemm_backend *out,
                       ocl_gemm_wg_params *wg, char *note, size_t size) {
  char path[1024];
  if (ocl_gemm_choice_path(info, path, sizeof path) != 0) return 0;
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  int found = choice_parse(dev, f, out, wg, note, size);
  fclose(f);
  dlgn_error_clear(); /* a damaged file is measured again, not an error */
  return found;
}

int ocl_gemm_choice_params(const dlgn_device *dev, ocl_gemm_backend *out,
                           ocl_gemm_wg_params *wg) {
  return choice_read(&dev->info, dev, out, wg, NULL, 0);
}

int ocl_gemm_choice_read(const dlgn_device_info *info, ocl_gemm_backend *out, char *note,
                         size_t size) {
  return choice_read(info, NULL, out, NULL, note, size);
}

static void choice_write(const dlgn_device_info *info, ocl_gemm_backend b,
                         const ocl_gemm_wg_params *wg, const char *note) {
  char path[1024], dir[1024], tmp[1100];
  if (ocl_gemm_choice_path(info, path, sizeof path) != 0) return;
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash) *slash = '\0';
  snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
  FILE *f = dlgn_mkdir_p(dir) == 0 ? fopen(tmp, "w") : NULL;
  if (!f) return; /* no cache folder: measure again next time */
  bool ok = fprintf(f,
                    "backend %s\nworkgroup tsm=%d tsn=%d tsk=%d wptm=%d wptn=%d\n# %s\n"
                    "# device %s, driver %s\n",
                    ocl_gemm_backend_name(b), wg->tsm, wg->tsn, wg->tsk, wg->wptm, wg->wptn, note,
                    info->name, info->driver) > 0;
  ok = fclose(f) == 0 && ok;
  if (!ok || rename(tmp, path) != 0) remove(tmp);
}

/* A candidate: a backend, with the work-group kernel's form. */
typedef struct {
  ocl_gemm_backend b;
  ocl_gemm_wg_params wg;
  const char *name;
  double s; /* total seconds; -1 failed, -2 dropped */
} candidate;

static int run_candidate(dlgn_device *dev, const candidate *k, const ocl_gemm_call *c) {
  if (k->b == OCL_GEMM_CLBLAST) DLGN_TRY(ocl_gemm_clblast(dev, c));
  if (k->b == OCL_GEMM_OWN) {
    ocl_gemm_own_params p;
    DLGN_TRY(ocl_gemm_own_params_for(dev, c->ta, c->tb, c->M, c->N, c->K, &p));
    DLGN_TRY(ocl_gemm_own(dev, &p, c));
  }
  if (k->b == OCL_GEMM_WG) DLGN_TRY(ocl_gemm_wg(dev, &k->wg, c));
  return dlgn_finish(dev);
}

/* Total of median times of k over the shapes, or -1 when k failed, -2 when
 * one run took longer than limit_s. */
static double measure(dlgn_device *dev, const candidate *k, cl_mem A, cl_mem B, cl_mem C,
                      double limit_s) {
  double total = 0;
  for (size_t s = 0; s < NSHAPES; s++) {
    const select_shape *sh = &shapes[s];
    ocl_gemm_call c = {.ta = sh->ta,
                        .tb = sh->tb,
                        .M = sh->M,
                        .N = sh->N,
                        .K = sh->K,
                        .alpha = 1.0f,
                        .A = A,
                        .B = B,
                        .C = C,
                        .beta = 0.0f};
    c.lda = sh->ta ? sh->M : sh->K;
    c.ldb = sh->tb ? sh->K : sh->N;
    c.ldc = sh->N;
    if (run_candidate(dev, k, &c) != 0) return -1; /* compilation, first touch */
    double t[3];
    for (int r = 0; r < 3; r++) {
      double t0 = dlgn_now();
      if (run_candidate(dev, k, &c) != 0) return -1;
      t[r] = dlgn_now() - t0;
      if (t[r] > limit_s) return -2;
    }
    total += dlgn_median(t, 3);
  }
  return total;
}

int ocl_gemm_select(dlgn_device *dev, ocl_gemm_backend *out, ocl_gemm_wg_params *wg,
                    char *source, size_t size) {
  char note[240];
  if (choice_read(&dev->info, dev, out, wg, note, sizeof note)) {
    snprintf(source, size, "measured earlier: %s", note);
    return 0;
  }
  /* Operands big enough for every shape, filled with small values. */
  size_t n = 256 * 1024;
  cl_mem A = NULL, B = NULL, C = NULL;
  int rc = -1;
  if (ocl_buffer_create(dev, n * sizeof(float), "GEMM choice A", &A) ||
      ocl_buffer_create(dev, n * sizeof(float), "GEMM choice B", &B) ||
      ocl_buffer_create(dev, n * sizeof(float), "GEMM choice C", &C) ||
      ocl_buffer_fill_float(dev, A, 0, n, 0.5f, "GEMM choice A") ||
      ocl_buffer_fill_float(dev, B, 0, n, 0.25f, "GEMM choice B"))
    goto done;
  /* The work-group forms first: they are never far off, so they set a limit
   * that drops a hopeless candidate after one run. */
  candidate k[4];
  ocl_gemm_wg_params forms[2];
  int nforms = ocl_gemm_wg_candidates(dev, forms), nk = 0;
  for (int i = 0; i < nforms; i++)
    k[nk++] = (candidate){OCL_GEMM_WG, forms[i],
                          forms[i].tsk ? "workgroup-local" : "workgroup-direct", 0};
  k[nk++] = (candidate){OCL_GEMM_OWN, forms[0], "own", 0};
  k[nk++] = (candidate){OCL_GEMM_CLBLAST, forms[0], "clblast", 0};
  int best = -1, best_wg = -1;
  char first_error[512] = "";
  for (int i = 0; i < nk; i++) {
    k[i].s = measure(dev, &k[i], A, B, C, best >= 0 ? 3 * k[best].s : 1e30);
    if (k[i].s == -1 && !first_error[0])
      snprintf(first_error, sizeof first_error, "%s", dlgn_error());
    dlgn_error_clear();
    if (k[i].s > 0 && (best < 0 || k[i].s < k[best].s)) best = i;
    if (k[i].s > 0 && k[i].b == OCL_GEMM_WG && (best_wg < 0 || k[i].s < k[best_wg].s)) best_wg = i;
  }
  if (best < 0) {
    dlgn_fail("no GEMM backend works on device '%s': %s", dev->info.name, first_error);
    goto done;
  }
  *out = k[best].b;
  *wg = best_wg >= 0 ? k[best_wg].wg : forms[0];
  int len = snprintf(note, sizeof note, "ms for the three test products:");
  for (int i = 0; i < nk && len > 0 && (size_t)len < sizeof note; i++)
    len += snprintf(note + len, sizeof note - (size_t)len,
                    k[i].s > 0     ? " %s %.2f"
                    : k[i].s == -2 ? " %s dropped"
                                   : " %s failed",
                    k[i].name, k[i].s * 1e3);
  choice_write(&dev->info, *out, wg, note);
  snprintf(source, size, "measured now: %s", note);
  rc = 0;
done:
  ocl_buffer_release(&A);
  ocl_buffer_release(&B);
  ocl_buffer_release(&C);
  return rc;
}

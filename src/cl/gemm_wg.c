/* The work-group GEMM backend (cl/gemm_wg.cl): one launch per call, the
 * operands read in place through strides, tiles sized by -D parameters
 * (one program per parameter set, kept with the device). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cl/gemm.h"
#include "dlgn/status.h"
#include "gemm_internal.h"

#define WG_MAX_VARIANTS 8
/* Steps of K per launch (see ocl_gemm_wg_run). */
#define WG_MAX_K 32768

typedef struct {
  ocl_gemm_wg_params p;
  cl_program program;
  cl_kernel kernel;
} wg_variant;

struct ocl_gemm_wg_state {
  int n;
  wg_variant v[WG_MAX_VARIANTS];
};

static void wg_variant_release(wg_variant *v) {
  if (v->kernel) clReleaseKernel(v->kernel);
  if (v->program) clReleaseProgram(v->program);
  memset(v, 0, sizeof *v);
}

void ocl_gemm_wg_state_free(ocl_gemm_wg_state *s) {
  if (!s) return;
  for (int i = 0; i < s->n; i++) wg_variant_release(&s->v[i]);
  free(s);
}

int ocl_gemm_wg_candidates(const dlgn_device *dev, ocl_gemm_wg_params out[2]) {
  /* Local-memory tiles of 64 x 64, 4 x 4 values per work-item: 16 x 16
   * work-items, within the 256 that every GPU runtime we know allows (8 x 8
   * work-items on 32 x 32 tiles where fewer are allowed). Without local
   * memory, 64 x 32 tiles of 8 x 4 per work-item (8 x 8 work-items): the
   * best of a grid from 8 x 8 to 128 x 32 on llvmpipe. */
  out[0] = dev->info.max_work_group >= 256 ? (ocl_gemm_wg_params){64, 64, 16, 4, 4}
                                           : (ocl_gemm_wg_params){32, 32, 16, 4, 4};
  out[1] = (ocl_gemm_wg_params){64, 32, 0, 8, 4};
  return dev->info.max_work_group >= 64 ? 2 : 1;
}

int ocl_gemm_wg_params_check(const dlgn_device *dev, const ocl_gemm_wg_params *p) {
  if (p->wptm < 1 || p->wptn < 1 || p->wptm > 16 || p->wptn > 16 || p->tsm < p->wptm ||
      p->tsn < p->wptn || p->tsm % p->wptm != 0 || p->tsn % p->wptn != 0 || p->tsm > 256 ||
      p->tsn > 256 || p->tsk < 0 || p->tsk > 64)
    return dlgn_fail(
        "work-group GEMM parameters: tile %dx%dx%d with %dx%d per work-item is not a tile of "
        "1..256 x 1..256 x 0..64 that multiples of 1..16 x 1..16 fill",
        p->tsm, p->tsn, p->tsk, p->wptm, p->wptn);
  size_t items = (size_t)(p->tsm / p->wptm) * (size_t)(p->tsn / p->wptn);
  if (items > dev->info.max_work_group)
    return dlgn_fail("work-group GEMM parameters: %zu work-items per group, device '%s' allows %zu",
                     items, dev->info.name, dev->info.max_work_group);
  size_t local = (size_t)p->tsk * (size_t)(p->tsm + p->tsn) * sizeof(float);
  if (local > dev->info.local_mem)
    return dlgn_fail("work-group GEMM parameters: %zu bytes of local memory, device '%s' has %llu",
                     local, dev->info.name, (unsigned long long)dev->info.local_mem);
  return 0;
}

static int wg_variant_get(dlgn_device *dev, ocl_gemm_wg_state **sp, const ocl_gemm_wg_params *p,
                          wg_variant **out) {
  if (!*sp) {
    *sp = dlgn_calloc(1, sizeof **sp, "work-group GEMM state");
    if (!*sp) return -1;
  }
  ocl_gemm_wg_state *s = *sp;
  for (int i = 0; i < s->n; i++)
    if (memcmp(&s->v[i].p, p, sizeof *p) == 0) {
      *out = &s->v[i];
      return 0;
    }
  if (s->n == WG_MAX_VARIANTS) { /* the tuner tries many; keep the latest */
    wg_variant_release(&s->v[0]);
    memmove(&s->v[0], &s->v[1], (WG_MAX_VARIANTS - 1) * sizeof s->v[0]);
    s->n--;
  }
  wg_variant v = {.p = *p};
  char options[200];
  snprintf(options, sizeof options,
           "-DTSM=%d -DTSN=%d -DTSK=%d -DWPTM=%d -DWPTN=%d -cl-mad-enable -cl-fast-relaxed-math",
           p->tsm, p->tsn, p->tsk, p->wptm, p->wptn);
  const char *files[] = {"gemm_wg.cl"};
  DLGN_TRY(ocl_program_build(dev, files, 1, options, &v.program));
  cl_int err;
  v.kernel = clCreateKernel(v.program, "gemm_wg", &err);
  if (ocl_check(dev, err, "clCreateKernel", "gemm_wg")) {
    wg_variant_release(&v);
    return -1;
  }
  s->v[s->n] = v;
  *out = &s->v[s->n++];
  return 0;
}

int ocl_gemm_wg_run(dlgn_device *dev, ocl_gemm_wg_state **state, const ocl_gemm_wg_params *p,
                    const ocl_gemm_call *c) {
  DLGN_TRY(ocl_gemm_wg_params_check(dev, p));
  if (c->M == 0 || c->N == 0) return 0;
  /* The kernel indexes with 32-bit ints. */
  size_t ext_a = c->offa + (c->ta ? c->K * c->lda : c->M * c->lda);
  size_t ext_b = c->offb + (c->tb ? c->N * c->ldb : c->K * c->ldb);
  size_t ext_c = c->offc + c->M * c->ldc;
  if (ext_a > INT_MAX || ext_b > INT_MAX || ext_c > INT_MAX || c->K > INT_MAX)
    return dlgn_fail(
        "GEMM M=%zu N=%zu K=%zu on device '%s' is too large for the work-group kernel's "
        "32-bit indexing (use DLGN_GEMM=clblast)",
        c->M, c->N, c->K, dev->info.name);
  wg_variant *v;
  DLGN_TRY(wg_variant_get(dev, state, p, &v));
  /* Element (i, k) of op(A) at A[offa + i * a_is + k * a_ks], (k, j) of
   * op(B) at B[offb + k * b_ks + j * b_js]. */
  const size_t a_is = c->ta ? 1 : c->lda, a_ks = c->ta ? c->lda : 1;
  const size_t b_ks = c->tb ? 1 : c->ldb, b_js = c->tb ? c->ldb : 1;
  const size_t wgx = (size_t)(p->tsn / p->wptn), wgy = (size_t)(p->tsm / p->wptm);
  size_t local[2] = {wgx, wgy};
  size_t global[2] = {(c->N + (size_t)p->tsn - 1) / (size_t)p->tsn * wgx,
                      (c->M + (size_t)p->tsm - 1) / (size_t)p->tsm * wgy};
  /* K runs in launches of at most WG_MAX_K steps, the later ones adding to
   * C. Mesa 22.3's llvmpipe ends a loop after 65535 iterations: the
   * direct form summed a K of 131072 (the weight gradient of a 32x32
   * convolution at batch 128) over its first 65535 steps only, and the
   * local-memory form came out wrong from a K between 32768 and 40000. */
  for (size_t k0 = 0; k0 == 0 || k0 < c->K; k0 += WG_MAX_K) {
    const size_t klen = c->K - k0 < WG_MAX_K ? c->K - k0 : WG_MAX_K;
    const float beta = k0 == 0 ? c->beta : 1.0f;
    ocl_arg args[] = {
        OCL_INT(c->M),  OCL_INT(c->N),    OCL_INT(klen),    OCL_FLOAT(c->alpha),
        OCL_MEM(c->A),  OCL_INT(c->offa + k0 * a_ks),        OCL_INT(a_is),
        OCL_INT(a_ks),  OCL_MEM(c->B),    OCL_INT(c->offb + k0 * b_ks),
        OCL_INT(b_ks),  OCL_INT(b_js),    OCL_FLOAT(beta),  OCL_MEM(c->C),
        OCL_INT(c->offc), OCL_INT(c->ldc)};
    DLGN_TRY(ocl_launch_kernel(dev, v->kernel, "gemm_wg", 2, global, local, 16, args));
    if (c->K == 0) break;
  }
  return 0;
}

#include "dlgn/gemm.h"

#include <clblast_c.h>
#include <stdlib.h>
#include <string.h>

#include "dlgn/status.h"

struct dlgn_gemm_state {
  dlgn_gemm_backend backend;
};

void dlgn_gemm_state_free(dlgn_device *dev) {
  free(dev->gemm);
  dev->gemm = NULL;
}

static int gemm_state(dlgn_device *dev, dlgn_gemm_state **out) {
  if (!dev->gemm) {
    dlgn_gemm_state *g = dlgn_calloc(1, sizeof *g, "GEMM state");
    if (!g) return -1;
    const char *env = getenv("DLGN_GEMM");
    g->backend = DLGN_GEMM_CLBLAST;
    if (env && strcmp(env, "own") == 0) g->backend = DLGN_GEMM_OWN;
    dev->gemm = g;
  }
  *out = dev->gemm;
  return 0;
}

dlgn_gemm_backend dlgn_gemm_backend_of(dlgn_device *dev) {
  dlgn_gemm_state *g;
  return gemm_state(dev, &g) == 0 ? g->backend : DLGN_GEMM_CLBLAST;
}

const char *dlgn_gemm_backend_name(dlgn_gemm_backend b) {
  return b == DLGN_GEMM_OWN ? "own" : "clblast";
}

int dlgn_gemm(dlgn_device *dev, bool ta, bool tb, size_t M, size_t N, size_t K, float alpha,
              cl_mem A, size_t offa, size_t lda, cl_mem B, size_t offb, size_t ldb, float beta,
              cl_mem C, size_t offc, size_t ldc) {
  if (M == 0 || N == 0) return 0;
  CLBlastStatusCode st = CLBlastSgemm(
      CLBlastLayoutRowMajor, ta ? CLBlastTransposeYes : CLBlastTransposeNo,
      tb ? CLBlastTransposeYes : CLBlastTransposeNo, M, N, K, alpha, A, offa, lda, B, offb, ldb,
      beta, C, offc, ldc, &dev->queue, NULL);
  if (st != CLBlastSuccess)
    return dlgn_fail("CLBlastSgemm (M=%zu N=%zu K=%zu) failed on device '%s': status %d", M, N, K,
                     dev->info.name, (int)st);
  return 0;
}

void dlgn_gemm_ref(bool ta, bool tb, size_t M, size_t N, size_t K, float alpha, const float *A,
                   size_t lda, const float *B, size_t ldb, float beta, float *C, size_t ldc) {
  for (size_t i = 0; i < M; i++)
    for (size_t j = 0; j < N; j++) {
      double s = 0;
      for (size_t k = 0; k < K; k++) {
        float a = ta ? A[k * lda + i] : A[i * lda + k];
        float b = tb ? B[j * ldb + k] : B[k * ldb + j];
        s += (double)a * b;
      }
      C[i * ldc + j] = (float)(alpha * s + (beta == 0 ? 0.0 : (double)beta * C[i * ldc + j]));
    }
}

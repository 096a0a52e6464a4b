/* Dense algebra behind one interface: CLBlast on GPUs, the project's own
 * register-tiled kernel (cl/gemm.cl) on CPU devices, either selectable with
 * $DLGN_GEMM=clblast|own. Row-major throughout. */
#ifndef DLGN_GEMM_H
#define DLGN_GEMM_H

#include <stdbool.h>

#include "dlgn/device.h"

typedef enum { DLGN_GEMM_CLBLAST = 0, DLGN_GEMM_OWN = 1 } dlgn_gemm_backend;

/* C(M,N) = alpha * op(A) * op(B) + beta * C, op(A) (M,K), op(B) (K,N);
 * ta/tb say A is stored (K,M) / B is stored (K,N)^T = (N,K).
 * Offsets and leading dimensions count floats. Enqueued, not waited for. */
int dlgn_gemm(dlgn_device *dev, bool ta, bool tb, size_t M, size_t N, size_t K, float alpha,
              cl_mem A, size_t offa, size_t lda, cl_mem B, size_t offb, size_t ldb, float beta,
              cl_mem C, size_t offc, size_t ldc);

dlgn_gemm_backend dlgn_gemm_backend_of(dlgn_device *dev);
const char *dlgn_gemm_backend_name(dlgn_gemm_backend b);

/* Plain C twin (row-major, same argument meaning) for tests and benchmarks. */
void dlgn_gemm_ref(bool ta, bool tb, size_t M, size_t N, size_t K, float alpha, const float *A,
                   size_t lda, const float *B, size_t ldb, float beta, float *C, size_t ldc);

#endif

/* Dense algebra behind one interface, three backends: CLBlast, the
 * project's own register-tiled kernel with one work-item per tile
 * (cl/gemm.cl, for CPU runtimes that loop over work-items, such as PoCL) and
 * the project's work-group kernel (cl/gemm_wg.cl, for runtimes that run the
 * work-items of a group side by side: GPUs, Mesa's llvmpipe). A device uses
 * $DLGN_GEMM=clblast|own|workgroup when set, else the backend its tuning file
 * names, else the one a short measurement chose for this device and driver
 * (src/cl/gemm_select.c, cached). Row-major throughout. Parameters tuned by
 * `dlgn tune` (src/cl/tune.h) are applied when a device first uses it.
 * $DLGN_GEMM_BCOPY=0 turns off the own kernel's copy of B panels to local
 * memory (for measurements). */
#ifndef CL_GEMM_H
#define CL_GEMM_H

#include <stdbool.h>

#include "cl/device.h"

typedef enum { OCL_GEMM_CLBLAST = 0, OCL_GEMM_OWN = 1, OCL_GEMM_WG = 2 } ocl_gemm_backend;
#define OCL_GEMM_NBACKENDS 3

/* C(M,N) = alpha * op(A) * op(B) + beta * C, op(A) (M,K), op(B) (K,N);
 * ta/tb say A is stored (K,M) / B is stored (K,N)^T = (N,K).
 * Offsets and leading dimensions count floats. beta == 0 never reads C.
 * Enqueued on dev->queue, not waited for. */
int ocl_gemm(dlgn_device *dev, bool ta, bool tb, size_t M, size_t N, size_t K, float alpha,
             cl_mem A, size_t offa, size_t lda, cl_mem B, size_t offb, size_t ldb, float beta,
             cl_mem C, size_t offc, size_t ldc);

ocl_gemm_backend ocl_gemm_backend_of(dlgn_device *dev);
const char *ocl_gemm_backend_name(ocl_gemm_backend b);
/* "clblast", "own" or "workgroup" to a backend; -1 with a message for anything else. */
int ocl_gemm_backend_parse(const char *name, ocl_gemm_backend *out);
/* Switch this device's backend (tests and benchmarks compare both). */
int ocl_gemm_set_backend(dlgn_device *dev, ocl_gemm_backend b);

/* Plain C twin (row-major, same argument meaning) for tests and benchmarks. */
void ocl_gemm_ref(bool ta, bool tb, size_t M, size_t N, size_t K, float alpha, const float *A,
                  size_t lda, const float *B, size_t ldb, float beta, float *C, size_t ldc);

/* ---- the own kernel's parameters, for the tuner and the benchmark ---- */

/* Each work-item computes a tm x tn tile of C with vw-wide vectors (tn a
 * multiple of vw) over a block of kc steps of K (0: automatic, about 1 MiB
 * of the row operand per block); ks blocks run side by side into partial
 * sums that are then added up (0: as many as needed to give every compute
 * unit work when C has few tiles). */
typedef struct {
  int tm, tn, vw, kc, ks;
} ocl_gemm_own_params;

/* One GEMM call, the arguments of ocl_gemm in a struct. */
typedef struct {
  bool ta, tb;
  size_t M, N, K;
  float alpha;
  cl_mem A;
  size_t offa, lda;
  cl_mem B;
  size_t offb, ldb;
  float beta;
  cl_mem C;
  size_t offc, ldc;
} ocl_gemm_call;

/* The own kernel with explicit parameters (compiled on first use of each
 * tm/tn/vw, then kept with the device). */
int ocl_gemm_own(dlgn_device *dev, const ocl_gemm_own_params *p, const ocl_gemm_call *call);

/* CLBlast, whatever the device's backend. */
int ocl_gemm_clblast(dlgn_device *dev, const ocl_gemm_call *call);

/* The K block the own kernel uses for p on this shape (resolves kc = 0). */
size_t ocl_gemm_own_block(const ocl_gemm_own_params *p, bool ta, bool tb, size_t M, size_t N,
                          size_t K);

/* What the device uses when nothing is tuned (from its native vector width). */
void ocl_gemm_own_default(const dlgn_device *dev, ocl_gemm_own_params *out);

/* What ocl_gemm would use for this shape: the tuned entry for exactly this
 * shape, else the tuned default, else ocl_gemm_own_default. */
int ocl_gemm_own_params_for(dlgn_device *dev, bool ta, bool tb, size_t M, size_t N, size_t K,
                            ocl_gemm_own_params *out);

/* 0 when valid for this device, else -1 with a message saying why. */
int ocl_gemm_own_params_check(const dlgn_device *dev, const ocl_gemm_own_params *p);

/* ---- the work-group kernel's parameters ---- */

/* A work-group computes a tsm x tsn tile of C over steps of tsk (through
 * local memory; 0: read straight from global memory), each work-item
 * wptm x wptn values of it: (tsn / wptn) x (tsm / wptm) work-items. */
typedef struct {
  int tsm, tsn, tsk, wptm, wptn;
} ocl_gemm_wg_params;

/* The parameter sets the backend choice measures (returns how many, 1 or
 * 2): the local-memory form for GPUs first, then the direct form. */
int ocl_gemm_wg_candidates(const dlgn_device *dev, ocl_gemm_wg_params out[2]);
/* The work-group parameters the device uses (chosen with its backend). */
int ocl_gemm_wg_params_of(dlgn_device *dev, ocl_gemm_wg_params *out);
int ocl_gemm_wg_params_check(const dlgn_device *dev, const ocl_gemm_wg_params *p);
/* The work-group kernel with explicit parameters, whatever the backend. */
int ocl_gemm_wg(dlgn_device *dev, const ocl_gemm_wg_params *p, const ocl_gemm_call *call);

/* Where the device's backend came from: "$DLGN_GEMM", or the measurement
 * (now or cached) with its times. */
const char *ocl_gemm_backend_source(dlgn_device *dev);
/* The measured choice cached for a device and driver, without opening it:
 * 1 and the backend (note: the measured times) when there is one, else 0. */
int ocl_gemm_choice_read(const dlgn_device_info *info, ocl_gemm_backend *out, char *note,
                         size_t size);
/* The file that holds it (in the kernel cache folder). */
int ocl_gemm_choice_path(const dlgn_device_info *info, char *out, size_t size);

/* The tuning file applied to this device, or NULL when none was found. */
const char *ocl_gemm_tuning_file(dlgn_device *dev);
/* Its table (GEMM parameters and convolution strategies), NULL when none;
 * read when the device first needs it. */
struct ocl_tuning;
int ocl_device_tuning(dlgn_device *dev, const struct ocl_tuning **out);

#endif

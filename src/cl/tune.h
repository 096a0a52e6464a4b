/* GEMM tuning: measure candidate parameters on the shapes the models use and
 * keep the best per device, in a small text file that later runs apply when
 * the device first calls ocl_gemm.
 *
 * The file lives in $DLGN_TUNING_DIR, else $XDG_CONFIG_HOME/dlgn/tuning, else
 * ~/.config/dlgn/tuning, one per device and driver version. Its lines:
 *   device NAME            (must match CL_DEVICE_NAME)
 *   driver VERSION         (must match CL_DRIVER_VERSION)
 *   own-default tm=.. tn=.. vw=.. kc=.. [ks=..]
 *   own-shape ta=0 tb=1 M=.. N=.. K=.. tm=.. tn=.. vw=.. kc=.. [ks=..] gflops=..
 *   clblast KERNEL NAME=VALUE ...   (passed to CLBlastOverrideParameters)
 *   conv N=.. C=.. H=.. W=.. OC=.. k=.. stride=.. pad=.. fwd=KIND dx=KIND dw=KIND
 *        [fwd_ms=.. dx_ms=.. dw_ms=..]   (the strategy of each pass of that
 *        convolution: gemm, direct, rows, wino, batch or sub; src/nn/ops_conv.c)
 * '#' starts a comment. */
#ifndef CL_TUNE_H
#define CL_TUNE_H

#include <stdbool.h>
#include <stdio.h>

#include "cl/device.h"
#include "cl/gemm.h"

#define OCL_TUNE_MAX_SHAPES 64
#define OCL_TUNE_MAX_CONVS 64
#define OCL_CLBLAST_MAX_PARAMS 20
#define OCL_CLBLAST_MAX_KERNELS 4

typedef struct {
  const char *name;
  bool ta, tb;
  size_t M, N, K;
} ocl_gemm_shape;

/* The GEMMs of the models at batch 128 (FC 5x128 on 32x32x3 inputs, C4GAP
 * with 128 channels: forward, and the two backward products) and 1024^3.
 * Returns the count. */
int ocl_tune_model_shapes(const ocl_gemm_shape **out);

typedef struct {
  bool ta, tb;
  size_t M, N, K;
  ocl_gemm_own_params own;
  double gflops; /* measured by the tuner, for the record */
} ocl_tuned_shape;

typedef struct {
  char kernel[32]; /* "Xgemm", "XgemmDirect" or "GemmRoutine" */
  int n;
  char names[OCL_CLBLAST_MAX_PARAMS][32];
  size_t values[OCL_CLBLAST_MAX_PARAMS];
} ocl_clblast_params;

/* The strategy of each pass of one convolution, measured by the tuner on
 * this device (src/nn/conv_tune.c). */
typedef struct {
  ocl_conv_shape shape;
  ocl_conv_kind fwd, dx, dw;
  double ms[3]; /* the winners' median milliseconds: forward, dx, dw (0: not recorded) */
} ocl_tuned_conv;

typedef struct ocl_tuning {
  char device[256];
  char driver[128];
  bool has_own_default;
  ocl_gemm_own_params own_default;
  int nshapes;
  ocl_tuned_shape shapes[OCL_TUNE_MAX_SHAPES];
  int nclblast; /* 0: CLBlast keeps its built-in database */
  ocl_clblast_params clblast[OCL_CLBLAST_MAX_KERNELS];
  int nconvs;
  ocl_tuned_conv convs[OCL_TUNE_MAX_CONVS];
} ocl_tuning;

/* The entry of t for convolution s, or NULL. */
const ocl_tuned_conv *ocl_tuning_find_conv(const ocl_tuning *t, const ocl_conv_shape *s);
/* Put e into t, replacing the entry of the same shape; fails when full. */
int ocl_tuning_put_conv(ocl_tuning *t, const ocl_tuned_conv *e);

/* Folder of the tuning files (see above); -1 when no folder can be named. */
int ocl_tuning_dir(char *out, size_t size);
/* This device's file in that folder (name and driver, sanitised). */
int ocl_tuning_path(const dlgn_device_info *info, char *out, size_t size);

int ocl_tuning_read(const char *path, ocl_tuning *t);
/* The same from text already in memory (len bytes; path names it in messages). */
int ocl_tuning_parse(ocl_tuning *t, const char *text, size_t len, const char *path);
/* Writes atomically (temporary file, then rename), creating the folder. */
int ocl_tuning_write(const char *path, const ocl_tuning *t);
/* Read path if it exists (found says whether it did) and check that it was
 * made for this device and driver. */
int ocl_tuning_load(const dlgn_device_info *info, const char *path, ocl_tuning *t, bool *found);

/* Make dev use t from now on (own parameters and CLBlast overrides); source
 * names where it came from, for messages. Implemented in src/cl/gemm.c. */
int ocl_gemm_use_tuning(dlgn_device *dev, const ocl_tuning *t, const char *source);
/* Pass t's CLBlast parameters to CLBlastOverrideParameters. */
int ocl_tuning_apply_clblast(const dlgn_device *dev, const ocl_tuning *t);

typedef struct {
  bool quick;                    /* coarser grid, shapes cut to an eighth of their work */
  bool own;                      /* tune the own kernel */
  bool clblast;                  /* tune CLBlast */
  const ocl_gemm_shape *shapes; /* NULL: ocl_tune_model_shapes */
  int nshapes;
  int max_candidates; /* > 0: only the first few candidates of each grid (tests) */
  FILE *log;          /* one line per measurement, or NULL */
} ocl_tune_options;

/* Search and store the result in t (in/out: the parts of backends not tuned
 * are kept, so tuning one backend does not forget the other). */
int ocl_tune(dlgn_device *dev, const ocl_tune_options *opt, ocl_tuning *t);

/* Median (and, when best_s is not NULL, shortest) wall time in seconds of
 * call with the own kernel (p), the work-group kernel (wg) or CLBlast (both
 * NULL), each run waited for,
 * after one untimed run (compilation, first touch): at least min_reps runs,
 * more until budget_s seconds have passed, at most max_reps. Shared by the
 * tuner (which compares shortest times) and the benchmark (medians). */
int ocl_gemm_time(dlgn_device *dev, const ocl_gemm_own_params *p, const ocl_gemm_wg_params *wg,
                  const ocl_gemm_call *call, int min_reps, int max_reps, double budget_s,
                  double *median_s, double *best_s);

#endif

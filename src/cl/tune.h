/* GEMM tuning: measure candidate parameters on the shapes the models use and
 * keep the best per device, in a small text file that later runs apply when
 * the device first calls dlgn_gemm.
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
 *        convolution: gemm, direct, rows, wino or batch; src/nn/ops_conv.c)
 * '#' starts a comment. */
#ifndef CL_TUNE_H
#define CL_TUNE_H

#include <stdbool.h>
#include <stdio.h>

#include "cl/device.h"
#include "cl/gemm.h"

#define DLGN_TUNE_MAX_SHAPES 64
#define DLGN_TUNE_MAX_CONVS 64
#define DLGN_CLBLAST_MAX_PARAMS 20
#define DLGN_CLBLAST_MAX_KERNELS 4

typedef struct {
  const char *name;
  bool ta, tb;
  size_t M, N, K;
} dlgn_gemm_shape;

/* The GEMMs of the models at batch 128 (FC 5x128 on 32x32x3 inputs, C4GAP
 * with 128 channels: forward, and the two backward products) and 1024^3.
 * Returns the count. */
int dlgn_tune_model_shapes(const dlgn_gemm_shape **out);

typedef struct {
  bool ta, tb;
  size_t M, N, K;
  dlgn_gemm_own_params own;
  double gflops; /* measured by the tuner, for the record */
} dlgn_tuned_shape;

typedef struct {
  char kernel[32]; /* "Xgemm", "XgemmDirect" or "GemmRoutine" */
  int n;
  char names[DLGN_CLBLAST_MAX_PARAMS][32];
  size_t values[DLGN_CLBLAST_MAX_PARAMS];
} dlgn_clblast_params;

/* The strategy of each pass of one convolution, measured by the tuner on
 * this device (src/nn/conv_tune.c). */
typedef struct {
  dlgn_conv_shape shape;
  dlgn_conv_kind fwd, dx, dw;
  double ms[3]; /* the winners' median milliseconds: forward, dx, dw (0: not recorded) */
} dlgn_tuned_conv;

typedef struct dlgn_tuning {
  char device[256];
  char driver[128];
  bool has_own_default;
  dlgn_gemm_own_params own_default;
  int nshapes;
  dlgn_tuned_shape shapes[DLGN_TUNE_MAX_SHAPES];
  int nclblast; /* 0: CLBlast keeps its built-in database */
  dlgn_clblast_params clblast[DLGN_CLBLAST_MAX_KERNELS];
  int nconvs;
  dlgn_tuned_conv convs[DLGN_TUNE_MAX_CONVS];
} dlgn_tuning;

/* The entry of t for convolution s, or NULL. */
const dlgn_tuned_conv *dlgn_tuning_find_conv(const dlgn_tuning *t, const dlgn_conv_shape *s);
/* Put e into t, replacing the entry of the same shape; fails when full. */
int dlgn_tuning_put_conv(dlgn_tuning *t, const dlgn_tuned_conv *e);

/* Folder of the tuning files (see above); -1 when no folder can be named. */
int dlgn_tuning_dir(char *out, size_t size);
/* This device's file in that folder (name and driver, sanitised). */
int dlgn_tuning_path(const dlgn_device_info *info, char *out, size_t size);

int dlgn_tuning_read(const char *path, dlgn_tuning *t);
/* The same from text already in memory (len bytes; path names it in messages). */
int dlgn_tuning_parse(dlgn_tuning *t, const char *text, size_t len, const char *path);
/* Writes atomically (temporary file, then rename), creating the folder. */
int dlgn_tuning_write(const char *path, const dlgn_tuning *t);
/* Read path if it exists (found says whether it did) and check that it was
 * made for this device and driver. */
int dlgn_tuning_load(const dlgn_device_info *info, const char *path, dlgn_tuning *t, bool *found);

/* Make dev use t from now on (own parameters and CLBlast overrides); source
 * names where it came from, for messages. Implemented in src/cl/gemm.c. */
int dlgn_gemm_use_tuning(dlgn_device *dev, const dlgn_tuning *t, const char *source);
/* Pass t's CLBlast parameters to CLBlastOverrideParameters. */
int dlgn_tuning_apply_clblast(const dlgn_device *dev, const dlgn_tuning *t);

typedef struct {
  bool quick;                    /* coarser grid, shapes cut to an eighth of their work */
  bool own;                      /* tune the own kernel */
  bool clblast;                  /* tune CLBlast */
  const dlgn_gemm_shape *shapes; /* NULL: dlgn_tune_model_shapes */
  int nshapes;
  int max_candidates; /* > 0: only the first few candidates of each grid (tests) */
  FILE *log;          /* one line per measurement, or NULL */
} dlgn_tune_options;

/* Search and store the result in t (in/out: the parts of backends not tuned
 * are kept, so tuning one backend does not forget the other). */
int dlgn_tune(dlgn_device *dev, const dlgn_tune_options *opt, dlgn_tuning *t);

/* Median (and, when best_s is not NULL, shortest) wall time in seconds of
 * call with the own kernel (p) or CLBlast (p == NULL), each run waited for,
 * after one untimed run (compilation, first touch): at least min_reps runs,
 * more until budget_s seconds have passed, at most max_reps. Shared by the
 * tuner (which compares shortest times) and the benchmark (medians). */
int dlgn_gemm_time(dlgn_device *dev, const dlgn_gemm_own_params *p, const dlgn_gemm_call *call,
                   int min_reps, int max_reps, double budget_s, double *median_s, double *best_s);

#endif

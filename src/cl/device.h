/* Inside an opened device, for the stages of the library and its tests: the
 * queues, buffers, programs and kernel launches (device.c, program.c). */
#ifndef CL_DEVICE_INTERNAL_H
#define CL_DEVICE_INTERNAL_H

#include "dlgn/device.h"

#define DLGN_MAX_KERNELS 128

typedef struct dlgn_gemm_state dlgn_gemm_state;

/* The ways a convolution pass can run (src/nn/ops_conv.c): im2col + GEMM,
 * the direct kernel, the row (or flat) kernels, Winograd, the batch-blocked
 * kernels, a stride-2 layer through its stride-1 twin. Named as $DLGN_CONV
 * and the tuning file write them: gemm, direct, rows, wino, batch, sub. */
typedef enum {
  DLGN_CONV_GEMM = 0,
  DLGN_CONV_DIRECT,
  DLGN_CONV_ROWS,
  DLGN_CONV_WINO,
  DLGN_CONV_BATCH,
  DLGN_CONV_SUB,
  DLGN_CONV_NKINDS
} dlgn_conv_kind;
const char *dlgn_conv_kind_name(dlgn_conv_kind k);
/* Fails, listing the names, on anything else. */
int dlgn_conv_kind_parse(const char *s, dlgn_conv_kind *out);

/* How the convolutions run: resolved once when the device opens, from
 * $DLGN_CONV and $DLGN_CONV_COLUMNS, so that no op reads the environment;
 * the tests and benchmarks change them in place. */
typedef struct {
  bool forced;          /* false: the tuned or measured choice */
  dlgn_conv_kind force; /* when forced: this strategy wherever it fits */
  size_t columns;       /* the im2col columns of one chunk of images, at most, in floats */
} dlgn_conv_options;

/* conv.columns without $DLGN_CONV_COLUMNS: 32 Mi floats (128 MiB) */
#define DLGN_CONV_COLUMNS_DEFAULT ((size_t)1 << 25)

/* The options from the environment; fails naming a value it does not know. */
int dlgn_conv_options_from_env(dlgn_conv_options *o);

struct dlgn_device {
  dlgn_device_info info;
  cl_context ctx;
  cl_command_queue queue; /* compute, in order */
  cl_command_queue xfer;  /* uploads that overlap compute, in order */
  bool profiling;
  /* DLGN_OPEN_POISON or $DLGN_POISON=1 (the tests): every new buffer starts
   * as NaN, so a kernel that reads memory nothing wrote fails on every
   * device, not only where fresh memory happens to hold NaN bit patterns. */
  bool poison;
  /* The Oclgrind simulator: new buffers get a zero-byte write so that its
   * uninitialised-memory checker starts them afresh (src/cl/device.c). */
  bool oclgrind;
  cl_program ops_program; /* every cl/ file but the GEMM, built on first use */
  int nkernels;
  struct {
    char name[64];
    cl_kernel kernel;
  } kernels[DLGN_MAX_KERNELS];
  dlgn_gemm_state *gemm; /* owned by src/cl/gemm.c */
  dlgn_conv_options conv;
  struct dlgn_call_record *record; /* NULL: nothing recorded */
  /* $DLGN_PROFILE=1: every launch waits for its kernel and adds its device
   * time here (or the host's wall time per launch, on a driver without
   * event timestamps); the table is printed to stderr when the device
   * closes. */
  int profile_clock; /* DLGN_PROFILE_*: decided by the first kernel */
  int nprofiled;
  struct {
    char name[64];
    double ms;
    long calls;
  } profile[DLGN_MAX_KERNELS];
};

/* One convolution call: input (C,N,H,W), OC filters of k x k, stride, zero
 * padding. */
typedef struct {
  int N, C, H, W;
  int OC, k, stride, pad;
} dlgn_conv_shape;

/* The shapes of the GEMMs and convolutions a device ran while a record was
 * attached (dlgn tune running one training step of a model), each once, in
 * the order of first use; calls past DLGN_RECORD_MAX of a kind are counted
 * in dropped. */
#define DLGN_RECORD_MAX 64
typedef struct dlgn_call_record {
  int ngemm, nconv, dropped;
  struct {
    bool ta, tb;
    size_t M, N, K;
  } gemm[DLGN_RECORD_MAX];
  dlgn_conv_shape conv[DLGN_RECORD_MAX];
} dlgn_call_record;
/* Add a call to dev->record, when one is attached. */
void dlgn_record_gemm(dlgn_device *dev, bool ta, bool tb, size_t M, size_t N, size_t K);
void dlgn_record_conv(dlgn_device *dev, const dlgn_conv_shape *s);

enum { DLGN_PROFILE_UNKNOWN = 0, DLGN_PROFILE_DEVICE = 1, DLGN_PROFILE_HOST = 2 };

/* Fail with "CALL failed on DEVICE: CL_ERROR (detail)" when err != CL_SUCCESS. */
int dlgn_cl_check(const dlgn_device *dev, cl_int err, const char *call, const char *detail);

/* ---- buffers ---- */
int dlgn_buffer_create(dlgn_device *dev, size_t bytes, const char *what, cl_mem *out);
void dlgn_buffer_release(cl_mem *mem);
/* Blocking upload of host memory. */
int dlgn_buffer_write(dlgn_device *dev, cl_mem mem, size_t offset, size_t bytes, const void *src,
                      const char *what);
/* Blocking download (waits for all queued work that writes mem). */
int dlgn_buffer_read(dlgn_device *dev, cl_mem mem, size_t offset, size_t bytes, void *dst,
                     const char *what);
int dlgn_buffer_fill_float(dlgn_device *dev, cl_mem mem, size_t offset_floats, size_t count,
                           float value, const char *what);

/* ---- programs and kernels ---- */
/* The embedded source of cl/NAME (e.g. "gemm.cl"); NULL when absent. */
const char *dlgn_cl_source(const char *name);

/* Build a program from the given embedded cl/ files (concatenated after
 * cl/common.h) with options, going through the on-disk binary cache. A build
 * failure prints the device's build log and names the files. */
int dlgn_program_build(dlgn_device *dev, const char *const *files, int nfiles, const char *options,
                       cl_program *out);

/* The kernel NAME of the ops program (all cl/ files but gemm.cl). */
int dlgn_kernel(dlgn_device *dev, const char *name, cl_kernel *out);

typedef struct {
  size_t size;
  const void *value;
} dlgn_arg;

#define DLGN_MEM(m) ((dlgn_arg){sizeof(cl_mem), &(cl_mem){(m)}})
#define DLGN_INT(v) ((dlgn_arg){sizeof(cl_int), &(cl_int){(cl_int)(v)}})
#define DLGN_UINT(v) ((dlgn_arg){sizeof(cl_uint), &(cl_uint){(cl_uint)(v)}})
#define DLGN_FLOAT(v) ((dlgn_arg){sizeof(cl_float), &(cl_float){(cl_float)(v)}})
#define DLGN_LOCAL(bytes) ((dlgn_arg){(bytes), NULL})

/* Set args and enqueue kernel NAME of the ops program over a 1-D, 2-D or 3-D
 * range; the global size is rounded up to the work-group size, so kernels
 * guard their own bounds. local may be NULL (the runtime picks). */
int dlgn_launch(dlgn_device *dev, const char *name, int dims, const size_t *global,
                const size_t *local, int nargs, const dlgn_arg *args);

/* Same, for a kernel the caller holds (GEMM programs, tuners). */
int dlgn_launch_kernel(dlgn_device *dev, cl_kernel kernel, const char *name, int dims,
                       const size_t *global, const size_t *local, int nargs, const dlgn_arg *args);

/* Elementwise kernels: one work-item per element, n elements. */
int dlgn_launch1d(dlgn_device *dev, const char *name, size_t n, int nargs, const dlgn_arg *args);

/* ---- the transfer queue ----
 * Uploads that overlap compute go on the transfer queue; the compute queue
 * waits for them with a barrier. */

/* Non-blocking upload of bytes from src to mem at offset, after wait_for
 * (NULL: at once); *done (may be NULL) gets its completion event. src must
 * stay unchanged until then. */
int dlgn_upload_async(dlgn_device *dev, cl_mem mem, size_t offset, size_t bytes, const void *src,
                      cl_event wait_for, cl_event *done, const char *what);
/* Flush the transfer queue; work queued later on the compute queue waits for ev. */
int dlgn_compute_waits_for(dlgn_device *dev, cl_event ev, const char *what);
/* *out: an event that completes with the work queued so far on the compute queue. */
int dlgn_compute_marker(dlgn_device *dev, cl_event *out, const char *what);
/* Wait for *ev (none: nothing to do) and release it. */
int dlgn_event_wait(dlgn_device *dev, cl_event *ev, const char *what);
/* Release *ev if any and clear it. */
void dlgn_event_release(cl_event *ev);
/* Wait for both queues, ignoring errors (for teardown). */
void dlgn_device_drain(dlgn_device *dev);

#endif

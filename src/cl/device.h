/* Inside an opened device, for the stages of the library and its tests: the
 * queues, buffers, programs and kernel launches (device.c, program.c). */
#ifndef CL_DEVICE_INTERNAL_H
#define CL_DEVICE_INTERNAL_H

#include "dlgn/device.h"

#define OCL_MAX_KERNELS 128

typedef struct ocl_gemm_state ocl_gemm_state;

/* The ways a convolution pass can run (src/nn/ops_conv.c): im2col + GEMM,
 * the direct kernel, the row (or flat) kernels, Winograd, the batch-blocked
 * kernels, a stride-2 layer through its stride-1 twin. Named as $DLGN_CONV
 * and the tuning file write them: gemm, direct, rows, wino, batch, sub. */
typedef enum {
  OCL_CONV_GEMM = 0,
  OCL_CONV_DIRECT,
  OCL_CONV_ROWS,
  OCL_CONV_WINO,
  OCL_CONV_BATCH,
  OCL_CONV_SUB,
  OCL_CONV_NKINDS
} ocl_conv_kind;
const char *ocl_conv_kind_name(ocl_conv_kind k);
/* Fails, listing the names, on anything else. */
int ocl_conv_kind_parse(const char *s, ocl_conv_kind *out);

/* How the convolutions run: resolved once when the device opens, from
 * $DLGN_CONV and $DLGN_CONV_COLUMNS, so that no op reads the environment;
 * the tests and benchmarks change them in place. */
typedef struct {
  bool forced;          /* false: the tuned or measured choice */
  ocl_conv_kind force; /* when forced: this strategy wherever it fits */
  size_t columns;       /* the im2col columns of one chunk of images, at most, in floats */
} ocl_conv_options;

/* conv.columns without $DLGN_CONV_COLUMNS: 32 Mi floats (128 MiB) */
#define OCL_CONV_COLUMNS_DEFAULT ((size_t)1 << 25)

/* The options from the environment; fails naming a value it does not know. */
int ocl_conv_options_from_env(ocl_conv_options *o);

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
  } kernels[OCL_MAX_KERNELS];
  ocl_gemm_state *gemm; /* owned by src/cl/gemm.c */
  ocl_conv_options conv;
  struct ocl_call_record *record; /* NULL: nothing recorded */
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
  } profile[OCL_MAX_KERNELS];
};

/* One convolution call: input (C,N,H,W), OC filters of k x k, stride, zero
 * padding. */
typedef struct {
  int N, C, H, W;
  int OC, k, stride, pad;
} ocl_conv_shape;

/* The shapes of the GEMMs and convolutions a device ran while a record was
 * attached (dlgn tune running one training step of a model), each once, in
 * the order of first use; calls past OCL_RECORD_MAX of a kind are counted
 * in dropped. */
#define OCL_RECORD_MAX 64
typedef struct ocl_call_record {
  int ngemm, nconv, dropped;
  struct {
    bool ta, tb;
    size_t M, N, K;
  } gemm[OCL_RECORD_MAX];
  ocl_conv_shape conv[OCL_RECORD_MAX];
} ocl_call_record;
/* Add a call to dev->record, when one is attached. */
void ocl_record_gemm(dlgn_device *dev, bool ta, bool tb, size_t M, size_t N, size_t K);
void ocl_record_conv(dlgn_device *dev, const ocl_conv_shape *s);

enum { OCL_PROFILE_UNKNOWN = 0, OCL_PROFILE_DEVICE = 1, OCL_PROFILE_HOST = 2 };

/* Fail with "CALL failed on DEVICE: CL_ERROR (detail)" when err != CL_SUCCESS. */
int ocl_check(const dlgn_device *dev, cl_int err, const char *call, const char *detail);

/* ---- buffers ---- */
int ocl_buffer_create(dlgn_device *dev, size_t bytes, const char *what, cl_mem *out);
void ocl_buffer_release(cl_mem *mem);
/* Blocking upload of host memory. */
int ocl_buffer_write(dlgn_device *dev, cl_mem mem, size_t offset, size_t bytes, const void *src,
                     const char *what);
/* Blocking download (waits for all queued work that writes mem). */
int ocl_buffer_read(dlgn_device *dev, cl_mem mem, size_t offset, size_t bytes, void *dst,
                    const char *what);
int ocl_buffer_fill_float(dlgn_device *dev, cl_mem mem, size_t offset_floats, size_t count,
                          float value, const char *what);

/* ---- programs and kernels ---- */
/* The embedded source of cl/NAME (e.g. "gemm.cl"); NULL when absent. */
const char *ocl_source(const char *name);

/* Build a program from the given embedded cl/ files (concatenated after
 * cl/common.h) with options, going through the on-disk binary cache. A build
 * failure prints the device's build log and names the files. */
int ocl_program_build(dlgn_device *dev, const char *const *files, int nfiles, const char *options,
                      cl_program *out);

/* The kernel NAME of the ops program (all cl/ files but gemm.cl). */
int ocl_kernel(dlgn_device *dev, const char *name, cl_kernel *out);

typedef struct {
  size_t size;
  const void *value;
} ocl_arg;

#define OCL_MEM(m) ((ocl_arg){sizeof(cl_mem), &(cl_mem){(m)}})
#define OCL_INT(v) ((ocl_arg){sizeof(cl_int), &(cl_int){(cl_int)(v)}})
#define OCL_UINT(v) ((ocl_arg){sizeof(cl_uint), &(cl_uint){(cl_uint)(v)}})
#define OCL_FLOAT(v) ((ocl_arg){sizeof(cl_float), &(cl_float){(cl_float)(v)}})
#define OCL_LOCAL(bytes) ((ocl_arg){(bytes), NULL})

/* Set args and enqueue kernel NAME of the ops program over a 1-D, 2-D or 3-D
 * range; the global size is rounded up to the work-group size, so kernels
 * guard their own bounds. local may be NULL (the runtime picks). */
int ocl_launch(dlgn_device *dev, const char *name, int dims, const size_t *global,
               const size_t *local, int nargs, const ocl_arg *args);

/* Same, for a kernel the caller holds (GEMM programs, tuners). */
int ocl_launch_kernel(dlgn_device *dev, cl_kernel kernel, const char *name, int dims,
                      const size_t *global, const size_t *local, int nargs, const ocl_arg *args);

/* Elementwise kernels: one work-item per element, n elements. */
int ocl_launch1d(dlgn_device *dev, const char *name, size_t n, int nargs, const ocl_arg *args);

/* ---- the transfer queue ----
 * Uploads that overlap compute go on the transfer queue; the compute queue
 * waits for them with a barrier. */

/* Non-blocking upload of bytes from src to mem at offset, after wait_for
 * (NULL: at once); *done (may be NULL) gets its completion event. src must
 * stay unchanged until then. */
int ocl_upload_async(dlgn_device *dev, cl_mem mem, size_t offset, size_t bytes, const void *src,
                     cl_event wait_for, cl_event *done, const char *what);
/* Flush the transfer queue; work queued later on the compute queue waits for ev. */
int ocl_compute_waits_for(dlgn_device *dev, cl_event ev, const char *what);
/* *out: an event that completes with the work queued so far on the compute queue. */
int ocl_compute_marker(dlgn_device *dev, cl_event *out, const char *what);
/* Wait for *ev (none: nothing to do) and release it. */
int ocl_event_wait(dlgn_device *dev, cl_event *ev, const char *what);
/* Release *ev if any and clear it. */
void ocl_event_release(cl_event *ev);
/* Wait for both queues, ignoring errors (for teardown). */
void ocl_device_drain(dlgn_device *dev);

#endif

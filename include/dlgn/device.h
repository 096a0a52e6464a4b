/* The OpenCL runtime: device enumeration and selection, one context with an
 * in-order compute queue (plus a transfer queue so that the next batch goes up
 * while the current step computes), buffers, programs built once per process
 * from the sources embedded at build time, with compiled binaries cached on
 * disk. Every OpenCL call is checked; errors name the call, the kernel or
 * buffer, and the device. */
#ifndef DLGN_DEVICE_H
#define DLGN_DEVICE_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct {
  int index; /* position in the enumeration over all platforms */
  cl_platform_id platform;
  cl_device_id id;
  char platform_name[128];
  char platform_version[128];
  char name[256];
  char vendor[128];
  char version[128];
  char driver[128];
  char c_version[128];
  cl_device_type type;
  cl_uint compute_units;
  cl_ulong global_mem;
  cl_ulong max_alloc;
  cl_ulong local_mem;
  size_t max_work_group;
} dlgn_device_info;

/* All devices of all platforms, in platform then device order. Fails with a
 * clear message when there is no OpenCL platform or no device at all. */
int dlgn_devices_list(dlgn_device_info **out, int *count);

/* Pick a device: selector (or $DLGN_DEVICE when selector is NULL or "") is an
 * index, "gpu", "cpu", or a case-insensitive substring of the device name;
 * with neither, the first GPU, else the first CPU device, else device 0. */
int dlgn_device_pick(const dlgn_device_info *list, int count, const char *selector, int *chosen);

const char *dlgn_device_type_name(cl_device_type t);

#define DLGN_MAX_KERNELS 128

typedef struct dlgn_gemm_state dlgn_gemm_state;

typedef struct dlgn_device {
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
} dlgn_device;

enum { DLGN_OPEN_PROFILING = 1, DLGN_OPEN_POISON = 2 };
enum { DLGN_PROFILE_UNKNOWN = 0, DLGN_PROFILE_DEVICE = 1, DLGN_PROFILE_HOST = 2 };

int dlgn_device_open(dlgn_device **out, const char *selector, int flags);
void dlgn_device_close(dlgn_device *dev);

const char *dlgn_cl_strerror(cl_int err);

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
int dlgn_finish(dlgn_device *dev);

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

/* Directory for the binary cache ($DLGN_CACHE_DIR, $XDG_CACHE_HOME/dlgn, ~/.cache/dlgn). */
int dlgn_cache_dir(char *out, size_t size);

#endif

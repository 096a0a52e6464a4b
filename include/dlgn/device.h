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

/* "GPU", "CPU", "accelerator", ... */
const char *dlgn_device_type_name(cl_device_type t);

/* An OpenCL device opened for dlgn: its context, queues, the programs built
 * for it and their kernels. Opaque. */
typedef struct dlgn_device dlgn_device;

/* Flags of dlgn_device_open: DLGN_OPEN_PROFILING times every kernel (a
 * table on stderr at close, as $DLGN_PROFILE=1); DLGN_OPEN_POISON starts
 * every new buffer as NaN (as $DLGN_POISON=1; for tests). */
enum { DLGN_OPEN_PROFILING = 1, DLGN_OPEN_POISON = 2 };

/* Open the device dlgn_device_pick chooses for selector (NULL: $DLGN_DEVICE,
 * else the first GPU, else the first CPU): a context and its queues. The
 * kernels are built on first use and cached on disk (dlgn_cache_dir). */
int dlgn_device_open(dlgn_device **out, const char *selector, int flags);
/* Releases everything the device holds; NULL is a no-op. */
void dlgn_device_close(dlgn_device *dev);

/* The device's description (name, vendor, driver, memory, ...). */
const dlgn_device_info *dlgn_device_get_info(const dlgn_device *dev);

/* Waits until everything queued on the device has finished. */
int dlgn_finish(dlgn_device *dev);

/* The name of an OpenCL error code ("CL_OUT_OF_RESOURCES", ...). */
const char *dlgn_cl_strerror(cl_int err);

/* Directory for the binary cache ($DLGN_CACHE_DIR, $XDG_CACHE_HOME/dlgn, ~/.cache/dlgn). */
int dlgn_cache_dir(char *out, size_t size);

#endif

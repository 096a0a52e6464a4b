#include "cl/device.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlgn/status.h"

const char *dlgn_cl_strerror(cl_int err) {
  switch (err) {
#define E(x) \
  case x:    \
    return #x;
    E(CL_SUCCESS) E(CL_DEVICE_NOT_FOUND) E(CL_DEVICE_NOT_AVAILABLE) E(CL_COMPILER_NOT_AVAILABLE)
    E(CL_MEM_OBJECT_ALLOCATION_FAILURE) E(CL_OUT_OF_RESOURCES) E(CL_OUT_OF_HOST_MEMORY)
    E(CL_PROFILING_INFO_NOT_AVAILABLE) E(CL_MEM_COPY_OVERLAP) E(CL_IMAGE_FORMAT_MISMATCH)
    E(CL_IMAGE_FORMAT_NOT_SUPPORTED) E(CL_BUILD_PROGRAM_FAILURE) E(CL_MAP_FAILURE)
    E(CL_MISALIGNED_SUB_BUFFER_OFFSET) E(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST)
    E(CL_COMPILE_PROGRAM_FAILURE) E(CL_LINKER_NOT_AVAILABLE) E(CL_LINK_PROGRAM_FAILURE)
    E(CL_DEVICE_PARTITION_FAILED) E(CL_KERNEL_ARG_INFO_NOT_AVAILABLE) E(CL_INVALID_VALUE)
    E(CL_INVALID_DEVICE_TYPE) E(CL_INVALID_PLATFORM) E(CL_INVALID_DEVICE) E(CL_INVALID_CONTEXT)
    E(CL_INVALID_QUEUE_PROPERTIES) E(CL_INVALID_COMMAND_QUEUE) E(CL_INVALID_HOST_PTR)
    E(CL_INVALID_MEM_OBJECT) E(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR) E(CL_INVALID_IMAGE_SIZE)
    E(CL_INVALID_SAMPLER) E(CL_INVALID_BINARY) E(CL_INVALID_BUILD_OPTIONS) E(CL_INVALID_PROGRAM)
    E(CL_INVALID_PROGRAM_EXECUTABLE) E(CL_INVALID_KERNEL_NAME) E(CL_INVALID_KERNEL_DEFINITION)
    E(CL_INVALID_KERNEL) E(CL_INVALID_ARG_INDEX) E(CL_INVALID_ARG_VALUE) E(CL_INVALID_ARG_SIZE)
    E(CL_INVALID_KERNEL_ARGS) E(CL_INVALID_WORK_DIMENSION) E(CL_INVALID_WORK_GROUP_SIZE)
    E(CL_INVALID_WORK_ITEM_SIZE) E(CL_INVALID_GLOBAL_OFFSET) E(CL_INVALID_EVENT_WAIT_LIST)
    E(CL_INVALID_EVENT) E(CL_INVALID_OPERATION) E(CL_INVALID_GL_OBJECT)
    E(CL_INVALID_BUFFER_SIZE) E(CL_INVALID_MIP_LEVEL) E(CL_INVALID_GLOBAL_WORK_SIZE)
    E(CL_INVALID_PROPERTY) E(CL_INVALID_IMAGE_DESCRIPTOR) E(CL_INVALID_COMPILER_OPTIONS)
    E(CL_INVALID_LINKER_OPTIONS) E(CL_INVALID_DEVICE_PARTITION_COUNT)
#undef E
    case -1001:
      return "CL_PLATFORM_NOT_FOUND_KHR (no OpenCL platform installed)";
    default:
      return "unknown OpenCL error";
  }
}

int ocl_check(const dlgn_device *dev, cl_int err, const char *call, const char *detail) {
  if (err == CL_SUCCESS) return 0;
  const char *hint = "";
  if (err == CL_MEM_OBJECT_ALLOCATION_FAILURE || err == CL_OUT_OF_RESOURCES)
    hint = " (out of device memory or resources: try a smaller --batch or width)";
  return dlgn_fail("%s failed on device '%s': %s (%d)%s%s%s", call, dev ? dev->info.name : "?",
                   dlgn_cl_strerror(err), (int)err, detail ? " for " : "", detail ? detail : "",
                   hint);
}

const dlgn_device_info *dlgn_device_get_info(const dlgn_device *dev) { return &dev->info; }

const char *dlgn_device_type_name(cl_device_type t) {
  if (t & CL_DEVICE_TYPE_GPU) return "GPU";
  if (t & CL_DEVICE_TYPE_CPU) return "CPU";
  if (t & CL_DEVICE_TYPE_ACCELERATOR) return "accelerator";
  return "other";
}

static void trim(char *s) {
  size_t n = strlen(s);
  while (n && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
  size_t i = 0;
  while (s[i] && isspace((unsigned char)s[i])) i++;
  if (i) memmove(s, s + i, n - i + 1);
}

static int device_info_string(cl_device_id id, cl_device_info what, char *out, size_t size) {
  cl_int err = clGetDeviceInfo(id, what, size, out, NULL);
  if (err != CL_SUCCESS) {
    snprintf(out, size, "?");
    return -1;
  }
  out[size - 1] = '\0';
  trim(out);
  return 0;
}

int dlgn_devices_list(dlgn_device_info **out, int *count) {
  *out = NULL;
  *count = 0;
  cl_uint np = 0;
  cl_int err = clGetPlatformIDs(0, NULL, &np);
  if (err == -1001 || (err == CL_SUCCESS && np == 0))
    return dlgn_fail(
        "no OpenCL platform found: install a driver (pocl-opencl-icd for the CPU, or the "
        "GPU vendor's OpenCL ICD) and check /etc/OpenCL/vendors");
  if (err != CL_SUCCESS)
    return dlgn_fail("clGetPlatformIDs failed: %s (%d)", dlgn_cl_strerror(err), (int)err);
  cl_platform_id *plats = dlgn_calloc(np, sizeof *plats, "OpenCL platform list");
  if (!plats) return -1;
  err = clGetPlatformIDs(np, plats, NULL);
  if (err != CL_SUCCESS) {
    free(plats);
    return dlgn_fail("clGetPlatformIDs failed: %s (%d)", dlgn_cl_strerror(err), (int)err);
  }
  dlgn_device_info *list = NULL;
  int n = 0;
  for (cl_uint p = 0; p < np; p++) {
    cl_uint nd = 0;
    err = clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 0, NULL, &nd);
    if (err == CL_DEVICE_NOT_FOUND || nd == 0) continue;
    if (err != CL_SUCCESS) continue; /* a broken platform must not hide the others */
    cl_device_id *ids = dlgn_calloc(nd, sizeof *ids, "OpenCL device list");
    dlgn_device_info *grown = realloc(list, (size_t)(n + (int)nd) * sizeof *list);
    if (!ids || !grown) {
      free(ids);
      free(grown ? grown : list);
      free(plats);
      return dlgn_fail("out of host memory listing OpenCL devices");
    }
    list = grown;
    if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, nd, ids, NULL) != CL_SUCCESS) nd = 0;
    char pname[128], pver[128];
    if (clGetPlatformInfo(plats[p], CL_PLATFORM_NAME, sizeof pname, pname, NULL) != CL_SUCCESS)
      snprintf(pname, sizeof pname, "?");
    if (clGetPlatformInfo(plats[p], CL_PLATFORM_VERSION, sizeof pver, pver, NULL) != CL_SUCCESS)
      snprintf(pver, sizeof pver, "?");
    pname[sizeof pname - 1] = pver[sizeof pver - 1] = '\0';
    for (cl_uint d = 0; d < nd; d++) {
      dlgn_device_info *info = &list[n];
      memset(info, 0, sizeof *info);
      info->index = n;
      info->platform = plats[p];
      info->id = ids[d];
      snprintf(info->platform_name, sizeof info->platform_name, "%s", pname);
      snprintf(info->platform_version, sizeof info->platform_version, "%s", pver);
      device_info_string(ids[d], CL_DEVICE_NAME, info->name, sizeof info->name);
      device_info_string(ids[d], CL_DEVICE_VENDOR, info->vendor, sizeof info->vendor);
      device_info_string(ids[d], CL_DEVICE_VERSION, info->version, sizeof info->version);
      device_info_string(ids[d], CL_DRIVER_VERSION, info->driver, sizeof info->driver);
      device_info_string(ids[d], CL_DEVICE_OPENCL_C_VERSION, info->c_version,
                         sizeof info->c_version);
      clGetDeviceInfo(ids[d], CL_DEVICE_TYPE, sizeof info->type, &info->type, NULL);
      clGetDeviceInfo(ids[d], CL_DEVICE_MAX_COMPUTE_UNITS, sizeof info->compute_units,
                      &info->compute_units, NULL);
      clGetDeviceInfo(ids[d], CL_DEVICE_GLOBAL_MEM_SIZE, sizeof info->global_mem,
                      &info->global_mem, NULL);
      clGetDeviceInfo(ids[d], CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof info->max_alloc,
                      &info->max_alloc, NULL);
      clGetDeviceInfo(ids[d], CL_DEVICE_LOCAL_MEM_SIZE, sizeof info->local_mem, &info->local_mem,
                      NULL);
      clGetDeviceInfo(ids[d], CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof info->max_work_group,
                      &info->max_work_group, NULL);
      n++;
    }
    free(ids);
  }
  free(plats);
  if (n == 0) {
    free(list);
    return dlgn_fail("OpenCL platforms found (%u) but none has a device", np);
  }
  *out = list;
  *count = n;
  return 0;
}

static bool contains_nocase(const char *hay, const char *needle) {
  size_t n = strlen(needle);
  for (const char *p = hay; *p; p++) {
    size_t i = 0;
    while (i < n && p[i] && tolower((unsigned char)p[i]) == tolower((unsigned char)needle[i])) i++;
    if (i == n) return true;
  }
  return n == 0;
}

int dlgn_device_pick(const dlgn_device_info *list, int count, const char *selector, int *chosen) {
  const char *sel = selector && *selector ? selector : getenv("DLGN_DEVICE");
  const char *origin = selector && *selector ? "--device" : "DLGN_DEVICE";
  if (!sel || !*sel) {
    for (int want = 0; want < 2; want++)
      for (int i = 0; i < count; i++)
        if (list[i].type & (want == 0 ? CL_DEVICE_TYPE_GPU : CL_DEVICE_TYPE_CPU)) {
          *chosen = i;
          return 0;
        }
    *chosen = 0;
    return 0;
  }
  char *end = NULL;
  long idx = strtol(sel, &end, 10);
  if (end != sel && *end == '\0') {
    if (idx < 0 || idx >= count)
      return dlgn_fail("%s=%s: no device with that index (there are %d; see `dlgn devices`)",
                       origin, sel, count);
    *chosen = (int)idx;
    return 0;
  }
  cl_device_type want = 0;
  if (strcmp(sel, "gpu") == 0 || strcmp(sel, "GPU") == 0) want = CL_DEVICE_TYPE_GPU;
  if (strcmp(sel, "cpu") == 0 || strcmp(sel, "CPU") == 0) want = CL_DEVICE_TYPE_CPU;
  for (int i = 0; i < count; i++) {
    if (want ? (list[i].type & want) != 0 : contains_nocase(list[i].name, sel)) {
      *chosen = i;
      return 0;
    }
  }
  return dlgn_fail("%s=%s: no %s device matches (see `dlgn devices`)", origin, sel,
                   want ? "such" : "OpenCL");
}

int dlgn_device_open(dlgn_device **out, const char *selector, int flags) {
  *out = NULL;
  dlgn_device_info *list;
  int count, chosen;
  DLGN_TRY(dlgn_devices_list(&list, &count));
  if (dlgn_device_pick(list, count, selector, &chosen) != 0) {
    free(list);
    return -1;
  }
  dlgn_device *dev = dlgn_calloc(1, sizeof *dev, "device state");
  if (!dev) {
    free(list);
    return -1;
  }
  dev->info = list[chosen];
  free(list);
  const char *prof = getenv("DLGN_PROFILE");
  dev->profiling = (flags & DLGN_OPEN_PROFILING) != 0 || (prof && *prof && strcmp(prof, "0") != 0);
  const char *poison = getenv("DLGN_POISON");
  dev->poison = (flags & DLGN_OPEN_POISON) != 0 || (poison && *poison && strcmp(poison, "0") != 0);
  dev->oclgrind = strstr(dev->info.platform_name, "Oclgrind") != NULL;
  cl_int err;
  cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)dev->info.platform,
                                   0};
  dev->ctx = clCreateContext(props, 1, &dev->info.id, NULL, NULL, &err);
  if (ocl_check(dev, err, "clCreateContext", NULL)) goto fail;
  cl_command_queue_properties qp = dev->profiling ? CL_QUEUE_PROFILING_ENABLE : 0;
  dev->queue = clCreateCommandQueue(dev->ctx, dev->info.id, qp, &err);
  if (ocl_check(dev, err, "clCreateCommandQueue", "the compute queue")) goto fail;
  dev->xfer = clCreateCommandQueue(dev->ctx, dev->info.id, qp, &err);
  if (ocl_check(dev, err, "clCreateCommandQueue", "the transfer queue")) goto fail;
  if (ocl_conv_options_from_env(&dev->conv) != 0) goto fail;
  *out = dev;
  return 0;
fail:
  dlgn_device_close(dev);
  return -1;
}

static const char *const conv_kind_names[OCL_CONV_NKINDS] = {"gemm", "direct", "rows", "wino",
                                                               "batch", "sub"};

const char *ocl_conv_kind_name(ocl_conv_kind k) {
  return k >= 0 && k < OCL_CONV_NKINDS ? conv_kind_names[k] : "?";
}

int ocl_conv_kind_parse(const char *s, ocl_conv_kind *out) {
  for (int i = 0; i < OCL_CONV_NKINDS; i++)
    if (strcmp(s, conv_kind_names[i]) == 0) {
      *out = (ocl_conv_kind)i;
      return 0;
    }
  return dlgn_fail("unknown convolution strategy '%s' (expected gemm, direct, rows, wino, "
                   "batch or sub)", s);
}

int ocl_conv_options_from_env(ocl_conv_options *o) {
  memset(o, 0, sizeof *o);
  o->columns = OCL_CONV_COLUMNS_DEFAULT;
  const char *e = getenv("DLGN_CONV");
  if (e && *e) {
    if (ocl_conv_kind_parse(e, &o->force) != 0)
      return dlgn_fail("$DLGN_CONV=%s: expected gemm, direct, rows, wino or batch (or unset: the "
                       "tuned or measured choice)",
                       e);
    o->forced = true;
  }
  const char *c = getenv("DLGN_CONV_COLUMNS");
  if (c && *c) {
    char *end;
    long long v = strtoll(c, &end, 10);
    if (*end || v <= 0)
      return dlgn_fail("$DLGN_CONV_COLUMNS=%s: expected a positive number of floats", c);
    o->columns = (size_t)v;
  }
  return 0;
}

void ocl_record_gemm(dlgn_device *dev, bool ta, bool tb, size_t M, size_t N, size_t K) {
  ocl_call_record *r = dev->record;
  if (!r) return;
  for (int i = 0; i < r->ngemm; i++)
    if (r->gemm[i].ta == ta && r->gemm[i].tb == tb && r->gemm[i].M == M && r->gemm[i].N == N &&
        r->gemm[i].K == K)
      return;
  if (r->ngemm == OCL_RECORD_MAX) {
    r->dropped++;
    return;
  }
  r->gemm[r->ngemm].ta = ta;
  r->gemm[r->ngemm].tb = tb;
  r->gemm[r->ngemm].M = M;
  r->gemm[r->ngemm].N = N;
  r->gemm[r->ngemm].K = K;
  r->ngemm++;
}

void ocl_record_conv(dlgn_device *dev, const ocl_conv_shape *s) {
  ocl_call_record *r = dev->record;
  if (!r) return;
  for (int i = 0; i < r->nconv; i++)
    if (memcmp(&r->conv[i], s, sizeof *s) == 0) return;
  if (r->nconv == OCL_RECORD_MAX) {
    r->dropped++;
    return;
  }
  r->conv[r->nconv++] = *s;
}

void dlgn_gemm_state_free(dlgn_device *dev); /* src/cl/gemm.c */

static void profile_print(const dlgn_device *dev) {
  if (dev->nprofiled == 0) return;
  double total = 0;
  for (int i = 0; i < dev->nprofiled; i++) total += dev->profile[i].ms;
  if (dev->profile_clock == OCL_PROFILE_HOST)
    fprintf(stderr,
            "dlgn: kernel time on '%s' ($DLGN_PROFILE; CLBlast kernels not included): host wall "
            "time from enqueue to completion, launch included, since this driver gives no event "
            "timestamps\n",
            dev->info.name);
  else
    fprintf(stderr,
            "dlgn: kernel time on '%s' ($DLGN_PROFILE; CLBlast kernels not included): device "
            "event timestamps\n",
            dev->info.name);
  bool shown[OCL_MAX_KERNELS] = {false};
  for (int k = 0; k < dev->nprofiled; k++) { /* largest first */
    int best = -1;
    for (int i = 0; i < dev->nprofiled; i++)
      if (!shown[i] && (best < 0 || dev->profile[i].ms > dev->profile[best].ms)) best = i;
    shown[best] = true;
    fprintf(stderr, "  %-28s %10.1f ms %5.1f%% %8ld calls\n", dev->profile[best].name,
            dev->profile[best].ms, 100 * dev->profile[best].ms / total, dev->profile[best].calls);
  }
}

void dlgn_device_close(dlgn_device *dev) {
  if (!dev) return;
  profile_print(dev);
  if (dev->queue) clFinish(dev->queue);
  if (dev->xfer) clFinish(dev->xfer);
  dlgn_gemm_state_free(dev);
  for (int i = 0; i < dev->nkernels; i++) clReleaseKernel(dev->kernels[i].kernel);
  if (dev->ops_program) clReleaseProgram(dev->ops_program);
  if (dev->xfer) clReleaseCommandQueue(dev->xfer);
  if (dev->queue) clReleaseCommandQueue(dev->queue);
  if (dev->ctx) clReleaseContext(dev->ctx);
  free(dev);
}

/* ---- buffers ---- */

int ocl_buffer_create(dlgn_device *dev, size_t bytes, const char *what, cl_mem *out) {
  *out = NULL;
  if (bytes == 0) bytes = 16;
  if (bytes > dev->info.max_alloc)
    return dlgn_fail(
        "out of device memory: %s needs %.1f MiB in one buffer but device '%s' allows at most "
        "%.1f MiB per buffer (try a smaller --batch or width)",
        what, bytes / 1048576.0, dev->info.name, dev->info.max_alloc / 1048576.0);
  cl_int err;
  *out = clCreateBuffer(dev->ctx, CL_MEM_READ_WRITE, bytes, NULL, &err);
  if (err != CL_SUCCESS) {
    *out = NULL;
    char detail[256];
    snprintf(detail, sizeof detail, "%s (%.1f MiB)", what, bytes / 1048576.0);
    return ocl_check(dev, err, "clCreateBuffer", detail);
  }
  /* Oclgrind (21.10 and its source today) keeps the shadow of a released
   * buffer, which records what was written, and gives it to the next buffer
   * that takes the released one's slot: that buffer's first bytes then count
   * as written before anything wrote them, and every byte past the old size
   * counts as unwritten forever (stores there are dropped), so a kernel that
   * wrote the whole buffer is reported reading uninitialised values. A host
   * write replaces the shadow with one as long as the write itself; one of
   * zero bytes (which Oclgrind accepts) leaves none, and the first kernel to
   * take the buffer then gives it a fresh shadow of its full size, all
   * unwritten. tests/oclgrind_shadow.c reproduces both. */
  if (dev->oclgrind) {
    static const float none = 0.0f;
    err = clEnqueueWriteBuffer(dev->queue, *out, CL_TRUE, 0, 0, &none, 0, NULL, NULL);
    if (err != CL_SUCCESS) {
      ocl_buffer_release(out);
      return ocl_check(dev, err, "clEnqueueWriteBuffer", "Oclgrind's reset of a new buffer");
    }
  }
  if (dev->poison) {
    static const float nan_pattern = NAN;
    size_t n = bytes / sizeof nan_pattern;
    if (dev->oclgrind) {
      /* Oclgrind records a fill as one store per pattern, each replacing the
       * shadow (see above): only the last 4 bytes would count as written.
       * One write of the whole buffer counts all of it. */
      float *nan = dlgn_malloc(n * sizeof *nan, "NaN fill of a new buffer");
      if (!nan) {
        ocl_buffer_release(out);
        return -1;
      }
      for (size_t i = 0; i < n; i++) nan[i] = nan_pattern;
      err = clEnqueueWriteBuffer(dev->queue, *out, CL_TRUE, 0, n * sizeof *nan, nan, 0, NULL, NULL);
      free(nan);
    } else {
      err = clEnqueueFillBuffer(dev->queue, *out, &nan_pattern, sizeof nan_pattern, 0,
                                n * sizeof nan_pattern, 0, NULL, NULL);
    }
    if (err == CL_SUCCESS) err = clFinish(dev->queue);
    if (err != CL_SUCCESS) {
      ocl_buffer_release(out);
      return ocl_check(dev, err, dev->oclgrind ? "clEnqueueWriteBuffer" : "clEnqueueFillBuffer",
                       "NaN fill of a new buffer ($DLGN_POISON)");
    }
  }
  return 0;
}

void ocl_buffer_release(cl_mem *mem) {
  if (*mem) clReleaseMemObject(*mem);
  *mem = NULL;
}

int ocl_buffer_write(dlgn_device *dev, cl_mem mem, size_t offset, size_t bytes, const void *src,
                     const char *what) {
  if (bytes == 0) return 0;
  cl_int err = clEnqueueWriteBuffer(dev->queue, mem, CL_TRUE, offset, bytes, src, 0, NULL, NULL);
  return ocl_check(dev, err, "clEnqueueWriteBuffer", what);
}

int ocl_buffer_read(dlgn_device *dev, cl_mem mem, size_t offset, size_t bytes, void *dst,
                    const char *what) {
  if (bytes == 0) return 0;
  cl_int err = clEnqueueReadBuffer(dev->queue, mem, CL_TRUE, offset, bytes, dst, 0, NULL, NULL);
  return ocl_check(dev, err, "clEnqueueReadBuffer", what);
}

int ocl_buffer_fill_float(dlgn_device *dev, cl_mem mem, size_t offset_floats, size_t count,
                          float value, const char *what) {
  if (count == 0) return 0;
  cl_int err = clEnqueueFillBuffer(dev->queue, mem, &value, sizeof value,
                                   offset_floats * sizeof(float), count * sizeof(float), 0, NULL,
                                   NULL);
  return ocl_check(dev, err, "clEnqueueFillBuffer", what);
}

int ocl_upload_async(dlgn_device *dev, cl_mem mem, size_t offset, size_t bytes, const void *src,
                     cl_event wait_for, cl_event *done, const char *what) {
  cl_int err = clEnqueueWriteBuffer(dev->xfer, mem, CL_FALSE, offset, bytes, src, wait_for ? 1 : 0,
                                    wait_for ? &wait_for : NULL, done);
  return ocl_check(dev, err, "clEnqueueWriteBuffer", what);
}

int ocl_compute_waits_for(dlgn_device *dev, cl_event ev, const char *what) {
  cl_int err = clFlush(dev->xfer);
  if (err == CL_SUCCESS) err = clEnqueueBarrierWithWaitList(dev->queue, 1, &ev, NULL);
  return ocl_check(dev, err, "clEnqueueBarrierWithWaitList", what);
}

int ocl_compute_marker(dlgn_device *dev, cl_event *out, const char *what) {
  cl_int err = clEnqueueMarkerWithWaitList(dev->queue, 0, NULL, out);
  if (err == CL_SUCCESS) err = clFlush(dev->queue);
  return ocl_check(dev, err, "clEnqueueMarkerWithWaitList", what);
}

int ocl_event_wait(dlgn_device *dev, cl_event *ev, const char *what) {
  if (!*ev) return 0;
  cl_int err = clWaitForEvents(1, ev);
  ocl_event_release(ev);
  return ocl_check(dev, err, "clWaitForEvents", what);
}

void ocl_event_release(cl_event *ev) {
  if (*ev) clReleaseEvent(*ev);
  *ev = NULL;
}

void ocl_device_drain(dlgn_device *dev) {
  clFinish(dev->xfer);
  clFinish(dev->queue);
}

int dlgn_finish(dlgn_device *dev) {
  DLGN_TRY(ocl_check(dev, clFinish(dev->xfer), "clFinish", "the transfer queue"));
  return ocl_check(dev, clFinish(dev->queue), "clFinish",
                   "the compute queue (an earlier kernel may have failed)");
}

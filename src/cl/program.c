/* Programs from the embedded cl/ sources, built once per process, with a
 * disk cache of compiled binaries keyed by source, options, device and driver
 * (PoCL spends seconds per program; a second run should not). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cl/device.h"
#include "dlgn/status.h"
#include "dlgn/util.h"
#include "embedded_cl.h"

const char *ocl_source(const char *name) {
  for (int i = 0; i < ocl_embedded_cl_count; i++)
    if (strcmp(ocl_embedded_cl[i].name, name) == 0) return ocl_embedded_cl[i].text;
  return NULL;
}

static uint64_t fnv1a(uint64_t h, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    h ^= (unsigned char)s[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

int dlgn_cache_dir(char *out, size_t size) {
  const char *d = getenv("DLGN_CACHE_DIR");
  if (d && *d) {
    snprintf(out, size, "%s", d);
    return 0;
  }
  const char *x = getenv("XDG_CACHE_HOME");
  if (x && *x) {
    snprintf(out, size, "%s/dlgn", x);
    return 0;
  }
  const char *home = getenv("HOME");
  if (!home || !*home) return -1;
  snprintf(out, size, "%s/.cache/dlgn", home);
  return 0;
}

static void cache_path(const dlgn_device *dev, const char *source, const char *options, char *out,
                       size_t size) {
  uint64_t h = 0xcbf29ce484222325ull;
  h = fnv1a(h, source, strlen(source) + 1);
  h = fnv1a(h, options, strlen(options) + 1);
  h = fnv1a(h, dev->info.name, strlen(dev->info.name) + 1);
  h = fnv1a(h, dev->info.driver, strlen(dev->info.driver) + 1);
  h = fnv1a(h, dev->info.version, strlen(dev->info.version) + 1);
  h = fnv1a(h, dev->info.platform_version, strlen(dev->info.platform_version) + 1);
  char dir[900];
  if (dlgn_cache_dir(dir, sizeof dir) != 0) {
    out[0] = '\0';
    return;
  }
  snprintf(out, size, "%s/%016llx.bin", dir, (unsigned long long)h);
}

static bool cache_disabled(void) {
  const char *e = getenv("DLGN_NO_CACHE");
  return e && *e && strcmp(e, "0") != 0;
}

/* Try the cached binary; on any problem just compile from source. */
static cl_program program_from_cache(dlgn_device *dev, const char *path, const char *options) {
  if (!path[0] || cache_disabled()) return NULL;
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  cl_program prog = NULL;
  unsigned char *bin = NULL;
  if (fseek(f, 0, SEEK_END) != 0) goto done;
  long n = ftell(f);
  if (n <= 0 || fseek(f, 0, SEEK_SET) != 0) goto done;
  bin = malloc((size_t)n);
  if (!bin || fread(bin, 1, (size_t)n, f) != (size_t)n) goto done;
  size_t len = (size_t)n;
  const unsigned char *bins[1] = {bin};
  cl_int status, err;
  prog = clCreateProgramWithBinary(dev->ctx, 1, &dev->info.id, &len, bins, &status, &err);
  if (err != CL_SUCCESS || status != CL_SUCCESS) {
    if (prog) clReleaseProgram(prog);
    prog = NULL;
    goto done;
  }
  if (clBuildProgram(prog, 1, &dev->info.id, options, NULL, NULL) != CL_SUCCESS) {
    clReleaseProgram(prog);
    prog = NULL;
  }
done:
  free(bin);
  fclose(f);
  return prog;
}

static void program_to_cache(cl_program prog, const char *path) {
  if (!path[0] || cache_disabled()) return;
  size_t size = 0;
  if (clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, NULL) != CL_SUCCESS ||
      size == 0)
    return;
  unsigned char *bin = malloc(size);
  if (!bin) return;
  unsigned char *bins[1] = {bin};
  if (clGetProgramInfo(prog, CL_PROGRAM_BINARIES, sizeof bins, bins, NULL) == CL_SUCCESS) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = '\0';
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
    FILE *f = dlgn_mkdir_p(dir) == 0 ? fopen(tmp, "wb") : NULL;
    if (f) {
      bool ok = fwrite(bin, 1, size, f) == size;
      ok = (fclose(f) == 0) && ok;
      if (!ok || rename(tmp, path) != 0) remove(tmp);
    }
  }
  free(bin);
}

int ocl_program_build(dlgn_device *dev, const char *const *files, int nfiles, const char *options,
                      cl_program *out) {
  *out = NULL;
  if (!options) options = "";
  const char *prelude = ocl_source("common.h");
  size_t total = strlen(prelude) + 64;
  char names[512] = "";
  for (int i = 0; i < nfiles; i++) {
    const char *s = ocl_source(files[i]);
    if (!s) return dlgn_fail("kernel source cl/%s is not embedded in this build", files[i]);
    total += strlen(s) + strlen(files[i]) + 32;
    size_t used = strlen(names);
    snprintf(names + used, sizeof names - used, "%scl/%s", i ? ", " : "", files[i]);
  }
  char *source = dlgn_malloc(total, "kernel source text");
  if (!source) return -1;
  size_t pos = (size_t)snprintf(source, total, "#line 1 \"common.h\"\n%s\n", prelude);
  for (int i = 0; i < nfiles; i++)
    pos += (size_t)snprintf(source + pos, total - pos, "#line 1 \"%s\"\n%s\n", files[i],
                            ocl_source(files[i]));
  char path[1200];
  cache_path(dev, source, options, path, sizeof path);
  cl_program prog = program_from_cache(dev, path, options);
  if (prog) {
    free(source);
    *out = prog;
    return 0;
  }
  cl_int err;
  const char *srcs[1] = {source};
  prog = clCreateProgramWithSource(dev->ctx, 1, srcs, NULL, &err);
  free(source);
  if (ocl_check(dev, err, "clCreateProgramWithSource", names)) return -1;
  err = clBuildProgram(prog, 1, &dev->info.id, options, NULL, NULL);
  if (err != CL_SUCCESS) {
    size_t logsize = 0;
    clGetProgramBuildInfo(prog, dev->info.id, CL_PROGRAM_BUILD_LOG, 0, NULL, &logsize);
    char *log = malloc(logsize + 1);
    if (log && clGetProgramBuildInfo(prog, dev->info.id, CL_PROGRAM_BUILD_LOG, logsize, log,
                                     NULL) == CL_SUCCESS) {
      log[logsize] = '\0';
      fprintf(stderr, "dlgn: build log of %s on device '%s' (options '%s'):\n%s\n", names,
              dev->info.name, options, log);
    }
    free(log);
    clReleaseProgram(prog);
    return dlgn_fail("building %s failed on device '%s': %s (build log above)", names,
                     dev->info.name, dlgn_cl_strerror(err));
  }
  program_to_cache(prog, path);
  *out = prog;
  return 0;
}

static int ops_program_build(dlgn_device *dev) {
  const char *files[64];
  int n = 0;
  for (int i = 0; i < ocl_embedded_cl_count && n < 64; i++) {
    const char *name = ocl_embedded_cl[i].name;
    size_t len = strlen(name);
    /* the GEMM files (gemm*.cl) are built per tile size by src/cl/gemm*.c */
    if (len > 3 && strcmp(name + len - 3, ".cl") == 0 && strncmp(name, "gemm", 4) != 0)
      files[n++] = name;
  }
  return ocl_program_build(dev, files, n, "", &dev->ops_program);
}

int ocl_kernel(dlgn_device *dev, const char *name, cl_kernel *out) {
  for (int i = 0; i < dev->nkernels; i++)
    if (strcmp(dev->kernels[i].name, name) == 0) {
      *out = dev->kernels[i].kernel;
      return 0;
    }
  if (!dev->ops_program) DLGN_TRY(ops_program_build(dev));
  if (dev->nkernels == OCL_MAX_KERNELS)
    return dlgn_fail("too many kernels (raise OCL_MAX_KERNELS) creating '%s'", name);
  cl_int err;
  cl_kernel k = clCreateKernel(dev->ops_program, name, &err);
  if (ocl_check(dev, err, "clCreateKernel", name)) return -1;
  snprintf(dev->kernels[dev->nkernels].name, sizeof dev->kernels[0].name, "%s", name);
  dev->kernels[dev->nkernels++].kernel = k;
  *out = k;
  return 0;
}

/* Wait for the kernel and add its time to the profile table: the device's
 * event timestamps, or, on a driver that gives none (Mesa's rusticl reports
 * 0, 1, 2, 3 ns for queued, submitted, start and end), the host's wall time
 * from before the enqueue (host_t0) to the end of the wait, which also counts
 * the launch itself. The first kernel decides which, for the whole run. */
static int profile_add(dlgn_device *dev, const char *name, cl_event ev, double host_t0) {
  cl_ulong t0 = 0, t1 = 0;
  cl_int err = clWaitForEvents(1, &ev);
  double host_ms = (dlgn_now() - host_t0) * 1e3;
  if (err == CL_SUCCESS)
    err = clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_START, sizeof t0, &t0, NULL);
  if (err == CL_SUCCESS)
    err = clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL);
  clReleaseEvent(ev);
  DLGN_TRY(ocl_check(dev, err, "clGetEventProfilingInfo", name));
  if (dev->profile_clock == OCL_PROFILE_UNKNOWN)
    dev->profile_clock = t0 == 0 || t1 <= t0 + 1 ? OCL_PROFILE_HOST : OCL_PROFILE_DEVICE;
  int i = 0;
  while (i < dev->nprofiled && strcmp(dev->profile[i].name, name) != 0) i++;
  if (i == OCL_MAX_KERNELS) return 0;
  if (i == dev->nprofiled) {
    snprintf(dev->profile[i].name, sizeof dev->profile[i].name, "%s", name);
    dev->nprofiled++;
  }
  dev->profile[i].ms +=
      dev->profile_clock == OCL_PROFILE_HOST ? host_ms : (double)(t1 - t0) * 1e-6;
  dev->profile[i].calls++;
  return 0;
}

int ocl_launch_kernel(dlgn_device *dev, cl_kernel kernel, const char *name, int dims,
                      const size_t *global, const size_t *local, int nargs, const ocl_arg *args) {
  for (int i = 0; i < nargs; i++) {
    cl_int err = clSetKernelArg(kernel, (cl_uint)i, args[i].size, args[i].value);
    if (err != CL_SUCCESS) {
      char detail[128];
      snprintf(detail, sizeof detail, "kernel %s, argument %d", name, i);
      return ocl_check(dev, err, "clSetKernelArg", detail);
    }
  }
  size_t g[3];
  for (int d = 0; d < dims; d++) {
    if (global[d] == 0) return 0; /* empty range: nothing to do */
    g[d] = global[d];
    if (local && local[d] > 1) g[d] = (global[d] + local[d] - 1) / local[d] * local[d];
  }
  cl_event ev = NULL;
  const double host_t0 = dev->profiling ? dlgn_now() : 0;
  cl_int err = clEnqueueNDRangeKernel(dev->queue, kernel, (cl_uint)dims, NULL, g, local, 0, NULL,
                                      dev->profiling ? &ev : NULL);
  char detail[128];
  snprintf(detail, sizeof detail, "kernel %s", name);
  DLGN_TRY(ocl_check(dev, err, "clEnqueueNDRangeKernel", detail));
  return ev ? profile_add(dev, name, ev, host_t0) : 0;
}

int ocl_launch(dlgn_device *dev, const char *name, int dims, const size_t *global,
               const size_t *local, int nargs, const ocl_arg *args) {
  cl_kernel k;
  DLGN_TRY(ocl_kernel(dev, name, &k));
  return ocl_launch_kernel(dev, k, name, dims, global, local, nargs, args);
}

int ocl_launch1d(dlgn_device *dev, const char *name, size_t n, int nargs, const ocl_arg *args) {
  size_t local = 64;
  if (local > dev->info.max_work_group) local = dev->info.max_work_group;
  return ocl_launch(dev, name, 1, &n, &local, nargs, args);
}

/* Oclgrind's uninitialised-memory checker and released buffers, reduced to
 * two kernels; run under `oclgrind --uninitialized` (ctest -L oclgrind).
 *
 * Oclgrind (21.10, the Debian package) keeps the shadow of a released buffer,
 * its record of which bytes were written, and gives it to the next buffer
 * that takes the released one's slot. Here a 4-float buffer is written and
 * released, an 8-float buffer takes its slot, a kernel writes all 8 floats
 * and a second kernel sums them:
 *   raw        buffers from clCreateBuffer: Oclgrind reports the sum as
 *              uninitialised (floats 4..7 keep the old shadow's "unwritten",
 *              and the stores to them are dropped), though every float was
 *              written. This is what it reported in the GEMM's tile kernel
 *              when the packed-B scratch grew: the panels past the old
 *              scratch's size, written by gemm_pack_b, read as unwritten.
 *   project    buffers from dlgn_buffer_create, which resets the shadow on
 *              Oclgrind (src/cl/device.c): no report.
 *   unwritten  as project, but nothing writes the 8 floats: the sum of
 *              unwritten memory must still be reported.
 * Exit status 0 in every mode; the verdict is Oclgrind's output. */
#include <stdio.h>
#include <string.h>

#include "cl/device.h"
#include "dlgn/status.h"

static const char *source =
    "__kernel void fill(__global float *x) { x[get_global_id(0)] = 1.0f; }\n"
    "__kernel void sum(__global const float *x, __global float *y, const int n) {\n"
    "  float s = 0.0f;\n"
    "  for (int i = 0; i < n; i++) s += x[i];\n"
    "  y[0] = s;\n"
    "}\n";

static int buffer(dlgn_device *dev, bool raw, size_t bytes, cl_mem *out) {
  if (!raw) return dlgn_buffer_create(dev, bytes, "test buffer", out);
  cl_int err;
  *out = clCreateBuffer(dev->ctx, CL_MEM_READ_WRITE, bytes, NULL, &err);
  return dlgn_cl_check(dev, err, "clCreateBuffer", "test buffer");
}

static int launch(dlgn_device *dev, cl_kernel k, size_t n, cl_mem x, cl_mem y, int count) {
  cl_int err = clSetKernelArg(k, 0, sizeof x, &x);
  if (y && err == CL_SUCCESS) err = clSetKernelArg(k, 1, sizeof y, &y);
  if (y && err == CL_SUCCESS) err = clSetKernelArg(k, 2, sizeof count, &count);
  if (err == CL_SUCCESS) err = clEnqueueNDRangeKernel(dev->queue, k, 1, NULL, &n, NULL, 0, NULL, NULL);
  if (err == CL_SUCCESS) err = clFinish(dev->queue);
  return dlgn_cl_check(dev, err, "a test kernel", NULL);
}

static int run(dlgn_device *dev, const char *mode) {
  const bool raw = strcmp(mode, "raw") == 0, unwritten = strcmp(mode, "unwritten") == 0;
  if (!raw && !unwritten && strcmp(mode, "project") != 0)
    return dlgn_fail("unknown mode '%s' (raw, project or unwritten)", mode);
  cl_int err;
  cl_program p = clCreateProgramWithSource(dev->ctx, 1, &source, NULL, &err);
  if (dlgn_cl_check(dev, err, "clCreateProgramWithSource", NULL)) return -1;
  cl_kernel fill = NULL, sum = NULL;
  cl_mem y = NULL, small = NULL, big = NULL;
  int rc = -1;
  err = clBuildProgram(p, 1, &dev->info.id, "", NULL, NULL);
  if (dlgn_cl_check(dev, err, "clBuildProgram", NULL)) goto done;
  fill = clCreateKernel(p, "fill", &err);
  if (dlgn_cl_check(dev, err, "clCreateKernel", "fill")) goto done;
  sum = clCreateKernel(p, "sum", &err);
  if (dlgn_cl_check(dev, err, "clCreateKernel", "sum")) goto done;
  if (buffer(dev, raw, sizeof(float), &y) || buffer(dev, raw, 4 * sizeof(float), &small) ||
      launch(dev, fill, 4, small, NULL, 0))
    goto done;
  dlgn_buffer_release(&small); /* its slot goes to the next buffer */
  if (buffer(dev, raw, 8 * sizeof(float), &big)) goto done;
  if (!unwritten && launch(dev, fill, 8, big, NULL, 0)) goto done;
  float s = 0.0f;
  if (launch(dev, sum, 1, big, y, 8) || dlgn_buffer_read(dev, y, 0, sizeof s, &s, "the sum"))
    goto done;
  printf("%s: sum %g\n", mode, (double)s);
  rc = 0;
done:
  dlgn_buffer_release(&big);
  dlgn_buffer_release(&small);
  dlgn_buffer_release(&y);
  if (sum) clReleaseKernel(sum);
  if (fill) clReleaseKernel(fill);
  clReleaseProgram(p);
  return rc;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: oclgrind --uninitialized %s raw|project|unwritten\n", argv[0]);
    return 2;
  }
  dlgn_device *dev;
  if (dlgn_device_open(&dev, NULL, 0) != 0) {
    fprintf(stderr, "%s\n", dlgn_error());
    return 1;
  }
  int rc = run(dev, argv[1]);
  if (rc != 0) fprintf(stderr, "%s\n", dlgn_error());
  dlgn_device_close(dev);
  return rc ? 1 : 0;
}

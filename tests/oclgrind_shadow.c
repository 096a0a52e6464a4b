/* Two faults of Oclgrind's uninitialised-memory checker, each reduced to a
 * few lines; run under `oclgrind --uninitialized` (ctest -L oclgrind).
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
 *   project    buffers from ocl_buffer_create, which resets the shadow on
 *              Oclgrind (src/cl/device.c): no report.
 *   unwritten  as project, but nothing writes the 8 floats: the sum of
 *              unwritten memory must still be reported.
 *
 * Oclgrind 21.10 also reads a shufflevector mask element of 11 as
 * undefined (it compares the element with LLVM's value-kind number for
 * undef), so a lane shuffled from element 11 of the first operand reads as
 * uninitialised. The vector shifts of cl/conv.cl order their operands so
 * that no mask element is 11:
 *   shuffle11  a shift by one lane with the mask (1 .. 16): reported, though
 *              every lane was written;
 *   shuffle    the same shift with the operands swapped, mask (17 .. 31, 0),
 *              as cl/conv.cl writes it: no report.
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
    "}\n"
    "__kernel void shift(__global const float *x, __global float *y, const int mask11) {\n"
    "  float16 v = vload16(0, x), next = vload16(1, x);\n"
    "  float16 t = mask11 ? __builtin_shufflevector(v, next, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,\n"
    "                                                12, 13, 14, 15, 16)\n"
    "                     : __builtin_shufflevector(next, v, 17, 18, 19, 20, 21, 22, 23, 24, 25,\n"
    "                                                26, 27, 28, 29, 30, 31, 0);\n"
    "  vstore16(fma(t, t, (float16)(1.0f)), 0, y);\n"
    "}\n";

static int buffer(dlgn_device *dev, bool raw, size_t bytes, cl_mem *out) {
  if (!raw) return ocl_buffer_create(dev, bytes, "test buffer", out);
  cl_int err;
  *out = clCreateBuffer(dev->ctx, CL_MEM_READ_WRITE, bytes, NULL, &err);
  return ocl_check(dev, err, "clCreateBuffer", "test buffer");
}

static int launch(dlgn_device *dev, cl_kernel k, size_t n, cl_mem x, cl_mem y, int count) {
  cl_int err = clSetKernelArg(k, 0, sizeof x, &x);
  if (y && err == CL_SUCCESS) err = clSetKernelArg(k, 1, sizeof y, &y);
  if (y && err == CL_SUCCESS) err = clSetKernelArg(k, 2, sizeof count, &count);
  if (err == CL_SUCCESS) err = clEnqueueNDRangeKernel(dev->queue, k, 1, NULL, &n, NULL, 0, NULL, NULL);
  if (err == CL_SUCCESS) err = clFinish(dev->queue);
  return ocl_check(dev, err, "a test kernel", NULL);
}

/* the shift kernel on 32 written floats: y = shift(x) squared plus one */
static int run_shuffle(dlgn_device *dev, cl_program p, int mask11) {
  cl_int err;
  cl_kernel k = clCreateKernel(p, "shift", &err);
  if (ocl_check(dev, err, "clCreateKernel", "shift")) return -1;
  float h[32], out[16];
  for (int i = 0; i < 32; i++) h[i] = (float)i;
  cl_mem x = NULL, y = NULL;
  size_t one = 1;
  int rc = -1;
  if (ocl_buffer_create(dev, sizeof h, "test input", &x) ||
      ocl_buffer_create(dev, sizeof out, "test output", &y) ||
      ocl_buffer_write(dev, x, 0, sizeof h, h, "the test input"))
    goto done;
  err = clSetKernelArg(k, 0, sizeof x, &x);
  if (err == CL_SUCCESS) err = clSetKernelArg(k, 1, sizeof y, &y);
  if (err == CL_SUCCESS) err = clSetKernelArg(k, 2, sizeof mask11, &mask11);
  if (err == CL_SUCCESS) err = clEnqueueNDRangeKernel(dev->queue, k, 1, NULL, &one, NULL, 0, NULL, NULL);
  if (ocl_check(dev, err, "clEnqueueNDRangeKernel", "shift") ||
      ocl_buffer_read(dev, y, 0, sizeof out, out, "the shifted vector"))
    goto done;
  for (int i = 0; i < 16; i++)
    if (out[i] != (float)((i + 1) * (i + 1) + 1)) {
      rc = dlgn_fail("shift: lane %d is %g, not %d", i, (double)out[i], (i + 1) * (i + 1) + 1);
      goto done;
    }
  printf("%s: shifted\n", mask11 ? "shuffle11" : "shuffle");
  rc = 0;
done:
  ocl_buffer_release(&y);
  ocl_buffer_release(&x);
  clReleaseKernel(k);
  return rc;
}

static int run(dlgn_device *dev, const char *mode) {
  const bool raw = strcmp(mode, "raw") == 0, unwritten = strcmp(mode, "unwritten") == 0;
  const bool shuffle11 = strcmp(mode, "shuffle11") == 0, shuffle = strcmp(mode, "shuffle") == 0;
  if (!raw && !unwritten && !shuffle11 && !shuffle && strcmp(mode, "project") != 0)
    return dlgn_fail("unknown mode '%s' (raw, project, unwritten, shuffle11 or shuffle)", mode);
  cl_int err;
  cl_program p = clCreateProgramWithSource(dev->ctx, 1, &source, NULL, &err);
  if (ocl_check(dev, err, "clCreateProgramWithSource", NULL)) return -1;
  cl_kernel fill = NULL, sum = NULL;
  cl_mem y = NULL, small = NULL, big = NULL;
  int rc = -1;
  err = clBuildProgram(p, 1, &dev->info.id, "", NULL, NULL);
  if (ocl_check(dev, err, "clBuildProgram", NULL)) goto done;
  if (shuffle11 || shuffle) {
    rc = run_shuffle(dev, p, shuffle11);
    goto done;
  }
  fill = clCreateKernel(p, "fill", &err);
  if (ocl_check(dev, err, "clCreateKernel", "fill")) goto done;
  sum = clCreateKernel(p, "sum", &err);
  if (ocl_check(dev, err, "clCreateKernel", "sum")) goto done;
  if (buffer(dev, raw, sizeof(float), &y) || buffer(dev, raw, 4 * sizeof(float), &small) ||
      launch(dev, fill, 4, small, NULL, 0))
    goto done;
  ocl_buffer_release(&small); /* its slot goes to the next buffer */
  if (buffer(dev, raw, 8 * sizeof(float), &big)) goto done;
  if (!unwritten && launch(dev, fill, 8, big, NULL, 0)) goto done;
  float s = 0.0f;
  if (launch(dev, sum, 1, big, y, 8) || ocl_buffer_read(dev, y, 0, sizeof s, &s, "the sum"))
    goto done;
  printf("%s: sum %g\n", mode, (double)s);
  rc = 0;
done:
  ocl_buffer_release(&big);
  ocl_buffer_release(&small);
  ocl_buffer_release(&y);
  if (sum) clReleaseKernel(sum);
  if (fill) clReleaseKernel(fill);
  clReleaseProgram(p);
  return rc;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: oclgrind --uninitialized %s raw|project|unwritten|shuffle11|shuffle\n", argv[0]);
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

#include <limits.h>

#include "dlgn/status.h"
#include "ops_internal.h"

int ops_check_count(const char *op, size_t n) {
  if (n > (size_t)INT_MAX)
    return dlgn_fail("%s: %zu elements exceed the kernels' int index range", op, n);
  return 0;
}

int ops_check_dims(const char *op, int count, const int *dims) {
  for (int i = 0; i < count; i++)
    if (dims[i] < 1) return dlgn_fail("%s: dimension %d is %d, must be >= 1", op, i, dims[i]);
  return 0;
}

int ops_epi_code(const conv_epilogue *e) {
  if (!e || e->kind == CONV_EPI_NONE) return 0;
  if (e->kind == CONV_EPI_RELU) return 3;
  return e->gates == DLGN_GATE_HARD ? 2 : 1;
}

int ops_reduce_wg(dlgn_device *dev, const char *kernel, size_t *wg) {
  cl_kernel k;
  DLGN_TRY(ocl_kernel(dev, kernel, &k));
  size_t kmax = 0;
  cl_int err = clGetKernelWorkGroupInfo(k, dev->info.id, CL_KERNEL_WORK_GROUP_SIZE, sizeof kmax,
                                        &kmax, NULL);
  DLGN_TRY(ocl_check(dev, err, "clGetKernelWorkGroupInfo", kernel));
  /* CPUs run a group's work-items in a loop and pay for every barrier of the
   * tree: 16 wide groups with long per-item sums are faster there */
  size_t w = (dev->info.type & CL_DEVICE_TYPE_CPU) ? 16 : 256;
  while (w > 1 && (w > kmax || w > dev->info.max_work_group)) w /= 2;
  *wg = w;
  return 0;
}

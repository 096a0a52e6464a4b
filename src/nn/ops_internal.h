/* Helpers shared by the ops_*.c files: kernel arguments for dlgn_buf (buffer
 * plus a ulong offset that the kernel adds to its pointer) and launch
 * shorthands that count their arguments. */
#ifndef DLGN_OPS_INTERNAL_H
#define DLGN_OPS_INTERNAL_H

#include <stddef.h>

#include "dlgn/device.h"
#include "dlgn/ops.h"

#define ARG_OFF(v) ((dlgn_arg){sizeof(cl_ulong), &(cl_ulong){(cl_ulong)(v)}})
/* Two kernel arguments: the buffer and its offset in elements. */
#define ARG_BUF(b) DLGN_MEM((b).mem), ARG_OFF((b).off)

#define OPS_NARGS(...) ((int)(sizeof((dlgn_arg[]){__VA_ARGS__}) / sizeof(dlgn_arg)))

/* One work-item per element, n elements. */
#define LAUNCH_1D(dev, name, n, ...)                                                              \
  dlgn_launch1d((dev), (name), (n), OPS_NARGS(__VA_ARGS__), (dlgn_arg[]){__VA_ARGS__})

/* groups work-groups of wg work-items along dimension 0. */
#define LAUNCH_GROUPS(dev, name, groups, wg, ...)                                                 \
  dlgn_launch((dev), (name), 1, (size_t[]){(size_t)(groups) * (wg)}, (size_t[]){(wg)},            \
              OPS_NARGS(__VA_ARGS__), (dlgn_arg[]){__VA_ARGS__})

/* Kernels index with int: fail (naming the op) when n does not fit. */
int ops_check_count(const char *op, size_t n);
/* Fail naming the op unless every one of the count dimensions is >= 1. */
int ops_check_dims(const char *op, int count, const int *dims);
#define OPS_CHECK_DIMS(op, ...)                                                                   \
  ops_check_dims((op), (int)(sizeof((int[]){__VA_ARGS__}) / sizeof(int)), (int[]){__VA_ARGS__})

/* Work-group size for the reduction kernels (which reduce in __local memory
 * of DLGN_RED_WG = 256 floats): the largest power of two <= 256 (16 on CPU
 * devices) that both the device and this kernel allow. */
int ops_reduce_wg(dlgn_device *dev, const char *kernel, size_t *wg);

#endif

/* Helpers shared by the ops_*.c files: kernel arguments for nn_buf (buffer
 * plus a ulong offset that the kernel adds to its pointer) and launch
 * shorthands that count their arguments. */
#ifndef NN_OPS_INTERNAL_H
#define NN_OPS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "cl/device.h"
#include "nn/ops.h"

#define ARG_OFF(v) ((ocl_arg){sizeof(cl_ulong), &(cl_ulong){(cl_ulong)(v)}})
/* Two kernel arguments: the buffer and its offset in elements. */
#define ARG_BUF(b) OCL_MEM((b).mem), ARG_OFF((b).off)

#define OPS_NARGS(...) ((int)(sizeof((ocl_arg[]){__VA_ARGS__}) / sizeof(ocl_arg)))

/* One work-item per element, n elements. */
#define LAUNCH_1D(dev, name, n, ...)                                                              \
  ocl_launch1d((dev), (name), (n), OPS_NARGS(__VA_ARGS__), (ocl_arg[]){__VA_ARGS__})

/* groups work-groups of wg work-items along dimension 0. */
#define LAUNCH_GROUPS(dev, name, groups, wg, ...)                                                 \
  ocl_launch((dev), (name), 1, (size_t[]){(size_t)(groups) * (wg)}, (size_t[]){(wg)},            \
             OPS_NARGS(__VA_ARGS__), (ocl_arg[]){__VA_ARGS__})

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

/* The kernels' epi argument for e: 0 none, 1 soft gate, 2 hard gate, 3 ReLU
 * (conv_epilogue16 in cl/common.h). */
int ops_epi_code(const conv_epilogue *e);

/* The kernel arguments of the epilogue (the output itself stands in for
 * buffers a kernel without one never reads). */
#define ARGS_EPI(e, y)                                                                       \
  ARG_BUF(ops_epi_code(e) ? (e)->out : (y)),                                                 \
      ARG_BUF(ops_epi_code(e) == 1 || ops_epi_code(e) == 2 ? (e)->g : (y)),                  \
      OCL_INT(ops_epi_code(e)), OCL_FLOAT(ops_epi_code(e) ? (e)->beta : 0.0f)

/* One strategy for each pass, where it fits (the tuner, src/nn/conv_tune.c;
 * it fails where it does not): the forward pass; dx and/or dw (NULL mem:
 * skipped, db too); the scratch they need. */
int conv2d_forward_as(dlgn_device *dev, ocl_conv_kind kind, nn_buf y, nn_buf x, nn_buf w,
                      nn_buf b, nn_buf scratch, const ocl_conv_shape *s);
int conv2d_backward_as(dlgn_device *dev, ocl_conv_kind dx_kind, ocl_conv_kind dw_kind,
                       nn_buf dx, nn_buf dw, nn_buf db, nn_buf dy, nn_buf x, nn_buf w,
                       nn_buf scratch, const ocl_conv_shape *s, bool accumulate_dx);
size_t conv2d_scratch_floats_as(const dlgn_device *dev, const ocl_conv_shape *s,
                                ocl_conv_kind fwd, ocl_conv_kind dx, ocl_conv_kind dw);
/* Whether pass 0 (forward), 1 (dx) or 2 (dw) of s can run as kind here. */
bool conv2d_kind_fits(const dlgn_device_info *info, ocl_conv_kind kind, int pass,
                      const ocl_conv_shape *s);

/* Winograd F(2x2, 3x3) (src/nn/ops_winograd.c, cl/winograd.cl) for 3x3,
 * stride 1, pad 1 layers with even H and W. */
bool conv_wino_fits(const ocl_conv_shape *s);
size_t conv_wino_scratch_floats(const dlgn_device *dev, const ocl_conv_shape *s);
/* y (Cout, N, H, W) (+)= conv of x (Cin, N, H, W): the layer s itself, or with
 * transposed its dx (x = dy, y = dx, weights transposed and flipped, b unused
 * but a valid buffer). */
int conv_wino_apply(dlgn_device *dev, nn_buf y, nn_buf x, nn_buf w, nn_buf b,
                    nn_buf scratch, const ocl_conv_shape *s, bool transposed, bool acc);
/* dw (OC, C, 3, 3) = the weight gradient of the layer s from dy and x. */
int conv_wino_dw(dlgn_device *dev, nn_buf dw, nn_buf dy, nn_buf x, nn_buf scratch,
                 const ocl_conv_shape *s);

#endif

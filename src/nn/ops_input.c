/* The input op and fill. */
#include "nn/ops.h"
#include "dlgn/status.h"
#include "ops_internal.h"

int input_forward(dlgn_device *dev, nn_buf out, cl_mem x8, size_t x8_off, cl_mem aug,
                  size_t aug_off, int N, int H, int W, const float mean[3], const float std[3],
                  bool cnhw) {
  DLGN_TRY(OPS_CHECK_DIMS("input_forward", N, H, W));
  size_t n = (size_t)N * 3 * H * W;
  DLGN_TRY(ops_check_count("input_forward", n));
  /* a NULL aug still needs a valid buffer argument: any buffer will do */
  cl_mem aug_arg = aug ? aug : x8;
  return LAUNCH_1D(dev, "input_forward", n, ARG_BUF(out), OCL_MEM(x8), ARG_OFF(x8_off),
                   OCL_MEM(aug_arg), ARG_OFF(aug_off), OCL_INT(aug != NULL), OCL_INT(N),
                   OCL_INT(H), OCL_INT(W), OCL_FLOAT(mean[0]), OCL_FLOAT(mean[1]),
                   OCL_FLOAT(mean[2]), OCL_FLOAT(std[0]), OCL_FLOAT(std[1]),
                   OCL_FLOAT(std[2]), OCL_INT(cnhw));
}

int fill_forward(dlgn_device *dev, nn_buf out, size_t n, float value) {
  DLGN_TRY(ops_check_count("fill_forward", n));
  return LAUNCH_1D(dev, "fill_forward", n, ARG_BUF(out), OCL_INT(n), OCL_FLOAT(value));
}

int repeat_images_forward(dlgn_device *dev, nn_buf y, nn_buf x, int C, int N, int P) {
  DLGN_TRY(OPS_CHECK_DIMS("repeat_images_forward", C, N, P));
  DLGN_TRY(ops_check_count("repeat_images_forward", (size_t)C * N * P));
  ocl_arg args[] = {ARG_BUF(y), ARG_BUF(x), OCL_INT(C), OCL_INT(N), OCL_INT(P)};
  size_t vectors = ((size_t)P + 15) / 16; /* 16 positions per work-item */
  return ocl_launch(dev, "repeat_images_forward", 3,
                    (size_t[]){vectors, (size_t)N, (size_t)C}, NULL,
                    (int)(sizeof args / sizeof args[0]), args);
}

int repeat_images_backward(dlgn_device *dev, nn_buf dx, nn_buf dy, int C, int N, int P) {
  DLGN_TRY(OPS_CHECK_DIMS("repeat_images_backward", C, N, P));
  DLGN_TRY(ops_check_count("repeat_images_backward", (size_t)C * N * P));
  ocl_arg args[] = {ARG_BUF(dx), ARG_BUF(dy), OCL_INT(C), OCL_INT(N), OCL_INT(P)};
  size_t vectors = ((size_t)P + 15) / 16; /* 16 positions per work-item */
  return ocl_launch(dev, "repeat_images_backward", 2, (size_t[]){vectors, (size_t)C}, NULL,
                    (int)(sizeof args / sizeof args[0]), args);
}

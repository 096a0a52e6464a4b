/* Pooling and batch norm. */
#include "nn/ops.h"
#include "dlgn/status.h"
#include "ops_internal.h"

/* Rows of `width` elements: groups of 64 work-items, as wide as a row needs. */
static int launch_rows(dlgn_device *dev, const char *name, int width, int rows, int nargs,
                       const ocl_arg *args) {
  size_t l0 = 1;
  while (l0 < (size_t)width && l0 < 64) l0 *= 2;
  size_t local[2] = {l0, 64 / l0};
  size_t global[2] = {(size_t)width, (size_t)rows};
  return ocl_launch(dev, name, 2, global, local, nargs, args);
}

/* The checks of the 2x2 ops on P planes of H x W. */
static int planes2_check(const char *op, int P, int H, int W) {
  DLGN_TRY(OPS_CHECK_DIMS(op, P, H, W));
  if (H % 2 || W % 2) return dlgn_fail("%s: %dx%d is not even", op, H, W);
  return ops_check_count(op, (size_t)P * H * W);
}

/* A 2x2 op's forward kernel: a work-item per output element, by rows. */
static int planes2_forward(dlgn_device *dev, const char *op, nn_buf y, nn_buf x, int P, int H,
                           int W) {
  DLGN_TRY(planes2_check(op, P, H, W));
  ocl_arg args[] = {ARG_BUF(y), ARG_BUF(x), OCL_INT(P * (H / 2)), OCL_INT(W)};
  return launch_rows(dev, op, W / 2, P * (H / 2), (int)(sizeof args / sizeof args[0]), args);
}

int avgpool2_forward(dlgn_device *dev, nn_buf y, nn_buf x, int P, int H, int W) {
  return planes2_forward(dev, "avgpool2_forward", y, x, P, H, W);
}

int subsample2_forward(dlgn_device *dev, nn_buf y, nn_buf x, int P, int H, int W) {
  return planes2_forward(dev, "subsample2_forward", y, x, P, H, W);
}

int subsample2_backward(dlgn_device *dev, nn_buf dx, nn_buf dy, int P, int H, int W) {
  DLGN_TRY(planes2_check("subsample2_backward", P, H, W));
  ocl_arg args[] = {ARG_BUF(dx), ARG_BUF(dy), OCL_INT(P * H), OCL_INT(W)};
  return launch_rows(dev, "subsample2_backward", W, P * H, (int)(sizeof args / sizeof args[0]),
                     args);
}

int avgpool2_backward(dlgn_device *dev, nn_buf dx, nn_buf dy, int P, int H, int W,
                      bool accumulate) {
  DLGN_TRY(planes2_check("avgpool2_backward", P, H, W));
  ocl_arg args[] = {ARG_BUF(dx), ARG_BUF(dy), OCL_INT(P * H), OCL_INT(W),
                    OCL_INT(accumulate)};
  return launch_rows(dev, "avgpool2_backward", W, P * H, (int)(sizeof args / sizeof args[0]),
                     args);
}

int gap_forward(dlgn_device *dev, nn_buf y, nn_buf x, int C, int N, int HW) {
  DLGN_TRY(OPS_CHECK_DIMS("gap_forward", C, N, HW));
  DLGN_TRY(ops_check_count("gap_forward", (size_t)C * N * HW));
  /* a group per plane: small planes (8x8 late in a VGG) want small groups */
  size_t wg;
  DLGN_TRY(ops_reduce_wg(dev, "gap_forward", &wg));
  while (wg > 16 && wg / 2 >= (size_t)HW) wg /= 2;
  return LAUNCH_GROUPS(dev, "gap_forward", (size_t)C * N, wg, ARG_BUF(y), ARG_BUF(x), OCL_INT(C),
                       OCL_INT(N), OCL_INT(HW));
}

int gap_backward(dlgn_device *dev, nn_buf dx, nn_buf dy, int C, int N, int HW,
                 bool accumulate) {
  DLGN_TRY(OPS_CHECK_DIMS("gap_backward", C, N, HW));
  DLGN_TRY(ops_check_count("gap_backward", (size_t)C * N * HW));
  ocl_arg args[] = {ARG_BUF(dx), ARG_BUF(dy), OCL_INT(C), OCL_INT(N), OCL_INT(HW),
                     OCL_INT(accumulate)};
  return launch_rows(dev, "gap_backward", HW, C * N, (int)(sizeof args / sizeof args[0]), args);
}

int batchnorm_forward(dlgn_device *dev, nn_buf y, nn_buf x, nn_buf gamma, nn_buf beta,
                      nn_buf running_mean, nn_buf running_var, nn_buf save_mean,
                      nn_buf save_invstd, int C, int M, float momentum, float eps,
                      bool training) {
  return batchnorm_forward_fused(dev, y, x, gamma, beta, running_mean, running_var, save_mean,
                                 save_invstd, C, M, momentum, eps, training,
                                 (nn_buf){NULL, 0}, 0, NULL);
}

int batchnorm_forward_fused(dlgn_device *dev, nn_buf y, nn_buf x, nn_buf gamma,
                            nn_buf beta, nn_buf running_mean, nn_buf running_var,
                            nn_buf save_mean, nn_buf save_invstd, int C, int M,
                            float momentum, float eps, bool training, nn_buf res, int RC,
                            const conv_epilogue *e) {
  DLGN_TRY(OPS_CHECK_DIMS("batchnorm_forward", C, M));
  DLGN_TRY(ops_check_count("batchnorm_forward", (size_t)C * M));
  if (res.mem && (RC < 1 || RC > C))
    return dlgn_fail("batchnorm_forward: a shortcut of %d channels onto %d", RC, C);
  if (!res.mem) {
    res = y; /* never read */
    RC = 0;
  }
  if (!training) {
    /* a work-item per 16 values of a channel, the channels along dimension
     * 1; groups of 64 along a channel (a GPU's warp or wavefront) */
    size_t local = dev->info.max_work_group < 64 ? dev->info.max_work_group : 64;
    ocl_arg args[] = {ARG_BUF(y),           ARG_BUF(x),          ARG_BUF(gamma),
                       ARG_BUF(beta),        ARG_BUF(running_mean), ARG_BUF(running_var),
                       OCL_INT(M),          OCL_FLOAT(eps),     ARG_BUF(res),
                       OCL_INT(RC),         ARGS_EPI(e, y)};
    return ocl_launch(dev, "batchnorm_forward_eval", 2,
                      (size_t[]){((size_t)M + 15) / 16, (size_t)C}, (size_t[]){local, 1},
                      (int)(sizeof args / sizeof args[0]), args);
  }
  size_t wg;
  DLGN_TRY(ops_reduce_wg(dev, "batchnorm_forward_train", &wg));
  return LAUNCH_GROUPS(dev, "batchnorm_forward_train", (size_t)C, wg, ARG_BUF(y), ARG_BUF(x),
                       ARG_BUF(gamma), ARG_BUF(beta), ARG_BUF(running_mean),
                       ARG_BUF(running_var), ARG_BUF(save_mean), ARG_BUF(save_invstd),
                       OCL_INT(M), OCL_FLOAT(momentum), OCL_FLOAT(eps), ARG_BUF(res),
                       OCL_INT(RC), ARGS_EPI(e, y));
}

int batchnorm_backward(dlgn_device *dev, nn_buf dx, nn_buf dgamma, nn_buf dbeta,
                       nn_buf dy, nn_buf x, nn_buf gamma, nn_buf save_mean,
                       nn_buf save_invstd, int C, int M) {
  DLGN_TRY(OPS_CHECK_DIMS("batchnorm_backward", C, M));
  DLGN_TRY(ops_check_count("batchnorm_backward", (size_t)C * M));
  size_t wg;
  DLGN_TRY(ops_reduce_wg(dev, "batchnorm_backward", &wg));
  return LAUNCH_GROUPS(dev, "batchnorm_backward", (size_t)C, wg, ARG_BUF(dx), ARG_BUF(dgamma),
                       ARG_BUF(dbeta), ARG_BUF(dy), ARG_BUF(x), ARG_BUF(gamma),
                       ARG_BUF(save_mean), ARG_BUF(save_invstd), OCL_INT(M));
}

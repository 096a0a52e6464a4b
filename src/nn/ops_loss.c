/* Softmax cross-entropy. */
#include "nn/ops.h"
#include "dlgn/status.h"
#include "ops_internal.h"

int xent_forward(dlgn_device *dev, nn_buf loss, cl_mem correct, size_t correct_off,
                 nn_buf logits, cl_mem labels, size_t labels_off, int N, int K) {
  DLGN_TRY(OPS_CHECK_DIMS("xent_forward", N, K));
  DLGN_TRY(ops_check_count("xent_forward", (size_t)N * K));
  /* one work-group: a batch's loss is small work, and a single group needs no
   * second pass or atomics to finish the mean */
  size_t wg;
  DLGN_TRY(ops_reduce_wg(dev, "xent_forward", &wg));
  return LAUNCH_GROUPS(dev, "xent_forward", 1, wg, ARG_BUF(loss), OCL_MEM(correct),
                       ARG_OFF(correct_off), ARG_BUF(logits), OCL_MEM(labels),
                       ARG_OFF(labels_off), OCL_INT(N), OCL_INT(K));
}

int xent_backward(dlgn_device *dev, nn_buf dlogits, nn_buf logits, cl_mem labels,
                  size_t labels_off, int N, int K) {
  DLGN_TRY(OPS_CHECK_DIMS("xent_backward", N, K));
  DLGN_TRY(ops_check_count("xent_backward", (size_t)N * K));
  return LAUNCH_1D(dev, "xent_backward", (size_t)N, ARG_BUF(dlogits), ARG_BUF(logits),
                   OCL_MEM(labels), ARG_OFF(labels_off), OCL_INT(N), OCL_INT(K));
}

/* The shortcut of a residual block (cl/residual.cl). */
#include "nn/ops.h"
#include "dlgn/status.h"
#include "ops_internal.h"

static int shortcut_check(const char *op, int C, int OC, int N, int H, int W, int stride) {
  DLGN_TRY(OPS_CHECK_DIMS(op, C, OC, N, H, W, stride));
  if (OC < C) return dlgn_fail("%s: %d output channels < %d input channels", op, OC, C);
  if (H % stride || W % stride)
    return dlgn_fail("%s: %dx%d is not a multiple of the stride %d", op, H, W, stride);
  return ops_check_count(op, (size_t)OC * N * H * W);
}

/* The kernels' range over the first C channels of planes of H x W (the
 * smaller side): at stride 1 elements, 16 per work-item; past it rows, one
 * each (cl/residual.cl). */
static int shortcut_count(int C, int N, int H, int W, int stride, size_t *items) {
  int count = stride == 1 ? C * N * H * W : C * N * H;
  *items = stride == 1 ? ((size_t)count + 15) / 16 : (size_t)count;
  return count;
}

int shortcut_add_forward(dlgn_device *dev, nn_buf y, nn_buf x, int C, int OC, int N, int H,
                         int W, int stride) {
  DLGN_TRY(shortcut_check("shortcut_add_forward", C, OC, N, H, W, stride));
  int HO = H / stride, WO = W / stride;
  size_t items;
  int count = shortcut_count(C, N, HO, WO, stride, &items);
  return LAUNCH_1D(dev, "shortcut_add_forward", items, ARG_BUF(y), ARG_BUF(x), OCL_INT(count),
                   OCL_INT(H), OCL_INT(W), OCL_INT(HO), OCL_INT(WO), OCL_INT(stride));
}

int shortcut_add_backward(dlgn_device *dev, nn_buf dx, nn_buf dy, int C, int OC, int N, int H,
                          int W, int stride, bool accumulate) {
  DLGN_TRY(shortcut_check("shortcut_add_backward", C, OC, N, H, W, stride));
  int HO = H / stride, WO = W / stride;
  size_t items;
  int count = shortcut_count(C, N, H, W, stride, &items);
  return LAUNCH_1D(dev, "shortcut_add_backward", items, ARG_BUF(dx), ARG_BUF(dy), OCL_INT(count),
                   OCL_INT(H), OCL_INT(W), OCL_INT(HO), OCL_INT(WO), OCL_INT(stride),
                   OCL_INT(accumulate));
}

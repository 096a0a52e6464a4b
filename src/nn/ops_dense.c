/* The dense layer: two GEMMs through ocl_gemm plus the bias kernels. */
#include "cl/gemm.h"
#include "nn/ops.h"
#include "dlgn/status.h"
#include "ops_internal.h"

/* x (N,IN), w (OUT,IN), b (OUT) -> y (N,OUT) = b + x w^T */
int dense_forward(dlgn_device *dev, nn_buf y, nn_buf x, nn_buf w, nn_buf b, int N, int IN,
                  int OUT) {
  DLGN_TRY(OPS_CHECK_DIMS("dense_forward", N, IN, OUT));
  size_t n = (size_t)N * OUT;
  DLGN_TRY(ops_check_count("dense_forward", n));
  DLGN_TRY(LAUNCH_1D(dev, "bias_rows", n, ARG_BUF(y), ARG_BUF(b), OCL_INT(N), OCL_INT(OUT)));
  return ocl_gemm(dev, false, true, (size_t)N, (size_t)OUT, (size_t)IN, 1.0f, x.mem, x.off,
                  (size_t)IN, w.mem, w.off, (size_t)IN, 1.0f, y.mem, y.off, (size_t)OUT);
}

/* dy (N,OUT) -> db = column sums of dy, dw = dy^T x, dx (+)= dy w */
int dense_backward(dlgn_device *dev, nn_buf dx, nn_buf dw, nn_buf db, nn_buf dy,
                   nn_buf x, nn_buf w, int N, int IN, int OUT, bool accumulate_dx) {
  DLGN_TRY(OPS_CHECK_DIMS("dense_backward", N, IN, OUT));
  DLGN_TRY(ops_check_count("dense_backward", (size_t)N * (IN > OUT ? IN : OUT)));
  DLGN_TRY(ocl_launch(dev, "col_sum", 2, (size_t[]){((size_t)OUT + 15) / 16 * 16, 16},
                      (size_t[]){16, 16},
                      OPS_NARGS(ARG_BUF(db), ARG_BUF(dy), OCL_INT(N), OCL_INT(OUT)),
                      (ocl_arg[]){ARG_BUF(db), ARG_BUF(dy), OCL_INT(N), OCL_INT(OUT)}));
  DLGN_TRY(ocl_gemm(dev, true, false, (size_t)OUT, (size_t)IN, (size_t)N, 1.0f, dy.mem, dy.off,
                    (size_t)OUT, x.mem, x.off, (size_t)IN, 0.0f, dw.mem, dw.off, (size_t)IN));
  if (!dx.mem) return 0;
  return ocl_gemm(dev, false, false, (size_t)N, (size_t)IN, (size_t)OUT, 1.0f, dy.mem, dy.off,
                  (size_t)OUT, w.mem, w.off, (size_t)IN, accumulate_dx ? 1.0f : 0.0f, dx.mem,
                  dx.off, (size_t)IN);
}

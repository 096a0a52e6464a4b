/* The dense layer: two GEMMs through dlgn_gemm plus the bias kernels. */
#include "cl/gemm.h"
#include "nn/ops.h"
#include "dlgn/status.h"
#include "ops_internal.h"

/* x (N,IN), w (OUT,IN), b (OUT) -> y (N,OUT) = b + x w^T */
int dense_forward(dlgn_device *dev, dlgn_buf y, dlgn_buf x, dlgn_buf w, dlgn_buf b, int N, int IN,
                  int OUT) {
  DLGN_TRY(OPS_CHECK_DIMS("dense_forward", N, IN, OUT));
  size_t n = (size_t)N * OUT;
  DLGN_TRY(ops_check_count("dense_forward", n));
  DLGN_TRY(LAUNCH_1D(dev, "bias_rows", n, ARG_BUF(y), ARG_BUF(b), DLGN_INT(N), DLGN_INT(OUT)));
  return dlgn_gemm(dev, false, true, (size_t)N, (size_t)OUT, (size_t)IN, 1.0f, x.mem, x.off,
                   (size_t)IN, w.mem, w.off, (size_t)IN, 1.0f, y.mem, y.off, (size_t)OUT);
}

/* dy (N,OUT) -> db = column sums of dy, dw = dy^T x, dx (+)= dy w */
int dense_backward(dlgn_device *dev, dlgn_buf dx, dlgn_buf dw, dlgn_buf db, dlgn_buf dy,
                   dlgn_buf x, dlgn_buf w, int N, int IN, int OUT, bool accumulate_dx) {
  DLGN_TRY(OPS_CHECK_DIMS("dense_backward", N, IN, OUT));
  DLGN_TRY(ops_check_count("dense_backward", (size_t)N * (IN > OUT ? IN : OUT)));
  DLGN_TRY(dlgn_launch(dev, "col_sum", 2, (size_t[]){((size_t)OUT + 15) / 16 * 16, 16},
                       (size_t[]){16, 16},
                       OPS_NARGS(ARG_BUF(db), ARG_BUF(dy), DLGN_INT(N), DLGN_INT(OUT)),
                       (dlgn_arg[]){ARG_BUF(db), ARG_BUF(dy), DLGN_INT(N), DLGN_INT(OUT)}));
  DLGN_TRY(dlgn_gemm(dev, true, false, (size_t)OUT, (size_t)IN, (size_t)N, 1.0f, dy.mem, dy.off,
                     (size_t)OUT, x.mem, x.off, (size_t)IN, 0.0f, dw.mem, dw.off, (size_t)IN));
  if (!dx.mem) return 0;
  return dlgn_gemm(dev, false, false, (size_t)N, (size_t)IN, (size_t)OUT, 1.0f, dy.mem, dy.off,
                   (size_t)OUT, w.mem, w.off, (size_t)IN, accumulate_dx ? 1.0f : 0.0f, dx.mem,
                   dx.off, (size_t)IN);
}

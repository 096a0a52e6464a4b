/* Gates, gate shuffles and ReLU: one elementwise kernel each. */
#include "nn/ops.h"
#include "dlgn/status.h"
#include "ops_internal.h"

int gate_forward(dlgn_device *dev, nn_buf out, nn_buf v, nn_buf q, size_t n, float beta,
                 dlgn_gate_kind kind) {
  DLGN_TRY(ops_check_count("gate_forward", n));
  return LAUNCH_1D(dev, "gate_forward", (n + 15) / 16, ARG_BUF(out), ARG_BUF(v), ARG_BUF(q), OCL_INT(n),
                   OCL_FLOAT(beta), OCL_INT(kind == DLGN_GATE_HARD));
}

/* Hard gates have no gradient in q: dq is left alone when accumulating and
 * zeroed otherwise, so that a caller need not special-case the kind. */
int gate_backward(dlgn_device *dev, nn_buf dv, nn_buf dq, nn_buf dout, nn_buf v,
                  nn_buf q, size_t n, float beta, dlgn_gate_kind kind, bool accumulate_dq) {
  DLGN_TRY(ops_check_count("gate_backward", n));
  bool has_dq = dq.mem != NULL && !(kind == DLGN_GATE_HARD && accumulate_dq);
  nn_buf dq_arg = dq.mem ? dq : dv; /* a valid buffer argument even when unused */
  return LAUNCH_1D(dev, "gate_backward", (n + 15) / 16, ARG_BUF(dv), ARG_BUF(dq_arg), OCL_INT(has_dq),
                   OCL_INT(accumulate_dq), ARG_BUF(dout), ARG_BUF(v), ARG_BUF(q), OCL_INT(n),
                   OCL_FLOAT(beta), OCL_INT(kind == DLGN_GATE_HARD));
}

static int gap_fused_check(const char *op, int C, int N, int HW) {
  DLGN_TRY(OPS_CHECK_DIMS(op, C, N, HW));
  if (HW % 16) return dlgn_fail("%s: planes of %d are not whole vectors of 16", op, HW);
  return ops_check_count(op, (size_t)C * N * HW);
}

int gate_backward_gap(dlgn_device *dev, nn_buf dv, nn_buf dq, nn_buf dh, nn_buf v,
                      nn_buf q, int C, int N, int HW, float beta, dlgn_gate_kind kind,
                      bool accumulate_dq) {
  DLGN_TRY(gap_fused_check("gate_backward_gap", C, N, HW));
  bool has_dq = dq.mem != NULL && !(kind == DLGN_GATE_HARD && accumulate_dq);
  nn_buf dq_arg = dq.mem ? dq : dv; /* a valid buffer argument even when unused */
  return LAUNCH_1D(dev, "gate_backward_gap", (size_t)C * N * HW / 16, ARG_BUF(dv),
                   ARG_BUF(dq_arg), OCL_INT(has_dq), OCL_INT(accumulate_dq), ARG_BUF(dh),
                   ARG_BUF(v), ARG_BUF(q), OCL_INT(C), OCL_INT(N), OCL_INT(HW),
                   OCL_FLOAT(beta), OCL_INT(kind == DLGN_GATE_HARD));
}

int relu_backward_gap(dlgn_device *dev, nn_buf dx, nn_buf dh, nn_buf x, int C, int N,
                      int HW) {
  DLGN_TRY(gap_fused_check("relu_backward_gap", C, N, HW));
  return LAUNCH_1D(dev, "relu_backward_gap", (size_t)C * N * HW / 16, ARG_BUF(dx), ARG_BUF(dh),
                   ARG_BUF(x), OCL_INT(C), OCL_INT(N), OCL_INT(HW));
}

int permute_channels_forward(dlgn_device *dev, nn_buf y, nn_buf x, cl_mem perm, int outer,
                             int C, int inner) {
  DLGN_TRY(OPS_CHECK_DIMS("permute_channels_forward", outer, C, inner));
  size_t n = (size_t)outer * C * inner;
  DLGN_TRY(ops_check_count("permute_channels_forward", n));
  return LAUNCH_1D(dev, "permute_channels_forward", n, ARG_BUF(y), ARG_BUF(x), OCL_MEM(perm),
                   OCL_INT(outer), OCL_INT(C), OCL_INT(inner));
}

int permute_channels_backward(dlgn_device *dev, nn_buf dx, nn_buf dy, cl_mem perm, int outer,
                              int C, int inner, bool accumulate) {
  DLGN_TRY(OPS_CHECK_DIMS("permute_channels_backward", outer, C, inner));
  size_t n = (size_t)outer * C * inner;
  DLGN_TRY(ops_check_count("permute_channels_backward", n));
  return LAUNCH_1D(dev, "permute_channels_backward", n, ARG_BUF(dx), ARG_BUF(dy), OCL_MEM(perm),
                   OCL_INT(outer), OCL_INT(C), OCL_INT(inner), OCL_INT(accumulate));
}

int relu_forward(dlgn_device *dev, nn_buf y, nn_buf x, size_t n) {
  DLGN_TRY(ops_check_count("relu_forward", n));
  return LAUNCH_1D(dev, "relu_forward", (n + 15) / 16, ARG_BUF(y), ARG_BUF(x), OCL_INT(n));
}

int relu_backward(dlgn_device *dev, nn_buf dx, nn_buf dy, nn_buf x, size_t n,
                  bool accumulate) {
  DLGN_TRY(ops_check_count("relu_backward", n));
  return LAUNCH_1D(dev, "relu_backward", (n + 15) / 16, ARG_BUF(dx), ARG_BUF(dy), ARG_BUF(x), OCL_INT(n),
                   OCL_INT(accumulate));
}

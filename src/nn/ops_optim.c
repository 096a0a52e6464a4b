/* Optimizer updates and axpy. */
#include <math.h>

#include "nn/ops.h"
#include "dlgn/status.h"
#include "ops_internal.h"

int sgd_update(dlgn_device *dev, nn_buf params, nn_buf grads, nn_buf mom, size_t n,
               float lr, float momentum, float weight_decay, bool nesterov, bool first_step) {
  DLGN_TRY(ops_check_count("sgd_update", n));
  bool has_mom = momentum != 0.0f;
  if (has_mom && !mom.mem) return dlgn_fail("sgd_update: momentum %g needs a buffer", momentum);
  nn_buf mom_arg = has_mom ? mom : grads; /* a valid argument, never written */
  return LAUNCH_1D(dev, "sgd_update", n, ARG_BUF(params), ARG_BUF(grads), ARG_BUF(mom_arg),
                   OCL_INT(n), OCL_FLOAT(lr), OCL_FLOAT(momentum), OCL_FLOAT(weight_decay),
                   OCL_INT(nesterov), OCL_INT(first_step), OCL_INT(has_mom));
}

int adam_update(dlgn_device *dev, nn_buf params, nn_buf grads, nn_buf m, nn_buf v,
                size_t n, float lr, float beta1, float beta2, float eps, float weight_decay,
                int t) {
  DLGN_TRY(ops_check_count("adam_update", n));
  if (t < 1) return dlgn_fail("adam_update: step %d, must be >= 1", t);
  /* the bias corrections in double, as PyTorch does on the host */
  double step_size = (double)lr / (1.0 - pow(beta1, t));
  double bc2_sqrt = sqrt(1.0 - pow(beta2, t));
  return LAUNCH_1D(dev, "adam_update", (n + 15) / 16, ARG_BUF(params), ARG_BUF(grads), ARG_BUF(m), ARG_BUF(v),
                   OCL_INT(n), OCL_FLOAT(step_size), OCL_FLOAT(beta1), OCL_FLOAT(beta2),
                   OCL_FLOAT(eps), OCL_FLOAT(weight_decay), OCL_FLOAT(bc2_sqrt));
}

int axpy(dlgn_device *dev, nn_buf y, nn_buf x, size_t n, float alpha) {
  DLGN_TRY(ops_check_count("axpy", n));
  return LAUNCH_1D(dev, "axpy", (n + 15) / 16, ARG_BUF(y), ARG_BUF(x), OCL_INT(n), OCL_FLOAT(alpha));
}

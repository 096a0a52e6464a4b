/* Batch norm per channel of x viewed as (C,M): one work-group per channel
 * computes the statistics and then normalises its channel, so each op is one
 * launch. Two passes (mean, then squared deviations) keep the variance
 * accurate when the mean is large. */

/* training: x (C,M) -> y, save_mean/save_invstd (C), running stats updated */
__kernel void batchnorm_forward_train(__global float *y, ulong y_off, __global const float *x,
                                      ulong x_off, __global const float *gamma, ulong gamma_off,
                                      __global const float *beta, ulong beta_off,
                                      __global float *rmean, ulong rmean_off,
                                      __global float *rvar, ulong rvar_off,
                                      __global float *smean, ulong smean_off,
                                      __global float *sinvstd, ulong sinvstd_off, int M,
                                      float momentum, float eps) {
  __local float scratch[DLGN_RED_WG];
  int c = (int)get_group_id(0);
  int l = (int)get_local_id(0), ls = (int)get_local_size(0);
  __global const float *xc = x + x_off + (size_t)c * M;
  __global float *yc = y + y_off + (size_t)c * M;
  float mean = dlgn_wg_sum(scratch, dlgn_strided_sum(xc, M, l, ls)) / (float)M;
  float ss = 0.0f;
  for (int i = l; i < M; i += ls) {
    float d = xc[i] - mean;
    ss += d * d;
  }
  ss = dlgn_wg_sum(scratch, ss);
  float var = ss / (float)M;
  float invstd = 1.0f / sqrt(var + eps);
  if (l == 0) {
    float unbiased = M > 1 ? ss / (float)(M - 1) : var;
    rmean[rmean_off + c] = (1.0f - momentum) * rmean[rmean_off + c] + momentum * mean;
    rvar[rvar_off + c] = (1.0f - momentum) * rvar[rvar_off + c] + momentum * unbiased;
    smean[smean_off + c] = mean;
    sinvstd[sinvstd_off + c] = invstd;
  }
  float g = gamma[gamma_off + c] * invstd, b = beta[beta_off + c];
  for (int i = l; i < M; i += ls) yc[i] = (xc[i] - mean) * g + b;
}

/* evaluation: an affine map per channel from the running statistics */
__kernel void batchnorm_forward_eval(__global float *y, ulong y_off, __global const float *x,
                                     ulong x_off, __global const float *gamma, ulong gamma_off,
                                     __global const float *beta, ulong beta_off,
                                     __global const float *rmean, ulong rmean_off,
                                     __global const float *rvar, ulong rvar_off, int C, int M,
                                     float eps) {
  int j = GID0;
  if (j >= C * M) return;
  int c = j / M;
  float invstd = 1.0f / sqrt(rvar[rvar_off + c] + eps);
  y[y_off + j] =
      (x[x_off + j] - rmean[rmean_off + c]) * invstd * gamma[gamma_off + c] + beta[beta_off + c];
}

/* dy (C,M) -> dbeta = sum dy, dgamma = sum dy*xhat, and
 * dx = gamma*invstd*(dy - dbeta/M - xhat*dgamma/M) */
__kernel void batchnorm_backward(__global float *dx, ulong dx_off, __global float *dgamma,
                                 ulong dgamma_off, __global float *dbeta, ulong dbeta_off,
                                 __global const float *dy, ulong dy_off, __global const float *x,
                                 ulong x_off, __global const float *gamma, ulong gamma_off,
                                 __global const float *smean, ulong smean_off,
                                 __global const float *sinvstd, ulong sinvstd_off, int M) {
  __local float scratch[DLGN_RED_WG];
  int c = (int)get_group_id(0);
  int l = (int)get_local_id(0), ls = (int)get_local_size(0);
  __global const float *xc = x + x_off + (size_t)c * M;
  __global const float *gc = dy + dy_off + (size_t)c * M;
  float mean = smean[smean_off + c], invstd = sinvstd[sinvstd_off + c];
  float sg = 0.0f, sgx = 0.0f;
  for (int i = l; i < M; i += ls) {
    sg += gc[i];
    sgx += gc[i] * (xc[i] - mean);
  }
  sg = dlgn_wg_sum(scratch, sg);
  sgx = dlgn_wg_sum(scratch, sgx) * invstd;
  if (l == 0) {
    dbeta[dbeta_off + c] = sg;
    dgamma[dgamma_off + c] = sgx;
  }
  float k = gamma[gamma_off + c] * invstd, mg = sg / (float)M, mgx = sgx / (float)M;
  __global float *dxc = dx + dx_off + (size_t)c * M;
  for (int i = l; i < M; i += ls) dxc[i] = k * (gc[i] - mg - (xc[i] - mean) * invstd * mgx);
}

/* Batch norm per channel of x viewed as (C,M): one work-group per channel
 * computes the statistics and then normalises its channel, so each op is one
 * launch. A work-item takes whole vectors of 16 at a stride of the group
 * (every cache line is read by one work-item, once per pass), and the tail
 * element by element. The statistics are one pass of sums shifted by the
 * mean of the channel's first 16 values, so they lose little to
 * cancellation however far the mean lies from zero. */

/* The shift of channel xc's sums: the mean of its first (up to) 16 values */
float bn_shift(__global const float *xc, int M) {
  int n = min(M, 16);
  float s = 0.0f;
  for (int i = 0; i < n; i++) s += xc[i];
  return s / (float)n;
}

/* training: x (C,M) -> y, save_mean/save_invstd (C), running stats updated;
 * a residual r (RC,M) added to y's first RC channels (a shortcut); epi
 * (conv_epilogue16: 0 none, 1 soft gate, 2 hard gate, 3 ReLU) also writes
 * out from y (and the gate's q) as y is stored */
__kernel void batchnorm_forward_train(__global float *y, ulong y_off, __global const float *x,
                                      ulong x_off, __global const float *gamma, ulong gamma_off,
                                      __global const float *beta, ulong beta_off,
                                      __global float *rmean, ulong rmean_off,
                                      __global float *rvar, ulong rvar_off,
                                      __global float *smean, ulong smean_off,
                                      __global float *sinvstd, ulong sinvstd_off, int M,
                                      float momentum, float eps, __global const float *r,
                                      ulong r_off, int RC, __global float *out,
                                      ulong out_off, __global const float *q, ulong q_off,
                                      int epi, float gbeta) {
  __local float scratch[DLGN_RED_WG];
  int c = (int)get_group_id(0);
  int l = (int)get_local_id(0), ls = (int)get_local_size(0);
  size_t at = (size_t)c * M;
  __global const float *xc = x + x_off + at;
  float k = bn_shift(xc, M);
  int nv = M / 16;
  float16 a1 = (float16)(0.0f), a2 = (float16)(0.0f);
  for (int v = l; v < nv; v += ls) {
    float16 d = vload16(v, xc) - k;
    a1 += d;
    a2 = fma(d, d, a2);
  }
  float s1 = dlgn_lane_sum16(a1), s2 = dlgn_lane_sum16(a2);
  for (int i = 16 * nv + l; i < M; i += ls) {
    float d = xc[i] - k;
    s1 += d;
    s2 += d * d;
  }
  s1 = dlgn_wg_sum(scratch, s1);
  s2 = dlgn_wg_sum(scratch, s2);
  float dm = s1 / (float)M;
  float var = fmax(s2 / (float)M - dm * dm, 0.0f);
  float mean = k + dm;
  float invstd = 1.0f / sqrt(var + eps);
  if (l == 0) {
    float unbiased = M > 1 ? var * ((float)M / (float)(M - 1)) : var;
    rmean[rmean_off + c] = (1.0f - momentum) * rmean[rmean_off + c] + momentum * mean;
    rvar[rvar_off + c] = (1.0f - momentum) * rvar[rvar_off + c] + momentum * unbiased;
    smean[smean_off + c] = mean;
    sinvstd[sinvstd_off + c] = invstd;
  }
  float g = gamma[gamma_off + c] * invstd, b = beta[beta_off + c];
  __global float *yc = y + y_off + at, *oc = out + out_off + at;
  __global const float *qc = q + q_off + at, *rc = r + r_off + at;
  int res = c < RC;
  for (int v = l; v < nv; v += ls) {
    float16 z = (vload16(v, xc) - mean) * g + b;
    if (res) z += vload16(v, rc);
    vstore16(z, v, yc);
    if (epi) vstore16(conv_epilogue16(z, vload16(v, qc), epi, gbeta), v, oc);
  }
  for (int i = 16 * nv + l; i < M; i += ls) {
    float z = (xc[i] - mean) * g + b;
    if (res) z += rc[i];
    yc[i] = z;
    if (epi) oc[i] = conv_epilogue1(z, qc[i], epi, gbeta);
  }
}

/* evaluation: an affine map per channel from the running statistics (and
 * r and epi as above); a work-item per 16 values of a channel, dimension 1
 * the channel */
__kernel void batchnorm_forward_eval(__global float *y, ulong y_off, __global const float *x,
                                     ulong x_off, __global const float *gamma, ulong gamma_off,
                                     __global const float *beta, ulong beta_off,
                                     __global const float *rmean, ulong rmean_off,
                                     __global const float *rvar, ulong rvar_off, int M,
                                     float eps, __global const float *r, ulong r_off,
                                     int RC, __global float *out, ulong out_off,
                                     __global const float *q, ulong q_off, int epi,
                                     float gbeta) {
  int i0 = GID0 * 16, c = GID1;
  if (i0 >= M) return;
  float g = gamma[gamma_off + c] / sqrt(rvar[rvar_off + c] + eps);
  float mean = rmean[rmean_off + c], b = beta[beta_off + c];
  size_t at = (size_t)c * M + i0;
  __global const float *xc = x + x_off + at, *qc = q + q_off + at, *rc = r + r_off + at;
  __global float *yc = y + y_off + at, *oc = out + out_off + at;
  int res = c < RC;
  if (i0 + 16 <= M) {
    float16 z = (vload16(0, xc) - mean) * g + b;
    if (res) z += vload16(0, rc);
    vstore16(z, 0, yc);
    if (epi) vstore16(conv_epilogue16(z, vload16(0, qc), epi, gbeta), 0, oc);
    return;
  }
  for (int i = 0; i < M - i0; i++) {
    float z = (xc[i] - mean) * g + b;
    if (res) z += rc[i];
    yc[i] = z;
    if (epi) oc[i] = conv_epilogue1(z, qc[i], epi, gbeta);
  }
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
  size_t at = (size_t)c * M;
  __global const float *xc = x + x_off + at, *gc = dy + dy_off + at;
  float mean = smean[smean_off + c], invstd = sinvstd[sinvstd_off + c];
  int nv = M / 16;
  float16 a1 = (float16)(0.0f), a2 = (float16)(0.0f);
  for (int v = l; v < nv; v += ls) {
    float16 d = vload16(v, gc);
    a1 += d;
    a2 = fma(d, vload16(v, xc) - mean, a2);
  }
  float sg = dlgn_lane_sum16(a1), sgx = dlgn_lane_sum16(a2);
  for (int i = 16 * nv + l; i < M; i += ls) {
    sg += gc[i];
    sgx += gc[i] * (xc[i] - mean);
  }
  sg = dlgn_wg_sum(scratch, sg);
  sgx = dlgn_wg_sum(scratch, sgx) * invstd;
  if (l == 0) {
    dbeta[dbeta_off + c] = sg;
    dgamma[dgamma_off + c] = sgx;
  }
  float k = gamma[gamma_off + c] * invstd, mg = sg / (float)M, mgx = sgx / (float)M * invstd;
  __global float *dxc = dx + dx_off + at;
  for (int v = l; v < nv; v += ls)
    vstore16(k * (vload16(v, gc) - mg - (vload16(v, xc) - mean) * mgx), v, dxc);
  for (int i = 16 * nv + l; i < M; i += ls) dxc[i] = k * (gc[i] - mg - (xc[i] - mean) * mgx);
}

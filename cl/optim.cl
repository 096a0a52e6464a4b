/* Optimizer updates on a flat range of parameters (PyTorch semantics, see
 * ops.h). */

/* has_mom = 0 (momentum 0): plain p -= lr*(g + wd*p), no buffer */
__kernel void sgd_update(__global float *p, ulong p_off, __global const float *grad, ulong g_off,
                         __global float *mom, ulong m_off, int n, float lr, float momentum,
                         float wd, int nesterov, int first_step, int has_mom) {
  int i = GID0;
  if (i >= n) return;
  float w = p[p_off + i];
  float g = grad[g_off + i] + wd * w;
  float step = g;
  if (has_mom) {
    float m = first_step ? g : momentum * mom[m_off + i] + g;
    mom[m_off + i] = m;
    step = nesterov ? g + momentum * m : m;
  }
  p[p_off + i] = w - lr * step;
}

/* step_size = lr/(1-b1^t), bc2_sqrt = sqrt(1-b2^t), computed on the host in
 * double. A work-item per 16 parameters (as float16 arithmetic; one per
 * parameter ran at 11 GB/s on PoCL), the last one also the tail. */
__kernel void adam_update(__global float *p, ulong p_off, __global const float *grad, ulong g_off,
                          __global float *m, ulong m_off, __global float *v, ulong v_off, int n,
                          float step_size, float beta1, float beta2, float eps, float wd,
                          float bc2_sqrt) {
  int i0 = GID0 * 16;
  if (i0 >= n) return;
  if (i0 + 16 <= n) {
    float16 w = vload16(0, p + p_off + i0);
    float16 g = vload16(0, grad + g_off + i0) + wd * w;
    float16 mi = beta1 * vload16(0, m + m_off + i0) + (1.0f - beta1) * g;
    float16 vi = beta2 * vload16(0, v + v_off + i0) + (1.0f - beta2) * g * g;
    vstore16(mi, 0, m + m_off + i0);
    vstore16(vi, 0, v + v_off + i0);
    vstore16(w - step_size * mi / (sqrt(vi) / bc2_sqrt + eps), 0, p + p_off + i0);
    return;
  }
  for (int i = i0; i < n; i++) {
    float w = p[p_off + i];
    float g = grad[g_off + i] + wd * w;
    float mi = beta1 * m[m_off + i] + (1.0f - beta1) * g;
    float vi = beta2 * v[v_off + i] + (1.0f - beta2) * g * g;
    m[m_off + i] = mi;
    v[v_off + i] = vi;
    p[p_off + i] = w - step_size * mi / (sqrt(vi) / bc2_sqrt + eps);
  }
}

/* y += alpha * x, a work-item per 16 elements */
__kernel void axpy(__global float *y, ulong y_off, __global const float *x, ulong x_off, int n,
                   float alpha) {
  int i0 = GID0 * 16;
  if (i0 >= n) return;
  if (i0 + 16 <= n) {
    vstore16(vload16(0, y + y_off + i0) + alpha * vload16(0, x + x_off + i0), 0, y + y_off + i0);
    return;
  }
  for (int i = i0; i < n; i++) y[y_off + i] += alpha * x[x_off + i];
}

/* The DGN's gate, the gate shuffles, and ReLU: elementwise, one work-item per
 * element. "acc" flags select += (a gradient that sums several paths). */

/* The gate of 16 elements at once: CPU runtimes run a work-item's explicit
 * vector arithmetic as one vector instruction, and the exp of the soft gate
 * then costs about what the memory traffic does (one work-item per element
 * ran at half the memory speed there). */
float16 gate16(float16 q, float beta, int hard) {
  if (hard) return select((float16)(0.0f), (float16)(1.0f), q > 0.0f);
  return dlgn_sigmoid16(beta * q);
}

/* v, q (n) -> out = v * sigmoid(beta*q) (soft) or v * (q > 0) (hard); a
 * work-item per 16 elements, the last one also the tail */
__kernel void gate_forward(__global float *out, ulong out_off, __global const float *v,
                           ulong v_off, __global const float *q, ulong q_off, int n, float beta,
                           int hard) {
  int i0 = GID0 * 16;
  if (i0 >= n) return;
  if (i0 + 16 <= n) {
    float16 g = gate16(vload16(0, q + q_off + i0), beta, hard);
    vstore16(vload16(0, v + v_off + i0) * g, 0, out + out_off + i0);
    return;
  }
  for (int i = i0; i < n; i++) {
    float qi = q[q_off + i];
    float g = hard ? (qi > 0.0f ? 1.0f : 0.0f) : dlgn_sigmoid(beta * qi);
    out[out_off + i] = v[v_off + i] * g;
  }
}

/* The gate's backward for 16 elements from i0, given their dout d: dv = d *
 * g; dq (has_dq) = d * v * beta * g * (1 - g), zero for hard gates (a step
 * has no gradient), added to dq with acc_dq */
void gate_backward16(float16 d, __global float *dv, __global float *dq, int has_dq, int acc_dq,
                     __global const float *v, __global const float *q, float beta, int hard) {
  float16 g = gate16(vload16(0, q), beta, hard);
  vstore16(d * g, 0, dv);
  if (!has_dq) return;
  float16 grad = hard ? (float16)(0.0f) : d * vload16(0, v) * beta * g * (1.0f - g);
  if (acc_dq) grad += vload16(0, dq);
  vstore16(grad, 0, dq);
}

/* dout -> dv, dq as gate_backward16; a work-item per 16 elements, the last
 * one also the tail */
__kernel void gate_backward(__global float *dv, ulong dv_off, __global float *dq, ulong dq_off,
                            int has_dq, int acc_dq, __global const float *dout, ulong dout_off,
                            __global const float *v, ulong v_off, __global const float *q,
                            ulong q_off, int n, float beta, int hard) {
  int i0 = GID0 * 16;
  if (i0 >= n) return;
  if (i0 + 16 <= n) {
    gate_backward16(vload16(0, dout + dout_off + i0), dv + dv_off + i0, dq + dq_off + i0, has_dq,
                    acc_dq, v + v_off + i0, q + q_off + i0, beta, hard);
    return;
  }
  for (int i = i0; i < n; i++) {
    float qi = q[q_off + i], d = dout[dout_off + i];
    float g = hard ? (qi > 0.0f ? 1.0f : 0.0f) : dlgn_sigmoid(beta * qi);
    dv[dv_off + i] = d * g;
    if (!has_dq) continue;
    float grad = hard ? 0.0f : d * v[v_off + i] * beta * g * (1.0f - g);
    if (acc_dq) dq[dq_off + i] += grad;
    else dq[dq_off + i] = grad;
  }
}

/* x (outer,C,inner) -> y[o,c,i] = x[o,perm[c],i] */
__kernel void permute_channels_forward(__global float *y, ulong y_off, __global const float *x,
                                       ulong x_off, __global const int *perm, int outer, int C,
                                       int inner) {
  int j = GID0;
  if (j >= outer * C * inner) return;
  int i = j % inner, t = j / inner;
  int c = t % C, o = t / C;
  y[y_off + j] = x[x_off + ((size_t)o * C + perm[c]) * inner + i];
}

/* dy -> dx[o,perm[c],i] = dy[o,c,i]; perm is a permutation, so no two
 * work-items write the same element */
__kernel void permute_channels_backward(__global float *dx, ulong dx_off, __global const float *dy,
                                        ulong dy_off, __global const int *perm, int outer, int C,
                                        int inner, int acc) {
  int j = GID0;
  if (j >= outer * C * inner) return;
  int i = j % inner, t = j / inner;
  int c = t % C, o = t / C;
  size_t d = dx_off + ((size_t)o * C + perm[c]) * inner + i;
  float g = dy[dy_off + j];
  if (acc) dx[d] += g;
  else dx[d] = g;
}

/* ReLU, a work-item per 16 elements as the gates */
__kernel void relu_forward(__global float *y, ulong y_off, __global const float *x, ulong x_off,
                           int n) {
  int i0 = GID0 * 16;
  if (i0 >= n) return;
  if (i0 + 16 <= n) {
    vstore16(fmax(vload16(0, x + x_off + i0), 0.0f), 0, y + y_off + i0);
    return;
  }
  for (int i = i0; i < n; i++) {
    float v = x[x_off + i];
    y[y_off + i] = v > 0.0f ? v : 0.0f;
  }
}

__kernel void relu_backward(__global float *dx, ulong dx_off, __global const float *dy,
                            ulong dy_off, __global const float *x, ulong x_off, int n, int acc) {
  int i0 = GID0 * 16;
  if (i0 >= n) return;
  if (i0 + 16 <= n) {
    float16 g = select((float16)(0.0f), vload16(0, dy + dy_off + i0),
                       vload16(0, x + x_off + i0) > 0.0f);
    if (acc) g += vload16(0, dx + dx_off + i0);
    vstore16(g, 0, dx + dx_off + i0);
    return;
  }
  for (int i = i0; i < n; i++) {
    float g = x[x_off + i] > 0.0f ? dy[dy_off + i] : 0.0f;
    if (acc) dx[dx_off + i] += g;
    else dx[dx_off + i] = g;
  }
}

/* The gradient of global average pooling for 16 elements of (C, N, HW):
 * dh (N, C) / HW of their plane, never stored (HW a multiple of 16, so the
 * 16 share a plane) */
float16 gap_grad16(__global const float *dh, int i0, int C, int N, int HW) {
  int plane = i0 / HW, c = plane / N, n = plane % N;
  return (float16)(dh[(size_t)n * C + c] / (float)HW);
}

/* gate_backward of the network's last layer, whose dout is the gradient of
 * global average pooling from dh (N, C): one pass instead of gap_backward's
 * store and gate_backward's load; x (C, N, HW) */
__kernel void gate_backward_gap(__global float *dv, ulong dv_off, __global float *dq, ulong dq_off,
                                int has_dq, int acc_dq, __global const float *dh, ulong dh_off,
                                __global const float *v, ulong v_off, __global const float *q,
                                ulong q_off, int C, int N, int HW, float beta, int hard) {
  int i0 = GID0 * 16;
  if (i0 >= C * N * HW) return;
  gate_backward16(gap_grad16(dh + dh_off, i0, C, N, HW), dv + dv_off + i0, dq + dq_off + i0,
                  has_dq, acc_dq, v + v_off + i0, q + q_off + i0, beta, hard);
}

/* relu_backward of the network's last layer from dh (N, C), as above */
__kernel void relu_backward_gap(__global float *dx, ulong dx_off, __global const float *dh,
                                ulong dh_off, __global const float *x, ulong x_off, int C, int N,
                                int HW) {
  int i0 = GID0 * 16;
  if (i0 >= C * N * HW) return;
  float16 d = gap_grad16(dh + dh_off, i0, C, N, HW);
  vstore16(select((float16)(0.0f), d, vload16(0, x + x_off + i0) > 0.0f), 0, dx + dx_off + i0);
}

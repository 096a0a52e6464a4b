/* 2x2 average pooling on planes, and global average pooling CNHW -> (N,C). */

/* x (P,H,W) -> y (P,H/2,W/2) */
__kernel void avgpool2_forward(__global float *y, ulong y_off, __global const float *x,
                               ulong x_off, int P, int H, int W) {
  int HO = H / 2, WO = W / 2;
  int j = GID0;
  if (j >= P * HO * WO) return;
  int ox = j % WO, t = j / WO;
  int oy = t % HO, p = t / HO;
  __global const float *r = x + x_off + ((size_t)p * H + 2 * oy) * W + 2 * ox;
  y[y_off + j] = 0.25f * ((r[0] + r[1]) + (r[W] + r[W + 1]));
}

/* dy (P,H/2,W/2) -> dx (P,H,W) = dy/4 */
__kernel void avgpool2_backward(__global float *dx, ulong dx_off, __global const float *dy,
                                ulong dy_off, int P, int H, int W, int acc) {
  int j = GID0;
  if (j >= P * H * W) return;
  int ix = j % W, t = j / W;
  int iy = t % H, p = t / H;
  float g = 0.25f * dy[dy_off + ((size_t)p * (H / 2) + iy / 2) * (W / 2) + ix / 2];
  if (acc) dx[dx_off + j] += g;
  else dx[dx_off + j] = g;
}

/* x (C,N,HW) -> y (N,C): one work-group per (c,n) plane, so the reads of a
 * plane are contiguous across the group */
__kernel void gap_forward(__global float *y, ulong y_off, __global const float *x, ulong x_off,
                          int C, int N, int HW) {
  __local float scratch[DLGN_RED_WG];
  int plane = (int)get_group_id(0); /* c*N + n */
  int l = (int)get_local_id(0), ls = (int)get_local_size(0);
  __global const float *xp = x + x_off + (size_t)plane * HW;
  float s = 0.0f;
  for (int i = l; i < HW; i += ls) s += xp[i];
  s = dlgn_wg_sum(scratch, s);
  if (l == 0) {
    int c = plane / N, n = plane % N;
    y[y_off + (size_t)n * C + c] = s / (float)HW;
  }
}

/* dy (N,C) -> dx (C,N,HW) = dy/HW */
__kernel void gap_backward(__global float *dx, ulong dx_off, __global const float *dy,
                           ulong dy_off, int C, int N, int HW, int acc) {
  int j = GID0;
  if (j >= C * N * HW) return;
  int plane = j / HW;
  int c = plane / N, n = plane % N;
  float g = dy[dy_off + (size_t)n * C + c] / (float)HW;
  if (acc) dx[dx_off + j] += g;
  else dx[dx_off + j] = g;
}

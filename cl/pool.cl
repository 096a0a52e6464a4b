/* 2x2 average pooling on planes, and global average pooling CNHW -> (N,C). */

/* x (P,H,W) -> y (P,H/2,W/2). 2-D range: dim 0 = output column, dim 1 =
 * output row r over all planes, whose input rows are 2r and 2r+1 (no integer
 * division per element, which CPUs cannot vectorise). */
__kernel void avgpool2_forward(__global float *y, ulong y_off, __global const float *x,
                               ulong x_off, int rows, int W) {
  int ox = GID0, r = GID1, WO = W / 2;
  if (ox >= WO || r >= rows) return;
  __global const float *top = x + x_off + (size_t)2 * r * W + 2 * ox;
  y[y_off + (size_t)r * WO + ox] = 0.25f * ((top[0] + top[1]) + (top[W] + top[W + 1]));
}

/* x (P,H,W) -> y (P,H/2,W/2): the even rows and columns (a 3x3 stride-2
 * pad-1 layer's output from its stride-1 twin's); dims as avgpool2_forward */
__kernel void subsample2_forward(__global float *y, ulong y_off, __global const float *x,
                                 ulong x_off, int rows, int W) {
  int ox = GID0, r = GID1, WO = W / 2;
  if (ox >= WO || r >= rows) return;
  y[y_off + (size_t)r * WO + ox] = x[x_off + (size_t)2 * r * W + 2 * ox];
}

/* dy (P,H/2,W/2) -> dx (P,H,W): dy at the even rows and columns, zero
 * elsewhere; dim 0 = input column, dim 1 = input row */
__kernel void subsample2_backward(__global float *dx, ulong dx_off, __global const float *dy,
                                  ulong dy_off, int rows, int W) {
  int ix = GID0, r = GID1;
  if (ix >= W || r >= rows) return;
  float g = (r | ix) & 1 ? 0.0f : dy[dy_off + (size_t)(r / 2) * (W / 2) + ix / 2];
  dx[dx_off + (size_t)r * W + ix] = g;
}

/* dy (P,H/2,W/2) -> dx (P,H,W) = dy/4; dim 0 = input column, dim 1 = input row */
__kernel void avgpool2_backward(__global float *dx, ulong dx_off, __global const float *dy,
                                ulong dy_off, int rows, int W, int acc) {
  int ix = GID0, r = GID1;
  if (ix >= W || r >= rows) return;
  float g = 0.25f * dy[dy_off + (size_t)(r / 2) * (W / 2) + ix / 2];
  size_t d = dx_off + (size_t)r * W + ix;
  if (acc) dx[d] += g;
  else dx[d] = g;
}

/* x (C,N,HW) -> y (N,C): one work-group per (c,n) plane, so the reads of a
 * plane are contiguous across the group */
__kernel void gap_forward(__global float *y, ulong y_off, __global const float *x, ulong x_off,
                          int C, int N, int HW) {
  __local float scratch[DLGN_RED_WG];
  int plane = (int)get_group_id(0); /* c*N + n */
  int l = (int)get_local_id(0), ls = (int)get_local_size(0);
  float s = dlgn_wg_sum(scratch, dlgn_strided_sum(x + x_off + (size_t)plane * HW, HW, l, ls));
  if (l == 0) {
    int c = plane / N, n = plane % N;
    y[y_off + (size_t)n * C + c] = s / (float)HW;
  }
}

/* dy (N,C) -> dx (C,N,HW) = dy/HW; dim 0 = position in the plane, dim 1 =
 * plane c*N + n (uniform along a group's rows, so no per-element division) */
__kernel void gap_backward(__global float *dx, ulong dx_off, __global const float *dy,
                           ulong dy_off, int C, int N, int HW, int acc) {
  int i = GID0, plane = GID1;
  if (i >= HW || plane >= C * N) return;
  int c = plane / N, n = plane % N;
  float g = dy[dy_off + (size_t)n * C + c] / (float)HW;
  size_t d = dx_off + (size_t)plane * HW + i;
  if (acc) dx[d] += g;
  else dx[d] = g;
}

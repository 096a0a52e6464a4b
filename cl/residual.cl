/* The shortcut of a residual block (option A of the CIFAR ResNets): the
 * block's input, subsampled by the stride, channels 0..C-1 of the output,
 * the channels past C zero; added to the block's residual branch. */

/* x (C,N,H,W) -> y (OC,N,HO,WO) += x[c,n,s*i,s*j] for c < C. At stride 1
 * a work-item adds 16 elements of the first C output channels, as one vector
 * (the element's index is then the same in x and y); at a larger stride it
 * adds one output row (count rows of the first C channels), so that no
 * element needs a division. */
__kernel void shortcut_add_forward(__global float *y, ulong y_off, __global const float *x,
                                   ulong x_off, int count, int H, int W, int HO, int WO, int s) {
  __global float *yy = y + y_off;
  __global const float *xx = x + x_off;
  if (s > 1) {
    int r = GID0;
    if (r >= count) return;
    int plane = r / HO, oy = r % HO; /* plane: c*N + n, the same in x and y for c < C */
    __global const float *xr = xx + ((size_t)plane * H + (size_t)s * oy) * W;
    __global float *yr = yy + (size_t)r * WO;
    for (int j = 0; j < WO; j++) yr[j] += xr[s * j];
    return;
  }
  int i0 = GID0 * 16;
  if (i0 >= count) return;
  if (i0 + 16 <= count) {
    vstore16(vload16(0, yy + i0) + vload16(0, xx + i0), 0, yy + i0);
    return;
  }
  for (int i = i0; i < count; i++) yy[i] += xx[i];
}

/* dy (OC,N,HO,WO) -> dx (C,N,H,W) = dy[c,n,i/s,j/s] where s divides i and j,
 * else 0 (acc: +=). At stride 1 16 elements of dx per work-item, one vector;
 * at a larger stride one row of dx (count rows) */
__kernel void shortcut_add_backward(__global float *dx, ulong dx_off, __global const float *dy,
                                    ulong dy_off, int count, int H, int W, int HO, int WO, int s,
                                    int acc) {
  __global float *d = dx + dx_off;
  __global const float *g = dy + dy_off;
  if (s > 1) {
    int r = GID0;
    if (r >= count) return;
    int plane = r / H, iy = r % H;
    __global float *dr = d + (size_t)r * W;
    __global const float *gr = g + ((size_t)plane * HO + iy / s) * WO;
    bool hit = iy % s == 0;
    for (int ix = 0; ix < W; ix++) {
      float v = hit && ix % s == 0 ? gr[ix / s] : 0.0f;
      dr[ix] = acc ? dr[ix] + v : v;
    }
    return;
  }
  int i0 = GID0 * 16;
  if (i0 >= count) return;
  if (i0 + 16 <= count) {
    float16 v = vload16(0, g + i0);
    vstore16(acc ? vload16(0, d + i0) + v : v, 0, d + i0);
    return;
  }
  for (int i = i0; i < count; i++) d[i] = acc ? d[i] + g[i] : g[i];
}

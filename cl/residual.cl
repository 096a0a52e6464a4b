/* The shortcut of a residual block (option A of the CIFAR ResNets): the
 * block's input, subsampled by the stride, channels 0..C-1 of the output,
 * the channels past C zero; added to the block's residual branch. */

/* x (C,N,H,W) -> y (OC,N,HO,WO) += x[c,n,s*i,s*j] for c < C; 16 elements of
 * the first C output channels per work-item, as one vector when the stride
 * is 1 (the element's index is then the same in x and y) */
__kernel void shortcut_add_forward(__global float *y, ulong y_off, __global const float *x,
                                   ulong x_off, int count, int H, int W, int HO, int WO, int s) {
  int i0 = GID0 * 16;
  if (i0 >= count) return;
  __global float *yy = y + y_off;
  __global const float *xx = x + x_off;
  if (s == 1 && i0 + 16 <= count) {
    vstore16(vload16(0, yy + i0) + vload16(0, xx + i0), 0, yy + i0);
    return;
  }
  for (int i = i0; i < min(i0 + 16, count); i++) {
    int ox = i % WO, t = i / WO;
    int oy = t % HO, plane = t / HO; /* c*N + n, the same in x and y for c < C */
    yy[i] += xx[((size_t)plane * H + (size_t)s * oy) * W + (size_t)s * ox];
  }
}

/* dy (OC,N,HO,WO) -> dx (C,N,H,W) = dy[c,n,i/s,j/s] where s divides i and j,
 * else 0 (acc: +=); 16 elements of dx per work-item, one vector at stride 1 */
__kernel void shortcut_add_backward(__global float *dx, ulong dx_off, __global const float *dy,
                                    ulong dy_off, int count, int H, int W, int HO, int WO, int s,
                                    int acc) {
  int i0 = GID0 * 16;
  if (i0 >= count) return;
  __global float *d = dx + dx_off;
  __global const float *g = dy + dy_off;
  if (s == 1 && i0 + 16 <= count) {
    float16 v = vload16(0, g + i0);
    vstore16(acc ? vload16(0, d + i0) + v : v, 0, d + i0);
    return;
  }
  for (int i = i0; i < min(i0 + 16, count); i++) {
    int ix = i % W, t = i / W;
    int iy = t % H, plane = t / H;
    float v = ix % s == 0 && iy % s == 0 ? g[((size_t)plane * HO + iy / s) * WO + ix / s] : 0.0f;
    d[i] = acc ? d[i] + v : v;
  }
}

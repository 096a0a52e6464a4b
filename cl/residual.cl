/* The shortcut of a residual block (option A of the CIFAR ResNets): the
 * block's input, subsampled by the stride, channels 0..C-1 of the output,
 * the channels past C zero; added to the block's residual branch. */

/* x (C,N,H,W) -> y (OC,N,HO,WO) += x[c,n,s*i,s*j] for c < C; one work-item
 * per element of the first C output channels */
__kernel void shortcut_add_forward(__global float *y, ulong y_off, __global const float *x,
                                   ulong x_off, int count, int H, int W, int HO, int WO, int s) {
  int i = GID0;
  if (i >= count) return;
  int ox = i % WO, t = i / WO;
  int oy = t % HO, plane = t / HO; /* c*N + n, the same in x and y for c < C */
  y[y_off + (size_t)i] += x[x_off + ((size_t)plane * H + (size_t)s * oy) * W + (size_t)s * ox];
}

/* dy (OC,N,HO,WO) -> dx (C,N,H,W) = dy[c,n,i/s,j/s] where s divides i and j,
 * else 0 (acc: +=); one work-item per element of dx */
__kernel void shortcut_add_backward(__global float *dx, ulong dx_off, __global const float *dy,
                                    ulong dy_off, int count, int H, int W, int HO, int WO, int s,
                                    int acc) {
  int i = GID0;
  if (i >= count) return;
  int ix = i % W, t = i / W;
  int iy = t % H, plane = t / H;
  float g = 0.0f;
  if (ix % s == 0 && iy % s == 0) g = dy[dy_off + ((size_t)plane * HO + iy / s) * WO + ix / s];
  if (acc) dx[dx_off + (size_t)i] += g;
  else dx[dx_off + (size_t)i] = g;
}

/* Convolution on CNHW activations: im2col/col2im around one GEMM per chunk of
 * images, the bias kernels, and a direct kernel (the alternative strategy,
 * chosen per device type in src/nn/ops_conv.c). The columns of a chunk of nb
 * images starting at image n0 form a (C*k*k, nb*HO*WO) matrix. */

/* x (C,N,H,W) -> col (C*k*k, nb*HO*WO) for images n0..n0+nb-1, zero outside.
 * Range (ceil(WO/per_item), nb*HO, C*k*k): a work-item fills per_item
 * neighbouring columns of one output row, so the index arithmetic by runtime
 * sizes happens once per work-item. GPUs take per_item 1 (neighbouring
 * work-items write neighbouring addresses); CPUs a whole row (one tight loop
 * per work-item: per-element index arithmetic made this kernel 60% of a
 * C4GAP-32 training step on PoCL). */
__kernel void im2col(__global float *col, ulong col_off, __global const float *x, ulong x_off,
                     int C, int N, int H, int W, int k, int stride, int pad, int HO, int WO,
                     int n0, int nb, int per_item) {
  int ox0 = GID0 * per_item, t = GID1, row = GID2;
  if (ox0 >= WO || t >= nb * HO || row >= C * k * k) return;
  int oy = t % HO, nl = t / HO;
  int kx = row % k, ky = (row / k) % k, c = row / (k * k);
  int iy = oy * stride - pad + ky;
  int ox1 = min(ox0 + per_item, WO);
  __global float *out = col + col_off + (size_t)row * nb * HO * WO + (size_t)t * WO;
  if (iy < 0 || iy >= H) {
    for (int ox = ox0; ox < ox1; ox++) out[ox] = 0.0f;
    return;
  }
  __global const float *in = x + x_off + (((size_t)c * N + n0 + nl) * H + iy) * W;
  for (int ox = ox0; ox < ox1; ox++) {
    int ix = ox * stride - pad + kx;
    out[ox] = (ix >= 0 && ix < W) ? in[ix] : 0.0f;
  }
}

/* col (C*k*k, nb*HO*WO) -> dx (C,N,H,W) of images n0..n0+nb-1: each input
 * element gathers the columns that read it (no atomics, deterministic).
 * Range (ceil(W/per_item), nb*H, C), work-items along an input row as in
 * im2col. */
__kernel void col2im(__global float *dx, ulong dx_off, __global const float *col, ulong col_off,
                     int C, int N, int H, int W, int k, int stride, int pad, int HO, int WO,
                     int n0, int nb, int acc, int per_item) {
  int ix0 = GID0 * per_item, t = GID1, c = GID2;
  if (ix0 >= W || t >= nb * H || c >= C) return;
  int iy = t % H, nl = t / H;
  int ix1 = min(ix0 + per_item, W);
  size_t cols = (size_t)nb * HO * WO;
  __global const float *cc = col + col_off + (size_t)nl * HO * WO;
  __global float *d = dx + dx_off + (((size_t)c * N + n0 + nl) * H + iy) * W;
  for (int ix = ix0; ix < ix1; ix++) {
    float s = 0.0f;
    for (int ky = 0; ky < k; ky++) {
      int ty = iy + pad - ky;
      if (ty < 0 || ty % stride != 0 || ty / stride >= HO) continue;
      __global const float *crow = cc + (size_t)((c * k + ky) * k) * cols + (ty / stride) * WO;
      for (int kx = 0; kx < k; kx++) {
        int tx = ix + pad - kx;
        if (tx < 0 || tx % stride != 0 || tx / stride >= WO) continue;
        s += crow[(size_t)kx * cols + tx / stride];
      }
    }
    if (acc) d[ix] += s;
    else d[ix] = s;
  }
}

/* y (OC,M) = b broadcast along rows (the GEMMs then add with beta = 1) */
__kernel void bias_planes(__global float *y, ulong y_off, __global const float *b, ulong b_off,
                          int OC, int M) {
  int j = GID0;
  if (j < OC * M) y[y_off + j] = b[b_off + j / M];
}

/* x (R,L) -> out (R) row sums, one work-group per row (conv bias gradient) */
__kernel void row_sum(__global float *out, ulong out_off, __global const float *x, ulong x_off,
                      int L) {
  __local float scratch[DLGN_RED_WG];
  int r = (int)get_group_id(0);
  int l = (int)get_local_id(0), ls = (int)get_local_size(0);
  float s = dlgn_wg_sum(scratch, dlgn_strided_sum(x + x_off + (size_t)r * L, L, l, ls));
  if (l == 0) out[out_off + r] = s;
}

/* Direct convolution: a work-item computes DC_TOC output channels x DC_DV
 * neighbouring output pixels of one row, the pixels as one vector, so that
 * the arithmetic is vector FMAs on any device (PoCL vectorises only loops
 * without inner loops; this kernel has them). Each input vector serves
 * DC_TOC channels, each weight DC_DV pixels. A row segment inside the image
 * (stride 1) is one vector load; segments at the border gather lane by lane.
 * transposed: the gradient dx of a stride-1 convolution with weights
 * w (Cin, OC, k, k) (the forward's (OC, C, k, k) with the channel roles
 * swapped): a convolution with the weights transposed and flipped. acc: y +=.
 * global: dim 0 = N*HO*ceil(WO/DC_DV) segments, dim 1 = ceil(OC/DC_TOC). */
#define DC_TOC 16
#define DC_DV 16
#define DC_VEC float16
#define DC_VLOAD vload16
#define DC_VSTORE vstore16
__kernel void conv2d_direct(__global float *y, ulong y_off, __global const float *x, ulong x_off,
                            __global const float *w, ulong w_off, __global const float *b,
                            ulong b_off, int C, int N, int H, int W, int OC, int k, int stride,
                            int pad, int HO, int WO, int transposed, int has_bias, int acc) {
  int segs = (WO + DC_DV - 1) / DC_DV;
  int p = GID0, oc0 = GID1 * DC_TOC;
  if (p >= N * HO * segs || oc0 >= OC) return;
  int ox0 = (p % segs) * DC_DV, t = p / segs;
  int oy = t % HO, n = t / HO;
  int kk = k * k;
  DC_VEC sum[DC_TOC];
  for (int j = 0; j < DC_TOC; j++) sum[j] = (DC_VEC)(0.0f);
  __global const float *wb = w + w_off;
  for (int c = 0; c < C; c++) {
    __global const float *xc = x + x_off + ((size_t)c * N + n) * H * W;
    for (int ky = 0; ky < k; ky++) {
      int iy = oy * stride - pad + ky;
      if (iy < 0 || iy >= H) continue;
      __global const float *row = xc + (size_t)iy * W;
      for (int kx = 0; kx < k; kx++) {
        int ix0 = ox0 * stride - pad + kx;
        DC_VEC xv;
        if (stride == 1 && ix0 >= 0 && ix0 + DC_DV <= W && ox0 + DC_DV <= WO) {
          xv = DC_VLOAD(0, row + ix0);
        } else {
          float lane[DC_DV];
          for (int u = 0; u < DC_DV; u++) {
            int ix = ix0 + u * stride;
            lane[u] = (ix >= 0 && ix < W && ox0 + u < WO) ? row[ix] : 0.0f;
          }
          xv = DC_VLOAD(0, lane);
        }
        /* weight of output channel oc0+j, input channel c, tap (ky, kx) */
        size_t wi = transposed ? ((size_t)c * OC + oc0) * kk + (k - 1 - ky) * k + (k - 1 - kx)
                               : ((size_t)oc0 * C + c) * kk + ky * k + kx;
        size_t wstep = transposed ? (size_t)kk : (size_t)C * kk;
        for (int j = 0; j < DC_TOC; j++) {
          float wv = oc0 + j < OC ? wb[wi + j * wstep] : 0.0f;
          sum[j] = mad((DC_VEC)(wv), xv, sum[j]);
        }
      }
    }
  }
  for (int j = 0; j < DC_TOC && oc0 + j < OC; j++) {
    DC_VEC v = sum[j];
    if (has_bias) v += (DC_VEC)(b[b_off + oc0 + j]);
    __global float *out = y + y_off + (((size_t)(oc0 + j) * N + n) * HO + oy) * WO + ox0;
    if (ox0 + DC_DV <= WO) {
      if (acc) v += DC_VLOAD(0, out);
      DC_VSTORE(v, 0, out);
    } else {
      float lane[DC_DV];
      DC_VSTORE(v, 0, lane);
      for (int u = 0; u < DC_DV && ox0 + u < WO; u++) out[u] = acc ? out[u] + lane[u] : lane[u];
    }
  }
}

/* Convolution on CNHW activations: im2col/col2im around one GEMM per chunk of
 * images, the bias kernels, and a direct kernel (the alternative strategy,
 * chosen per device type in src/nn/ops_conv.c). The columns of a chunk of nb
 * images starting at image n0 form a (C*k*k, nb*HO*WO) matrix. */

/* x (C,N,H,W) -> col (C*k*k, nb*HO*WO) for images n0..n0+nb-1, zero outside.
 * Range (ceil(WO/per_item), ceil(nb*HO/rows), C*k*k): a work-item fills
 * per_item neighbouring columns of `rows` consecutive output rows, so the
 * index arithmetic by runtime sizes happens once per row. GPUs take per_item
 * 1 and rows 1 (neighbouring work-items write neighbouring addresses); CPUs a
 * whole row, and several short rows (one tight loop per work-item:
 * per-element index arithmetic made this kernel 60% of a C4GAP-32 training
 * step on PoCL, and a work-item per row of 2 or 4 pixels 20% of a VGG16
 * step). */
__kernel void im2col(__global float *col, ulong col_off, __global const float *x, ulong x_off,
                     int C, int N, int H, int W, int k, int stride, int pad, int HO, int WO,
                     int n0, int nb, int per_item, int rows) {
  int ox0 = GID0 * per_item, t0 = GID1 * rows, row = GID2;
  if (ox0 >= WO || t0 >= nb * HO || row >= C * k * k) return;
  int kx = row % k, ky = (row / k) % k, c = row / (k * k);
  int ox1 = min(ox0 + per_item, WO), t1 = min(t0 + rows, nb * HO);
  int oy = t0 % HO, nl = t0 / HO;
  for (int t = t0; t < t1; t++) {
    int iy = oy * stride - pad + ky;
    __global float *out = col + col_off + (size_t)row * nb * HO * WO + (size_t)t * WO;
    if (iy < 0 || iy >= H) {
      for (int ox = ox0; ox < ox1; ox++) out[ox] = 0.0f;
    } else {
      __global const float *in = x + x_off + (((size_t)c * N + n0 + nl) * H + iy) * W;
      for (int ox = ox0; ox < ox1; ox++) {
        int ix = ox * stride - pad + kx;
        out[ox] = (ix >= 0 && ix < W) ? in[ix] : 0.0f;
      }
    }
    if (++oy == HO) oy = 0, nl++;
  }
}

/* col (C*k*k, nb*HO*WO) -> dx (C,N,H,W) of images n0..n0+nb-1: each input
 * element gathers the columns that read it (no atomics, deterministic).
 * Range (ceil(W/per_item), ceil(nb*H/rows), C), work-items along input rows
 * as in im2col. */
__kernel void col2im(__global float *dx, ulong dx_off, __global const float *col, ulong col_off,
                     int C, int N, int H, int W, int k, int stride, int pad, int HO, int WO,
                     int n0, int nb, int acc, int per_item, int rows) {
  int ix0 = GID0 * per_item, t0 = GID1 * rows, c = GID2;
  if (ix0 >= W || t0 >= nb * H || c >= C) return;
  int ix1 = min(ix0 + per_item, W), t1 = min(t0 + rows, nb * H);
  size_t cols = (size_t)nb * HO * WO;
  int iy = t0 % H, nl = t0 / H;
  for (int t = t0; t < t1; t++) {
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
    if (++iy == H) iy = 0, nl++;
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

/* 3x3, stride 1, pad 1 convolution of rows of W = 16 * RV pixels (the
 * layers of C4GAP and of VGG16's first two stages): a work-item computes
 * C3_TOC output channels of one whole output row. Each input row is loaded as
 * RV aligned vectors; the row shifted one pixel left and right (taps kx = 0
 * and 2, zero at the border) is made from them in registers, so no lane is
 * gathered one by one. Each input vector serves C3_TOC channels, each weight
 * RV vectors.
 * transposed: the gradient dx of the forward convolution with weights
 * w (Cin, OC, 3, 3): the convolution with the weights transposed and
 * flipped. acc: y +=. global: dim 0 = ceil(OC / C3_TOC), dim 1 =
 * ceil(N * H / C3_RPI) runs of C3_RPI rows (enough work per work-item that a
 * CPU runtime's cost per work-group is small), so that work-items in turn
 * reuse the same input rows from cache.
 * x (C, N, H, W) -> y (OC, N, H, W). */
#define C3_TOC 8
#define C3_RPI 4

/* (prev.sf, v.s0 .. v.se) and (v.s1 .. v.sf, next.s0): the row shifted one
 * pixel, one permutation each where the compiler has Clang's shuffle builtin
 * (element-wise vector literals compile to a dozen partial loads there). */
inline float16 c3_shift_up(float16 prev, float16 v) {
#ifdef DLGN_SHUFFLE
  return __builtin_shufflevector(prev, v, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28,
                                 29, 30);
#else
  return (float16)(prev.sf, v.s0123, v.s4567, v.s89ab, v.scde);
#endif
}

/* (operands swapped so that no mask element is 11, see cf_up) */
inline float16 c3_shift_down(float16 v, float16 next) {
#ifdef DLGN_SHUFFLE
  return __builtin_shufflevector(next, v, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 0);
#else
  return (float16)(v.s1234, v.s5678, v.s9abc, v.sdef, next.s0);
#endif
}

/* The weights of output channels oc0 .. oc0+TOC-1 as the row and flat
 * kernels read them: weight (oc0 + j, c, tap) at
 * wb[wrow[j] + c * wc + tsign * tap], the forward's w (OC, C, 3, 3) or, with
 * transposed, the dx convolution's (w (C, OC, 3, 3) flipped); rows past OC
 * repeat the last one (computed, never stored). */
#define C3_WEIGHT_ROWS(TOC)                                                                   \
  int wrow[TOC];                                                                              \
  _Pragma("unroll") for (int j = 0; j < (TOC); j++) {                                         \
    int o = min(oc0 + j, OC - 1);                                                             \
    wrow[j] = transposed ? o * 9 : o * C * 9;                                                 \
  }                                                                                           \
  const int wc = transposed ? OC * 9 : 9;                                                     \
  const int tsign = transposed ? -1 : 1;                                                      \
  __global const float *wb = w + w_off + (transposed ? 8 : 0);

#define DEFINE_CONV3X3_ROWS(NAME, RV, RR)                                                   \
  __kernel void NAME(__global float *y, ulong y_off, __global const float *x, ulong x_off,  \
                     __global const float *w, ulong w_off, __global const float *b,         \
                     ulong b_off, int C, int N, int H, int OC, int transposed, int has_bias, \
                     int acc, __global float *gout, ulong gout_off, __global const float *g, \
                     ulong g_off, int epi, float beta) {                                     \
    const int W = 16 * (RV);                                                                \
    int oc0 = GID0 * C3_TOC, t0 = GID1 * C3_RPI, t1 = min(t0 + C3_RPI, N * H);              \
    if (t0 >= N * H || oc0 >= OC) return;                                                   \
    C3_WEIGHT_ROWS(C3_TOC)                                                                  \
    for (int t = t0; t < t1; t += (RR)) {                                                   \
      int oy0 = t % H, n = t / H;                                                           \
      float16 sum[C3_TOC][RR][RV];                                                          \
      _Pragma("unroll") for (int j = 0; j < C3_TOC; j++)                                    \
          _Pragma("unroll") for (int q = 0; q < (RR); q++)                                  \
              _Pragma("unroll") for (int i = 0; i < (RV); i++) sum[j][q][i] = (float16)(0.0f); \
      for (int c = 0; c < C; c++) {                                                         \
        __global const float *xc = x + x_off + ((size_t)c * N + n) * H * W;                 \
        __global const float *wcp = wb + c * wc;                                            \
        _Pragma("unroll") for (int ky = 0; ky < 3; ky++) {                                  \
          /* the RR input rows of tap ky, zero outside the image */                         \
          float16 r[RR][RV], lft[RR][RV], rgt[RR][RV];                                      \
          _Pragma("unroll") for (int q = 0; q < (RR); q++) {                                \
            int iy = oy0 + q - 1 + ky;                                                      \
            bool in = iy >= 0 && iy < H;                                                    \
            _Pragma("unroll") for (int i = 0; i < (RV); i++)                                \
                r[q][i] = in ? vload16(i, xc + iy * W) : (float16)(0.0f);                   \
            _Pragma("unroll") for (int i = 0; i < (RV); i++) {                              \
              lft[q][i] = c3_shift_up(i > 0 ? r[q][i - 1] : (float16)(0.0f), r[q][i]);      \
              rgt[q][i] = c3_shift_down(r[q][i], i + 1 < (RV) ? r[q][i + 1] : (float16)(0.0f)); \
            }                                                                               \
          }                                                                                 \
          _Pragma("unroll") for (int j = 0; j < C3_TOC; j++) {                              \
            __global const float *wj = wcp + wrow[j] + tsign * ky * 3;                      \
            float16 w0 = (float16)(wj[0]), w1 = (float16)(wj[tsign]);                       \
            float16 w2 = (float16)(wj[2 * tsign]);                                          \
            _Pragma("unroll") for (int q = 0; q < (RR); q++)                                \
                _Pragma("unroll") for (int i = 0; i < (RV); i++) {                          \
              sum[j][q][i] = fma(w0, lft[q][i], sum[j][q][i]);                              \
              sum[j][q][i] = fma(w1, r[q][i], sum[j][q][i]);                                \
              sum[j][q][i] = fma(w2, rgt[q][i], sum[j][q][i]);                              \
            }                                                                               \
          }                                                                                 \
        }                                                                                   \
      }                                                                                     \
      for (int j = 0; j < C3_TOC && oc0 + j < OC; j++) {                                    \
        float bj = has_bias ? b[b_off + oc0 + j] : 0.0f;                                    \
        _Pragma("unroll") for (int q = 0; q < (RR); q++) {                                  \
          size_t at = (((size_t)(oc0 + j) * N + n) * H + oy0 + q) * W;                      \
          __global float *out = y + y_off + at;                                             \
          _Pragma("unroll") for (int i = 0; i < (RV); i++) {                                \
            float16 v = sum[j][q][i] + (float16)(bj);                                       \
            if (acc) v += vload16(i, out);                                                  \
            vstore16(v, i, out);                                                            \
            if (epi)                                                                        \
              vstore16(conv_epilogue16(v, vload16(i, g + g_off + at), epi, beta), i,        \
                       gout + gout_off + at);                                               \
          }                                                                                 \
        }                                                                                   \
      }                                                                                     \
    }                                                                                       \
  }

/* rows of 16: two output rows at a time, so that each weight serves two
 * vectors as with rows of 32 (the host requires an even H) */
DEFINE_CONV3X3_ROWS(conv3x3_rows16, 1, 2)
DEFINE_CONV3X3_ROWS(conv3x3_rows32, 2, 1)

/* Weight gradient of the 3x3, stride 1, pad 1 convolution on rows of
 * W = 16 * RV pixels, without columns: a work-item sums, over the images of
 * one chunk, dy (OC, N, H, W) of C3W_TOC output channels against the rows of
 * x (C, N, H, W) of one input channel, shifted as in conv3x3_rows, into
 * C3W_TOC x 9 vector accumulators whose lanes are added at the end. Each
 * input row serves the three output rows it reaches (taps ky = 0, 1, 2).
 * global: dim 0 = ceil(OC / C3W_TOC) (consecutive work-items share the input
 * rows of their channel, and the chunk's dy stays in cache), dim 1 = C,
 * dim 2 = chunks of nb images; chunk s writes the partial sum
 * part[s * OC * C * 9 + (oc * C + c) * 9 + tap], added up by conv_dw_reduce. */
#define C3W_TOC 2


/* A work-item's partial weight gradient (output channels oc0.., input
 * channel c) into p (OC, C, 9): the lanes of each accumulator added, rows
 * past OC skipped. Shared by the row and flat kernels (CFW_TOC = C3W_TOC); a
 * macro, since passing the accumulators to a function put them in memory
 * (C4GAP-128's 3->128 backward: 12.9 -> 29.5 ms). */
#define C3_STORE_DW(p, acc, oc0, c, C, OC)                                                     \
  for (int j = 0; j < C3W_TOC && (oc0) + j < (OC); j++)                                        \
    _Pragma("unroll") for (int t = 0; t < 9; t++)                                              \
        (p)[((size_t)((oc0) + j) * (C) + (c)) * 9 + t] = dlgn_lane_sum16((acc)[j][t]);

#define DEFINE_CONV3X3_DW_ROWS(NAME, RV)                                                         \
  __kernel void NAME(__global float *part, ulong part_off, __global const float *dy,            \
                     ulong dy_off,                                                              \
                     __global const float *x, ulong x_off, int C, int N, int H, int OC,         \
                     int nb) {                                                                  \
    const int W = 16 * (RV);                                                                    \
    int oc0 = GID0 * C3W_TOC, c = GID1, s = GID2;                                               \
    int n0 = s * nb, n1 = min(N, n0 + nb);                                                      \
    if (oc0 >= OC || c >= C || n0 >= N) return;                                                 \
    __global const float *dyj[C3W_TOC];                                                         \
    _Pragma("unroll") for (int j = 0; j < C3W_TOC; j++)                                         \
        dyj[j] = dy + dy_off + (size_t)min(oc0 + j, OC - 1) * N * H * W;                        \
    float16 acc[C3W_TOC][9];                                                                    \
    _Pragma("unroll") for (int j = 0; j < C3W_TOC; j++)                                         \
        _Pragma("unroll") for (int t = 0; t < 9; t++) acc[j][t] = (float16)(0.0f);              \
    for (int n = n0; n < n1; n++) {                                                             \
      __global const float *xn = x + x_off + ((size_t)c * N + n) * H * W;                       \
      for (int iy = 0; iy < H; iy++) {                                                          \
        float16 r[RV], lft[RV], rgt[RV];                                                        \
        _Pragma("unroll") for (int i = 0; i < (RV); i++) r[i] = vload16(i, xn + iy * W);        \
        _Pragma("unroll") for (int i = 0; i < (RV); i++) {                                      \
          lft[i] = c3_shift_up(i > 0 ? r[i - 1] : (float16)(0.0f), r[i]);                       \
          rgt[i] = c3_shift_down(r[i], i + 1 < (RV) ? r[i + 1] : (float16)(0.0f));              \
        }                                                                                       \
        /* input row iy meets output row oy = iy + 1 - ky through tap ky */                     \
        _Pragma("unroll") for (int ky = 0; ky < 3; ky++) {                                      \
          int oy = iy + 1 - ky;                                                                 \
          if (oy < 0 || oy >= H) continue;                                                      \
          _Pragma("unroll") for (int j = 0; j < C3W_TOC; j++) {                                 \
            __global const float *d = dyj[j] + ((size_t)n * H + oy) * W;                        \
            _Pragma("unroll") for (int i = 0; i < (RV); i++) {                                  \
              float16 dv = vload16(i, d);                                                       \
              acc[j][ky * 3 + 0] = fma(dv, lft[i], acc[j][ky * 3 + 0]);                         \
              acc[j][ky * 3 + 1] = fma(dv, r[i], acc[j][ky * 3 + 1]);                           \
              acc[j][ky * 3 + 2] = fma(dv, rgt[i], acc[j][ky * 3 + 2]);                         \
            }                                                                                   \
          }                                                                                     \
        }                                                                                       \
      }                                                                                         \
    }                                                                                           \
    __global float *pp = part + part_off + (size_t)s * OC * C * 9;                          \
    C3_STORE_DW(pp, acc, oc0, c, C, OC)                                                      \
  }

DEFINE_CONV3X3_DW_ROWS(conv3x3_dw_rows16, 1)
DEFINE_CONV3X3_DW_ROWS(conv3x3_dw_rows32, 2)

/* dw (n) = sum over the nsplit partial sums part (nsplit, n); a work-item
 * per 16 elements (one per element ran at 4 GB/s on PoCL) */
__kernel void conv_dw_reduce(__global float *dw, ulong dw_off, __global const float *part,
                             ulong part_off, int n, int nsplit) {
  int i0 = GID0 * 16;
  if (i0 >= n) return;
  __global const float *p = part + part_off;
  if (i0 + 16 <= n) {
    float16 s = (float16)(0.0f);
    for (int k = 0; k < nsplit; k++) s += vload16(0, p + (size_t)k * n + i0);
    vstore16(s, 0, dw + dw_off + i0);
    return;
  }
  for (int i = i0; i < n; i++) {
    float s = 0.0f;
    for (int k = 0; k < nsplit; k++) s += p[(size_t)k * n + i];
    dw[dw_off + i] = s;
  }
}
/* ---- flat 3x3 convolution for planes of W = 2, 4 or 8 (VGG16's 8x8 and
 * smaller stages) ----
 * A vector holds 16 consecutive positions of the flattened (N, H, W) space of
 * one channel, so that rows (and, for 2x2, whole planes) share a vector. The
 * input of tap (ky, kx) at a position sits d = (ky - 1) * W + kx - 1 places
 * away: within the vector and its neighbours, one permutation; lanes whose
 * tap falls outside their plane are zeroed by masks that, with W dividing
 * 16, depend on the lane only (and, for planes of more than 16, on whether
 * the vector starts or ends its plane). */
#ifdef DLGN_SHUFFLE
/* (prev, cur) moved up k lanes: lane l takes position l - k. The operands are
 * ordered so that no mask element is 11: Oclgrind 21.10 reads a mask element
 * of 11 as undefined (tests/oclgrind_shadow.c, "shuffle"), and would report
 * the lane as uninitialised. */
inline float16 cf_up(float16 prev, float16 cur, int k) {
  switch (k) {
    case 1: return __builtin_shufflevector(prev, cur, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30);
    case 2: return __builtin_shufflevector(prev, cur, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29);
    case 3: return __builtin_shufflevector(prev, cur, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28);
    case 4: return __builtin_shufflevector(prev, cur, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27);
    case 5: return __builtin_shufflevector(cur, prev, 27, 28, 29, 30, 31, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10);
    case 7: return __builtin_shufflevector(cur, prev, 25, 26, 27, 28, 29, 30, 31, 0, 1, 2, 3, 4, 5, 6, 7, 8);
    case 8: return __builtin_shufflevector(cur, prev, 24, 25, 26, 27, 28, 29, 30, 31, 0, 1, 2, 3, 4, 5, 6, 7);
    case 9: return __builtin_shufflevector(cur, prev, 23, 24, 25, 26, 27, 28, 29, 30, 31, 0, 1, 2, 3, 4, 5, 6);
    default: return cur;
  }
}

/* (cur, next) moved down k lanes: lane l takes position l + k */
inline float16 cf_down(float16 cur, float16 next, int k) {
  switch (k) {
    case 1: return __builtin_shufflevector(next, cur, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 0);
    case 2: return __builtin_shufflevector(next, cur, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 0, 1);
    case 3: return __builtin_shufflevector(next, cur, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 0, 1, 2);
    case 4: return __builtin_shufflevector(next, cur, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 0, 1, 2, 3);
    case 5: return __builtin_shufflevector(next, cur, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 0, 1, 2, 3, 4);
    case 7: return __builtin_shufflevector(next, cur, 23, 24, 25, 26, 27, 28, 29, 30, 31, 0, 1, 2, 3, 4, 5, 6);
    case 8: return __builtin_shufflevector(next, cur, 24, 25, 26, 27, 28, 29, 30, 31, 0, 1, 2, 3, 4, 5, 6, 7);
    case 9: return __builtin_shufflevector(next, cur, 25, 26, 27, 28, 29, 30, 31, 0, 1, 2, 3, 4, 5, 6, 7, 8);
    default: return cur;
  }
}
#else
inline float16 cf_up(float16 prev, float16 cur, int k) {
  float t[32];
  vstore16(prev, 0, t);
  vstore16(cur, 1, t);
  return vload16(0, t + 16 - k);
}

inline float16 cf_down(float16 cur, float16 next, int k) {
  float t[32];
  vstore16(cur, 0, t);
  vstore16(next, 1, t);
  return vload16(0, t + k);
}
#endif


#define CF_TOC C3_TOC /* output channels per work-item (the host launches both alike) */
#define CF_RV 2  /* vectors of 16 positions per work-item */

/* The input vector of tap (ky, kx) at the CF_RV vectors v[1..CF_RV] (v[0]
 * and v[CF_RV + 1] their neighbours), masked: rowok[i][ky] says which lanes
 * have the input row inside the plane, column masks follow from W. */
#define CF_TAP(W, v, rowok, i, ky, kx)                                                  \
  select((float16)(0.0f),                                                               \
         ((ky) - 1) * (W) + (kx) - 1 < 0   ? cf_up(v[i], v[(i) + 1], (1 - (ky)) * (W) + 1 - (kx)) \
         : ((ky) - 1) * (W) + (kx) - 1 > 0 ? cf_down(v[(i) + 1], v[(i) + 2], ((ky) - 1) * (W) + (kx) - 1) \
                                           : v[(i) + 1],                                \
         rowok[i][ky] & ((kx) == 0 ? (lane % (W)) >= 1 : (kx) == 2 ? (lane % (W)) <= (W) - 2 : (int16)(-1)))

/* x (C, N, H, W) -> y (OC, N, H, W), 3x3, stride 1, pad 1, W in {2, 4, 8}
 * dividing 16, N * H * W a multiple of 16 * CF_RV. transposed, has_bias, acc
 * as in conv3x3_rows. global: dim 0 = ceil(OC / CF_TOC), dim 1 =
 * N * H * W / (16 * CF_RV). */
#define DEFINE_CONV3X3_FLAT(NAME, W)                                                         \
  __kernel void NAME(__global float *y, ulong y_off, __global const float *x, ulong x_off,   \
                     __global const float *w, ulong w_off, __global const float *b,          \
                     ulong b_off, int C, int N, int H, int OC, int transposed, int has_bias, \
                     int acc) {                                                              \
    const int total = N * H * (W);                                                           \
    int oc0 = GID0 * CF_TOC, p0 = GID1 * 16 * CF_RV;                                         \
    if (p0 >= total || oc0 >= OC) return;                                                    \
    const int16 lane = (int16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);        \
    int16 rowok[CF_RV][3];                                                                   \
    _Pragma("unroll") for (int i = 0; i < CF_RV; i++) {                                      \
      int16 h = ((p0 + 16 * i + lane) / (W)) % H;                                            \
      rowok[i][0] = h >= 1;                                                                  \
      rowok[i][1] = (int16)(-1);                                                             \
      rowok[i][2] = h <= H - 2;                                                              \
    }                                                                                        \
    C3_WEIGHT_ROWS(CF_TOC)                                                                   \
    /* the neighbour vectors outside the channel are never unmasked: read the                \
     * first or last vector instead */                                                       \
    int pprev = max(p0 - 16, 0), pnext = min(p0 + 16 * CF_RV, total - 16);                   \
    float16 sum[CF_TOC][CF_RV];                                                              \
    _Pragma("unroll") for (int j = 0; j < CF_TOC; j++)                                       \
        _Pragma("unroll") for (int i = 0; i < CF_RV; i++) sum[j][i] = (float16)(0.0f);       \
    for (int c = 0; c < C; c++) {                                                            \
      __global const float *xc = x + x_off + (size_t)c * total;                              \
      float16 v[CF_RV + 2];                                                                  \
      v[0] = vload16(0, xc + pprev);                                                         \
      _Pragma("unroll") for (int i = 0; i < CF_RV; i++) v[i + 1] = vload16(0, xc + p0 + 16 * i); \
      v[CF_RV + 1] = vload16(0, xc + pnext);                                                 \
      __global const float *wcp = wb + c * wc;                                               \
      _Pragma("unroll") for (int ky = 0; ky < 3; ky++)                                       \
          _Pragma("unroll") for (int kx = 0; kx < 3; kx++) {                                 \
        float16 t[CF_RV];                                                                    \
        _Pragma("unroll") for (int i = 0; i < CF_RV; i++) t[i] = CF_TAP(W, v, rowok, i, ky, kx); \
        _Pragma("unroll") for (int j = 0; j < CF_TOC; j++) {                                 \
          float16 wv = (float16)(wcp[wrow[j] + tsign * (ky * 3 + kx)]);                      \
          _Pragma("unroll") for (int i = 0; i < CF_RV; i++) sum[j][i] = fma(wv, t[i], sum[j][i]); \
        }                                                                                    \
      }                                                                                      \
    }                                                                                        \
    for (int j = 0; j < CF_TOC && oc0 + j < OC; j++) {                                       \
      float bj = has_bias ? b[b_off + oc0 + j] : 0.0f;                                       \
      __global float *out = y + y_off + (size_t)(oc0 + j) * total + p0;                      \
      _Pragma("unroll") for (int i = 0; i < CF_RV; i++) {                                    \
        float16 r = sum[j][i] + (float16)(bj);                                               \
        if (acc) r += vload16(i, out);                                                       \
        vstore16(r, i, out);                                                                 \
      }                                                                                      \
    }                                                                                        \
  }

DEFINE_CONV3X3_FLAT(conv3x3_flat2, 2)
DEFINE_CONV3X3_FLAT(conv3x3_flat4, 4)
DEFINE_CONV3X3_FLAT(conv3x3_flat8, 8)

/* Weight gradient of the flat layers: a work-item sums, over one chunk of
 * positions, dy of CFW_TOC output channels against the nine masked taps of
 * one input channel (as in conv3x3_flat) into CFW_TOC x 9 vector
 * accumulators whose lanes are added at the end. global: dim 0 =
 * ceil(OC / CFW_TOC), dim 1 = C, dim 2 = chunks of nb images; chunk s writes
 * its partial sum as conv3x3_dw_rows does. */
#define CFW_TOC C3W_TOC

#define DEFINE_CONV3X3_DW_FLAT(NAME, W)                                                      \
  __kernel void NAME(__global float *part, ulong part_off, __global const float *dy,         \
                     ulong dy_off, __global const float *x, ulong x_off, int C, int N, int H, \
                     int OC, int nb) {                                                       \
    const int total = N * H * (W), P = H * (W);                                              \
    int oc0 = GID0 * CFW_TOC, c = GID1, s = GID2;                                            \
    int p0 = s * nb * P, p1 = min(total, p0 + nb * P);                                       \
    if (oc0 >= OC || c >= C || p0 >= total) return;                                         \
    const int16 lane = (int16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);        \
    /* planes dividing 16: the rows of a lane do not depend on the position */               \
    const int16 hsmall = (lane / (W)) % H;                                                   \
    __global const float *xc = x + x_off + (size_t)c * total;                                \
    __global const float *dyj[CFW_TOC];                                                      \
    _Pragma("unroll") for (int j = 0; j < CFW_TOC; j++)                                      \
        dyj[j] = dy + dy_off + (size_t)min(oc0 + j, OC - 1) * total;                         \
    float16 acc[CFW_TOC][9];                                                                 \
    _Pragma("unroll") for (int j = 0; j < CFW_TOC; j++)                                      \
        _Pragma("unroll") for (int t = 0; t < 9; t++) acc[j][t] = (float16)(0.0f);           \
    for (int p = p0; p < p1; p += 16) {                                                      \
      /* planes of whole vectors: the vector's first row plus the lane's; else (planes \
       * of 12, 20, 24, ... positions, never VGG16's) each lane's own */                     \
      int16 h = 16 % P == 0   ? hsmall                                                       \
                : P % 16 == 0 ? (int16)((p % P) / (W)) + lane / (W)                          \
                              : (((int16)(p) + lane) / (W)) % H;                             \
      int16 rowok[1][3] = {{h >= 1, (int16)(-1), h <= H - 2}};                               \
      float16 v[3];                                                                          \
      v[0] = vload16(0, xc + max(p - 16, 0));                                                \
      v[1] = vload16(0, xc + p);                                                             \
      v[2] = vload16(0, xc + min(p + 16, total - 16));                                       \
      float16 d[CFW_TOC];                                                                    \
      _Pragma("unroll") for (int j = 0; j < CFW_TOC; j++) d[j] = vload16(0, dyj[j] + p);     \
      _Pragma("unroll") for (int ky = 0; ky < 3; ky++)                                       \
          _Pragma("unroll") for (int kx = 0; kx < 3; kx++) {                                 \
        float16 t = CF_TAP(W, v, rowok, 0, ky, kx);                                          \
        _Pragma("unroll") for (int j = 0; j < CFW_TOC; j++)                                  \
            acc[j][ky * 3 + kx] = fma(d[j], t, acc[j][ky * 3 + kx]);                         \
      }                                                                                      \
    }                                                                                        \
    __global float *pp = part + part_off + (size_t)s * OC * C * 9;                          \
    C3_STORE_DW(pp, acc, oc0, c, C, OC)                                                      \
  }

DEFINE_CONV3X3_DW_FLAT(conv3x3_dw_flat2, 2)
DEFINE_CONV3X3_DW_FLAT(conv3x3_dw_flat4, 4)
DEFINE_CONV3X3_DW_FLAT(conv3x3_dw_flat8, 8)

/* ---- 3x3 convolution with the batch in the vector (planes with rows of 2,
 * 4 or 8: VGG16's 8x8 and smaller stages) ----
 * These kernels work on the batch-blocked layout (C, N/16, P, 16): per
 * channel and block of 16 images, the plane's P positions in turn, each one
 * float16 holding that position of the 16 images (N a multiple of 16). A tap
 * then moves whole vectors, with no shuffle and no mask, every vector a
 * work-item reads sits at a fixed offset from one pointer, and a tap that
 * falls outside the plane is code left out rather than a multiply by zero:
 * the flat kernels (conv.cl), whose vectors run along positions, spend 30% of
 * their multiplies on the padding of a 4x4 plane and 56% on a 2x2 one. The
 * host converts to and from the (C, N, P) layout of the rest of the model
 * (cnp_to_blocks, blocks_to_cnp), passes that move a few MiB where the
 * convolution does GFLOPs. Uses C3_STORE_DW and C3W_TOC of conv.cl. */

/* x (C, N, P) -> xb (C, N/16, P, 16), N a multiple of 16. global: dim 0 =
 * N / 16, dim 1 = P, dim 2 = C. */
__kernel void cnp_to_blocks(__global float *xb, ulong xb_off, __global const float *x,
                            ulong x_off, int C, int N, int P) {
  int nv = GID0, p = GID1, c = GID2;
  if (nv * 16 >= N || p >= P || c >= C) return;
  __global const float *src = x + x_off + ((size_t)c * N + nv * 16) * P + p;
  float16 v;
  v.s0 = src[0], v.s1 = src[P], v.s2 = src[2 * P], v.s3 = src[3 * P];
  v.s4 = src[4 * P], v.s5 = src[5 * P], v.s6 = src[6 * P], v.s7 = src[7 * P];
  v.s8 = src[8 * P], v.s9 = src[9 * P], v.sa = src[10 * P], v.sb = src[11 * P];
  v.sc = src[12 * P], v.sd = src[13 * P], v.se = src[14 * P], v.sf = src[15 * P];
  vstore16(v, 0, xb + xb_off + (((size_t)c * (N / 16) + nv) * P + p) * 16);
}

/* y (C, N, P) (+)= yb (C, N/16, P, 16) (+ b per channel). global as
 * cnp_to_blocks. */
__kernel void blocks_to_cnp(__global float *y, ulong y_off, __global const float *yb,
                            ulong yb_off, __global const float *b, ulong b_off, int C, int N,
                            int P, int has_bias, int acc, __global float *gout, ulong gout_off,
                            __global const float *g, ulong g_off, int epi, float beta) {
  int nv = GID0, p = GID1, c = GID2;
  if (nv * 16 >= N || p >= P || c >= C) return;
  float16 v = vload16(0, yb + yb_off + (((size_t)c * (N / 16) + nv) * P + p) * 16);
  if (has_bias) v += (float16)(b[b_off + c]);
  size_t at = ((size_t)c * N + nv * 16) * P + p;
  __global float *dst = y + y_off + at;
  float t[16];
  vstore16(v, 0, t);
  for (int i = 0; i < 16; i++) dst[i * P] = acc ? dst[i * P] + t[i] : t[i];
  /* the fused epilogue (conv_epilogue1 in conv.cl), on what was stored */
  if (epi)
    for (int i = 0; i < 16; i++)
      gout[gout_off + at + (size_t)i * P] =
          conv_epilogue1(dst[i * P], g[g_off + at + (size_t)i * P], epi, beta);
}

/* y (OC, N/16, P, 16) = the 3x3, stride 1, pad 1 convolution of x (C, N/16,
 * P, 16), planes H x W: w (OC, C, 3, 3), or with TRANS the dx convolution's,
 * w (C, OC, 3, 3) flipped. TRANS is fixed per kernel, so that every weight is
 * one row pointer plus a constant (a runtime sign cost an address
 * computation per weight). A work-item computes one output row of TOC
 * channels for 16 images: TOC * W vector accumulators (16: more spilled);
 * each input vector is loaded once per channel and serves the (up to) three
 * outputs it reaches. The rows of taps inside the plane (KY0..KY1) are fixed
 * per work-item, so each case is its own straight-line loop body. global:
 * dim 0 = ceil(OC / TOC) (neighbours share their input rows), dim 1 =
 * H * N / 16. */
#define CB_ROWS(KY0, KY1, W, TOC, TRANS)                                                        \
  for (int c = 0; c < C; c++, xr += cstride, wc += wcs) {                                       \
    _Pragma("unroll") for (int ky = (KY0); ky <= (KY1); ky++)                                   \
        _Pragma("unroll") for (int ix = 0; ix < (W); ix++) {                                    \
      float16 v = vload16(0, xr + (ky * (W) + ix) * 16);                                        \
      /* input column ix reaches output column ix + 1 - kx through tap kx */                    \
      _Pragma("unroll") for (int kx = 0; kx < 3; kx++) {                                        \
        const int ox = ix + 1 - kx;                                                             \
        if (ox < 0 || ox >= (W)) continue;                                                      \
        _Pragma("unroll") for (int j = 0; j < (TOC); j++) sum[j][ox] =                          \
            fma((float16)(wc[wrow[j] + ((TRANS) ? -(ky * 3 + kx) : ky * 3 + kx)]), v,           \
                sum[j][ox]);                                                                    \
      }                                                                                         \
    }                                                                                           \
  }

#define DEFINE_CONV3X3_BATCH(NAME, W, TOC, TRANS)                                               \
  __kernel void NAME(__global float *y, ulong y_off, __global const float *x, ulong x_off,      \
                     __global const float *w, ulong w_off, int C, int N, int H, int OC) {       \
    const int NV = N / 16, P = H * (W);                                                         \
    int oc0 = GID0 * (TOC), oy = GID1 % H, nv = GID1 / H;                                       \
    if (oc0 >= OC || nv >= NV) return;                                                          \
    const size_t cstride = (size_t)NV * P * 16;                                                 \
    /* input row oy - 1 + ky of image block nv, channel c: xr + ky * W * 16 */                  \
    __global const float *xr = x + x_off + ((size_t)nv * P + (oy - 1) * (W)) * 16;              \
    /* weight (oc0 + j, c, tap) at wc[wrow[j] +- tap] (rows past OC repeat the last) */         \
    int wrow[TOC];                                                                              \
    _Pragma("unroll") for (int j = 0; j < (TOC); j++) {                                         \
      int o = min(oc0 + j, OC - 1);                                                             \
      wrow[j] = (TRANS) ? o * 9 + 8 : o * C * 9;                                                \
    }                                                                                           \
    const int wcs = (TRANS) ? OC * 9 : 9;                                                       \
    __global const float *wc = w + w_off;                                                       \
    float16 sum[TOC][W];                                                                        \
    _Pragma("unroll") for (int j = 0; j < (TOC); j++)                                           \
        _Pragma("unroll") for (int o = 0; o < (W); o++) sum[j][o] = (float16)(0.0f);            \
    if (H == 1) CB_ROWS(1, 1, W, TOC, TRANS)                                                    \
    else if (oy == 0) CB_ROWS(1, 2, W, TOC, TRANS)                                              \
    else if (oy == H - 1) CB_ROWS(0, 1, W, TOC, TRANS)                                          \
    else CB_ROWS(0, 2, W, TOC, TRANS)                                                           \
    for (int j = 0; j < (TOC) && oc0 + j < OC; j++)                                             \
      _Pragma("unroll") for (int o = 0; o < (W); o++) vstore16(                                 \
          sum[j][o], 0, y + y_off + (((size_t)(oc0 + j) * NV + nv) * P + oy * (W) + o) * 16);   \
  }

DEFINE_CONV3X3_BATCH(conv3x3_batch2, 2, 8, 0)
DEFINE_CONV3X3_BATCH(conv3x3_batch4, 4, 4, 0)
DEFINE_CONV3X3_BATCH(conv3x3_batch8, 8, 2, 0)
DEFINE_CONV3X3_BATCH(conv3x3_batch2_dx, 2, 8, 1)
DEFINE_CONV3X3_BATCH(conv3x3_batch4_dx, 4, 4, 1)
DEFINE_CONV3X3_BATCH(conv3x3_batch8_dx, 8, 2, 1)

/* Weight gradient on the batch-blocked layout: a work-item sums, over one
 * chunk of blocks of 16 images, dy (OC, N/16, P, 16) of CBW_TOC output
 * channels against the taps inside the plane of x (C, N/16, P, 16) of one
 * input channel into CBW_TOC x 9 vector accumulators, whose lanes are added
 * at the end. global: dim 0 = ceil(OC / CBW_TOC), dim 1 = C, dim 2 = chunks
 * of nvb blocks; chunk s writes the partial sum
 * part[s * OC * C * 9 + (oc * C + c) * 9 + tap], added up by conv_dw_reduce. */
/* as the row and flat kernels (2; 3 spilled accumulators here: 8x8 256->256
 * backward 24 -> 32 ms), so that they share C3_STORE_DW */
#define CBW_TOC C3W_TOC

/* output row oy, whose taps inside the plane are rows KY0..KY1 */
#define CBW_ROW(oy, KY0, KY1, W)                                                                \
  {                                                                                             \
    __global const float *xr = xb + ((oy) - 1) * (W) * 16;                                      \
    _Pragma("unroll") for (int ox = 0; ox < (W); ox++) {                                        \
      float16 d[CBW_TOC];                                                                       \
      _Pragma("unroll") for (int j = 0; j < CBW_TOC; j++)                                       \
          d[j] = vload16(0, dyb[j] + ((oy) * (W) + ox) * 16);                                   \
      _Pragma("unroll") for (int ky = (KY0); ky <= (KY1); ky++)                                 \
          _Pragma("unroll") for (int kx = 0; kx < 3; kx++) {                                    \
        const int ix = ox + kx - 1;                                                             \
        if (ix < 0 || ix >= (W)) continue;                                                      \
        float16 xv = vload16(0, xr + (ky * (W) + ix) * 16);                                     \
        _Pragma("unroll") for (int j = 0; j < CBW_TOC; j++)                                     \
            acc[j][ky * 3 + kx] = fma(d[j], xv, acc[j][ky * 3 + kx]);                           \
      }                                                                                         \
    }                                                                                           \
  }

#define DEFINE_CONV3X3_DW_BATCH(NAME, W)                                                        \
  __kernel void NAME(__global float *part, ulong part_off, __global const float *dy,            \
                     ulong dy_off, __global const float *x, ulong x_off, int C, int N, int H,   \
                     int OC, int nvb) {                                                         \
    const int NV = N / 16, P = H * (W);                                                         \
    int oc0 = GID0 * CBW_TOC, c = GID1, s = GID2;                                               \
    int v0 = s * nvb, v1 = min(NV, v0 + nvb);                                                   \
    if (oc0 >= OC || c >= C || v0 >= NV) return;                                                \
    float16 acc[CBW_TOC][9];                                                                    \
    _Pragma("unroll") for (int j = 0; j < CBW_TOC; j++)                                         \
        _Pragma("unroll") for (int t = 0; t < 9; t++) acc[j][t] = (float16)(0.0f);              \
    for (int nv = v0; nv < v1; nv++) {                                                          \
      __global const float *dyb[CBW_TOC];                                                       \
      _Pragma("unroll") for (int j = 0; j < CBW_TOC; j++)                                       \
          dyb[j] = dy + dy_off + ((size_t)min(oc0 + j, OC - 1) * NV + nv) * P * 16;             \
      __global const float *xb = x + x_off + ((size_t)c * NV + nv) * P * 16;                    \
      if (H == 1) CBW_ROW(0, 1, 1, W)                                                           \
      else {                                                                                    \
        CBW_ROW(0, 1, 2, W)                                                                     \
        for (int oy = 1; oy < H - 1; oy++) CBW_ROW(oy, 0, 2, W)                                 \
        CBW_ROW(H - 1, 0, 1, W)                                                                 \
      }                                                                                         \
    }                                                                                           \
    __global float *pp = part + part_off + (size_t)s * OC * C * 9;                              \
    C3_STORE_DW(pp, acc, oc0, c, C, OC)                                                         \
  }

DEFINE_CONV3X3_DW_BATCH(conv3x3_dw_batch2, 2)
DEFINE_CONV3X3_DW_BATCH(conv3x3_dw_batch4, 4)
DEFINE_CONV3X3_DW_BATCH(conv3x3_dw_batch8, 8)

/* The project's own GEMM for CPU devices: C = alpha * op(A) * op(B) + beta * C,
 * row-major. src/cl/gemm.c drives it and documents the data layout.
 *
 * One work-item (work-group size 1) owns a TM x TN tile of C and keeps it in
 * TM * TN/VW vector accumulators for a whole block of kc steps of K. On a CPU
 * device that tile lives in registers (12 x 32 floats = 24 AVX-512 registers),
 * so each step of K costs TM broadcasts and TN/VW vector loads for
 * TM * TN/VW fused multiply-adds; wider work-groups only add the runtime's
 * work-item loop around that. Tile sizes are -D parameters chosen by
 * `dlgn tune` per device.
 *
 * The A side always comes packed: panels of TM rows, k-major, rows past M
 * zero-filled, so the inner loop never tests bounds. The B side is either the
 * caller's matrix read in place (rows of op(B) are contiguous when B is not
 * transposed) or packed the same way in panels of TN columns; the host tells
 * which through b_ps (distance between panels) and b_ks (distance between
 * steps of K). Only the store guards the edges of C. */

#ifndef TM
#define TM 12
#endif
#ifndef TN
#define TN 32
#endif
#ifndef VW
#define VW 16
#endif

#if TN % VW != 0
#error "TN must be a multiple of VW"
#endif
#define NV (TN / VW)

#if VW == 16
#define floatv float16
#define VLOAD vload16
#define VSTORE vstore16
#elif VW == 8
#define floatv float8
#define VLOAD vload8
#define VSTORE vstore8
#elif VW == 4
#define floatv float4
#define VLOAD vload4
#define VSTORE vstore4
#elif VW == 1
#define floatv float
#define VLOAD(i, p) ((p)[(i)])
#define VSTORE(x, i, p) ((p)[(i)] = (x))
#else
#error "VW must be 1, 4, 8 or 16"
#endif

/* Tile (q, p) of a grid of nq x np tiles; qfast says which index varies
 * fastest, so that consecutive work-items share the panel of the larger
 * operand while the smaller operand's block stays in cache. p_base shifts the
 * column tiles when the last, partial, column panel runs as its own launch. */
__kernel __attribute__((reqd_work_group_size(1, 1, 1))) void gemm_tile(
    const int M, const int N, const int kc, __global const float *restrict Ap,
    __global const float *restrict B, const int b_off, const int b_ps, const int b_ks,
    __global float *C, const int offc, const int ldc, const float alpha, const float beta,
    const int nq, const int np, const int qfast, const int p_base) {
  const int gid = (int)get_global_id(0);
  const int q = qfast ? gid % nq : gid / np;
  const int p = qfast ? gid / nq : gid % np;
  if (q >= nq || p >= np) return;

  __global const float *a = Ap + q * kc * TM;
  __global const float *b = B + b_off + p * b_ps;

  floatv acc[TM][NV];
#pragma unroll
  for (int i = 0; i < TM; i++)
#pragma unroll
    for (int v = 0; v < NV; v++) acc[i][v] = (floatv)(0.0f);

  for (int k = 0; k < kc; k++) {
    floatv bv[NV];
#pragma unroll
    for (int v = 0; v < NV; v++) bv[v] = VLOAD(v, b);
#pragma unroll
    for (int i = 0; i < TM; i++) {
      const floatv av = (floatv)(a[i]);
#pragma unroll
      for (int v = 0; v < NV; v++) acc[i][v] = mad(av, bv[v], acc[i][v]);
    }
    a += TM;
    b += b_ks;
  }

  const int i0 = q * TM;
  const int j0 = (p_base + p) * TN;
  __global float *c = C + offc + i0 * ldc + j0;
  const int mm = min(TM, M - i0);
  const int nn = min(TN, N - j0);
  if (mm == TM && nn == TN) {
#pragma unroll
    for (int i = 0; i < TM; i++)
#pragma unroll
      for (int v = 0; v < NV; v++) {
        floatv r = alpha * acc[i][v];
        /* beta == 0 must not read C: it may hold NaN garbage. */
        if (beta != 0.0f) r = mad((floatv)(beta), VLOAD(v, c + i * ldc), r);
        VSTORE(r, v, c + i * ldc);
      }
    return;
  }
  for (int i = 0; i < mm; i++) {
    float row[TN];
#pragma unroll
    for (int v = 0; v < NV; v++) VSTORE(acc[i][v], v, row);
    for (int j = 0; j < nn; j++) {
      float r = alpha * row[j];
      if (beta != 0.0f) r = mad(beta, c[i * ldc + j], r);
      c[i * ldc + j] = r;
    }
  }
}

/* Pack rows [0, npanels * W) of an operand X, element (r, k) at
 * X[off + r * rs + k * ks], into panels of W rows laid out k-major:
 * P[(r / W) * kc * W + k * W + r % W]; rows at or past R become zero.
 * One work-item per panel and run of 16 steps of K. When rows run along K
 * (ks == 1) each row's 16 values are read as one contiguous run and written
 * transposed (within a block that stays in L1); otherwise each step of K is a
 * run of W values. W is a compile-time constant so the loops unroll. */
#define DEFINE_PACK(NAME, W)                                                                     \
  __kernel __attribute__((reqd_work_group_size(1, 1, 1))) void NAME(                            \
      __global float *restrict P, const int npanels, const int kc,                              \
      __global const float *restrict X, const int off, const int rs, const int ks, const int R) { \
    const int panel = (int)get_global_id(0);                                                     \
    const int k0 = (int)get_global_id(1) * 16;                                                   \
    if (panel >= npanels || k0 >= kc) return;                                                    \
    const int nk = min(16, kc - k0);                                                             \
    const int r0 = panel * (W);                                                                  \
    __global float *dst = P + panel * kc * (W) + k0 * (W);                                       \
    if (ks == 1) {                                                                               \
      for (int r = 0; r < (W); r++) {                                                            \
        if (r0 + r < R) {                                                                        \
          __global const float *src = X + off + (r0 + r) * rs + k0;                              \
          for (int k = 0; k < nk; k++) dst[k * (W) + r] = src[k];                                \
        } else {                                                                                 \
          for (int k = 0; k < nk; k++) dst[k * (W) + r] = 0.0f;                                  \
        }                                                                                        \
      }                                                                                          \
    } else {                                                                                     \
      for (int k = 0; k < nk; k++) {                                                             \
        __global const float *src = X + off + r0 * rs + (k0 + k) * ks;                           \
        _Pragma("unroll") for (int r = 0; r < (W); r++) dst[k * (W) + r] =                       \
            r0 + r < R ? src[r * rs] : 0.0f;                                                     \
      }                                                                                          \
    }                                                                                            \
  }

DEFINE_PACK(gemm_pack_a, TM)
DEFINE_PACK(gemm_pack_b, TN)

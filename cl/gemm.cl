/* The project's own GEMM for CPU devices: C = alpha * op(A) * op(B) + beta * C,
 * row-major. src/cl/gemm.c drives it and documents the data layout.
 *
 * One work-item (work-group size 1) owns a TM x TN tile of C and keeps it in
 * TM * TN/VW vector accumulators for a whole block of kc steps of K. On a CPU
 * device that tile lives in registers (4 x 64 floats = 16 AVX-512 registers),
 * so each step of K costs TM broadcasts and TN/VW vector loads for
 * TM * TN/VW fused multiply-adds; wider work-groups only add the runtime's
 * work-item loop around that. Tile sizes are -D parameters chosen by
 * `dlgn tune` per device.
 *
 * The A side (read one broadcast value at a time) comes packed in panels of
 * TM rows, k-major, rows past the edge zero-filled, or is read in place with
 * runtime strides. The B side (read TN/VW vectors at a time) is either the
 * caller's matrix read in place, when its rows are contiguous, or packed the
 * same way in panels of TN columns; the host tells which through b_ps
 * (distance between panels) and b_ks (distance between steps of K). The
 * inner loop never tests bounds; only the store guards the edges of C. */

#ifndef TM
#define TM 4
#endif
#ifndef TN
#define TN 64
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

/* The work of one tile over nk steps of K: row i of the A side at step k is
 * a[arow[i] + k * a_ks], the B side's TN values at step k start at
 * b + k * b_ks, of which the first b_cols exist (fewer than TN only in the
 * last panel of a B side read in place: the missing columns repeat the last
 * one, read one value at a time, and are never stored). For packed A the
 * caller passes arow[i] = i and a_ks = TM as constants, which the compiler
 * folds into contiguous loads. Defined for a B side in global and in local
 * memory. */
#define DEFINE_MAC(NAME, BSPACE, EDGE)                                                           \
  static inline void NAME(floatv acc[TM][NV], __global const float *a, const int a_ks,          \
                          const int arow[TM], BSPACE const float *b, const int b_ks,             \
                          const int b_cols, const int nk) {                                      \
    _Pragma("unroll") for (int i = 0; i < TM; i++)                                              \
        _Pragma("unroll") for (int v = 0; v < NV; v++) acc[i][v] = (floatv)(0.0f);              \
    for (int k = 0; k < nk; k++) {                                                               \
      floatv bv[NV];                                                                             \
      if (!(EDGE)) {                                                                             \
        _Pragma("unroll") for (int v = 0; v < NV; v++) bv[v] = VLOAD(v, b);                     \
      } else {                                                                                   \
        float edge[TN];                                                                          \
        for (int j = 0; j < TN; j++) edge[j] = b[min(j, b_cols - 1)];                            \
        _Pragma("unroll") for (int v = 0; v < NV; v++) bv[v] = VLOAD(v, edge);                  \
      }                                                                                          \
      _Pragma("unroll") for (int i = 0; i < TM; i++) {                                          \
        const floatv av = (floatv)(a[arow[i]]);                                                  \
        _Pragma("unroll") for (int v = 0; v < NV; v++) acc[i][v] = mad(av, bv[v], acc[i][v]);   \
      }                                                                                          \
      a += a_ks;                                                                                 \
      b += b_ks;                                                                                 \
    }                                                                                            \
  }
/* the edge test is a constant in each, so the full-panel loops are as before */
DEFINE_MAC(tile_mac_global, __global, false)
DEFINE_MAC(tile_mac_edge, __global, true)
DEFINE_MAC(tile_mac_local, __local, false)

/* Store the tile at (i0, j0) of the R x S product: mm x nn valid values,
 * into C, or C transposed with ctrans. beta == 0 must not read C: it may
 * hold NaN garbage. */
static inline void tile_store(floatv acc[TM][NV], __global float *C, const int ldc,
                              const int ctrans, const float alpha, const float beta, const int i0,
                              const int j0, const int mm, const int nn) {
  if (!ctrans && mm == TM && nn == TN) {
    __global float *c = C + i0 * ldc + j0;
#pragma unroll
    for (int i = 0; i < TM; i++)
#pragma unroll
      for (int v = 0; v < NV; v++) {
        floatv r = alpha * acc[i][v];
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
      __global float *c = ctrans ? C + (j0 + j) * ldc + i0 + i : C + (i0 + i) * ldc + j0 + j;
      float r = alpha * row[j];
      if (beta != 0.0f) r = mad(beta, *c, r);
      *c = r;
    }
  }
}

/* Tiles of the R x S product (C, or C transposed with ctrans: the host swaps
 * the operands when that saves packing a transposed B), nq x np of them,
 * over the steps [s * kc, (s + 1) * kc) of a pass of klen steps of K (split
 * s of nsplit).
 * - Row r of the A side at step k is A[a_off + q * a_ps + r * a_is + k * a_ks]:
 *   packed panels (a_is = 1, a_ks = TM, folded in the kernels without
 *   "direct" in their name) or the caller's matrix in place, repeating the
 *   last valid row past the edge (those rows are never stored).
 * - The B side of panel p at step k starts at B + b_off + p * b_ps + k * b_ks;
 *   b_cols < TN: only that many columns exist (the last panel read in place).
 * - p_base shifts the column tiles when the last, partial, column panel runs
 *   as its own launch.
 * - Split s writes to C + s * c_ss: the host gives nsplit > 1 only with a
 *   partial-sum buffer, alpha = 1, beta = 0, ctrans = 0, and adds the splits
 *   up with gemm_reduce.
 * gemm_tile*: one work-item per tile; qfast says which tile index varies
 * fastest, so that consecutive work-items share the panel of the larger
 * operand while the smaller operand's block stays in cache.
 * gemm_bcopy*: one work-item per B panel and run of qchunk row tiles. It
 * first copies its B panel (read in place, rows ldb apart) into local memory
 * bl (kc x TN floats): the rows of a panel read in place sit a large power of
 * two apart in conv layers (ldb = batch x pixels), so they fall into a few
 * cache sets and would not stay in cache while the row tiles reuse them. */
#define TILE_ARGS                                                                                \
  const int R, const int S, const int kc, const int klen, __global const float *restrict A,     \
      const int a_off, const int a_ps, const int a_is, const int a_ks,                           \
      __global const float *restrict B, const int b_off, const int b_ps, const int b_ks,         \
      __global float *C, const int offc, const int ldc, const int c_ss, const int ctrans,        \
      const float alpha, const float beta, const int nq, const int np, const int nsplit,         \
      const int qfast, const int p_base, const int qchunk, const int b_cols

static inline void tile_rows(const bool a_direct, const int a_is, const int mm, int arow[TM]) {
#pragma unroll
  for (int i = 0; i < TM; i++) arow[i] = a_direct ? min(i, mm - 1) * a_is : i;
}

#define DEFINE_TILE(NAME, A_DIRECT)                                                              \
  __kernel __attribute__((reqd_work_group_size(1, 1, 1))) void NAME(TILE_ARGS) {                \
    const int gid = (int)get_global_id(0);                                                       \
    const int tile = gid % (nq * np), s = gid / (nq * np);                                       \
    const int q = qfast ? tile % nq : tile / np;                                                 \
    const int p = qfast ? tile / nq : tile % np;                                                 \
    if (s >= nsplit) return;                                                                     \
    const int k0 = s * kc, nk = min(kc, klen - k0);                                              \
    const int i0 = q * TM, j0 = (p_base + p) * TN;                                               \
    const int mm = min(TM, R - i0), nn = min(TN, S - j0);                                        \
    const int a_step = (A_DIRECT) ? a_ks : TM;                                                   \
    int arow[TM];                                                                                \
    tile_rows((A_DIRECT), a_is, mm, arow);                                                       \
    floatv acc[TM][NV];                                                                          \
    if (b_cols >= TN)                                                                            \
      tile_mac_global(acc, A + a_off + q * a_ps + k0 * a_step, a_step, arow,                     \
                      B + b_off + p * b_ps + k0 * b_ks, b_ks, TN, nk);                           \
    else                                                                                         \
      tile_mac_edge(acc, A + a_off + q * a_ps + k0 * a_step, a_step, arow,                       \
                    B + b_off + p * b_ps + k0 * b_ks, b_ks, b_cols, nk);                         \
    tile_store(acc, C + offc + s * c_ss, ldc, ctrans, alpha, beta, i0, j0, mm, nn);              \
  }

#define DEFINE_BCOPY(NAME, A_DIRECT)                                                             \
  __kernel __attribute__((reqd_work_group_size(1, 1, 1))) void NAME(TILE_ARGS,                  \
                                                                     __local float *bl) {        \
    const int gid = (int)get_global_id(0);                                                       \
    const int ngroups = (nq + qchunk - 1) / qchunk;                                              \
    const int p = gid % np, qg = (gid / np) % ngroups, s = gid / (np * ngroups);                 \
    if (s >= nsplit) return;                                                                     \
    const int k0 = s * kc, nk = min(kc, klen - k0);                                              \
    __global const float *b = B + b_off + p * b_ps + k0 * b_ks;                                  \
    for (int k = 0; k < nk; k++)                                                                 \
      _Pragma("unroll") for (int v = 0; v < NV; v++)                                             \
          VSTORE(VLOAD(v, b + k * b_ks), v, bl + k * TN);                                        \
    const int j0 = (p_base + p) * TN, nn = min(TN, S - j0);                                      \
    const int a_step = (A_DIRECT) ? a_ks : TM;                                                   \
    const int q1 = min(nq, (qg + 1) * qchunk);                                                   \
    for (int q = qg * qchunk; q < q1; q++) {                                                     \
      const int i0 = q * TM, mm = min(TM, R - i0);                                               \
      int arow[TM];                                                                              \
      tile_rows((A_DIRECT), a_is, mm, arow);                                                     \
      floatv acc[TM][NV];                                                                        \
      tile_mac_local(acc, A + a_off + q * a_ps + k0 * a_step, a_step, arow, bl, TN, TN, nk);     \
      tile_store(acc, C + offc + s * c_ss, ldc, ctrans, alpha, beta, i0, j0, mm, nn);            \
    }                                                                                            \
  }

DEFINE_TILE(gemm_tile, false)
DEFINE_TILE(gemm_tile_direct, true)
DEFINE_BCOPY(gemm_bcopy, false)
DEFINE_BCOPY(gemm_bcopy_direct, true)

/* C = alpha * (sum of the nsplit partial R x S products P[s]) + beta * C,
 * C transposed with ctrans. */
__kernel void gemm_reduce(__global float *C, const int offc, const int ldc, const int ctrans,
                          __global const float *restrict P, const int nsplit, const int R,
                          const int S, const float alpha, const float beta) {
  const int j = (int)get_global_id(0), i = (int)get_global_id(1);
  if (i >= R || j >= S) return;
  float sum = 0.0f;
  for (int s = 0; s < nsplit; s++) sum += P[(s * R + i) * S + j];
  __global float *c = C + offc + (ctrans ? j * ldc + i : i * ldc + j);
  *c = beta != 0.0f ? mad(beta, *c, alpha * sum) : alpha * sum;
}

/* Pack rows [0, npanels * W) of an operand X, element (r, k) at
 * X[off + r * rs + k * ks], into panels of W rows laid out k-major:
 * P[(r / W) * kc * W + k * W + r % W]; rows at or past R become zero.
 * One work-item per run of 64 steps of K (dimension 0, so that the runs a
 * thread takes in turn continue the same rows and the prefetcher follows
 * them) and panel (dimension 1). When rows run along K (ks == 1) each row's
 * run is read as one contiguous stretch and written transposed into a block
 * that stays in L1; otherwise each step of K is a run of W values. W is a
 * compile-time constant so the loops unroll. */
#define PACK_RUN 64
#define DEFINE_PACK(NAME, W)                                                                     \
  __kernel __attribute__((reqd_work_group_size(1, 1, 1))) void NAME(                            \
      __global float *restrict P, const int npanels, const int kc,                              \
      __global const float *restrict X, const int off, const int rs, const int ks, const int R) { \
    const int k0 = (int)get_global_id(0) * PACK_RUN;                                             \
    const int panel = (int)get_global_id(1);                                                     \
    if (panel >= npanels || k0 >= kc) return;                                                    \
    const int nk = min(PACK_RUN, kc - k0);                                                       \
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

/* The work-group GEMM: C = alpha * op(A) * op(B) + beta * C, row-major, for
 * devices that run the work-items of a group side by side (GPUs, and CPU
 * runtimes such as Mesa's llvmpipe that vectorise across work-items, where
 * the one-work-item tile kernel of cl/gemm.cl runs scalar).
 * src/cl/gemm_wg.c drives it.
 *
 * A work-group of WGX x WGY work-items owns a TSM x TSN tile of C; each
 * work-item computes WPTM x WPTN of its values, rows WGY apart and columns
 * WGX apart, so that neighbouring work-items (dimension 0) touch neighbouring
 * columns of C and of the B tile. K runs in steps of TSK: the group copies
 * the A and B blocks of the step into local memory (zero past the edges of
 * M, N and K, so the inner loop never tests bounds and never reads memory
 * nothing wrote), then every work-item multiplies its part.
 * With TSK == 0 there is no local memory and no barrier: each work-item
 * reads its rows of A and columns of B straight from global memory, rows and
 * columns past the edges clamped to the last valid one (their results are
 * never stored). That suits CPU runtimes, where local memory is ordinary
 * memory and the caches already hold the tiles: on llvmpipe it runs 1.5 to
 * 2 times faster than the local-memory form.
 * The operands are read in place through strides, so transposes need no
 * packing pass and a call is one launch. Uses no extension (no fp16, no
 * subgroups). */

#ifndef TSM
#define TSM 64
#endif
#ifndef TSN
#define TSN 64
#endif
#ifndef TSK
#define TSK 16
#endif
#ifndef WPTM
#define WPTM 4
#endif
#ifndef WPTN
#define WPTN 4
#endif

#if TSM % WPTM != 0 || TSN % WPTN != 0
#error "TSM and TSN must be multiples of WPTM and WPTN"
#endif
#define WGX (TSN / WPTN)
#define WGY (TSM / WPTM)
#define NTHREADS (WGX * WGY)

/* Element (i, k) of op(A) is A[offa + i * a_is + k * a_ks] and element
 * (k, j) of op(B) is B[offb + k * b_ks + j * b_js]. The copy loops let
 * consecutive work-items read consecutive addresses: along K when a_ks == 1,
 * else along M (and along N when b_js == 1, else along K). */
__kernel __attribute__((reqd_work_group_size(WGX, WGY, 1))) void gemm_wg(
    const int M, const int N, const int K, const float alpha, __global const float *restrict A,
    const int offa, const int a_is, const int a_ks, __global const float *restrict B,
    const int offb, const int b_ks, const int b_js, const float beta, __global float *C,
    const int offc, const int ldc) {
  const int tx = (int)get_local_id(0), ty = (int)get_local_id(1);
  const int i0 = (int)get_group_id(1) * TSM, j0 = (int)get_group_id(0) * TSN;
  float acc[WPTM][WPTN];
#pragma unroll
  for (int m = 0; m < WPTM; m++)
#pragma unroll
    for (int n = 0; n < WPTN; n++) acc[m][n] = 0.0f;

#if TSK == 0
  int ai[WPTM], bj[WPTN];
#pragma unroll
  for (int m = 0; m < WPTM; m++) ai[m] = offa + min(i0 + ty + m * WGY, M - 1) * a_is;
#pragma unroll
  for (int n = 0; n < WPTN; n++) bj[n] = offb + min(j0 + tx + n * WGX, N - 1) * b_js;
  for (int k = 0; k < K; k++) {
    float a[WPTM], b[WPTN];
#pragma unroll
    for (int m = 0; m < WPTM; m++) a[m] = A[ai[m] + k * a_ks];
#pragma unroll
    for (int n = 0; n < WPTN; n++) b[n] = B[bj[n] + k * b_ks];
#pragma unroll
    for (int m = 0; m < WPTM; m++)
#pragma unroll
      for (int n = 0; n < WPTN; n++) acc[m][n] = mad(a[m], b[n], acc[m][n]);
  }
#else
  __local float As[TSK][TSM];
  __local float Bs[TSK][TSN];
  const int tid = ty * WGX + tx;
  for (int k0 = 0; k0 < K; k0 += TSK) {
    for (int e = tid; e < TSM * TSK; e += NTHREADS) {
      const int k = a_ks == 1 ? e % TSK : e / TSM;
      const int i = a_ks == 1 ? e / TSK : e % TSM;
      const int gi = i0 + i, gk = k0 + k;
      As[k][i] = gi < M && gk < K ? A[offa + gi * a_is + gk * a_ks] : 0.0f;
    }
    for (int e = tid; e < TSN * TSK; e += NTHREADS) {
      const int k = b_js == 1 ? e / TSN : e % TSK;
      const int j = b_js == 1 ? e % TSN : e / TSK;
      const int gj = j0 + j, gk = k0 + k;
      Bs[k][j] = gj < N && gk < K ? B[offb + gk * b_ks + gj * b_js] : 0.0f;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
#pragma unroll 4
    for (int k = 0; k < TSK; k++) {
      float a[WPTM], b[WPTN];
#pragma unroll
      for (int m = 0; m < WPTM; m++) a[m] = As[k][ty + m * WGY];
#pragma unroll
      for (int n = 0; n < WPTN; n++) b[n] = Bs[k][tx + n * WGX];
#pragma unroll
      for (int m = 0; m < WPTM; m++)
#pragma unroll
        for (int n = 0; n < WPTN; n++) acc[m][n] = mad(a[m], b[n], acc[m][n]);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }
#endif

  /* beta == 0 must not read C: it may hold NaN garbage. */
#pragma unroll
  for (int m = 0; m < WPTM; m++) {
    const int i = i0 + ty + m * WGY;
    if (i >= M) break;
#pragma unroll
    for (int n = 0; n < WPTN; n++) {
      const int j = j0 + tx + n * WGX;
      if (j < N) {
        __global float *c = C + offc + i * ldc + j;
        const float r = alpha * acc[m][n];
        *c = beta != 0.0f ? mad(beta, *c, r) : r;
      }
    }
  }
}

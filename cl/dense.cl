/* Bias kernels around the GEMMs of the dense layer: the GEMM itself goes
 * through dlgn_gemm. */

/* y (N,OUT) = b broadcast over rows (the GEMM then adds x w^T with beta = 1) */
__kernel void bias_rows(__global float *y, ulong y_off, __global const float *b, ulong b_off,
                        int N, int OUT) {
  int j = GID0;
  if (j < N * OUT) y[y_off + j] = b[b_off + j % OUT];
}

#define COLSUM_TILE 16
/* x (R,Cc) -> out (Cc) column sums: a 16x16 group takes 16 columns, its rows
 * stride down them (reads contiguous across the group), then a tree over the
 * 16 partial sums of each column */
__kernel void col_sum(__global float *out, ulong out_off, __global const float *x, ulong x_off,
                      int R, int Cc) {
  __local float part[COLSUM_TILE][COLSUM_TILE + 1];
  int lc = (int)get_local_id(0), lr = (int)get_local_id(1);
  int c = (int)get_group_id(0) * COLSUM_TILE + lc;
  float s = 0.0f;
  if (c < Cc)
    for (int r = lr; r < R; r += COLSUM_TILE) s += x[x_off + (size_t)r * Cc + c];
  part[lr][lc] = s;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int h = COLSUM_TILE / 2; h > 0; h >>= 1) {
    if (lr < h) part[lr][lc] += part[lr + h][lc];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  if (lr == 0 && c < Cc) out[out_off + c] = part[0][lc];
}

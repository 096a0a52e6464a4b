/* Winograd F(2x2, 3x3) for 3x3, stride 1, pad 1 convolutions on CNHW
 * activations with even H and W (src/nn/ops_winograd.c drives it). An output
 * tile of 2x2 pixels reads a 4x4 input patch; in the transformed domain the
 * 9 multiplications per output pixel and channel pair become 4, as 16 GEMMs
 * (one per point xi of the 4x4 domain):
 *   V[xi] (C, T)  = (B^T d B)[xi]      input patches, T tiles
 *   U[xi] (OC, C) = (G g G^T)[xi]      weights
 *   M[xi] (OC, T) = U[xi] V[xi]        dlgn_gemm
 *   y             = A^T M A (+ bias)   2x2 outputs per tile
 * with B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],
 * G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1], A^T = [1 1 1 0; 0 1 -1 -1].
 * The weight gradient runs the same product backwards:
 *   dM[xi] = (A dY A^T)[xi], dU[xi] (OC, C) = dM[xi] V[xi]^T (dlgn_gemm),
 *   dw = G^T dU G.
 * A chunk of nb images from image n0 has T = nb * (H/2) * (W/2) tiles, tile
 * t = (image, tile row, tile column) in that order; the 16 matrices of V
 * lie one after the other (V[xi] at xi * C * T). */

/* x (C, N, H, W) -> V (16, C, T) for images n0 .. n0+nb-1, zero outside the
 * image. Range (W/2, nb * H/2, C): a work-item per tile and channel. */
__kernel void wino_input(__global float *V, ulong v_off, __global const float *x, ulong x_off,
                         int C, int N, int H, int W, int n0, int nb) {
  int tx = GID0, tr = GID1, c = GID2;
  int tw = W / 2, th = H / 2;
  if (tx >= tw || tr >= nb * th || c >= C) return;
  int ty = tr % th, n = n0 + tr / th;
  __global const float *xp = x + x_off + ((size_t)c * N + n) * H * W;
  float d[4][4];
  for (int r = 0; r < 4; r++) {
    int iy = 2 * ty - 1 + r;
    for (int s = 0; s < 4; s++) {
      int ix = 2 * tx - 1 + s;
      d[r][s] = iy >= 0 && iy < H && ix >= 0 && ix < W ? xp[iy * W + ix] : 0.0f;
    }
  }
  float b[4][4];
  for (int s = 0; s < 4; s++) {
    b[0][s] = d[0][s] - d[2][s];
    b[1][s] = d[1][s] + d[2][s];
    b[2][s] = d[2][s] - d[1][s];
    b[3][s] = d[1][s] - d[3][s];
  }
  size_t T = (size_t)nb * th * tw, t = (size_t)tr * tw + tx;
  __global float *v = V + v_off + (size_t)c * T + t;
  size_t xs = (size_t)C * T; /* distance between the matrices of two points */
  for (int r = 0; r < 4; r++) {
    v[(r * 4 + 0) * xs] = b[r][0] - b[r][2];
    v[(r * 4 + 1) * xs] = b[r][1] + b[r][2];
    v[(r * 4 + 2) * xs] = b[r][2] - b[r][1];
    v[(r * 4 + 3) * xs] = b[r][1] - b[r][3];
  }
}

/* w -> U (16, R, S): U[xi][o][c] from the 3x3 kernel g of output channel o
 * and input channel c. transposed: the convolution that gives dx, whose
 * output channels are the forward's inputs: g[ky][kx] = w[c][o][2-ky][2-kx]
 * of the forward w (S, R, 3, 3); otherwise g = w[o][c] of w (R, S, 3, 3).
 * Range (S, R). */
__kernel void wino_weight(__global float *U, ulong u_off, __global const float *w, ulong w_off,
                          int R, int S, int transposed) {
  int c = GID0, o = GID1;
  if (c >= S || o >= R) return;
  float g[3][3];
  for (int ky = 0; ky < 3; ky++)
    for (int kx = 0; kx < 3; kx++)
      g[ky][kx] = transposed ? w[w_off + ((size_t)c * R + o) * 9 + (2 - ky) * 3 + (2 - kx)]
                             : w[w_off + ((size_t)o * S + c) * 9 + ky * 3 + kx];
  float a[4][3];
  for (int j = 0; j < 3; j++) {
    a[0][j] = g[0][j];
    a[1][j] = 0.5f * (g[0][j] + g[1][j] + g[2][j]);
    a[2][j] = 0.5f * (g[0][j] - g[1][j] + g[2][j]);
    a[3][j] = g[2][j];
  }
  __global float *u = U + u_off + (size_t)o * S + c;
  size_t xs = (size_t)R * S;
  for (int i = 0; i < 4; i++) {
    u[(i * 4 + 0) * xs] = a[i][0];
    u[(i * 4 + 1) * xs] = 0.5f * (a[i][0] + a[i][1] + a[i][2]);
    u[(i * 4 + 2) * xs] = 0.5f * (a[i][0] - a[i][1] + a[i][2]);
    u[(i * 4 + 3) * xs] = a[i][2];
  }
}

/* M (16, OC, T) -> y (OC, N, H, W) for images n0 .. n0+nb-1: y = A^T m A
 * (+ b[o] with has_bias; y += with acc). Range (W/2, nb * H/2, OC). */
__kernel void wino_output(__global float *y, ulong y_off, __global const float *M, ulong m_off,
                          __global const float *bias, ulong b_off, int OC, int N, int H, int W,
                          int n0, int nb, int has_bias, int acc) {
  int tx = GID0, tr = GID1, o = GID2;
  int tw = W / 2, th = H / 2;
  if (tx >= tw || tr >= nb * th || o >= OC) return;
  int ty = tr % th, n = n0 + tr / th;
  size_t T = (size_t)nb * th * tw, t = (size_t)tr * tw + tx, xs = (size_t)OC * T;
  __global const float *mp = M + m_off + (size_t)o * T + t;
  float m[4][4];
  for (int r = 0; r < 4; r++)
    for (int s = 0; s < 4; s++) m[r][s] = mp[(r * 4 + s) * xs];
  float b[2][4];
  for (int s = 0; s < 4; s++) {
    b[0][s] = m[0][s] + m[1][s] + m[2][s];
    b[1][s] = m[1][s] - m[2][s] - m[3][s];
  }
  float bo = has_bias ? bias[b_off + o] : 0.0f;
  __global float *yp = y + y_off + (((size_t)o * N + n) * H + 2 * ty) * W + 2 * tx;
  for (int i = 0; i < 2; i++) {
    float v0 = b[i][0] + b[i][1] + b[i][2] + bo;
    float v1 = b[i][1] - b[i][2] - b[i][3] + bo;
    if (acc) {
      v0 += yp[i * W];
      v1 += yp[i * W + 1];
    }
    yp[i * W] = v0;
    yp[i * W + 1] = v1;
  }
}

/* dy (OC, N, H, W) -> dM (16, OC, T) = A dY A^T per 2x2 tile of the images
 * n0 .. n0+nb-1 (the gradient at M of wino_output). Range (W/2, nb * H/2,
 * OC). */
__kernel void wino_dy(__global float *dM, ulong m_off, __global const float *dy, ulong dy_off,
                      int OC, int N, int H, int W, int n0, int nb) {
  int tx = GID0, tr = GID1, o = GID2;
  int tw = W / 2, th = H / 2;
  if (tx >= tw || tr >= nb * th || o >= OC) return;
  int ty = tr % th, n = n0 + tr / th;
  __global const float *g = dy + dy_off + (((size_t)o * N + n) * H + 2 * ty) * W + 2 * tx;
  float e[2][2] = {{g[0], g[1]}, {g[W], g[W + 1]}};
  float c[4][2];
  for (int j = 0; j < 2; j++) {
    c[0][j] = e[0][j];
    c[1][j] = e[0][j] + e[1][j];
    c[2][j] = e[0][j] - e[1][j];
    c[3][j] = -e[1][j];
  }
  size_t T = (size_t)nb * th * tw, t = (size_t)tr * tw + tx, xs = (size_t)OC * T;
  __global float *mp = dM + m_off + (size_t)o * T + t;
  for (int r = 0; r < 4; r++) {
    mp[(r * 4 + 0) * xs] = c[r][0];
    mp[(r * 4 + 1) * xs] = c[r][0] + c[r][1];
    mp[(r * 4 + 2) * xs] = c[r][0] - c[r][1];
    mp[(r * 4 + 3) * xs] = -c[r][1];
  }
}

/* dU (16, OC, C) -> dw (OC, C, 3, 3) = G^T dU G. Range (C, OC). */
__kernel void wino_wgrad(__global float *dw, ulong dw_off, __global const float *dU, ulong u_off,
                         int OC, int C) {
  int c = GID0, o = GID1;
  if (c >= C || o >= OC) return;
  size_t xs = (size_t)OC * C;
  __global const float *up = dU + u_off + (size_t)o * C + c;
  float u[4][4];
  for (int r = 0; r < 4; r++)
    for (int s = 0; s < 4; s++) u[r][s] = up[(r * 4 + s) * xs];
  float e[3][4];
  for (int s = 0; s < 4; s++) {
    e[0][s] = u[0][s] + 0.5f * (u[1][s] + u[2][s]);
    e[1][s] = 0.5f * (u[1][s] - u[2][s]);
    e[2][s] = 0.5f * (u[1][s] + u[2][s]) + u[3][s];
  }
  __global float *d = dw + dw_off + ((size_t)o * C + c) * 9;
  for (int k = 0; k < 3; k++) {
    d[k * 3 + 0] = e[k][0] + 0.5f * (e[k][1] + e[k][2]);
    d[k * 3 + 1] = 0.5f * (e[k][1] - e[k][2]);
    d[k * 3 + 2] = 0.5f * (e[k][1] + e[k][2]) + e[k][3];
  }
}

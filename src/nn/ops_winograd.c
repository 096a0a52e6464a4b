/* Winograd F(2x2, 3x3) convolutions: the transforms of cl/winograd.cl around
 * 16 GEMMs per chunk of images. The scratch holds, one after the other, the
 * transformed weights U (or their gradient dU), 16 x OC x C, then for a chunk
 * of images the transformed inputs V, 16 x Cin x T, and the products M (or
 * the transformed output gradient dM), 16 x Cout x T. Chunks are sized so
 * that V and M fit the convolutions' scratch budget. */
#include "cl/gemm.h"
#include "nn/ops.h"
#include "dlgn/status.h"
#include "ops_internal.h"

bool conv_wino_fits(const ocl_conv_shape *s) {
  return s->k == 3 && s->stride == 1 && s->pad == 1 && s->H % 2 == 0 && s->W % 2 == 0;
}

/* Images per chunk: V and M of a chunk within the budget. */
static int wino_chunk_images(const dlgn_device *dev, const ocl_conv_shape *s) {
  size_t per_image = (size_t)4 * (s->C + s->OC) * s->H * s->W;
  size_t nb = dev->conv.columns / per_image;
  if (nb < 1) nb = 1;
  return nb > (size_t)s->N ? s->N : (int)nb;
}

size_t conv_wino_scratch_floats(const dlgn_device *dev, const ocl_conv_shape *s) {
  size_t tiles = (size_t)wino_chunk_images(dev, s) * (s->H / 2) * (s->W / 2);
  return (size_t)16 * s->OC * s->C + (size_t)16 * (s->C + s->OC) * tiles;
}

/* A (W/2, rows of tiles, channels) range, work-groups along a tile row. */
static int launch_tiles(dlgn_device *dev, const char *name, int tw, size_t rows, size_t planes,
                        int nargs, const ocl_arg *args) {
  size_t local[3] = {(size_t)(tw < 16 ? tw : 16), 1, 1};
  return ocl_launch(dev, name, 3, (size_t[]){(size_t)tw, rows, planes}, local, nargs, args);
}

static int wino_input(dlgn_device *dev, nn_buf V, nn_buf x, int C, int N, int H, int W,
                      int n0, int nb) {
  ocl_arg args[] = {ARG_BUF(V),     ARG_BUF(x),     OCL_INT(C),  OCL_INT(N),
                     OCL_INT(H),    OCL_INT(W),    OCL_INT(n0), OCL_INT(nb)};
  return launch_tiles(dev, "wino_input", W / 2, (size_t)nb * (H / 2), (size_t)C,
                      (int)(sizeof args / sizeof args[0]), args);
}

/* The 16 products P[xi] = op(A[xi]) op(B[xi]) (+ beta P[xi]), R x S over K. */
static int wino_gemms(dlgn_device *dev, bool tb, size_t R, size_t S, size_t K, nn_buf A,
                      nn_buf B, nn_buf P, float beta) {
  for (size_t xi = 0; xi < 16; xi++)
    DLGN_TRY(ocl_gemm(dev, false, tb, R, S, K, 1.0f, A.mem, A.off + xi * R * K, K, B.mem,
                      B.off + xi * K * S, tb ? K : S, beta, P.mem, P.off + xi * R * S, S));
  return 0;
}

int conv_wino_apply(dlgn_device *dev, nn_buf y, nn_buf x, nn_buf w, nn_buf b,
                    nn_buf scratch, const ocl_conv_shape *s, bool transposed, bool acc) {
  int Cin = transposed ? s->OC : s->C, Cout = transposed ? s->C : s->OC;
  int N = s->N, H = s->H, W = s->W, chunk = wino_chunk_images(dev, s);
  nn_buf U = scratch, V = nn_at(scratch, (size_t)16 * s->OC * s->C);
  DLGN_TRY(ocl_launch(dev, "wino_weight", 2, (size_t[]){(size_t)Cin, (size_t)Cout}, NULL, 7,
                      (ocl_arg[]){ARG_BUF(U), ARG_BUF(w), OCL_INT(Cout), OCL_INT(Cin),
                                    OCL_INT(transposed)}));
  for (int n0 = 0; n0 < N; n0 += chunk) {
    int nb = N - n0 < chunk ? N - n0 : chunk;
    size_t T = (size_t)nb * (H / 2) * (W / 2);
    nn_buf M = nn_at(V, (size_t)16 * Cin * T);
    DLGN_TRY(wino_input(dev, V, x, Cin, N, H, W, n0, nb));
    DLGN_TRY(wino_gemms(dev, false, (size_t)Cout, T, (size_t)Cin, U, V, M, 0.0f));
    ocl_arg args[] = {ARG_BUF(y),        ARG_BUF(M),        ARG_BUF(b),   OCL_INT(Cout),
                       OCL_INT(N),       OCL_INT(H),       OCL_INT(W),  OCL_INT(n0),
                       OCL_INT(nb),      OCL_INT(!transposed),
                       OCL_INT(acc)};
    DLGN_TRY(launch_tiles(dev, "wino_output", W / 2, (size_t)nb * (H / 2), (size_t)Cout,
                          (int)(sizeof args / sizeof args[0]), args));
  }
  return 0;
}

int conv_wino_dw(dlgn_device *dev, nn_buf dw, nn_buf dy, nn_buf x, nn_buf scratch,
                 const ocl_conv_shape *s) {
  int C = s->C, OC = s->OC, N = s->N, H = s->H, W = s->W, chunk = wino_chunk_images(dev, s);
  nn_buf dU = scratch, V = nn_at(scratch, (size_t)16 * OC * C);
  for (int n0 = 0; n0 < N; n0 += chunk) {
    int nb = N - n0 < chunk ? N - n0 : chunk;
    size_t T = (size_t)nb * (H / 2) * (W / 2);
    nn_buf dM = nn_at(V, (size_t)16 * C * T);
    DLGN_TRY(wino_input(dev, V, x, C, N, H, W, n0, nb));
    ocl_arg args[] = {ARG_BUF(dM), ARG_BUF(dy), OCL_INT(OC), OCL_INT(N),
                       OCL_INT(H), OCL_INT(W), OCL_INT(n0), OCL_INT(nb)};
    DLGN_TRY(launch_tiles(dev, "wino_dy", W / 2, (size_t)nb * (H / 2), (size_t)OC,
                          (int)(sizeof args / sizeof args[0]), args));
    /* dU[xi] (OC, C) (+)= dM[xi] (OC, T) V[xi]^T (T, C) */
    DLGN_TRY(wino_gemms(dev, true, (size_t)OC, (size_t)C, T, dM, V, dU, n0 == 0 ? 0.0f : 1.0f));
  }
  return ocl_launch(dev, "wino_wgrad", 2, (size_t[]){(size_t)C, (size_t)OC}, NULL, 6,
                    (ocl_arg[]){ARG_BUF(dw), ARG_BUF(dU), OCL_INT(OC), OCL_INT(C)});
}

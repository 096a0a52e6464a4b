/* Convolution strategies on the C4GAP shapes (32x32, k=3, stride 1, pad 1,
 * batch 128, width 32 and 128): the forward pass as im2col + GEMM (ocl_gemm),
 * as the direct kernel of cl/conv.cl, and as CLBlast's Sconvgemm. Sconvgemm
 * wants NCHW images and writes NCHW, so it cannot run on our CNHW tensors
 * without two transposes; it is timed on an NCHW tensor of the same size
 * without them (a lower bound for that route), and it allocates its column
 * buffer and waits on the host once per image inside every call. The
 * backward pass is timed with dx by GEMM + col2im and by the direct kernel
 * (dw is a GEMM in both). Every forward strategy is checked against the C
 * twin on a small case first (the backward ones are in the tests).
 *   bench_conv [--device SEL] [--repeat R] [--batch N] */
#include <clblast_c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_ops_util.h"
#include "cl/gemm.h"
#include "nn/ops_ref.h"

typedef struct {
  ocl_conv_shape s;
  cl_mem x, w, b, y, scratch;
} conv_bench;

static int run_forward(dlgn_device *dev, void *p) {
  conv_bench *c = p;
  return conv2d_forward(dev, bench_buf(c->y), bench_buf(c->x), bench_buf(c->w), bench_buf(c->b),
                        bench_buf(c->scratch), &c->s);
}

static int run_backward(dlgn_device *dev, void *p) {
  conv_bench *c = p;
  /* dy is y's buffer and dx overwrites x: the values do not matter for timing */
  return conv2d_backward(dev, bench_buf(c->x), bench_buf(c->w), bench_buf(c->b), bench_buf(c->y),
                         bench_buf(c->x), bench_buf(c->w), bench_buf(c->scratch), &c->s, false);
}

static int run_convgemm(dlgn_device *dev, void *p) {
  conv_bench *c = p;
  const ocl_conv_shape *s = &c->s;
  CLBlastStatusCode st = CLBlastSconvgemm(
      CLBlastKernelModeCrossCorrelation, (size_t)s->C, (size_t)s->H, (size_t)s->W, (size_t)s->k,
      (size_t)s->k, (size_t)s->pad, (size_t)s->pad, (size_t)s->stride, (size_t)s->stride, 1, 1,
      (size_t)s->OC, (size_t)s->N, c->x, 0, c->w, 0, c->y, 0, &dev->queue, NULL);
  if (st != CLBlastSuccess)
    return dlgn_fail("CLBlastSconvgemm failed on '%s': status %d", dev->info.name, (int)st);
  return 0;
}

/* Force one convolution strategy on dev ("": the tuned or built-in choice). */
static void set_conv(dlgn_device *dev, const char *kind) {
  dev->conv.forced = *kind && ocl_conv_kind_parse(kind, &dev->conv.force) == 0;
}

/* The forward strategy of s on dev, for the table ("?" when it cannot be told). */
static const char *strategy_of(dlgn_device *dev, const ocl_conv_shape *s) {
  const char *name;
  return conv2d_forward_strategy(dev, s, &name) == 0 ? name : "?";
}

static int bench_alloc(dlgn_device *dev, conv_bench *c, const ocl_conv_shape *s) {
  memset(c, 0, sizeof *c);
  c->s = *s;
  size_t nx = (size_t)s->C * s->N * s->H * s->W;
  size_t ny = (size_t)s->OC * s->N * conv2d_out_h(s) * conv2d_out_w(s);
  DLGN_TRY(bench_random_buffer(dev, nx, 1.0f, 1, &c->x));
  DLGN_TRY(bench_random_buffer(dev, (size_t)s->OC * s->C * s->k * s->k, 0.1f, 2, &c->w));
  DLGN_TRY(bench_random_buffer(dev, (size_t)s->OC, 0.1f, 3, &c->b));
  DLGN_TRY(bench_random_buffer(dev, ny, 1.0f, 4, &c->y));
  /* the scratch of the strategy that needs the most */
  size_t scratch = 1;
  const char *kinds[] = {"gemm", "direct", "rows", "wino", "batch"};
  for (int i = 0; i < 5; i++) {
    set_conv(dev, kinds[i]);
    size_t need;
    DLGN_TRY(conv2d_scratch_floats(dev, s, &need));
    scratch = need > scratch ? need : scratch;
  }
  set_conv(dev, "");
  return ocl_buffer_create(dev, scratch * sizeof(float), "conv scratch",
                           &c->scratch);
}

static void bench_release(conv_bench *c) {
  ocl_buffer_release(&c->x), ocl_buffer_release(&c->w), ocl_buffer_release(&c->b);
  ocl_buffer_release(&c->y), ocl_buffer_release(&c->scratch);
}

/* Download y and compare with the twin (CNHW, or NCHW for Sconvgemm). */
static int check_case(dlgn_device *dev, conv_bench *c, bool nchw, const char *what) {
  const ocl_conv_shape *s = &c->s;
  int HO = conv2d_out_h(s), WO = conv2d_out_w(s);
  size_t nx = (size_t)s->C * s->N * s->H * s->W, nw = (size_t)s->OC * s->C * s->k * s->k;
  size_t ny = (size_t)s->OC * s->N * HO * WO, plane = (size_t)HO * WO;
  float *fx = malloc(nx * 4), *fw = malloc(nw * 4), *fb = malloc((size_t)s->OC * 4);
  float *fy = malloc(ny * 4);
  double *x = malloc(nx * 8), *w = malloc(nw * 8), *b = malloc((size_t)s->OC * 8);
  double *y = malloc(ny * 8), *want = malloc(ny * 8);
  int rc = ocl_buffer_read(dev, c->x, 0, nx * 4, fx, "x") || ocl_buffer_read(dev, c->w, 0, nw * 4, fw, "w") ||
           ocl_buffer_read(dev, c->b, 0, (size_t)s->OC * 4, fb, "b") ||
           ocl_buffer_read(dev, c->y, 0, ny * 4, fy, "y");
  if (rc == 0) {
    for (size_t i = 0; i < nw; i++) w[i] = fw[i];
    for (int i = 0; i < s->OC; i++) b[i] = nchw ? 0.0 : fb[i];
    /* the twin works on CNHW: transpose NCHW data on the way in and out */
    for (int ch = 0; ch < s->C; ch++)
      for (int n = 0; n < s->N; n++)
        for (int i = 0; i < s->H * s->W; i++) {
          size_t cnhw = ((size_t)ch * s->N + n) * s->H * s->W + i;
          size_t nchwi = ((size_t)n * s->C + ch) * s->H * s->W + i;
          x[cnhw] = fx[nchw ? nchwi : cnhw];
        }
    conv2d_forward_ref(y, x, w, b, s);
    for (int o = 0; o < s->OC; o++)
      for (int n = 0; n < s->N; n++)
        for (size_t i = 0; i < plane; i++)
          want[nchw ? ((size_t)n * s->OC + o) * plane + i : ((size_t)o * s->N + n) * plane + i] =
              y[((size_t)o * s->N + n) * plane + i];
    double err = bench_error(fy, want, ny, 1e-5 * s->C * s->k * s->k, 1e-5);
    printf("check %-22s on a %dx%dx%dx%d -> %d case: error/tolerance %.3g\n", what, s->C, s->N,
           s->H, s->W, s->OC, err);
    if (!(err <= 1)) rc = dlgn_fail("%s disagrees with conv2d_forward_ref", what);
  }
  free(fx), free(fw), free(fb), free(fy), free(x), free(w), free(b), free(y), free(want);
  return rc ? -1 : 0;
}

static int check_all(dlgn_device *dev) {
  ocl_conv_shape s = {3, 5, 10, 32, 11, 3, 1, 1};
  conv_bench c;
  int rc = bench_alloc(dev, &c, &s);
  const char *names[] = {"gemm", "direct", "rows", "wino", "batch"};
  for (int i = 0; rc == 0 && i < 5; i++) {
    set_conv(dev, names[i]);
    rc = run_forward(dev, &c) || check_case(dev, &c, false, strategy_of(dev, &c.s));
  }
  set_conv(dev, "");
  if (rc == 0) rc = run_convgemm(dev, &c) || check_case(dev, &c, true, "CLBlast Sconvgemm");
  bench_release(&c);
  return rc ? -1 : 0;
}

int main(int argc, char **argv) {
  const char *sel = NULL;
  int repeat = 3, batch = 128;
  bool convgemm = false;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--device") == 0 && i + 1 < argc) sel = argv[++i];
    else if (strcmp(argv[i], "--convgemm") == 0) convgemm = true;
    else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) repeat = atoi(argv[++i]);
    else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc) batch = atoi(argv[++i]);
    else {
      fprintf(stderr, "usage: bench_conv [--device SEL] [--repeat R] [--batch N] [--convgemm]\n");
      return 2;
    }
  }
  dlgn_device *dev;
  if (dlgn_device_open(&dev, sel, 0) != 0) {
    fprintf(stderr, "bench_conv: %s\n", dlgn_error());
    return 1;
  }
  printf("device: %s (%s), GEMM backend %s\n", dev->info.name,
         dlgn_device_type_name(dev->info.type), ocl_gemm_backend_name(ocl_gemm_backend_of(dev)));
  int rc = check_all(dev);
  if (rc == 0)
    printf("\n%-28s %-16s %10s %9s %9s\n", "shape (k3, batch N)", "strategy", "ms",
           "GFLOP/s", "vs gemm");
  /* C4GAP-32, C4GAP-128, then VGG16's layers at 16x16 and below */
  const int layers[][4] = {{32, 3, 32, 32},     {32, 32, 32, 32},    {128, 3, 128, 32},
                           {128, 128, 128, 32}, {64, 64, 128, 16},   {64, 128, 128, 16},
                           {64, 256, 256, 8},   {64, 512, 512, 4},   {64, 512, 512, 2}};
  for (int li = 0; rc == 0 && li < (int)(sizeof layers / sizeof layers[0]); li++) {
    {
      int hw = layers[li][3];
      ocl_conv_shape s = {batch, layers[li][1], hw, hw, layers[li][2], 3, 1, 1};
      conv_bench c;
      if ((rc = bench_alloc(dev, &c, &s)) != 0) break;
      double flops = 2.0 * s.OC * s.C * 9 * (double)s.N * hw * hw, t_gemm = 0, t;
      char shape[64];
      snprintf(shape, sizeof shape, "%s-%d %d->%d %dx%d", hw == 32 ? "C4GAP" : "VGG16",
               layers[li][0], s.C, s.OC, hw, hw);
      /* forward: gemm, direct, rows, Sconvgemm (with --convgemm); backward
       * (dw by GEMM either way): dx by GEMM + col2im, by the direct kernel,
       * by the row kernel */
      const char *labels[] = {"gemm",         "direct",     "rows",       "winograd",
                              "batch",        "CLBlast convgemm", "bwd gemm", "bwd direct",
                              "bwd rows",     "bwd winograd", "bwd batch"};
      const char *env[] = {"gemm",  "direct", "rows", "wino", "batch", NULL,
                           "gemm",  "direct", "rows", "wino", "batch"};
      double t_bwd = 0;
      for (int k = 0; rc == 0 && k < 11; k++) {
        if (k == 5 && !convgemm) continue;
        /* the batch kernels take rows of 2, 4 and 8 */
        if ((k == 4 || k == 10) && hw > 8) continue;
        if (env[k]) set_conv(dev, env[k]);
        bench_fn fn = k < 5 ? run_forward : (k == 5 ? run_convgemm : run_backward);
        rc = bench_time(dev, repeat, fn, &c, &t);
        set_conv(dev, "");
        if (rc) break;
        if (k == 0) t_gemm = t;
        if (k == 6) t_bwd = t;
        printf("%-28s %-16s %10.2f %9.1f %9.2f\n", shape, labels[k], 1e3 * t,
               (k >= 6 ? 2 * flops : flops) / t * 1e-9, (k >= 6 ? t_bwd : t_gemm) / t);
      }
      bench_release(&c);
    }
  }
  if (rc) fprintf(stderr, "bench_conv: %s\n", dlgn_error());
  dlgn_device_close(dev);
  return rc ? 1 : 0;
}

/* Convolution on CNHW activations. The general path cuts the batch into
 * chunks of images small enough that a chunk's im2col columns fit the
 * scratch; each chunk is one GEMM (OC, C*k*k) x (C*k*k, nb*HO*WO) whose
 * output is a column block of y, since y (OC, N*HO*WO) keeps an image's pixels
 * together within each row. Other strategies need no columns: the direct
 * kernel, the row and flat kernels for 3x3 layers, Winograd. Which one runs
 * for each of forward, dx and dw is chosen per device from measurements (see
 * conv_plan_for). */
#include <stdlib.h>
#include <string.h>

#include "cl/gemm.h"
#include "cl/tune.h"
#include "nn/ops.h"
#include "dlgn/status.h"
#include "ops_internal.h"

int conv2d_out_h(const ocl_conv_shape *s) { return (s->H + 2 * s->pad - s->k) / s->stride + 1; }
int conv2d_out_w(const ocl_conv_shape *s) { return (s->W + 2 * s->pad - s->k) / s->stride + 1; }

/* 1x1, stride 1, no padding: x (C, N*H*W) already is the column matrix */
static bool conv_is_pointwise(const ocl_conv_shape *s) {
  return s->k == 1 && s->stride == 1 && s->pad == 0;
}

static int conv_chunk_images(const dlgn_device *dev, const ocl_conv_shape *s) {
  if (conv_is_pointwise(s)) return s->N; /* no columns: one GEMM for the batch */
  size_t per_image = (size_t)s->C * s->k * s->k * conv2d_out_h(s) * conv2d_out_w(s);
  size_t nb = per_image ? dev->conv.columns / per_image : 1;
  if (nb < 1) nb = 1;
  if (nb > (size_t)s->N) nb = (size_t)s->N;
  return (int)nb;
}

static size_t conv_columns_floats(const dlgn_device *dev, const ocl_conv_shape *s) {
  if (conv_is_pointwise(s)) return 0;
  return (size_t)s->C * s->k * s->k * conv_chunk_images(dev, s) * conv2d_out_h(s) * conv2d_out_w(s);
}

static int conv_check(const dlgn_device *dev, const char *op, const ocl_conv_shape *s) {
  DLGN_TRY(ops_check_dims(op, 6, (int[]){s->N, s->C, s->H, s->W, s->OC, s->k}));
  if (s->stride < 1 || s->pad < 0)
    return dlgn_fail("%s: stride %d, pad %d (need stride >= 1, pad >= 0)", op, s->stride, s->pad);
  if (conv2d_out_h(s) < 1 || conv2d_out_w(s) < 1 || s->H + 2 * s->pad < s->k ||
      s->W + 2 * s->pad < s->k)
    return dlgn_fail("%s: a %dx%d kernel does not fit the padded %dx%d input", op, s->k, s->k,
                     s->H + 2 * s->pad, s->W + 2 * s->pad);
  size_t in = (size_t)s->C * s->N * s->H * s->W;
  size_t out = (size_t)s->OC * s->N * conv2d_out_h(s) * conv2d_out_w(s);
  DLGN_TRY(ops_check_count(op, in > out ? in : out));
  DLGN_TRY(ops_check_count(op, conv_columns_floats(dev, s)));
  return ops_check_count(op, (size_t)s->OC * s->C * s->k * s->k);
}

typedef ocl_conv_kind conv_kind; /* cl/device.h: gemm, direct, rows, wino, batch, sub */

/* The row kernels (conv3x3_*rows*) take 3x3, stride 1, pad 1 layers whose
 * rows are one or two 16-float vectors wide (rows of 16 in pairs). */
static bool conv_rows_fits(const ocl_conv_shape *s) {
  return s->k == 3 && s->stride == 1 && s->pad == 1 &&
         ((s->W == 16 && s->H % 2 == 0) || s->W == 32);
}

/* The flat kernels (conv3x3_flat*) take 3x3, stride 1, pad 1 layers with
 * rows of 2, 4 or 8 (VGG16's later stages), all three passes, when the batch's
 * positions fill whole work-items (CF_RV vectors of 16). */
static bool conv_flat_fits(const ocl_conv_shape *s) {
  return s->k == 3 && s->stride == 1 && s->pad == 1 &&
         (s->W == 2 || s->W == 4 || s->W == 8) && ((size_t)s->N * s->H * s->W) % 32 == 0;
}

/* The batch kernels (conv3x3_batch*, cl/conv_batch.cl) take 3x3, stride 1,
 * pad 1 layers with rows of 2, 4 or 8 and a batch of whole vectors of 16. */
static bool conv_batch_fits(const ocl_conv_shape *s) {
  return s->k == 3 && s->stride == 1 && s->pad == 1 &&
         (s->W == 2 || s->W == 4 || s->W == 8) && s->N % 16 == 0;
}

/* Measured with bench/bench_conv on the C4GAP shapes (PoCL, 2 cores, batch
 * 128). Layers the row kernels fit (3x3, stride 1, pad 1, rows of 16 or 32:
 * C4GAP, VGG16's first two stages) take them for all three passes on CPUs:
 * forward 32->32 2.6x and 128->128 1.1x the im2col GEMM, 3->32 1.5x, and
 * they need no columns. Elsewhere the direct forward wins where the GEMM's
 * K = C*k*k is small (3->32: 3.6x, 3->128: 1.8x, 32->32: 1.08x) and loses
 * where it is large (128->128: 0.36x), so CPUs run it up to K = 288; its dx
 * beats the dcol GEMM plus col2im only with few channels (32->32: 1.4x;
 * 128->128: 0.64x), so up to 32 channels each way. VGG16's layers with rows
 * of 2, 4 and 8 (batch 64) take the batch kernels, which skip the padding,
 * against the flat kernels (whose weight gradient lost to the column GEMM
 * at 8x8 and 4x4): 8x8 256->256 forward 13.0 -> 8.8 ms, backward 32.7 ->
 * 24.0 ms; 4x4 512->512 12.5 -> 7.1 and 34.3 -> 17.5 ms; 2x2 512->512 2.9
 * -> 2.1 and 10.4 -> 7.6 ms, layout copies included. With a batch that is not a multiple of 16 the flat kernels take those
 * layers forward and for dx (1.3x, 1.0x, 1.4x the GEMM forward), and their
 * weight gradient only where planes are smaller than a vector (2x2: backward
 * 28.9 -> 17.7 ms; 8x8 and 4x4 keep the GEMM). GPUs are unmeasured and keep
 * im2col + CLBlast's tuned GEMM (the direct kernels' float16 accumulators
 * would spill registers there). $DLGN_CONV=gemm|direct|rows|wino|batch|sub
 * overrides (each only where it fits and the device runs it correctly). */
typedef struct {
  conv_kind fwd, dx, dw;
} conv_plan;

/* Mesa's llvmpipe (rusticl) stops every loop of a work-item after a fixed
 * number of iterations in all (LP_MAX_TGSI_LOOP_ITERATIONS, 65535 in Mesa
 * 22.3) and returns silently wrong sums: the row and flat kernels loop over
 * all input channels and fail there from about 200 channels (Oclgrind and
 * PoCL find nothing wrong). That device keeps the im2col GEMM, whose kernels'
 * loops are short. */
static bool conv_long_loops_ok(const dlgn_device_info *info) {
  return strncmp(info->name, "llvmpipe", 8) != 0;
}

/* Whether pass (CONV_FWD, CONV_DX, CONV_DW) of s can run as kind on this
 * device: the dx passes other than the GEMM's convolve dy with the flipped
 * weights (stride 1 only), the direct kernel has no weight gradient. */
enum { CONV_FWD, CONV_DX, CONV_DW };
static bool conv_dx_direct_fits(const ocl_conv_shape *s);
static bool conv_sub_fits(const dlgn_device_info *info, int pass, const ocl_conv_shape *s);
static bool conv_kind_fits(const dlgn_device_info *info, conv_kind kind, int pass,
                           const ocl_conv_shape *s) {
  if (kind == OCL_CONV_SUB) return conv_sub_fits(info, pass, s);
  if (pass == CONV_DX && kind != OCL_CONV_GEMM && !conv_dx_direct_fits(s)) return false;
  switch (kind) {
    case OCL_CONV_GEMM: return true;
    case OCL_CONV_DIRECT: return pass != CONV_DW;
    case OCL_CONV_ROWS:
      return conv_long_loops_ok(info) && (conv_rows_fits(s) || conv_flat_fits(s));
    case OCL_CONV_WINO: return conv_wino_fits(s);
    case OCL_CONV_BATCH: return conv_long_loops_ok(info) && conv_batch_fits(s);
    default: return false;
  }
}

bool conv2d_kind_fits(const dlgn_device_info *info, ocl_conv_kind kind, int pass,
                      const ocl_conv_shape *s) {
  return pass >= CONV_FWD && pass <= CONV_DW && conv_kind_fits(info, kind, pass, s);
}

/* The built-in choice (measurements above). */
static conv_plan conv_plan_builtin(const dlgn_device_info *info, const ocl_conv_shape *s) {
  bool cpu = (info->type & CL_DEVICE_TYPE_CPU) && conv_long_loops_ok(info);
  conv_plan p = {OCL_CONV_GEMM, OCL_CONV_GEMM, OCL_CONV_GEMM};
  if (cpu && conv_rows_fits(s)) p = (conv_plan){OCL_CONV_ROWS, OCL_CONV_ROWS, OCL_CONV_ROWS};
  else if (cpu && conv_batch_fits(s))
    p = (conv_plan){OCL_CONV_BATCH, OCL_CONV_BATCH, OCL_CONV_BATCH};
  else if (cpu && conv_flat_fits(s))
    p = (conv_plan){OCL_CONV_ROWS, OCL_CONV_ROWS,
                    s->H * s->W < 16 ? OCL_CONV_ROWS : OCL_CONV_GEMM};
  else if (cpu) {
    if (s->C * s->k * s->k <= 288) p.fwd = OCL_CONV_DIRECT;
    if (s->C <= 32 && s->OC <= 32) p.dx = OCL_CONV_DIRECT;
  }
  /* ResNet's stride-2 layers (batch 128): 16->32 from 32x32 forward GEMM 5.7,
   * direct 7.8, stride-1 twin 4.4 ms; dx GEMM 14.0, twin 4.7; dw GEMM 8.3,
   * twin 4.7. 32->64 from 16x16: forward GEMM 2.6, twin 3.6, direct 11.3;
   * dx 7.0 and 3.8; dw 5.0 and 4.5. (A pass it does not fit falls back to
   * the GEMM in conv_plan_with.) */
  if (cpu && conv_sub_fits(info, CONV_FWD, s))
    p = (conv_plan){s->W >= 32 ? OCL_CONV_SUB : OCL_CONV_GEMM, OCL_CONV_SUB, OCL_CONV_SUB};
  return p;
}

/* A 3x3, stride-2, pad-1 layer with even H and W runs as its stride-1 twin
 * (the same layer at stride 1): forward, the twin's output at the even rows
 * and columns; backward, the twin's dx and dw from dy spread to the even
 * positions with zeros between (the subsampling's backward). That is four
 * times the multiply-adds, but the twin takes the row and batch kernels,
 * which outrun the GEMM and direct paths several times over at ResNet's
 * channel counts. The twin's own passes are the built-in choice. */
static ocl_conv_shape conv_sub_twin(const ocl_conv_shape *s) {
  ocl_conv_shape t = *s;
  t.stride = 1;
  return t;
}

static bool conv_sub_fits(const dlgn_device_info *info, int pass, const ocl_conv_shape *s) {
  if (s->k != 3 || s->stride != 2 || s->pad != 1 || s->H % 2 || s->W % 2) return false;
  ocl_conv_shape t = conv_sub_twin(s);
  conv_plan p = conv_plan_builtin(info, &t);
  conv_kind k = pass == CONV_FWD ? p.fwd : pass == CONV_DX ? p.dx : p.dw;
  return k == OCL_CONV_ROWS || k == OCL_CONV_BATCH;
}

/* A forced strategy (forward, dx, dw each where it fits), else the tuning
 * file's entry for this very shape (each pass where it fits), else the
 * built-in choice. tuned: whether the tuning file decided. */
static conv_plan conv_plan_with(const dlgn_device_info *info, const ocl_conv_options *o,
                                const ocl_tuning *t, const ocl_conv_shape *s, bool *tuned) {
  conv_plan p = conv_plan_builtin(info, s);
  const ocl_tuned_conv *e = !o->forced && t ? ocl_tuning_find_conv(t, s) : NULL;
  if (tuned) *tuned = e != NULL;
  if (o->forced) {
    conv_kind f = o->force;
    if (f == OCL_CONV_GEMM) p = (conv_plan){f, f, f};
    if (f == OCL_CONV_DIRECT) p = (conv_plan){f, f, OCL_CONV_GEMM};
    if ((f == OCL_CONV_ROWS || f == OCL_CONV_WINO || f == OCL_CONV_BATCH ||
         f == OCL_CONV_SUB) &&
        conv_kind_fits(info, f, CONV_FWD, s))
      p = (conv_plan){f, f, f};
  } else if (e) {
    p = (conv_plan){e->fwd, e->dx, e->dw};
  }
  /* each pass where it fits; the GEMM takes every shape */
  if (!conv_kind_fits(info, p.fwd, CONV_FWD, s)) p.fwd = OCL_CONV_GEMM;
  if (!conv_kind_fits(info, p.dx, CONV_DX, s)) p.dx = OCL_CONV_GEMM;
  if (!conv_kind_fits(info, p.dw, CONV_DW, s)) p.dw = OCL_CONV_GEMM;
  return p;
}

static int conv_plan_of(dlgn_device *dev, const ocl_conv_shape *s, conv_plan *out) {
  const ocl_tuning *t;
  DLGN_TRY(ocl_device_tuning(dev, &t));
  *out = conv_plan_with(&dev->info, &dev->conv, t, s, NULL);
  return 0;
}

static const char *kind_label(conv_kind k, const ocl_conv_shape *s) {
  switch (k) {
    case OCL_CONV_DIRECT: return "direct";
    case OCL_CONV_ROWS: return s->W < 16 ? "flat" : "rows";
    case OCL_CONV_WINO: return "winograd";
    case OCL_CONV_BATCH: return "batch";
    case OCL_CONV_SUB: return "sub";
    default: return "im2col+gemm";
  }
}

int conv2d_forward_strategy(dlgn_device *dev, const ocl_conv_shape *s, const char **out) {
  conv_plan p;
  DLGN_TRY(conv_plan_of(dev, s, &p));
  *out = kind_label(p.fwd, s);
  return 0;
}

void conv2d_describe_plan(const dlgn_device_info *info, const ocl_conv_options *o,
                          const ocl_tuning *t, const ocl_conv_shape *s, char *out,
                          size_t size) {
  bool tuned;
  conv_plan p = conv_plan_with(info, o, t, s, &tuned);
  snprintf(out, size, "%s/%s/%s%s", kind_label(p.fwd, s), kind_label(p.dx, s),
           kind_label(p.dw, s), tuned ? " (tuned)" : "");
}

/* The weight gradient by rows: chunks of images small enough that a chunk's
 * dy stays in a core's cache (512 KiB) while every work-item of the chunk
 * reads it, at most as many partial sums as the column budget holds. */
static int conv_dw_chunk_images(const dlgn_device *dev, const ocl_conv_shape *s) {
  size_t per_image = (size_t)s->OC * s->H * s->W;
  size_t nb = per_image ? ((size_t)1 << 17) / per_image : 1;
  if (nb < 1) nb = 1;
  size_t per_split = (size_t)s->OC * s->C * 9, cap = dev->conv.columns / per_split;
  if (cap < 1) cap = 1;
  if (((size_t)s->N + nb - 1) / nb > cap) nb = ((size_t)s->N + cap - 1) / cap;
  /* the flat kernels' chunks hold whole vectors of 16 positions: a multiple
   * of 16 / gcd(plane, 16) images */
  size_t plane = (size_t)s->H * s->W, g = 16;
  while (plane % g) g /= 2;
  size_t unit = 16 / g;
  nb = (nb + unit - 1) / unit * unit;
  return nb > (size_t)s->N ? s->N : (int)nb;
}

static int conv_dw_splits(const dlgn_device *dev, const ocl_conv_shape *s) {
  int nb = conv_dw_chunk_images(dev, s);
  return (s->N + nb - 1) / nb;
}

/* The batch kernels' weight gradient: chunks of vectors of 16 images, enough
 * chunks that the work-items (output channel pairs x input channels) keep
 * every core busy. */
static int conv_batch_dw_vectors(const ocl_conv_shape *s) {
  size_t items = (size_t)(s->OC + 1) / 2 * s->C;
  int nv = s->N / 16, splits = items >= 256 ? 1 : (int)((256 + items - 1) / items);
  if (splits > nv) splits = nv;
  if (splits < 1) return 1; /* under 16 images: the batch kernels do not fit */
  return (nv + splits - 1) / splits;
}

static int conv_batch_dw_splits(const ocl_conv_shape *s) {
  int nvb = conv_batch_dw_vectors(s);
  return (s->N / 16 + nvb - 1) / nvb;
}

/* Scratch of the batch kernels, in turn: dy or y (OC*P*N), x (C*P*N), dx
 * (C*P*N) in the batch-blocked layout; the partial weight gradients. */
static size_t conv_batch_region(const ocl_conv_shape *s, int which) {
  size_t pn = (size_t)s->H * s->W * s->N;
  size_t size[4] = {(size_t)s->OC * pn, (size_t)s->C * pn, (size_t)s->C * pn,
                    conv_batch_dw_splits(s) > 1
                        ? (size_t)conv_batch_dw_splits(s) * s->OC * s->C * 9 : 0};
  size_t at = 0;
  for (int i = 0; i < which; i++) at += size[i];
  return at;
}
enum { BATCH_OUT, BATCH_X, BATCH_DX, BATCH_PART, BATCH_END };

static size_t conv_batch_scratch_floats(const ocl_conv_shape *s) {
  return conv_batch_region(s, BATCH_END);
}

static size_t conv_sub_scratch_floats(const dlgn_device *dev, const ocl_conv_shape *s);
static size_t conv_scratch_for(const dlgn_device *dev, const ocl_conv_shape *s, conv_plan p) {
  size_t need = 0;
  if (p.fwd == OCL_CONV_GEMM || p.dx == OCL_CONV_GEMM || p.dw == OCL_CONV_GEMM) need = conv_columns_floats(dev, s);
  if ((p.fwd == OCL_CONV_WINO || p.dx == OCL_CONV_WINO || p.dw == OCL_CONV_WINO) &&
      conv_wino_scratch_floats(dev, s) > need)
    need = conv_wino_scratch_floats(dev, s);
  if (p.dw == OCL_CONV_ROWS && conv_dw_splits(dev, s) > 1) {
    size_t part = (size_t)conv_dw_splits(dev, s) * s->OC * s->C * 9;
    if (part > need) need = part;
  }
  if ((p.fwd == OCL_CONV_BATCH || p.dx == OCL_CONV_BATCH || p.dw == OCL_CONV_BATCH) &&
      conv_batch_scratch_floats(s) > need)
    need = conv_batch_scratch_floats(s);
  if ((p.fwd == OCL_CONV_SUB || p.dx == OCL_CONV_SUB || p.dw == OCL_CONV_SUB) &&
      conv_sub_scratch_floats(dev, s) > need)
    need = conv_sub_scratch_floats(dev, s);
  return need;
}

/* The stride-1 twin's output (or spread dy), then the twin's own scratch */
static size_t conv_sub_scratch_floats(const dlgn_device *dev, const ocl_conv_shape *s) {
  ocl_conv_shape t = conv_sub_twin(s);
  return (size_t)s->OC * s->N * s->H * s->W +
         conv_scratch_for(dev, &t, conv_plan_builtin(&dev->info, &t));
}

int conv2d_scratch_floats(dlgn_device *dev, const ocl_conv_shape *s, size_t *out) {
  conv_plan p;
  DLGN_TRY(conv_plan_of(dev, s, &p));
  *out = conv_scratch_for(dev, s, p);
  return 0;
}

size_t conv2d_scratch_floats_as(const dlgn_device *dev, const ocl_conv_shape *s, conv_kind fwd,
                                conv_kind dx, conv_kind dw) {
  return conv_scratch_for(dev, s, (conv_plan){fwd, dx, dw});
}

/* Elements of a row, and rows, one work-item of im2col/col2im handles (see
 * cl/conv.cl): on CPUs whole rows, at least 64 elements per work-item. */
static int row_per_item(const dlgn_device *dev, int row) {
  return (dev->info.type & CL_DEVICE_TYPE_GPU) ? 1 : row;
}

static int rows_per_item(const dlgn_device *dev, int row) {
  if (dev->info.type & CL_DEVICE_TYPE_GPU) return 1;
  return row >= 64 ? 1 : (64 + row - 1) / row;
}

/* A (row length, rows, planes) range whose work-groups run along a row. */
static int launch_rows(dlgn_device *dev, const char *name, int row, size_t rows, size_t planes,
                       int nargs, const ocl_arg *args) {
  size_t local[3] = {(size_t)(row < 64 ? row : 64), 1, 1};
  return ocl_launch(dev, name, 3, (size_t[]){(size_t)row, rows, planes}, local, nargs, args);
}

static int im2col(dlgn_device *dev, nn_buf col, nn_buf x, const ocl_conv_shape *s, int n0,
                  int nb) {
  int HO = conv2d_out_h(s), WO = conv2d_out_w(s);
  int per_item = row_per_item(dev, WO), rows = rows_per_item(dev, WO);
  ocl_arg args[] = {ARG_BUF(col),    ARG_BUF(x),          OCL_INT(s->C),  OCL_INT(s->N),
                     OCL_INT(s->H),  OCL_INT(s->W),      OCL_INT(s->k),  OCL_INT(s->stride),
                     OCL_INT(s->pad), OCL_INT(HO),       OCL_INT(WO),    OCL_INT(n0),
                     OCL_INT(nb),    OCL_INT(per_item),  OCL_INT(rows)};
  return launch_rows(dev, "im2col", (WO + per_item - 1) / per_item,
                     ((size_t)nb * HO + rows - 1) / rows, (size_t)s->C * s->k * s->k,
                     (int)(sizeof args / sizeof args[0]), args);
}

/* The direct kernel over input (Cin, N, H, W) -> output (Cout, N, HO, WO). */
typedef struct {
  int Cin, N, H, W, Cout, k, stride, pad, HO, WO;
  bool transposed, has_bias, acc;
  conv_kind kind; /* OCL_CONV_DIRECT or OCL_CONV_ROWS */
} direct_args;

/* The row kernels: 3x3, stride 1, pad 1, rows of 16 or 32 (conv_rows_fits),
 * or the flat ones for rows of 2, 4 or 8 (conv_flat_fits). */
static int conv_rows(dlgn_device *dev, nn_buf y, nn_buf x, nn_buf w, nn_buf b,
                     const direct_args *a, const conv_epilogue *e) {
  enum { TOC = 8, RPI = 4, FPOS = 32 }; /* C3_TOC = CF_TOC, C3_RPI, 16 * CF_RV */
  static const char *const names[33] = {[2] = "conv3x3_flat2",   [4] = "conv3x3_flat4",
                                        [8] = "conv3x3_flat8",   [16] = "conv3x3_rows16",
                                        [32] = "conv3x3_rows32"};
  size_t items = a->W < 16 ? (size_t)a->N * a->H * a->W / FPOS : ((size_t)a->N * a->H + RPI - 1) / RPI;
  size_t global[2] = {((size_t)a->Cout + TOC - 1) / TOC, items}, local[2] = {1, 1};
  ocl_arg args[] = {ARG_BUF(y),           ARG_BUF(x),         ARG_BUF(w),
                     ARG_BUF(b),           OCL_INT(a->Cin),   OCL_INT(a->N),
                     OCL_INT(a->H),       OCL_INT(a->Cout),  OCL_INT(a->transposed),
                     OCL_INT(a->has_bias), OCL_INT(a->acc),  ARGS_EPI(e, y)};
  /* the flat kernels (rows under 16) have no epilogue: the caller runs it */
  int nargs = (int)(sizeof args / sizeof args[0]) - (a->W < 16 ? 6 : 0);
  return ocl_launch(dev, names[a->W], 2, global, local, nargs, args);
}

static int conv_direct(dlgn_device *dev, nn_buf y, nn_buf x, nn_buf w, nn_buf b,
                       const direct_args *a) {
  if (a->kind == OCL_CONV_ROWS) return conv_rows(dev, y, x, w, b, a, NULL);
  enum { TOC = 16, DV = 16 }; /* DC_TOC, DC_DV of cl/conv.cl */
  size_t segments = (size_t)a->N * a->HO * ((a->WO + DV - 1) / DV);
  size_t global[2] = {segments, ((size_t)a->Cout + TOC - 1) / TOC};
  size_t local[2] = {16, 1};
  ocl_arg args[] = {ARG_BUF(y),          ARG_BUF(x),           ARG_BUF(w),
                     ARG_BUF(b),          OCL_INT(a->Cin),     OCL_INT(a->N),
                     OCL_INT(a->H),      OCL_INT(a->W),       OCL_INT(a->Cout),
                     OCL_INT(a->k),      OCL_INT(a->stride),  OCL_INT(a->pad),
                     OCL_INT(a->HO),     OCL_INT(a->WO),      OCL_INT(a->transposed),
                     OCL_INT(a->has_bias), OCL_INT(a->acc)};
  return ocl_launch(dev, "conv2d_direct", 2, global, local, (int)(sizeof args / sizeof args[0]),
                    args);
}

/* dx of a stride-1 convolution as a direct convolution of dy with the
 * weights transposed and flipped, padding k-1-pad (which must be >= 0). */
static bool conv_dx_direct_fits(const ocl_conv_shape *s) {
  return s->stride == 1 && s->pad <= s->k - 1;
}

/* dw (OC, C, 3, 3) = the sum of the splits partial weight gradients in part,
 * as the row, flat and batch kernels leave them */
static int conv_dw_reduce(dlgn_device *dev, nn_buf dw, nn_buf part,
                          const ocl_conv_shape *s, int splits) {
  int n = s->OC * s->C * 9;
  return LAUNCH_1D(dev, "conv_dw_reduce", ((size_t)n + 15) / 16, ARG_BUF(dw), ARG_BUF(part),
                   OCL_INT(n), OCL_INT(splits));
}

/* ---- the batch kernels (cl/conv_batch.cl): batch-blocked copies in the
 * scratch ---- */

/* between the (C, N, P) layout and the kernels' (C, N/16, P, 16) */
static int batch_to_blocks(dlgn_device *dev, nn_buf xb, nn_buf x, int C, int N, int P) {
  /* a plane per work-group: a group of one per vector costs more than the
   * copy on CPU runtimes */
  size_t global[3] = {(size_t)N / 16, (size_t)P, (size_t)C}, local[3] = {1, (size_t)P, 1};
  ocl_arg args[] = {ARG_BUF(xb), ARG_BUF(x), OCL_INT(C), OCL_INT(N), OCL_INT(P)};
  return ocl_launch(dev, "cnp_to_blocks", 3, global, local,
                    (int)(sizeof args / sizeof args[0]), args);
}

static int batch_from_blocks(dlgn_device *dev, nn_buf y, nn_buf yb, nn_buf b, int C,
                             int N, int P, bool has_bias, bool acc, const conv_epilogue *e) {
  size_t global[3] = {(size_t)N / 16, (size_t)P, (size_t)C}, local[3] = {1, (size_t)P, 1};
  ocl_arg args[] = {ARG_BUF(y),   ARG_BUF(yb),  ARG_BUF(b),         OCL_INT(C),
                     OCL_INT(N),  OCL_INT(P),  OCL_INT(has_bias), OCL_INT(acc),
                     ARGS_EPI(e, y)};
  return ocl_launch(dev, "blocks_to_cnp", 3, global, local,
                    (int)(sizeof args / sizeof args[0]), args);
}

/* yb (Cout, ...) = conv of xb (Cin, ...), both batch-blocked; transposed: the
 * dx convolution */
static int batch_conv(dlgn_device *dev, nn_buf yb, nn_buf xb, nn_buf w, int Cin, int Cout,
                      const ocl_conv_shape *s, bool transposed) {
  static const char *const names[2][9] = {
      {[2] = "conv3x3_batch2", [4] = "conv3x3_batch4", [8] = "conv3x3_batch8"},
      {[2] = "conv3x3_batch2_dx", [4] = "conv3x3_batch4_dx", [8] = "conv3x3_batch8_dx"}};
  size_t toc = (size_t)(16 / s->W); /* TOC of each kernel */
  size_t global[2] = {((size_t)Cout + toc - 1) / toc, (size_t)s->H * (s->N / 16)};
  size_t local[2] = {1, 1};
  ocl_arg args[] = {ARG_BUF(yb),    ARG_BUF(xb),    ARG_BUF(w),
                     OCL_INT(Cin),  OCL_INT(s->N), OCL_INT(s->H), OCL_INT(Cout)};
  return ocl_launch(dev, names[transposed][s->W], 2, global, local,
                    (int)(sizeof args / sizeof args[0]), args);
}

static nn_buf batch_region(nn_buf scratch, const ocl_conv_shape *s, int which) {
  return nn_at(scratch, conv_batch_region(s, which));
}

static int conv_batch_forward(dlgn_device *dev, nn_buf y, nn_buf x, nn_buf w, nn_buf b,
                              nn_buf scratch, const ocl_conv_shape *s,
                              const conv_epilogue *e) {
  int P = s->H * s->W;
  nn_buf yt = batch_region(scratch, s, BATCH_OUT), xt = batch_region(scratch, s, BATCH_X);
  DLGN_TRY(batch_to_blocks(dev, xt, x, s->C, s->N, P));
  DLGN_TRY(batch_conv(dev, yt, xt, w, s->C, s->OC, s, false));
  return batch_from_blocks(dev, y, yt, b, s->OC, s->N, P, true, false, e);
}

/* dx and/or dw by the batch kernels; dy goes to CPN once for both */
static int conv_batch_backward(dlgn_device *dev, nn_buf dx, nn_buf dw, nn_buf dy,
                               nn_buf x, nn_buf w, nn_buf scratch,
                               const ocl_conv_shape *s, bool do_dx, bool do_dw, bool acc) {
  int P = s->H * s->W;
  nn_buf dyt = batch_region(scratch, s, BATCH_OUT);
  DLGN_TRY(batch_to_blocks(dev, dyt, dy, s->OC, s->N, P));
  if (do_dx) {
    nn_buf dxt = batch_region(scratch, s, BATCH_DX);
    DLGN_TRY(batch_conv(dev, dxt, dyt, w, s->OC, s->C, s, true));
    DLGN_TRY(batch_from_blocks(dev, dx, dxt, w, s->C, s->N, P, false, acc, NULL));
  }
  if (!do_dw) return 0;
  static const char *const names[9] = {[2] = "conv3x3_dw_batch2", [4] = "conv3x3_dw_batch4",
                                       [8] = "conv3x3_dw_batch8"};
  nn_buf xt = batch_region(scratch, s, BATCH_X);
  DLGN_TRY(batch_to_blocks(dev, xt, x, s->C, s->N, P));
  int nvb = conv_batch_dw_vectors(s), splits = conv_batch_dw_splits(s);
  nn_buf part = splits > 1 ? batch_region(scratch, s, BATCH_PART) : dw;
  size_t global[3] = {((size_t)s->OC + 1) / 2, (size_t)s->C, (size_t)splits}; /* CBW_TOC 2 */
  size_t local[3] = {1, 1, 1};
  ocl_arg args[] = {ARG_BUF(part),  ARG_BUF(dyt),   ARG_BUF(xt),     OCL_INT(s->C),
                     OCL_INT(s->N), OCL_INT(s->H), OCL_INT(s->OC), OCL_INT(nvb)};
  DLGN_TRY(ocl_launch(dev, names[s->W], 3, global, local, (int)(sizeof args / sizeof args[0]), args));
  return splits > 1 ? conv_dw_reduce(dev, dw, part, s, splits) : 0;
}

/* A scratch that is too small would be overrun silently: check its size. */
static int scratch_check(dlgn_device *dev, const char *op, nn_buf scratch,
                         const ocl_conv_shape *s, conv_plan plan) {
  size_t need = conv_scratch_for(dev, s, plan);
  if (need == 0) return 0;
  size_t bytes = 0;
  if (!scratch.mem) return dlgn_fail("%s: needs %zu floats of scratch, got none", op, need);
  cl_int err = clGetMemObjectInfo(scratch.mem, CL_MEM_SIZE, sizeof bytes, &bytes, NULL);
  DLGN_TRY(ocl_check(dev, err, "clGetMemObjectInfo", "convolution scratch"));
  if ((scratch.off + need) * sizeof(float) > bytes)
    return dlgn_fail("%s: scratch holds %zu floats past its offset, needs %zu (see "
                     "conv2d_scratch_floats)",
                     op, bytes / sizeof(float) - scratch.off, need);
  return 0;
}

/* The forward pass as kind; *fused says whether e's output was written too
 * (the row and batch kernels). */
static int conv_forward_run(dlgn_device *dev, conv_kind kind, nn_buf y, nn_buf x, nn_buf w,
                            nn_buf b, nn_buf scratch, const ocl_conv_shape *s,
                            const conv_epilogue *e, bool *fused);

int conv2d_forward(dlgn_device *dev, nn_buf y, nn_buf x, nn_buf w, nn_buf b,
                   nn_buf scratch, const ocl_conv_shape *s) {
  return conv2d_forward_fused(dev, y, x, w, b, scratch, s, NULL);
}

int conv2d_forward_fused(dlgn_device *dev, nn_buf y, nn_buf x, nn_buf w, nn_buf b,
                         nn_buf scratch, const ocl_conv_shape *s, const conv_epilogue *e) {
  conv_plan plan;
  DLGN_TRY(conv_plan_of(dev, s, &plan));
  ocl_record_conv(dev, s);
  bool fused = false;
  DLGN_TRY(conv_forward_run(dev, plan.fwd, y, x, w, b, scratch, s, e, &fused));
  if (!e || e->kind == CONV_EPI_NONE || fused) return 0;
  size_t n = (size_t)s->OC * s->N * conv2d_out_h(s) * conv2d_out_w(s);
  if (e->kind == CONV_EPI_RELU) return relu_forward(dev, e->out, y, n);
  return gate_forward(dev, e->out, y, e->g, n, e->beta, e->gates);
}

int conv2d_forward_as(dlgn_device *dev, conv_kind kind, nn_buf y, nn_buf x, nn_buf w,
                      nn_buf b, nn_buf scratch, const ocl_conv_shape *s) {
  bool fused;
  return conv_forward_run(dev, kind, y, x, w, b, scratch, s, NULL, &fused);
}

static int conv_forward_run(dlgn_device *dev, conv_kind kind, nn_buf y, nn_buf x, nn_buf w,
                            nn_buf b, nn_buf scratch, const ocl_conv_shape *s,
                            const conv_epilogue *e, bool *fused) {
  *fused = false;
  DLGN_TRY(conv_check(dev, "conv2d_forward", s));
  conv_plan plan = {kind, OCL_CONV_NKINDS, OCL_CONV_NKINDS};
  if (!conv_kind_fits(&dev->info, kind, CONV_FWD, s))
    return dlgn_fail("conv2d_forward: strategy %s does not fit this convolution on device '%s'",
                     ocl_conv_kind_name(kind), dev->info.name);
  if (kind == OCL_CONV_BATCH) {
    DLGN_TRY(scratch_check(dev, "conv2d_forward", scratch, s, plan));
    *fused = true;
    return conv_batch_forward(dev, y, x, w, b, scratch, s, e);
  }
  if (kind == OCL_CONV_WINO) {
    DLGN_TRY(scratch_check(dev, "conv2d_forward", scratch, s, plan));
    return conv_wino_apply(dev, y, x, w, b, scratch, s, false, false);
  }
  if (kind == OCL_CONV_SUB) {
    DLGN_TRY(scratch_check(dev, "conv2d_forward", scratch, s, plan));
    ocl_conv_shape t = conv_sub_twin(s);
    bool twin_fused;
    DLGN_TRY(conv_forward_run(dev, conv_plan_builtin(&dev->info, &t).fwd, scratch, x, w, b,
                              nn_at(scratch, (size_t)s->OC * s->N * s->H * s->W), &t, NULL,
                              &twin_fused));
    return subsample2_forward(dev, y, scratch, s->OC * s->N, s->H, s->W);
  }
  if (kind != OCL_CONV_GEMM) {
    direct_args a = {s->C, s->N, s->H, s->W, s->OC, s->k, s->stride, s->pad,
                     conv2d_out_h(s), conv2d_out_w(s), false, true, false, kind};
    if (kind == OCL_CONV_ROWS) {
      *fused = s->W >= 16; /* the flat kernels have no epilogue */
      return conv_rows(dev, y, x, w, b, &a, *fused ? e : NULL);
    }
    return conv_direct(dev, y, x, w, b, &a);
  }
  DLGN_TRY(scratch_check(dev, "conv2d_forward", scratch, s, plan));
  size_t HWO = (size_t)conv2d_out_h(s) * conv2d_out_w(s), M = (size_t)s->N * HWO;
  size_t CKK = (size_t)s->C * s->k * s->k;
  DLGN_TRY(LAUNCH_1D(dev, "bias_planes", (size_t)s->OC * M, ARG_BUF(y), ARG_BUF(b),
                     OCL_INT(s->OC), OCL_INT(M)));
  int chunk = conv_chunk_images(dev, s);
  for (int n0 = 0; n0 < s->N; n0 += chunk) {
    int nb = s->N - n0 < chunk ? s->N - n0 : chunk;
    nn_buf col = nn_at(x, (size_t)n0 * HWO);
    size_t ldcol = M;
    if (!conv_is_pointwise(s)) {
      DLGN_TRY(im2col(dev, scratch, x, s, n0, nb));
      col = scratch;
      ldcol = (size_t)nb * HWO;
    }
    DLGN_TRY(ocl_gemm(dev, false, false, (size_t)s->OC, (size_t)nb * HWO, CKK, 1.0f, w.mem,
                      w.off, CKK, col.mem, col.off, ldcol, 1.0f, y.mem,
                      y.off + (size_t)n0 * HWO, M));
  }
  return 0;
}

/* dw (OC, C, 3, 3) by the row or flat kernel: partial sums per chunk of images in
 * the scratch, added up by conv_dw_reduce (one chunk writes dw directly). */
static int conv_dw_rows(dlgn_device *dev, nn_buf dw, nn_buf dy, nn_buf x, nn_buf scratch,
                        const ocl_conv_shape *s) {
  enum { TOC = 2 }; /* C3W_TOC and CFW_TOC of cl/conv.cl */
  int nb = conv_dw_chunk_images(dev, s), splits = conv_dw_splits(dev, s);
  nn_buf part = splits > 1 ? scratch : dw;
  size_t global[3] = {((size_t)s->OC + TOC - 1) / TOC, (size_t)s->C, (size_t)splits};
  size_t local[3] = {1, 1, 1};
  ocl_arg args[] = {ARG_BUF(part),    ARG_BUF(dy),      ARG_BUF(x),       OCL_INT(s->C),
                     OCL_INT(s->N),   OCL_INT(s->H),   OCL_INT(s->OC),  OCL_INT(nb)};
  const char *name = s->W == 32   ? "conv3x3_dw_rows32"
                     : s->W == 16 ? "conv3x3_dw_rows16"
                     : s->W == 8  ? "conv3x3_dw_flat8"
                     : s->W == 4  ? "conv3x3_dw_flat4"
                                  : "conv3x3_dw_flat2";
  DLGN_TRY(ocl_launch(dev, name, 3, global, local, (int)(sizeof args / sizeof args[0]), args));
  return splits > 1 ? conv_dw_reduce(dev, dw, scratch, s, splits) : 0;
}

int conv2d_backward(dlgn_device *dev, nn_buf dx, nn_buf dw, nn_buf db, nn_buf dy,
                    nn_buf x, nn_buf w, nn_buf scratch, const ocl_conv_shape *s,
                    bool accumulate_dx) {
  conv_plan plan;
  DLGN_TRY(conv_plan_of(dev, s, &plan));
  ocl_record_conv(dev, s);
  return conv2d_backward_as(dev, plan.dx, plan.dw, dx, dw, db, dy, x, w, scratch, s,
                            accumulate_dx);
}

int conv2d_backward_as(dlgn_device *dev, conv_kind dx_kind, conv_kind dw_kind, nn_buf dx,
                       nn_buf dw, nn_buf db, nn_buf dy, nn_buf x, nn_buf w,
                       nn_buf scratch, const ocl_conv_shape *s, bool accumulate_dx) {
  DLGN_TRY(conv_check(dev, "conv2d_backward", s));
  conv_plan plan = {OCL_CONV_NKINDS, dx.mem ? dx_kind : OCL_CONV_NKINDS,
                    dw.mem ? dw_kind : OCL_CONV_NKINDS};
  DLGN_TRY(scratch_check(dev, "conv2d_backward", scratch, s, plan));
  if ((dx.mem && !conv_kind_fits(&dev->info, dx_kind, CONV_DX, s)) ||
      (dw.mem && !conv_kind_fits(&dev->info, dw_kind, CONV_DW, s)))
    return dlgn_fail("conv2d_backward: strategy %s (dx) or %s (dw) does not fit this "
                     "convolution on device '%s'",
                     ocl_conv_kind_name(dx_kind), ocl_conv_kind_name(dw_kind), dev->info.name);
  bool sub_dx = dx.mem && dx_kind == OCL_CONV_SUB, sub_dw = dw.mem && dw_kind == OCL_CONV_SUB;
  if (sub_dx || sub_dw) {
    /* the twin's passes on dy spread to the even positions; the others below */
    ocl_conv_shape t = conv_sub_twin(s);
    conv_plan tp = conv_plan_builtin(&dev->info, &t);
    nn_buf none = {NULL, 0};
    DLGN_TRY(subsample2_backward(dev, scratch, dy, s->OC * s->N, s->H, s->W));
    DLGN_TRY(conv2d_backward_as(dev, tp.dx, tp.dw, sub_dx ? dx : none, sub_dw ? dw : none,
                                sub_dw ? db : none, scratch, x, w,
                                nn_at(scratch, (size_t)s->OC * s->N * s->H * s->W), &t,
                                accumulate_dx));
    if (sub_dx) dx = none;
    if (sub_dw) dw = db = none;
    plan = (conv_plan){OCL_CONV_NKINDS, dx.mem ? dx_kind : OCL_CONV_NKINDS,
                       dw.mem ? dw_kind : OCL_CONV_NKINDS};
  }
  int HO = conv2d_out_h(s), WO = conv2d_out_w(s);
  size_t HWO = (size_t)HO * WO, M = (size_t)s->N * HWO;
  size_t CKK = (size_t)s->C * s->k * s->k;
  if (db.mem) {
    size_t wg;
    DLGN_TRY(ops_reduce_wg(dev, "row_sum", &wg));
    DLGN_TRY(LAUNCH_GROUPS(dev, "row_sum", (size_t)s->OC, wg, ARG_BUF(db), ARG_BUF(dy),
                           OCL_INT(M)));
  }
  bool pointwise = conv_is_pointwise(s);
  bool dx_direct = dx.mem && dx_kind != OCL_CONV_GEMM;
  bool dx_batch = dx_direct && dx_kind == OCL_CONV_BATCH;
  if (dx_batch || plan.dw == OCL_CONV_BATCH)
    DLGN_TRY(conv_batch_backward(dev, dx, dw, dy, x, w, scratch, s, dx_batch,
                                 plan.dw == OCL_CONV_BATCH, accumulate_dx));
  if (dx_direct && dx_kind == OCL_CONV_WINO) {
    DLGN_TRY(conv_wino_apply(dev, dx, dy, w, w, scratch, s, true, accumulate_dx));
  } else if (dx_direct && !dx_batch) {
    direct_args a = {s->OC, s->N, HO, WO, s->C, s->k, 1, s->k - 1 - s->pad,
                     s->H, s->W, true, false, accumulate_dx, dx_kind};
    DLGN_TRY(conv_direct(dev, dx, dy, w, w, &a));
  }
  if (plan.dw == OCL_CONV_WINO) DLGN_TRY(conv_wino_dw(dev, dw, dy, x, scratch, s));
  if (plan.dw == OCL_CONV_ROWS) DLGN_TRY(conv_dw_rows(dev, dw, dy, x, scratch, s));
  /* what is left goes through the columns: dw, dx, or both per chunk */
  bool dw_gemm = plan.dw == OCL_CONV_GEMM, dx_gemm = dx.mem && !dx_direct;
  if (!dw_gemm && !dx_gemm) return 0;
  int chunk = conv_chunk_images(dev, s);
  for (int n0 = 0; n0 < s->N; n0 += chunk) {
    int nb = s->N - n0 < chunk ? s->N - n0 : chunk;
    size_t cols = (size_t)nb * HWO;
    nn_buf dyc = nn_at(dy, (size_t)n0 * HWO);
    /* dw (+)= dy_chunk (OC, cols) x col^T (cols, CKK) */
    nn_buf col = nn_at(x, (size_t)n0 * HWO);
    size_t ldcol = M;
    if (!pointwise && dw_gemm) {
      DLGN_TRY(im2col(dev, scratch, x, s, n0, nb));
      col = scratch;
      ldcol = cols;
    }
    if (dw_gemm)
      DLGN_TRY(ocl_gemm(dev, false, true, (size_t)s->OC, CKK, cols, 1.0f, dy.mem, dyc.off, M,
                        col.mem, col.off, ldcol, n0 == 0 ? 0.0f : 1.0f, dw.mem, dw.off, CKK));
    if (!dx_gemm) continue;
    /* dcol = w^T (CKK, OC) x dy_chunk (OC, cols), then scattered back by col2im;
     * for a pointwise conv dcol is the dx chunk itself */
    if (pointwise) {
      DLGN_TRY(ocl_gemm(dev, true, false, CKK, cols, (size_t)s->OC, 1.0f, w.mem, w.off, CKK,
                        dy.mem, dyc.off, M, accumulate_dx ? 1.0f : 0.0f, dx.mem,
                        dx.off + (size_t)n0 * HWO, M));
      continue;
    }
    DLGN_TRY(ocl_gemm(dev, true, false, CKK, cols, (size_t)s->OC, 1.0f, w.mem, w.off, CKK,
                      dy.mem, dyc.off, M, 0.0f, scratch.mem, scratch.off, cols));
    int per_item = row_per_item(dev, s->W), rows = rows_per_item(dev, s->W);
    ocl_arg args[] = {ARG_BUF(dx),         ARG_BUF(scratch),   OCL_INT(s->C),
                       OCL_INT(s->N),      OCL_INT(s->H),     OCL_INT(s->W),
                       OCL_INT(s->k),      OCL_INT(s->stride), OCL_INT(s->pad),
                       OCL_INT(HO),        OCL_INT(WO),       OCL_INT(n0),
                       OCL_INT(nb),        OCL_INT(accumulate_dx), OCL_INT(per_item),
                       OCL_INT(rows)};
    DLGN_TRY(launch_rows(dev, "col2im", (s->W + per_item - 1) / per_item,
                         ((size_t)nb * s->H + rows - 1) / rows, (size_t)s->C,
                         (int)(sizeof args / sizeof args[0]), args));
  }
  return 0;
}

/* Pieces shared by the files of the explain stage. */
#ifndef EXPLAIN_INTERNAL_H
#define EXPLAIN_INTERNAL_H

#include "dlgn/explain.h"
#include "nn/model_internal.h"

/* Window (in image pixels) of the template at position r of a layer. */
static inline void window_at(const dlgn_layer_templates *t, int r, int *lo, int *hi) {
  const dlgn_tpl_class *c = &t->c[t->cls[r]];
  int shift = c->interior ? (r - c->rep) * t->stride : 0;
  *lo = c->lo + shift;
  *hi = c->hi + shift;
}

/* One model in a pass over the data, with its own input normalisation. */
typedef struct {
  dlgn_model *m;
  float mean[3], std[3];
  cl_mem x8;                 /* uint8 batch on the model's device */
  float *q[DLGN_MAX_LAYERS]; /* host copy of each layer's q of the current batch */
} pass_model;

/* Called once per batch: images first..first+N-1; x the first model's
 * normalised images (N,3,32,32); each model's q in its pm->q. */
typedef int (*pass_fn)(void *ctx, size_t first, int N, const float *x, pass_model *pm, int nm);

/* Hard-gate forward of the first n images of split through every model, in
 * batches of the smallest max_batch; the seconds spent in the forward passes
 * and reading their results are added to *forward_s (may be NULL). */
int explain_pass(pass_model *pm, int nm, const dlgn_split *split, size_t n, pass_fn fn, void *ctx,
                 double *forward_s);
void pass_model_free(pass_model *pm);

/* Floats of a layer's q for a batch of N in the device layout. */
static inline size_t layer_q_floats(const nn_layer *L, int N) {
  return nn_layer_units(L) * (size_t)N;
}

/* Everything an explain run found, for the report. */
typedef struct {
  const dlgn_explain_options *opt;
  char ckpt_path[1200], ckpt2_path[1200];
  dlgn_checkpoint ck, ck2;
  dlgn_model *m, *m2;
  char device[256];
  char data_source[1024];
  int nclasses;
  char class_names[100][32];

  /* effective filters */
  bool linear;
  dlgn_templates t;
  int grid_w[DLGN_MAX_LAYERS], grid_h[DLGN_MAX_LAYERS];
  dlgn_filter_check check;

  /* gate statistics over every image of the pass */
  size_t pass_n;
  size_t units[DLGN_MAX_LAYERS];
  size_t on[DLGN_MAX_LAYERS], ambiguous[DLGN_MAX_LAYERS], flips[DLGN_MAX_LAYERS];
  bool compared;
  size_t agree[DLGN_MAX_LAYERS];

  /* neural path kernel */
  size_t npk_n;
  bool npk_xx; /* value input is the image: X X^T / 3072 is a factor */
  dlgn_kernel_summary lam_sum[DLGN_MAX_LAYERS], xx_sum, k_sum;
  /* residual models: K is the sum over the sub-networks that take or skip
   * each block; per block, its factor (1 + Lambda_first) Lambda_out of K and
   * the share of K carried by the sub-networks that take it */
  int nblocks;
  int block_first[DLGN_MAX_LAYERS], block_out[DLGN_MAX_LAYERS];
  dlgn_kernel_summary block_sum[DLGN_MAX_LAYERS];
  double block_share[DLGN_MAX_LAYERS];
  dlgn_kernel_summary k_all_sum; /* the sub-network that takes every block */
  size_t class_count[100];
  int heat_w;
  double heat_range[2];

  double t_setup, t_compose, t_pass, t_forward, t_npk, t_total;
} explain_result;

int explain_write_report(const explain_result *r);
int explain_write_json(const explain_result *r);

#endif

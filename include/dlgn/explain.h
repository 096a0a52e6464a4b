/* The explain stage: effective filters of linear gating
 * networks, verified against the network's own gates; neural path kernel
 * summaries; gate statistics; a report. docs/model.md describes the
 * templates, the check and the kernel. */
#ifndef DLGN_EXPLAIN_H
#define DLGN_EXPLAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dlgn/train.h"

/* ---- effective filters (compose.c, templates.c) ----
 *
 * In a dlgn every feature pre-activation is affine in the normalised image:
 * q[l](c, p) = T[l](c, p) . x + bias[l](c, p), with x zero-padded outside the
 * image. T depends on the position p only near the border, where the zero
 * padding of intermediate feature maps drops paths; positions whose
 * intermediate maps never leave the image share one translated template.
 * Along each axis a layer's positions fall into classes: all interior
 * positions form one class, every border position is a class of its own.
 * Rows and columns share the geometry (square maps, square kernels). */

/* Largest window side: 34 for a dlgn (the image and its padding), 48 for
 * the 16x16-pooled input of a dlgn-sf's last VGG stage. */
#define DLGN_TPL_MAX_SIDE 48

typedef struct {
  int lo, hi;    /* window in image pixels, inclusive, of the representative (may reach -1, 32) */
  int rep;       /* representative position on the layer's grid */
  bool interior; /* shared by several positions: shifted by stride pixels per step */
} dlgn_tpl_class;

typedef struct {
  bool dense;        /* fc layer: one 3x32x32 template per unit, grid 1x1 */
  int channels;      /* gates per position */
  int n;             /* positions per axis (h == w) */
  int stride;        /* image pixels per grid step */
  int ncls;          /* classes per axis */
  int *cls;          /* (n) class of each position */
  dlgn_tpl_class *c; /* (ncls) */
  size_t *off;       /* (ncls*ncls) start of class (a,b) in t: channel o at off + o*size */
  size_t total;      /* doubles in t */
  double *t;         /* templates, (3, hy, hx) per channel and class pair */
  double *bias;      /* (ncls*ncls*channels) */
  float *tt;         /* float copy per class pair transposed to (size, channels), for the check */
} dlgn_layer_templates;

typedef struct {
  int nlayers;
  dlgn_layer_templates layers[DLGN_MAX_LAYERS];
} dlgn_templates;

/* Window size of a class pair: 3 * (hi-lo+1) of a * (hi-lo+1) of b. */
size_t dlgn_tpl_size(const dlgn_layer_templates *t, int a, int b);

/* Compose the templates of every feature layer of a dlgn or dlgn-sf (m's
 * layout; host parameters and batch-norm state as in a checkpoint), in
 * double precision, eval-mode batch norm folded in. Fails for dnn and dgn. */
int dlgn_templates_compose(dlgn_templates *out, const dlgn_model *m, const float *params,
                           const float *state);
/* Frees every layer's templates (a zeroed dlgn_templates is fine). */
void dlgn_templates_free(dlgn_templates *t);

/* One layer at a time, for models whose templates do not fit in memory
 * together (a deep resnet): layer l needs those of layer l - 1 and, in a
 * resnet, of its block's input (l - 2) already in t, nothing older; free a
 * layer when no later one needs it. */
int dlgn_templates_compose_layer(dlgn_templates *t, const dlgn_model *m, const float *params,
                                 const float *state, int l);
void dlgn_templates_free_layer(dlgn_templates *t, int l);
/* Frees layer l's templates and biases but keeps its geometry (classes,
 * windows) for reports. */
void dlgn_templates_drop_data(dlgn_templates *t, int l);

/* Gate pre-activations of layer l for one normalised image x (3,32,32), from
 * the templates alone: q (channels, n, n). */
int dlgn_templates_apply(const dlgn_templates *t, int l, const float *x, float *q);

/* The class pair whose template is shown for layer l: that of the central
 * position (the interior template where there is one). */
void dlgn_templates_display_class(const dlgn_templates *t, int l, int *a, int *b);

/* Write every template and bias as float32 (format in templates.c and the report). */
int dlgn_templates_write(const dlgn_templates *t, const char *path);
/* The same file a layer at a time: begin, each layer in order, end (ok false:
 * an earlier step failed; the file is removed). */
int dlgn_templates_write_begin(FILE **f, const char *path, int nlayers);
int dlgn_templates_write_layer(FILE *f, const dlgn_templates *t, int l, const char *path);
int dlgn_templates_write_end(FILE *f, const char *path, bool ok);


/* ---- the filter-export check (check.c) ---- */

/* Gates within eps_rel * q_scale of zero may disagree: the device and the
 * templates sum the same terms in different orders. */
#define DLGN_CHECK_EPS_REL 1e-3

/* Result of recomputing the gates of n images from the exported templates
 * alone and comparing them with the network's own hard gates. */
typedef struct {
  bool applicable; /* false for dnn/dgn: their gates are not hyperplanes */
  int nlayers;
  size_t images;
  size_t compared[DLGN_MAX_LAYERS];
  size_t mismatched[DLGN_MAX_LAYERS]; /* gates that differ with |q| > eps */
  size_t near_zero[DLGN_MAX_LAYERS];  /* differences with |q| <= eps (allowed) */
  double agreement[DLGN_MAX_LAYERS];  /* fraction of gates equal */
  double q_scale[DLGN_MAX_LAYERS];    /* RMS of the network's q over the images */
  double max_err[DLGN_MAX_LAYERS];    /* max |q_template - q_network| / q_scale */
  double eps;                         /* stated tolerance on |q|, relative to q_scale */
  bool passed;                        /* no mismatch beyond eps in any layer */
  int failed_layer;                   /* first layer (1-based) that failed, 0 if none */
} dlgn_filter_check;

/* Run the check for a trained model (checkpoint ck already on the device as
 * m) on the first n images of split. */
int dlgn_explain_filter_check(dlgn_model *m, const dlgn_checkpoint *ck, const dlgn_split *split,
                              size_t n, dlgn_filter_check *out);

/* The filter check of a resnet, one layer at a time (check.c): each layer is
 * composed into t, checked over the first n images of split, handed to
 * after_layer (may be NULL: e.g. to write it out), and its data dropped once
 * the next two layers are composed; t keeps every layer's geometry. */
typedef int (*dlgn_layer_hook)(void *ctx, const dlgn_templates *t, int l);
int dlgn_explain_check_by_layer(dlgn_model *m, const dlgn_checkpoint *ck,
                                const dlgn_split *split, size_t n, dlgn_templates *t,
                                dlgn_layer_hook after_layer, void *ctx, dlgn_filter_check *out);

/* Accumulator behind it, for callers that already hold the network's q:
 * start, add batches, finish. */
typedef struct {
  dlgn_filter_check r;
  double sumsq[DLGN_MAX_LAYERS];
  float *diff_q[DLGN_MAX_LAYERS]; /* |q| of the disagreements, classified at the end */
  size_t ndiff[DLGN_MAX_LAYERS], capdiff[DLGN_MAX_LAYERS];
} dlgn_check_acc;

/* An empty accumulator for the layers of t. */
int dlgn_check_start(dlgn_check_acc *a, const dlgn_templates *t);
/* The first count images of a batch of N: x (N,3,32,32) normalised images;
 * q the network's layer-l pre-activations in the device layout ((C,N,h,w)
 * conv, (N,C) dense). Spread over the host's cores. */
int dlgn_check_add(dlgn_check_acc *a, const dlgn_templates *t, int l, const float *x, int N,
                   int count, const float *q);
/* The verdict: differences within eps of zero are allowed, any other one
 * fails its layer; out->failed_layer names the first layer that failed. */
void dlgn_check_finish(dlgn_check_acc *a, dlgn_filter_check *out);
void dlgn_check_free(dlgn_check_acc *a);

/* ---- neural path kernel (npk.c) ---- */

/* Hard gates of n images, one bit per gate, per layer. */
typedef struct {
  int nlayers;
  size_t n;                        /* images */
  size_t units[DLGN_MAX_LAYERS];   /* gates per image */
  size_t words[DLGN_MAX_LAYERS];   /* uint64 per image */
  uint64_t *bits[DLGN_MAX_LAYERS]; /* (n, words) */
} dlgn_gate_bits;

int dlgn_gate_bits_create(dlgn_gate_bits *g, int nlayers, const size_t *units, size_t n);
void dlgn_gate_bits_free(dlgn_gate_bits *g);
/* Set image i's gates of layer l from q > 0; q as read from the device for a
 * batch of N, image i being batch index j: conv (C,N,h,w) with hw = h*w,
 * dense (N,C) with hw = 0. */
void dlgn_gate_bits_set(dlgn_gate_bits *g, int l, size_t i, const float *q, int N, int j, int C,
                        int hw);

/* Summaries of one kernel over labelled images. */
typedef struct {
  double within, across; /* mean cosine-normalised K(i,j), i != j, same / other class */
  double alignment;      /* <K, YY^T>_F / (||K||_F ||YY^T||_F), Y centred one-hot */
} dlgn_kernel_summary;

void dlgn_kernel_summarize(const double *K, size_t n, const int *labels, int nclasses,
                           dlgn_kernel_summary *out);

/* Lambda_l = G_l G_l^T / units_l (n x n) of every layer into lambda[l], and
 * K = (xx ? xx : 1) * prod_l Lambda_l. xx may be NULL (ones input). */
int dlgn_npk_compute(const dlgn_gate_bits *g, const double *xx, double **lambda, double *K);

/* The kernel of a residual network (docs/model.md): a path either runs
 * through a block or skips it, and the kernel is the sum over the 2^blocks
 * sub-networks of their kernels, each the product of its layers' Lambda
 * (the fraction of its paths on for both images). A skipped block drops its
 * first layer (skippable[l]) and keeps the gates of its output, where the
 * shortcut joins; so the sum is K = (xx ? xx : 1) * prod_l (skippable[l] ?
 * 1 + Lambda_l : Lambda_l). Lambda into lambda[l] as above; skippable NULL
 * gives dlgn_npk_compute. */
int dlgn_npk_compute_residual(const dlgn_gate_bits *g, const double *xx, const bool *skippable,
                              double **lambda, double *K);

/* The feature layers whose gates a path skipping a block of m's value
 * network (the dnn's own network) does not meet: the gates of each block's
 * first layer. skippable[l] for every feature layer; returns the number of
 * blocks (0 for the architectures without shortcuts). block_first[b] and
 * block_out[b] (each DLGN_MAX_LAYERS long, may be NULL) get the feature
 * layers that gate block b's first and output layer. */
int dlgn_npk_residual_blocks(const dlgn_model *m, bool *skippable, int *block_first,
                             int *block_out);

/* ---- pictures (png.c) ---- */

/* An RGB image, 8 bits per channel, row-major (h, w, 3). */
int dlgn_png_write_rgb(const char *path, const uint8_t *rgb, int w, int h);

/* The display templates of layer l as a grid: each filter scaled to its own
 * range, upsampled (nearest), channels as RGB. */
int dlgn_png_filter_grid(const dlgn_templates *t, int l, const char *path, int *w, int *h);

/* A heatmap of the cosine-normalised K (n x n) in the given order; the
 * off-diagonal range (returned in range, may be NULL) spans the colour map
 * from dark blue to yellow. */
int dlgn_png_kernel_heatmap(const double *K, size_t n, const size_t *order, const char *path,
                            int *w, int *h, double range[2]);

/* ---- the whole explain run (explain.c, report.c) ---- */

typedef struct {
  char checkpoint[1200]; /* checkpoint file or run folder */
  char out_dir[1024];
  char data[1024];    /* "" = the model's own data, else the usual resolution */
  char compare[1200]; /* second checkpoint of the same shape, or "" */
  char device[128];
  size_t check_images; /* default 1000 */
  size_t npk_images;   /* default 500 */
  int batch;           /* images per forward pass (default 100) */
  bool quiet;
} dlgn_explain_options;

/* The defaults noted beside each field; out_dir and checkpoint empty (set them). */
void dlgn_explain_options_default(dlgn_explain_options *o);

/* Writes out_dir/report.md, explain.json, the PNGs and templates.bin. */
int dlgn_explain_run(const dlgn_explain_options *o);

#endif

/* dlgn explain: one pass over the test images gives, from the same device
 * forward, the filter-export check, the gate statistics, the gates of the
 * neural path kernel and the agreement with a second model (a resnet's check
 * runs before, a layer at a time, with the export of its filters). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlgn/status.h"
#include "dlgn/util.h"
#include "explain_internal.h"

void dlgn_explain_options_default(dlgn_explain_options *o) {
  memset(o, 0, sizeof *o);
  o->check_images = 1000;
  o->npk_images = 500;
  o->batch = 100;
}

typedef struct {
  explain_result *r;
  dlgn_check_acc acc;
  bool check_in_pass; /* false for a resnet, checked layer by layer before */
  dlgn_gate_bits bits;
  float *xnpk; /* the first npk_n normalised images, for X X^T */
} pass_ctx;

/* sigmoid(beta q) in [0.1, 0.9] <=> |beta q| <= ln 9 */
#define AMBIGUOUS_BQ 2.1972245773362196

static void gate_stats(explain_result *r, int l, const float *q, const float *q2, size_t count) {
  float beta = r->m->cfg.beta;
  size_t on = 0, amb = 0, flips = 0, agree = 0;
  for (size_t k = 0; k < count; k++) {
    float v = q[k], bq = beta * v;
    on += v > 0;
    amb += fabsf(bq) <= AMBIGUOUS_BQ;
    /* the soft gate's own arithmetic decides only where it can round to 0.5 */
    if (fabsf(bq) < 1e-3f) flips += (1.0f / (1.0f + expf(-bq)) > 0.5f) != (v > 0);
    if (q2) agree += (v > 0) == (q2[k] > 0);
  }
  r->on[l] += on;
  r->ambiguous[l] += amb;
  r->flips[l] += flips;
  r->agree[l] += agree;
}

static int pass_batch(void *p, size_t first, int N, const float *x, pass_model *pm, int nm) {
  pass_ctx *c = p;
  explain_result *r = c->r;
  const nn_net *net = &r->m->feat;
  size_t nchk = first < r->opt->check_images ? r->opt->check_images - first : 0;
  size_t nnpk = first < r->npk_n ? r->npk_n - first : 0;
  if (nchk > (size_t)N) nchk = (size_t)N;
  if (nnpk > (size_t)N) nnpk = (size_t)N;
  for (int l = 0; l < net->nlayers; l++) {
    const nn_layer *L = &net->layers[l];
    const float *q = pm[0].q[l];
    if (c->check_in_pass && nchk) DLGN_TRY(dlgn_check_add(&c->acc, &r->t, l, x, N, (int)nchk, q));
    gate_stats(r, l, q, nm > 1 ? pm[1].q[l] : NULL, layer_q_floats(L, N));
    int hw = L->kind == NN_LAYER_DENSE ? 0 : L->h * L->w;
    for (size_t j = 0; j < nnpk; j++)
      dlgn_gate_bits_set(&c->bits, l, first + j, q, N, (int)j, L->out_c, hw);
  }
  if (c->xnpk && nnpk)
    memcpy(c->xnpk + first * DLGN_IMAGE_BYTES, x, nnpk * DLGN_IMAGE_BYTES * sizeof *x);
  r->pass_n += (size_t)N;
  return 0;
}

static bool same_shape(const nn_net *a, const nn_net *b) {
  if (a->nlayers != b->nlayers) return false;
  for (int l = 0; l < a->nlayers; l++) {
    const nn_layer *x = &a->layers[l], *y = &b->layers[l];
    if (x->kind != y->kind || x->out_c != y->out_c || x->h != y->h) return false;
  }
  return true;
}

static int load_data(explain_result *r, dlgn_dataset *ds) {
  const dlgn_train_config *c = &r->ck.config;
  DLGN_TRY(dlgn_train_load_dataset(c, r->opt->data, ds, NULL, NULL));
  if (ds->num_classes != c->model.num_classes) {
    dlgn_fail("%s has %d classes but the model was trained on %d", ds->source, ds->num_classes,
              c->model.num_classes);
    dlgn_dataset_free(ds);
    return -1;
  }
  snprintf(r->data_source, sizeof r->data_source, "%s", ds->source);
  r->nclasses = ds->num_classes;
  memcpy(r->class_names, ds->class_names, sizeof r->class_names);
  return 0;
}

/* A resnet's filters, written as each layer is composed and checked
 * (dlgn_explain_check_by_layer): its templates together may not fit in memory. */
typedef struct {
  explain_result *r;
  FILE *f;
  char path[1200];
} layer_writer;

static int write_layer_files(void *ctx, const dlgn_templates *t, int l) {
  layer_writer *w = ctx;
  explain_result *r = w->r;
  DLGN_TRY(dlgn_templates_write_layer(w->f, t, l, w->path));
  char png[1200];
  snprintf(png, sizeof png, "%s/filters_layer%d.png", r->opt->out_dir, l + 1);
  return dlgn_png_filter_grid(t, l, png, &r->grid_w[l], &r->grid_h[l]);
}

static int filters_by_layer(explain_result *r, const dlgn_split *split) {
  layer_writer w = {.r = r};
  snprintf(w.path, sizeof w.path, "%s/templates.bin", r->opt->out_dir);
  DLGN_TRY(dlgn_templates_write_begin(&w.f, w.path, r->m->feat.nlayers));
  size_t n = r->opt->check_images < split->n ? r->opt->check_images : split->n;
  double t0 = dlgn_now();
  int rc = dlgn_explain_check_by_layer(r->m, &r->ck, split, n, &r->t, write_layer_files, &w,
                                       &r->check);
  r->t_compose = dlgn_now() - t0;
  return dlgn_templates_write_end(w.f, w.path, rc == 0);
}

static int write_filters(explain_result *r) {
  char path[1200];
  double t0 = dlgn_now();
  DLGN_TRY(dlgn_templates_compose(&r->t, r->m, r->ck.params, r->ck.state));
  r->t_compose = dlgn_now() - t0;
  snprintf(path, sizeof path, "%s/templates.bin", r->opt->out_dir);
  DLGN_TRY(dlgn_templates_write(&r->t, path));
  for (int l = 0; l < r->t.nlayers; l++) {
    snprintf(path, sizeof path, "%s/filters_layer%d.png", r->opt->out_dir, l + 1);
    DLGN_TRY(dlgn_png_filter_grid(&r->t, l, path, &r->grid_w[l], &r->grid_h[l]));
  }
  return 0;
}

/* X X^T / 3072 of the kept images. */
static double *image_gram(const float *x, size_t n) {
  double *xx = dlgn_malloc(n * n * sizeof *xx, "image Gram matrix");
  if (!xx) return NULL;
  for (size_t i = 0; i < n; i++)
    for (size_t j = i; j < n; j++) {
      const float *a = x + i * DLGN_IMAGE_BYTES, *b = x + j * DLGN_IMAGE_BYTES;
      double s = 0;
      for (size_t k = 0; k < DLGN_IMAGE_BYTES; k++) s += (double)a[k] * b[k];
      xx[i * n + j] = xx[j * n + i] = s / DLGN_IMAGE_BYTES;
    }
  return xx;
}

/* Per block of a residual model: the summaries of its factor (1 + Lambda_a)
 * Lambda_o of K, the mean over pairs of the share Lambda_a / (1 + Lambda_a)
 * of K carried by the sub-networks that take the block, and those of the
 * sub-network that takes every block (the plain product). */
static int block_part(explain_result *r, double *const *lambda, const double *xx,
                      const int *labels) {
  size_t n = r->npk_n;
  double *f = dlgn_malloc(n * n * sizeof *f, "block factor");
  double *all = dlgn_malloc(n * n * sizeof *all, "all-blocks kernel");
  if (!f || !all) {
    free(f);
    free(all);
    return -1;
  }
  for (size_t k = 0; k < n * n; k++) all[k] = xx ? xx[k] : 1.0;
  for (int l = 0; l < r->m->feat.nlayers; l++)
    for (size_t k = 0; k < n * n; k++) all[k] *= lambda[l][k];
  dlgn_kernel_summarize(all, n, labels, r->nclasses, &r->k_all_sum);
  for (int b = 0; b < r->nblocks; b++) {
    const double *la = lambda[r->block_first[b]], *lo = lambda[r->block_out[b]];
    double share = 0;
    for (size_t k = 0; k < n * n; k++) {
      f[k] = (1.0 + la[k]) * lo[k];
      share += la[k] / (1.0 + la[k]);
    }
    r->block_share[b] = share / (double)(n * n);
    dlgn_kernel_summarize(f, n, labels, r->nclasses, &r->block_sum[b]);
  }
  free(f);
  free(all);
  return 0;
}

static int kernel_part(explain_result *r, pass_ctx *c, const dlgn_split *split) {
  size_t n = r->npk_n;
  int L = c->bits.nlayers, rc = -1;
  double t0 = dlgn_now();
  double *lambda[DLGN_MAX_LAYERS] = {0};
  double *K = dlgn_malloc(n * n * sizeof *K, "neural path kernel");
  double *xx = r->npk_xx ? image_gram(c->xnpk, n) : NULL;
  int *labels = dlgn_malloc(n * sizeof *labels, "labels");
  size_t *order = dlgn_malloc(n * sizeof *order, "class order");
  if (!K || (r->npk_xx && !xx) || !labels || !order) goto done;
  for (int l = 0; l < L; l++)
    if (!(lambda[l] = dlgn_malloc(n * n * sizeof(double), "overlap kernel"))) goto done;
  for (size_t i = 0; i < n; i++) labels[i] = split->labels[i];
  bool skippable[DLGN_MAX_LAYERS];
  r->nblocks = dlgn_npk_residual_blocks(r->m, skippable, r->block_first, r->block_out);
  if (dlgn_npk_compute_residual(&c->bits, xx, skippable, lambda, K) != 0) goto done;
  if (r->nblocks && block_part(r, lambda, xx, labels) != 0) goto done;
  for (int l = 0; l < L; l++)
    dlgn_kernel_summarize(lambda[l], n, labels, r->nclasses, &r->lam_sum[l]);
  if (xx) dlgn_kernel_summarize(xx, n, labels, r->nclasses, &r->xx_sum);
  dlgn_kernel_summarize(K, n, labels, r->nclasses, &r->k_sum);
  /* images sorted by class, stable within a class */
  size_t k = 0;
  for (int cl = 0; cl < r->nclasses; cl++)
    for (size_t i = 0; i < n; i++)
      if (labels[i] == cl) order[k++] = i, r->class_count[cl]++;
  char path[1200];
  snprintf(path, sizeof path, "%s/npk_heatmap.png", r->opt->out_dir);
  if (dlgn_png_kernel_heatmap(K, n, order, path, &r->heat_w, NULL, r->heat_range) != 0) goto done;
  r->t_npk = dlgn_now() - t0;
  rc = 0;
done:
  for (int l = 0; l < L; l++) free(lambda[l]);
  free(K);
  free(xx);
  free(labels);
  free(order);
  return rc;
}

static int explain_body(explain_result *r, const dlgn_split *split, pass_ctx *c) {
  const dlgn_explain_options *o = r->opt;
  const dlgn_model_config *mc = &r->m->cfg;
  DLGN_TRY(dlgn_mkdir_p(o->out_dir));
  r->linear = dlgn_model_linear_gating(mc);
  /* a resnet's check runs layer by layer with the export, before the pass */
  bool by_layer = r->linear && mc->arch == DLGN_RESNET;
  if (by_layer) DLGN_TRY(filters_by_layer(r, split));
  else if (r->linear) DLGN_TRY(write_filters(r));
  c->check_in_pass = r->linear && !by_layer;

  size_t n = o->check_images > o->npk_images ? o->check_images : o->npk_images;
  if (n > split->n) n = split->n;
  r->npk_n = o->npk_images < n ? o->npk_images : n;
  r->npk_xx = mc->cls == DLGN_DNN || mc->value_input == DLGN_VALUE_IMAGE;
  const nn_net *net = &r->m->feat;
  for (int l = 0; l < net->nlayers; l++) r->units[l] = nn_layer_units(&net->layers[l]);
  DLGN_TRY(dlgn_gate_bits_create(&c->bits, net->nlayers, r->units, r->npk_n));
  if (r->npk_xx && r->npk_n) {
    c->xnpk = dlgn_malloc(r->npk_n * DLGN_IMAGE_BYTES * sizeof(float), "kernel images");
    if (!c->xnpk) return -1;
  }
  if (c->check_in_pass) DLGN_TRY(dlgn_check_start(&c->acc, &r->t));
  pass_model pm[2];
  memset(pm, 0, sizeof pm);
  pm[0].m = r->m;
  memcpy(pm[0].mean, r->ck.mean, sizeof pm[0].mean);
  memcpy(pm[0].std, r->ck.std, sizeof pm[0].std);
  if (r->m2) {
    pm[1].m = r->m2;
    memcpy(pm[1].mean, r->ck2.mean, sizeof pm[1].mean);
    memcpy(pm[1].std, r->ck2.std, sizeof pm[1].std);
  }
  double t0 = dlgn_now();
  int rc = explain_pass(pm, r->m2 ? 2 : 1, split, n, pass_batch, c, &r->t_forward);
  r->t_pass = dlgn_now() - t0;
  pass_model_free(&pm[0]);
  pass_model_free(&pm[1]);
  DLGN_TRY(rc);
  if (c->check_in_pass)
    dlgn_check_finish(&c->acc, &r->check);
  else if (!r->linear) {
    r->check.applicable = false;
    r->check.nlayers = net->nlayers;
    r->check.eps = DLGN_CHECK_EPS_REL;
  }
  if (r->npk_n >= 2) DLGN_TRY(kernel_part(r, c, split));
  return 0;
}

static int open_compare(explain_result *r, dlgn_device *dev) {
  dlgn_checkpoint_path(r->opt->compare, r->ckpt2_path, sizeof r->ckpt2_path);
  DLGN_TRY(dlgn_model_from_checkpoint(&r->m2, dev, r->ckpt2_path, r->opt->batch, &r->ck2));
  if (!same_shape(&r->m->feat, &r->m2->feat))
    return dlgn_fail(
        "--compare: %s has gates of another shape than %s (layers, channels and "
        "maps must match)",
        r->ckpt2_path, r->ckpt_path);
  r->compared = true;
  return 0;
}

int dlgn_explain_run(const dlgn_explain_options *o) {
  if (o->batch < 1) return dlgn_fail("explain: batch must be >= 1");
  if (!o->check_images && !o->npk_images)
    return dlgn_fail("explain: no images to look at (--check-images and --npk-images are 0)");
  double t0 = dlgn_now();
  explain_result *r = dlgn_calloc(1, sizeof *r, "explain results");
  if (!r) return -1;
  r->opt = o;
  dlgn_checkpoint_path(o->checkpoint, r->ckpt_path, sizeof r->ckpt_path);
  dlgn_device *dev = NULL;
  dlgn_dataset ds;
  bool have_ds = false;
  pass_ctx c = {.r = r};
  int rc = -1;
  if (dlgn_device_open(&dev, o->device[0] ? o->device : NULL, 0) != 0) goto done;
  snprintf(r->device, sizeof r->device, "%s", dev->info.name);
  if (dlgn_model_from_checkpoint(&r->m, dev, r->ckpt_path, o->batch, &r->ck) != 0) goto done;
  if (o->compare[0] && open_compare(r, dev) != 0) goto done;
  if (load_data(r, &ds) != 0) goto done;
  have_ds = true;
  r->t_setup = dlgn_now() - t0;
  if (explain_body(r, &ds.test, &c) != 0) goto done;
  r->t_total = dlgn_now() - t0;
  if (explain_write_report(r) != 0 || explain_write_json(r) != 0) goto done;
  if (!o->quiet) {
    printf("explained %s (%s %s) on %zu test images of %s: ", r->ckpt_path,
           dlgn_class_name(r->m->cfg.cls), dlgn_arch_name(r->m->cfg.arch), r->pass_n,
           r->data_source);
    if (r->check.applicable && r->check.images)
      printf("filter-export check %s, ", r->check.passed ? "passed" : "FAILED");
    else if (r->check.applicable)
      printf("filter-export check not run, ");
    else
      printf("no effective filters (gates not linear), ");
    printf("%.1f s -> %s/report.md\n", r->t_total, o->out_dir);
  }
  if (r->check.applicable && r->check.images && !r->check.passed) {
    int l = r->check.failed_layer;
    dlgn_fail(
        "the filter-export check failed at layer %d: %zu of %zu gates recomputed from the "
        "templates disagree with the network's beyond eps (see %s/report.md)",
        l, l > 0 ? r->check.mismatched[l - 1] : 0, l > 0 ? r->check.compared[l - 1] : 0,
        o->out_dir);
    goto done;
  }
  rc = 0;
done:
  if (rc != 0) dlgn_fail_context("explain %s", o->checkpoint);
  dlgn_check_free(&c.acc);
  dlgn_gate_bits_free(&c.bits);
  free(c.xnpk);
  if (have_ds) dlgn_dataset_free(&ds);
  dlgn_templates_free(&r->t);
  dlgn_model_destroy(r->m2);
  dlgn_model_destroy(r->m);
  dlgn_checkpoint_free(&r->ck);
  dlgn_checkpoint_free(&r->ck2);
  dlgn_device_close(dev);
  free(r);
  return rc;
}

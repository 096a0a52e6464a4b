/* The filter-export check: the gates recomputed from the templates alone, on
 * the zero-padded normalised image, against the network's own hard gates
 * from the device. A disagreement is allowed only where the network's |q|
 * is within eps of zero, eps relative to the layer's RMS |q| over the same
 * images; the RMS is known only at the end, so the |q| of every
 * disagreement is kept (a few; more than DIFF_CAP means the check failed
 * anyway, and those count as mismatches). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dlgn/status.h"
#include "explain_internal.h"

#define DIFF_CAP ((size_t)1 << 20)

int dlgn_check_start(dlgn_check_acc *a, const dlgn_templates *t) {
  memset(a, 0, sizeof *a);
  a->r.applicable = true;
  a->r.nlayers = t->nlayers;
  a->r.eps = DLGN_CHECK_EPS_REL;
  size_t big = 0;
  for (int l = 0; l < t->nlayers; l++) {
    const dlgn_layer_templates *L = &t->layers[l];
    size_t units = (size_t)L->channels * L->n * L->n;
    if (units > big) big = units;
  }
  a->qt = dlgn_malloc(big * sizeof *a->qt, "template pre-activations");
  return a->qt ? 0 : -1;
}

static void keep_diff(dlgn_check_acc *a, int l, float absq) {
  if (a->ndiff[l] == a->capdiff[l]) {
    size_t cap = a->capdiff[l] ? 2 * a->capdiff[l] : 256;
    if (cap > DIFF_CAP) cap = DIFF_CAP;
    float *p = cap > a->capdiff[l] ? realloc(a->diff_q[l], cap * sizeof *p) : NULL;
    if (!p) { /* over the cap (or out of memory): an unexplained mismatch */
      a->r.mismatched[l]++;
      return;
    }
    a->diff_q[l] = p;
    a->capdiff[l] = cap;
  }
  a->diff_q[l][a->ndiff[l]++] = absq;
}

int dlgn_check_add(dlgn_check_acc *a, const dlgn_templates *t, int l, const float *x, int N,
                   int count, const float *q) {
  const dlgn_layer_templates *L = &t->layers[l];
  size_t C = (size_t)L->channels, hw = (size_t)L->n * L->n;
  double maxerr = a->r.max_err[l], sumsq = 0;
  for (int j = 0; j < count; j++) {
    DLGN_TRY(dlgn_templates_apply(t, l, x + (size_t)j * DLGN_IMAGE_BYTES, a->qt));
    for (size_t o = 0; o < C; o++)
      for (size_t p = 0; p < hw; p++) {
        float qn = L->dense ? q[(size_t)j * C + o] : q[(o * (size_t)N + (size_t)j) * hw + p];
        float qt = a->qt[o * hw + p];
        double err = fabs((double)qt - (double)qn);
        if (err > maxerr || isnan(err)) maxerr = isnan(err) ? INFINITY : err;
        sumsq += (double)qn * qn;
        if ((qt > 0) != (qn > 0)) keep_diff(a, l, fabsf(qn));
      }
  }
  a->r.compared[l] += (size_t)count * C * hw;
  a->sumsq[l] += sumsq;
  a->r.max_err[l] = maxerr;
  if (l == 0) a->r.images += (size_t)count;
  return 0;
}

void dlgn_check_finish(dlgn_check_acc *a, dlgn_filter_check *out) {
  dlgn_filter_check *r = &a->r;
  r->passed = r->nlayers > 0;
  for (int l = 0; l < r->nlayers; l++) {
    double scale = r->compared[l] ? sqrt(a->sumsq[l] / (double)r->compared[l]) : 0;
    double eps_abs = r->eps * scale;
    for (size_t i = 0; i < a->ndiff[l]; i++) {
      if (a->diff_q[l][i] <= eps_abs) r->near_zero[l]++;
      else r->mismatched[l]++;
    }
    size_t differ = r->near_zero[l] + r->mismatched[l];
    r->q_scale[l] = scale;
    r->max_err[l] = scale > 0 ? r->max_err[l] / scale : r->max_err[l];
    r->agreement[l] = r->compared[l] ? 1.0 - (double)differ / (double)r->compared[l] : 0;
    if (r->mismatched[l] || !r->compared[l]) r->passed = false;
  }
  *out = *r;
}

void dlgn_check_free(dlgn_check_acc *a) {
  for (int l = 0; l < DLGN_MAX_LAYERS; l++) free(a->diff_q[l]);
  free(a->qt);
  memset(a, 0, sizeof *a);
}

typedef struct {
  const dlgn_templates *t;
  dlgn_check_acc acc;
} check_ctx;

static int check_batch(void *p, size_t first, int N, const float *x, pass_model *pm, int nm) {
  check_ctx *c = p;
  for (int l = 0; l < c->t->nlayers; l++) DLGN_TRY(dlgn_check_add(&c->acc, c->t, l, x, N, N, pm[0].q[l]));
  return 0;
}

int dlgn_explain_filter_check(dlgn_model *m, const dlgn_checkpoint *ck, const dlgn_split *split,
                              size_t n, dlgn_filter_check *out) {
  memset(out, 0, sizeof *out);
  out->nlayers = m->feat.nlayers;
  out->eps = DLGN_CHECK_EPS_REL;
  if (!dlgn_model_linear_gating(&m->cfg)) return 0; /* not applicable: nothing to export */
  if (ck->nparams != m->nparams || ck->nstate != m->nstate)
    return dlgn_fail("filter check: the checkpoint holds %zu parameters but the model has %zu",
                     ck->nparams, m->nparams);
  dlgn_templates t;
  DLGN_TRY(dlgn_templates_compose(&t, m, ck->params, ck->state));
  check_ctx c = {.t = &t};
  pass_model pm = {.m = m};
  memcpy(pm.mean, ck->mean, sizeof pm.mean);
  memcpy(pm.std, ck->std, sizeof pm.std);
  int rc = dlgn_check_start(&c.acc, &t);
  if (rc == 0) rc = explain_pass(&pm, 1, split, n, check_batch, &c);
  if (rc == 0) dlgn_check_finish(&c.acc, out);
  else dlgn_fail_context("filter-export check");
  dlgn_check_free(&c.acc);
  pass_model_free(&pm);
  dlgn_templates_free(&t);
  return rc;
}

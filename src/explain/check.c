/* The filter-export check: the gates recomputed from the templates alone, on
 * the zero-padded normalised image, against the network's own hard gates
 * from the device. A disagreement is allowed only where the network's |q|
 * is within eps of zero, eps relative to the layer's RMS |q| over the same
 * images; the RMS is known only at the end, so the |q| of every
 * disagreement is kept (a few; more than DIFF_CAP means the check failed
 * anyway, and those count as mismatches). */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dlgn/status.h"
#include "explain_internal.h"

#define DIFF_CAP ((size_t)1 << 20)
#define MAX_THREADS 16

int dlgn_check_start(dlgn_check_acc *a, const dlgn_templates *t) {
  memset(a, 0, sizeof *a);
  a->r.applicable = true;
  a->r.nlayers = t->nlayers;
  a->r.eps = DLGN_CHECK_EPS_REL;
  return 0;
}

/* |q| of a disagreement into a growable list (at most DIFF_CAP). */
static void list_add(float **list, size_t *n, size_t *cap, size_t *overflow, float absq) {
  if (*n == *cap) {
    size_t want = *cap ? 2 * *cap : 256;
    if (want > DIFF_CAP) want = DIFF_CAP;
    float *p = want > *cap ? realloc(*list, want * sizeof *p) : NULL;
    if (!p) { /* over the cap (or out of memory): an unexplained mismatch */
      (*overflow)++;
      return;
    }
    *list = p;
    *cap = want;
  }
  (*list)[(*n)++] = absq;
}

/* Images j0..j1-1 of a batch, on one thread. */
typedef struct {
  const dlgn_templates *t;
  int l, N, j0, j1;
  const float *x, *q;
  double maxerr, sumsq;
  float *diff;
  size_t ndiff, cap, overflow;
  int rc;
} check_job;

static void *check_images(void *arg) {
  check_job *job = arg;
  const dlgn_layer_templates *L = &job->t->layers[job->l];
  size_t C = (size_t)L->channels, hw = (size_t)L->n * L->n, N = (size_t)job->N;
  float *qt = malloc(C * hw * sizeof *qt);
  job->rc = qt ? 0 : -1;
  for (int j = job->j0; j < job->j1 && job->rc == 0; j++) {
    job->rc = dlgn_templates_apply(job->t, job->l, job->x + (size_t)j * DLGN_IMAGE_BYTES, qt);
    for (size_t o = 0; o < C && job->rc == 0; o++)
      for (size_t p = 0; p < hw; p++) {
        float qn = L->dense ? job->q[(size_t)j * C + o] : job->q[(o * N + (size_t)j) * hw + p];
        float qv = qt[o * hw + p];
        double err = fabs((double)qv - (double)qn);
        if (!(err <= job->maxerr)) job->maxerr = isnan(err) ? INFINITY : err;
        job->sumsq += (double)qn * qn;
        if ((qv > 0) != (qn > 0))
          list_add(&job->diff, &job->ndiff, &job->cap, &job->overflow, fabsf(qn));
      }
  }
  free(qt);
  return NULL;
}

/* Threads for the template check: it is the host's share of the pass and
 * dominates it where the device is fast. */
static int check_threads(int count) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  if (n < 1) n = 1;
  if (n > MAX_THREADS) n = MAX_THREADS;
  return count < n ? (count > 0 ? count : 1) : (int)n;
}

int dlgn_check_add(dlgn_check_acc *a, const dlgn_templates *t, int l, const float *x, int N,
                   int count, const float *q) {
  const dlgn_layer_templates *L = &t->layers[l];
  int nt = check_threads(count);
  check_job jobs[MAX_THREADS];
  pthread_t tid[MAX_THREADS];
  bool started[MAX_THREADS] = {false};
  for (int k = 0; k < nt; k++) {
    jobs[k] = (check_job){.t = t, .l = l, .N = N, .x = x, .q = q};
    jobs[k].j0 = (int)((long)count * k / nt);
    jobs[k].j1 = (int)((long)count * (k + 1) / nt);
    if (k > 0) started[k] = pthread_create(&tid[k], NULL, check_images, &jobs[k]) == 0;
  }
  for (int k = 0; k < nt; k++) /* what could not start runs here */
    if (!started[k]) check_images(&jobs[k]);
  int rc = 0;
  for (int k = 0; k < nt; k++) {
    if (started[k]) pthread_join(tid[k], NULL);
    check_job *j = &jobs[k];
    if (j->rc != 0) rc = -1;
    if (!(j->maxerr <= a->r.max_err[l])) a->r.max_err[l] = j->maxerr;
    a->sumsq[l] += j->sumsq;
    a->r.mismatched[l] += j->overflow;
    for (size_t i = 0; i < j->ndiff; i++)
      list_add(&a->diff_q[l], &a->ndiff[l], &a->capdiff[l], &a->r.mismatched[l], j->diff[i]);
    free(j->diff);
  }
  if (rc != 0) return dlgn_fail("out of host memory in the template check");
  a->r.compared[l] += (size_t)count * (size_t)L->channels * L->n * L->n;
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
      if (a->diff_q[l][i] <= eps_abs)
        r->near_zero[l]++;
      else
        r->mismatched[l]++;
    }
    size_t differ = r->near_zero[l] + r->mismatched[l];
    r->q_scale[l] = scale;
    r->max_err[l] = scale > 0 ? r->max_err[l] / scale : r->max_err[l];
    r->agreement[l] = r->compared[l] ? 1.0 - (double)differ / (double)r->compared[l] : 0;
    if (r->mismatched[l] || !r->compared[l]) {
      r->passed = false;
      if (!r->failed_layer) r->failed_layer = l + 1;
    }
  }
  *out = *r;
}

void dlgn_check_free(dlgn_check_acc *a) {
  for (int l = 0; l < DLGN_MAX_LAYERS; l++) free(a->diff_q[l]);
  memset(a, 0, sizeof *a);
}

typedef struct {
  const dlgn_templates *t;
  dlgn_check_acc acc;
  int only; /* the one layer to check, or -1 for all */
} check_ctx;

static int check_batch(void *p, size_t first, int N, const float *x, pass_model *pm, int nm) {
  check_ctx *c = p;
  for (int l = 0; l < c->t->nlayers; l++)
    if (c->only < 0 || c->only == l) DLGN_TRY(dlgn_check_add(&c->acc, c->t, l, x, N, N, pm[0].q[l]));
  return 0;
}

/* A resnet's templates, together, take more memory than the host may have
 * (tens of GiB for a ResNet-110: near the border every position has its own
 * template), so they are composed, checked over the images and freed one
 * layer at a time, with a pass over the images per layer. */
int dlgn_explain_check_by_layer(dlgn_model *m, const dlgn_checkpoint *ck,
                                const dlgn_split *split, size_t n, dlgn_templates *t,
                                dlgn_layer_hook after_layer, void *ctx, dlgn_filter_check *out) {
  memset(out, 0, sizeof *out);
  memset(t, 0, sizeof *t);
  t->nlayers = m->feat.nlayers;
  check_ctx c = {.t = t, .only = -1};
  pass_model pm = {.m = m};
  memcpy(pm.mean, ck->mean, sizeof pm.mean);
  memcpy(pm.std, ck->std, sizeof pm.std);
  int rc = dlgn_check_start(&c.acc, t);
  for (int l = 0; l < m->feat.nlayers && rc == 0; l++) {
    rc = dlgn_templates_compose_layer(t, m, ck->params, ck->state, l);
    c.only = l;
    if (rc == 0) rc = explain_pass(&pm, 1, split, n, check_batch, &c, NULL);
    pass_model_free(&pm); /* each pass allocates its own buffers */
    if (rc == 0 && after_layer) rc = after_layer(ctx, t, l);
    /* layer l + 1 reads l and its block's input l - 1 */
    if (l >= 2) dlgn_templates_drop_data(t, l - 2);
  }
  if (rc == 0)
    dlgn_check_finish(&c.acc, out);
  else
    dlgn_fail_context("filter-export check");
  dlgn_check_free(&c.acc);
  return rc;
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
  if (m->cfg.arch == DLGN_RESNET) {
    int rc = dlgn_explain_check_by_layer(m, ck, split, n, &t, NULL, NULL, out);
    dlgn_templates_free(&t);
    return rc;
  }
  DLGN_TRY(dlgn_templates_compose(&t, m, ck->params, ck->state));
  check_ctx c = {.t = &t, .only = -1};
  pass_model pm = {.m = m};
  memcpy(pm.mean, ck->mean, sizeof pm.mean);
  memcpy(pm.std, ck->std, sizeof pm.std);
  int rc = dlgn_check_start(&c.acc, &t);
  if (rc == 0) rc = explain_pass(&pm, 1, split, n, check_batch, &c, NULL);
  if (rc == 0)
    dlgn_check_finish(&c.acc, out);
  else
    dlgn_fail_context("filter-export check");
  dlgn_check_free(&c.acc);
  pass_model_free(&pm);
  dlgn_templates_free(&t);
  return rc;
}

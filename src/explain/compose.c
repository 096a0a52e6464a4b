/* Effective filters of a linear feature network: every
 * layer composed with the layers below it into one affine template per gate,
 * exact at the border (see the classes in explain.h). Host, double precision:
 * the templates are the reference that the device's gates are checked
 * against, so they are computed independently of the device. */
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dlgn/status.h"
#include "explain_internal.h"

#define IMG DLGN_IMAGE_H
#define CHUNK 512 /* doubles of a template window handled at once */
#define MAX_THREADS 16

/* Eval-mode batch norm folded into the layer: W' = s W, b' = s (b - mean) + beta
 * with s = gamma / sqrt(var + NN_BN_EPS). */
static int fold_layer(const nn_layer *L, const float *params, const float *state, double **w,
                      double **b) {
  size_t fan = nn_layer_fan_in(L);
  *w = dlgn_malloc((size_t)L->out_c * fan * sizeof **w, "folded weights");
  *b = dlgn_malloc((size_t)L->out_c * sizeof **b, "folded biases");
  if (!*w || !*b) return -1;
  for (int o = 0; o < L->out_c; o++) {
    double s = 1, t = 0;
    if (L->gamma_off) {
      s = params[L->gamma_off + o] / sqrt((double)state[L->var_off + o] + NN_BN_EPS);
      t = params[L->beta_off + o] - s * state[L->mean_off + o];
    }
    for (size_t k = 0; k < fan; k++) (*w)[o * fan + k] = s * params[L->w_off + o * fan + k];
    (*b)[o] = s * params[L->b_off + o] + t;
  }
  return 0;
}

static int alloc_classes(dlgn_layer_templates *t, int channels, int n, int ncls) {
  t->channels = channels;
  t->n = n;
  t->ncls = ncls;
  t->cls = dlgn_calloc((size_t)n, sizeof *t->cls, "template classes");
  t->c = dlgn_calloc((size_t)ncls, sizeof *t->c, "template classes");
  t->off = dlgn_calloc((size_t)ncls * ncls, sizeof *t->off, "template offsets");
  t->bias = dlgn_calloc((size_t)ncls * ncls * channels, sizeof *t->bias, "template biases");
  return t->cls && t->c && t->off && t->bias ? 0 : -1;
}

static int alloc_data(dlgn_layer_templates *t) {
  size_t total = 0;
  for (int a = 0; a < t->ncls; a++)
    if (t->c[a].hi - t->c[a].lo + 1 > DLGN_TPL_MAX_SIDE)
      return dlgn_fail("internal: a template window of %d pixels exceeds %d",
                       t->c[a].hi - t->c[a].lo + 1, DLGN_TPL_MAX_SIDE);
  for (int a = 0; a < t->ncls; a++)
    for (int b = 0; b < t->ncls; b++) {
      t->off[a * t->ncls + b] = total;
      total += dlgn_tpl_size(t, a, b) * (size_t)t->channels;
    }
  t->total = total;
  t->t = dlgn_calloc(total, sizeof *t->t, "templates");
  return t->t ? 0 : -1;
}

/* What a conv layer of a dlgn reads besides its input: in a resnet, the
 * templates of the block's input (skip, NULL if none) at every skip_stride-th
 * position, added to the layer's first skip->channels channels. */
typedef struct {
  const dlgn_layer_templates *skip;
  int skip_stride;
  int stride; /* of the convolution */
} conv_wiring;

/* Axis geometry of a conv layer of a dlgn from the layer below (prev NULL for
 * the first layer): a position is interior when its NN_CONV_K neighbours on
 * the input grid are inside the map and all their sources are interior below
 * (and so is the shortcut's source, which lies inside their windows). */
static int conv_axis(dlgn_layer_templates *t, const dlgn_layer_templates *prev, int n, bool pool,
                     int channels, const conv_wiring *cw) {
  int lo[IMG], hi[IMG];
  bool inner[IMG];
  int cs = cw->stride, nin = n * cs; /* the convolution's input grid */
  int stride = prev ? prev->stride * (pool ? 2 : 1) * cs : 1;
  for (int y = 0; y < n; y++) {
    if (!prev) {
      inner[y] = true, lo[y] = y - NN_CONV_PAD, hi[y] = y - NN_CONV_PAD + NN_CONV_K - 1;
      continue;
    }
    inner[y] = true, lo[y] = INT_MAX, hi[y] = INT_MIN;
    if (cw->skip) {
      int r = y * cw->skip_stride, slo, shi;
      window_at(cw->skip, r, &slo, &shi);
      if (!cw->skip->c[cw->skip->cls[r]].interior) inner[y] = false;
      lo[y] = slo, hi[y] = shi;
    }
    for (int k = y * cs - NN_CONV_PAD; k < y * cs - NN_CONV_PAD + NN_CONV_K; k++) {
      if (k < 0 || k >= nin) {
        inner[y] = false;
        continue;
      }
      for (int r = pool ? 2 * k : k; r <= (pool ? 2 * k + 1 : k); r++) {
        int plo, phi;
        window_at(prev, r, &plo, &phi);
        if (!prev->c[prev->cls[r]].interior) inner[y] = false;
        if (plo < lo[y]) lo[y] = plo;
        if (phi > hi[y]) hi[y] = phi;
      }
    }
  }
  int ncls = 0, first_inner = -1;
  for (int y = 0; y < n; y++)
    if (!inner[y] || first_inner < 0) {
      ncls++;
      if (inner[y]) first_inner = y;
    }
  DLGN_TRY(alloc_classes(t, channels, n, ncls));
  t->stride = stride;
  int k = 0;
  for (int y = 0; y < n; y++) {
    if (inner[y] && y != first_inner) {
      t->cls[y] = t->cls[first_inner];
      int d = (y - first_inner) * stride;
      if (lo[y] - lo[first_inner] != d || hi[y] - hi[first_inner] != d)
        return dlgn_fail("internal: interior windows of a layer are not translates");
      continue;
    }
    t->cls[y] = k;
    t->c[k] = (dlgn_tpl_class){lo[y], hi[y], y, inner[y]};
    k++;
  }
  return 0;
}

/* Add weight * (template of prev at (ry, rx), channel i) into dst, a window
 * of (3, hy, hx) starting at image pixel (y0, x0). */
static void add_prev(double *dst, int y0, int x0, int hy, int hx, const dlgn_layer_templates *prev,
                     int ry, int rx, int i, double weight) {
  int a = prev->cls[ry], b = prev->cls[rx];
  int ylo, yhi, xlo, xhi;
  window_at(prev, ry, &ylo, &yhi);
  window_at(prev, rx, &xlo, &xhi);
  int ph = yhi - ylo + 1, pw = xhi - xlo + 1;
  const double *src = prev->t + prev->off[a * prev->ncls + b] + (size_t)i * 3 * ph * pw;
  for (int c = 0; c < 3; c++)
    for (int u = 0; u < ph; u++) {
      double *d = dst + ((size_t)c * hy + (ylo - y0 + u)) * hx + (xlo - x0);
      const double *s = src + ((size_t)c * ph + u) * pw;
      for (int v = 0; v < pw; v++) d[v] += weight * s[v];
    }
}

/* Conv layer of a dlgn, class pair (a, b): T = sum over the in-map
 * neighbours k of the representative p of W[:, :, k-p] . U(k), U the
 * layer's input (pooled or not) as templates of the layer below. */
static void compose_conv_pair(dlgn_layer_templates *t, const dlgn_layer_templates *prev,
                              const nn_layer *L, const double *w, const double *bias,
                              const conv_wiring *cw, int a, int b, double *u, double *ubias) {
  int OC = L->out_c, IC = L->in_c, cs = cw->stride, n = t->n * cs;
  int py = t->c[a].rep, px = t->c[b].rep;
  int y0 = t->c[a].lo, x0 = t->c[b].lo;
  int hy = t->c[a].hi - y0 + 1, hx = t->c[b].hi - x0 + 1;
  size_t S = (size_t)3 * hy * hx;
  double *T = t->t + t->off[a * t->ncls + b];
  double *tb = t->bias + (size_t)(a * t->ncls + b) * OC;
  for (int o = 0; o < OC; o++) tb[o] = bias[o];
  if (cw->skip) { /* the shortcut: the block input's templates, zero-padded channels */
    const dlgn_layer_templates *s = cw->skip;
    int ry = py * cw->skip_stride, rx = px * cw->skip_stride;
    for (int i = 0; i < s->channels; i++) {
      add_prev(T + (size_t)i * S, y0, x0, hy, hx, s, ry, rx, i, 1.0);
      tb[i] += s->bias[(size_t)(s->cls[ry] * s->ncls + s->cls[rx]) * s->channels + i];
    }
  }
  bool pool = L->pool_before;
  py *= cs, px *= cs; /* the centre of the window on the input grid */
  for (int ky = py - NN_CONV_PAD; ky < py - NN_CONV_PAD + NN_CONV_K; ky++)
    for (int kx = px - NN_CONV_PAD; kx < px - NN_CONV_PAD + NN_CONV_K; kx++) {
      if (ky < 0 || ky >= n || kx < 0 || kx >= n) continue;
      memset(u, 0, (size_t)IC * S * sizeof *u);
      for (int i = 0; i < IC; i++) {
        double *ui = u + (size_t)i * S;
        ubias[i] = 0;
        int step = pool ? 2 : 1;
        double wt = pool ? 0.25 : 1.0;
        for (int ry = ky * step; ry < (ky + 1) * step; ry++)
          for (int rx = kx * step; rx < (kx + 1) * step; rx++) {
            add_prev(ui, y0, x0, hy, hx, prev, ry, rx, i, wt);
            ubias[i] +=
                wt * prev->bias[(size_t)(prev->cls[ry] * prev->ncls + prev->cls[rx]) * IC + i];
          }
      }
      int tap = (ky - py + NN_CONV_PAD) * NN_CONV_K + (kx - px + NN_CONV_PAD);
      for (int o = 0; o < OC; o++)
        for (int i = 0; i < IC; i++)
          tb[o] += w[((size_t)o * IC + i) * NN_CONV_TAPS + tap] * ubias[i];
      /* T[o] += W[o,i,tap] U[i]: four output channels per pass over U[i]
       * and the window in chunks that stay in cache */
      for (size_t s0 = 0; s0 < S; s0 += CHUNK) {
        size_t len = S - s0 < CHUNK ? S - s0 : CHUNK;
        int o = 0;
        for (; o + 4 <= OC; o += 4) {
          double *t0 = T + (size_t)o * S + s0, *t1 = t0 + S, *t2 = t1 + S, *t3 = t2 + S;
          for (int i = 0; i < IC; i++) {
            const double *wi = w + ((size_t)o * IC + i) * NN_CONV_TAPS + tap;
            size_t step_o = (size_t)IC * NN_CONV_TAPS; /* the next output channel */
            double w0 = wi[0], w1 = wi[step_o], w2 = wi[2 * step_o], w3 = wi[3 * step_o];
            const double *ui = u + (size_t)i * S + s0;
            for (size_t k = 0; k < len; k++) {
              double v = ui[k];
              t0[k] += w0 * v, t1[k] += w1 * v, t2[k] += w2 * v, t3[k] += w3 * v;
            }
          }
        }
        for (; o < OC; o++) {
          double *to = T + (size_t)o * S + s0;
          for (int i = 0; i < IC; i++) {
            double wv = w[((size_t)o * IC + i) * NN_CONV_TAPS + tap];
            const double *ui = u + (size_t)i * S + s0;
            for (size_t k = 0; k < len; k++) to[k] += wv * ui[k];
          }
        }
      }
    }
}

/* Class pairs are independent: threads take them in turn. */
typedef struct {
  dlgn_layer_templates *t;
  const dlgn_layer_templates *prev;
  const nn_layer *L;
  const double *w, *bias;
  conv_wiring cw;
  size_t smax;
  pthread_mutex_t lock;
  int next, rc;
} compose_job;

static void *compose_worker(void *arg) {
  compose_job *job = arg;
  int IC = job->L->in_c, npairs = job->t->ncls * job->t->ncls;
  double *u = malloc((size_t)IC * job->smax * sizeof *u);
  double *ubias = malloc((size_t)IC * sizeof *ubias);
  for (;;) {
    pthread_mutex_lock(&job->lock);
    int k = job->next++;
    if (!u || !ubias) job->rc = -1;
    bool stop = k >= npairs || job->rc != 0;
    pthread_mutex_unlock(&job->lock);
    if (stop) break;
    compose_conv_pair(job->t, job->prev, job->L, job->w, job->bias, &job->cw, k / job->t->ncls,
                      k % job->t->ncls, u, ubias);
  }
  free(u);
  free(ubias);
  return NULL;
}

static int compose_conv(dlgn_layer_templates *t, const dlgn_layer_templates *prev,
                        const nn_layer *L, const double *w, const double *bias,
                        const conv_wiring *cw) {
  DLGN_TRY(conv_axis(t, prev, L->h, L->pool_before, L->out_c, cw));
  DLGN_TRY(alloc_data(t));
  if (!prev) { /* the first layer (stride 1) is its own template, everywhere */
    if (cw->stride != 1 || cw->skip) return dlgn_fail("internal: a first layer with a stride or skip");
    memcpy(t->t, w, (size_t)L->out_c * 27 * sizeof *w);
    for (int o = 0; o < L->out_c; o++) t->bias[o] = bias[o];
    return 0;
  }
  compose_job job = {.t = t, .prev = prev, .L = L, .w = w, .bias = bias, .cw = *cw};
  for (int a = 0; a < t->ncls; a++)
    for (int b = 0; b < t->ncls; b++)
      if (dlgn_tpl_size(t, a, b) > job.smax) job.smax = dlgn_tpl_size(t, a, b);
  if (pthread_mutex_init(&job.lock, NULL) != 0) return dlgn_fail("cannot create a mutex");
  long nt = sysconf(_SC_NPROCESSORS_ONLN);
  if (nt > t->ncls * t->ncls) nt = t->ncls * t->ncls;
  if (nt > MAX_THREADS) nt = MAX_THREADS;
  pthread_t tid[MAX_THREADS];
  bool started[MAX_THREADS] = {false};
  for (long k = 1; k < nt; k++)
    started[k] = pthread_create(&tid[k], NULL, compose_worker, &job) == 0;
  compose_worker(&job); /* this thread works too, so one thread always does */
  for (long k = 1; k < nt; k++)
    if (started[k]) pthread_join(tid[k], NULL);
  pthread_mutex_destroy(&job.lock);
  return job.rc == 0 ? 0 : dlgn_fail("out of host memory composing templates");
}

/* dlgn-sf conv layer: W on the image average-pooled `stage` times, zero-padded;
 * the padded pooled image is the pooled padded image, so one translated
 * template (each tap spread over its 2^s x 2^s block) is exact everywhere. */
static int compose_shallow_conv(dlgn_layer_templates *t, const nn_layer *L, const double *w,
                                const double *bias) {
  int f = 1 << L->stage, n = L->h;
  DLGN_TRY(alloc_classes(t, L->out_c, n, 1));
  t->stride = f;
  t->c[0] = (dlgn_tpl_class){-NN_CONV_PAD * f, (NN_CONV_K - NN_CONV_PAD) * f - 1, 0, true};
  DLGN_TRY(alloc_data(t));
  int hw = NN_CONV_K * f;
  double scale = 1.0 / (double)(f * f);
  for (int o = 0; o < L->out_c; o++) {
    t->bias[o] = bias[o];
    for (int c = 0; c < 3; c++)
      for (int u = 0; u < hw; u++)
        for (int v = 0; v < hw; v++)
          t->t[(((size_t)o * 3 + c) * hw + u) * hw + v] =
              scale * w[((size_t)o * 3 + c) * NN_CONV_TAPS + (u / f) * NN_CONV_K + v / f];
  }
  return 0;
}

/* Dense layer: V[l] = W[l] V[l-1] (or W[l] alone: first layer, dlgn-sf),
 * c[l] = W[l] c[l-1] + b[l]; one class, the whole image. */
static int compose_dense(dlgn_layer_templates *t, const dlgn_layer_templates *prev,
                         const nn_layer *L, const double *w, const double *bias) {
  DLGN_TRY(alloc_classes(t, L->out_c, 1, 1));
  t->dense = true;
  t->stride = 0;
  t->c[0] = (dlgn_tpl_class){0, IMG - 1, 0, false};
  DLGN_TRY(alloc_data(t));
  size_t D = (size_t)3 * IMG * IMG;
  int IN = L->in_c;
  for (int o = 0; o < L->out_c; o++) {
    double *To = t->t + (size_t)o * D;
    const double *wo = w + (size_t)o * IN;
    t->bias[o] = bias[o];
    if (!prev) {
      memcpy(To, wo, D * sizeof *To);
      continue;
    }
    for (int i = 0; i < IN; i++) {
      const double *Vi = prev->t + (size_t)i * D;
      for (size_t s = 0; s < D; s++) To[s] += wo[i] * Vi[s];
      t->bias[o] += wo[i] * prev->bias[i];
    }
  }
  return 0;
}

/* The float (size, channels) copies the check multiplies with. */
static int make_transposed(dlgn_layer_templates *t) {
  t->tt = dlgn_malloc(t->total * sizeof *t->tt, "transposed templates");
  if (!t->tt) return -1;
  for (int a = 0; a < t->ncls; a++)
    for (int b = 0; b < t->ncls; b++) {
      size_t S = dlgn_tpl_size(t, a, b), off = t->off[a * t->ncls + b];
      for (int o = 0; o < t->channels; o++)
        for (size_t s = 0; s < S; s++)
          t->tt[off + s * t->channels + o] = (float)t->t[off + o * S + s];
    }
  return 0;
}

/* Layer l of a dlgn or dlgn-sf into out->layers[l], from the layers below. */
static int compose_layer(dlgn_templates *out, const dlgn_model *m, const float *params,
                         const float *state, int l) {
  dlgn_model_class cls = m->cfg.cls;
  const nn_layer *L = &m->feat.layers[l];
  double *w = NULL, *b = NULL;
  int rc = fold_layer(L, params, state, &w, &b);
  const dlgn_layer_templates *prev = l > 0 && cls == DLGN_DLGN ? &out->layers[l - 1] : NULL;
  dlgn_layer_templates *t = &out->layers[l];
  if (rc == 0) {
    if (L->kind == NN_LAYER_DENSE) {
      rc = compose_dense(t, prev, L, w, b);
    } else if (cls == DLGN_DLGN_SF) {
      rc = compose_shallow_conv(t, L, w, b);
    } else {
      /* a resnet block's output: its branch plus the templates of its input */
      conv_wiring cw = {NULL, 1, L->stride};
      if (L->skip >= 0) {
        cw.skip = &out->layers[L->skip];
        cw.skip_stride = m->feat.layers[L->skip].h / L->h;
      }
      rc = compose_conv(t, prev, L, w, b, &cw);
    }
  }
  if (rc == 0) rc = make_transposed(t);
  free(w);
  free(b);
  return rc;
}

static int linear_gating_check(const dlgn_model *m) {
  if (dlgn_model_linear_gating(&m->cfg)) return 0;
  return dlgn_fail("a %s has no effective filters: its gates come from a ReLU network and are "
                   "not hyperplanes in input space",
                   dlgn_class_name(m->cfg.cls));
}

int dlgn_templates_compose(dlgn_templates *out, const dlgn_model *m, const float *params,
                           const float *state) {
  memset(out, 0, sizeof *out);
  DLGN_TRY(linear_gating_check(m));
  out->nlayers = m->feat.nlayers;
  int rc = 0;
  for (int l = 0; l < m->feat.nlayers && rc == 0; l++)
    rc = compose_layer(out, m, params, state, l);
  if (rc != 0) {
    dlgn_fail_context("composing the effective filters of the %s",
                      dlgn_class_name(m->cfg.cls));
    dlgn_templates_free(out);
  }
  return rc;
}

int dlgn_templates_compose_layer(dlgn_templates *t, const dlgn_model *m, const float *params,
                                 const float *state, int l) {
  DLGN_TRY(linear_gating_check(m));
  t->nlayers = m->feat.nlayers;
  int rc = compose_layer(t, m, params, state, l);
  if (rc != 0) {
    dlgn_fail_context("composing the effective filters of layer %d of the %s", l + 1,
                      dlgn_class_name(m->cfg.cls));
    dlgn_templates_free_layer(t, l);
  }
  return rc;
}

/* The neural path kernel (docs/model.md) from hard gates kept as bits:
 * the overlap of two images in layer l is the number of gates on for both,
 * an AND and a population count per 64 gates, exact in integers. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dlgn/explain.h"
#include "dlgn/status.h"
#include "nn/model_internal.h"

int dlgn_gate_bits_create(dlgn_gate_bits *g, int nlayers, const size_t *units, size_t n) {
  memset(g, 0, sizeof *g);
  g->nlayers = nlayers;
  g->n = n;
  for (int l = 0; l < nlayers; l++) {
    g->units[l] = units[l];
    g->words[l] = (units[l] + 63) / 64;
    size_t count = n * g->words[l];
    g->bits[l] = dlgn_calloc(count ? count : 1, sizeof(uint64_t), "gate bits");
    if (!g->bits[l]) {
      dlgn_gate_bits_free(g);
      return -1;
    }
  }
  return 0;
}

void dlgn_gate_bits_free(dlgn_gate_bits *g) {
  for (int l = 0; l < DLGN_MAX_LAYERS; l++) free(g->bits[l]);
  memset(g, 0, sizeof *g);
}

void dlgn_gate_bits_set(dlgn_gate_bits *g, int l, size_t i, const float *q, int N, int j, int C,
                        int hw) {
  uint64_t *row = g->bits[l] + i * g->words[l];
  memset(row, 0, g->words[l] * sizeof *row);
  size_t per = hw ? (size_t)hw : 1;
  for (size_t c = 0; c < (size_t)C; c++)
    for (size_t p = 0; p < per; p++) {
      float v = hw ? q[(c * (size_t)N + (size_t)j) * per + p] : q[(size_t)j * C + c];
      size_t u = c * per + p;
      if (v > 0) row[u / 64] |= (uint64_t)1 << (u % 64);
    }
}

/* Portable population count (no popcnt instruction assumed). */
static inline unsigned popcount64(uint64_t x) {
  x = x - ((x >> 1) & 0x5555555555555555ULL);
  x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
  x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
  return (unsigned)((x * 0x0101010101010101ULL) >> 56);
}

int dlgn_npk_compute(const dlgn_gate_bits *g, const double *xx, double **lambda, double *K) {
  return dlgn_npk_compute_residual(g, xx, NULL, lambda, K);
}

int dlgn_npk_compute_residual(const dlgn_gate_bits *g, const double *xx, const bool *skippable,
                              double **lambda, double *K) {
  size_t n = g->n;
  for (size_t k = 0; k < n * n; k++) K[k] = xx ? xx[k] : 1.0;
  for (int l = 0; l < g->nlayers; l++) {
    size_t W = g->words[l];
    double inv = g->units[l] ? 1.0 / (double)g->units[l] : 0;
    double *lam = lambda[l];
    for (size_t i = 0; i < n; i++) {
      const uint64_t *a = g->bits[l] + i * W;
      for (size_t j = i; j < n; j++) {
        const uint64_t *b = g->bits[l] + j * W;
        uint64_t on = 0;
        for (size_t w = 0; w < W; w++) on += popcount64(a[w] & b[w]);
        lam[i * n + j] = lam[j * n + i] = (double)on * inv;
      }
    }
    if (skippable && skippable[l])
      for (size_t k = 0; k < n * n; k++) K[k] *= 1.0 + lam[k];
    else
      for (size_t k = 0; k < n * n; k++) K[k] *= lam[k];
  }
  return 0;
}

int dlgn_npk_residual_blocks(const dlgn_model *m, bool *skippable, int *block_first,
                             int *block_out) {
  const nn_net *net = m->cfg.cls == DLGN_DNN ? &m->feat : &m->value;
  for (int l = 0; l < m->feat.nlayers; l++) skippable[l] = false;
  int nb = 0;
  for (int l = 0; l + 1 < net->nlayers; l++) {
    if (net->layers[l + 1].skip < 0) continue;
    /* value layer l is gated by feature layer gate_src[l] (shuffled gates) */
    skippable[m->gate_src[l]] = true;
    if (block_first) block_first[nb] = m->gate_src[l];
    if (block_out) block_out[nb] = m->gate_src[l + 1];
    nb++;
  }
  return nb;
}

void dlgn_kernel_summarize(const double *K, size_t n, const int *labels, int nclasses,
                           dlgn_kernel_summary *out) {
  memset(out, 0, sizeof *out);
  double *p = calloc((size_t)nclasses, sizeof *p); /* class fractions */
  if (!p || n == 0) {
    free(p);
    return;
  }
  for (size_t i = 0; i < n; i++) p[labels[i]] += 1.0 / (double)n;
  double psq = 0;
  for (int c = 0; c < nclasses; c++) psq += p[c] * p[c];
  double sw = 0, sa = 0, kyy = 0, kk = 0, yy = 0;
  size_t nw = 0, na = 0;
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < n; j++) {
      double k = K[i * n + j];
      bool same = labels[i] == labels[j];
      /* (Y Y^T)_ij for the centred one-hot Y: [same] - p_yi - p_yj + sum_c p_c^2 */
      double t = (same ? 1.0 : 0.0) - p[labels[i]] - p[labels[j]] + psq;
      kyy += k * t;
      kk += k * k;
      yy += t * t;
      if (i == j) continue;
      double d = sqrt(K[i * n + i] * K[j * n + j]);
      double cosk = d > 0 ? k / d : 0;
      if (same)
        sw += cosk, nw++;
      else
        sa += cosk, na++;
    }
  out->within = nw ? sw / (double)nw : NAN;
  out->across = na ? sa / (double)na : NAN;
  out->alignment = kk > 0 && yy > 0 ? kyy / sqrt(kk * yy) : NAN;
  free(p);
}

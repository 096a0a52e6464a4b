/* The templates' own operations: size, display, application to an image,
 * and templates.bin, every template and bias of a composed model as
 * float32, little-endian (the byte order of every platform dlgn runs on):
 *   "DLGNTPL1", int32 nlayers, then per layer
 *   int32 dense, channels, n, stride, ncls; per class int32 lo, hi, rep,
 *   interior; int32 class of each of the n positions; then per class pair
 *   (a, b), a major: float32 templates (channels, 3, hy, hx), float32 biases
 *   (channels). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlgn/status.h"
#include "explain_internal.h"

#define IMG DLGN_IMAGE_H

size_t dlgn_tpl_size(const dlgn_layer_templates *t, int a, int b) {
  return (size_t)3 * (size_t)(t->c[a].hi - t->c[a].lo + 1) * (size_t)(t->c[b].hi - t->c[b].lo + 1);
}

static int put_i32(FILE *f, int v) {
  int32_t x = v;
  return fwrite(&x, sizeof x, 1, f) == 1 ? 0 : -1;
}

static int put_f32(FILE *f, const double *v, size_t n) {
  float buf[1024];
  while (n) {
    size_t k = n < 1024 ? n : 1024;
    for (size_t i = 0; i < k; i++) buf[i] = (float)v[i];
    if (fwrite(buf, sizeof *buf, k, f) != k) return -1;
    v += k;
    n -= k;
  }
  return 0;
}

static int write_layer(FILE *f, const dlgn_layer_templates *L) {
  int head[5] = {L->dense, L->channels, L->n, L->stride, L->ncls};
  for (int i = 0; i < 5; i++) DLGN_TRY(put_i32(f, head[i]));
  for (int a = 0; a < L->ncls; a++) {
    const dlgn_tpl_class *c = &L->c[a];
    DLGN_TRY(put_i32(f, c->lo));
    DLGN_TRY(put_i32(f, c->hi));
    DLGN_TRY(put_i32(f, c->rep));
    DLGN_TRY(put_i32(f, c->interior));
  }
  for (int y = 0; y < L->n; y++) DLGN_TRY(put_i32(f, L->cls[y]));
  for (int a = 0; a < L->ncls; a++)
    for (int b = 0; b < L->ncls; b++) {
      size_t pair = (size_t)a * L->ncls + b;
      DLGN_TRY(put_f32(f, L->t + L->off[pair], dlgn_tpl_size(L, a, b) * L->channels));
      DLGN_TRY(put_f32(f, L->bias + pair * L->channels, (size_t)L->channels));
    }
  return 0;
}

int dlgn_templates_write_begin(FILE **f, const char *path, int nlayers) {
  *f = fopen(path, "wb");
  if (!*f) return dlgn_fail("cannot create %s", path);
  if (fwrite("DLGNTPL1", 1, 8, *f) == 8 && put_i32(*f, nlayers) == 0) return 0;
  fclose(*f);
  *f = NULL;
  remove(path);
  return dlgn_fail("writing %s failed (disk full?)", path);
}

int dlgn_templates_write_layer(FILE *f, const dlgn_templates *t, int l, const char *path) {
  if (write_layer(f, &t->layers[l]) == 0) return 0;
  return dlgn_fail("writing layer %d to %s failed (disk full?)", l + 1, path);
}

int dlgn_templates_write_end(FILE *f, const char *path, bool ok) {
  if (fclose(f) == 0 && ok) return 0;
  remove(path);
  return ok ? dlgn_fail("writing %s failed (disk full?)", path) : -1;
}

void dlgn_templates_drop_data(dlgn_templates *t, int l) {
  dlgn_layer_templates *L = &t->layers[l];
  free(L->t);
  free(L->tt);
  free(L->bias);
  L->t = NULL;
  L->tt = NULL;
  L->bias = NULL;
}

int dlgn_templates_write(const dlgn_templates *t, const char *path) {
  FILE *f = fopen(path, "wb");
  if (!f) return dlgn_fail("cannot create %s", path);
  int rc = fwrite("DLGNTPL1", 1, 8, f) == 8 ? put_i32(f, t->nlayers) : -1;
  for (int l = 0; l < t->nlayers && rc == 0; l++) rc = write_layer(f, &t->layers[l]);
  if (fclose(f) != 0) rc = -1;
  if (rc != 0) {
    remove(path);
    return dlgn_fail("writing %s failed (disk full?)", path);
  }
  return 0;
}

void dlgn_templates_free_layer(dlgn_templates *t, int l) {
  dlgn_layer_templates *L = &t->layers[l];
  free(L->cls);
  free(L->c);
  free(L->off);
  free(L->t);
  free(L->bias);
  free(L->tt);
  memset(L, 0, sizeof *L);
}

void dlgn_templates_free(dlgn_templates *t) {
  for (int l = 0; l < DLGN_MAX_LAYERS; l++) dlgn_templates_free_layer(t, l);
  memset(t, 0, sizeof *t);
}

void dlgn_templates_display_class(const dlgn_templates *t, int l, int *a, int *b) {
  const dlgn_layer_templates *L = &t->layers[l];
  *a = *b = L->cls[L->n / 2];
}

/* q(o) = bias + T . window of x (zero outside the image), all channels at
 * once through the transposed copy so that the inner loop runs over
 * channels (vectorises without reassociating sums). */
int dlgn_templates_apply(const dlgn_templates *t, int l, const float *x, float *q) {
  const dlgn_layer_templates *L = &t->layers[l];
  int C = L->channels, n = L->n;
  float patch[3 * DLGN_TPL_MAX_SIDE * DLGN_TPL_MAX_SIDE];
  float *sum = dlgn_malloc((size_t)C * sizeof *sum, "template gate sums");
  if (!sum) return -1;
  for (int py = 0; py < n; py++)
    for (int px = 0; px < n; px++) {
      int a = L->cls[py], b = L->cls[px];
      int ylo, yhi, xlo, xhi;
      window_at(L, py, &ylo, &yhi);
      window_at(L, px, &xlo, &xhi);
      size_t S = 0;
      for (int c = 0; c < 3; c++)
        for (int u = ylo; u <= yhi; u++)
          for (int v = xlo; v <= xhi; v++)
            patch[S++] =
                (u < 0 || u >= IMG || v < 0 || v >= IMG) ? 0.0f : x[(c * IMG + u) * IMG + v];
      const float *tt = L->tt + L->off[a * L->ncls + b];
      const double *bias = L->bias + (size_t)(a * L->ncls + b) * C;
      /* 8 channels at a time in registers across the whole window (written
       * out so that -O2 keeps them there and pairs them into vectors) */
      int o0 = 0;
      for (; o0 + 8 <= C; o0 += 8) {
        float a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
        const float *row = tt + o0;
        for (size_t s = 0; s < S; s++, row += C) {
          float xs = patch[s];
          a0 += row[0] * xs, a1 += row[1] * xs, a2 += row[2] * xs, a3 += row[3] * xs;
          a4 += row[4] * xs, a5 += row[5] * xs, a6 += row[6] * xs, a7 += row[7] * xs;
        }
        sum[o0] = a0, sum[o0 + 1] = a1, sum[o0 + 2] = a2, sum[o0 + 3] = a3;
        sum[o0 + 4] = a4, sum[o0 + 5] = a5, sum[o0 + 6] = a6, sum[o0 + 7] = a7;
      }
      for (int o = o0; o < C; o++) {
        float acc = 0;
        for (size_t s = 0; s < S; s++) acc += tt[s * C + o] * patch[s];
        sum[o] = acc;
      }
      for (int o = 0; o < C; o++) q[((size_t)o * n + py) * n + px] = (float)(sum[o] + bias[o]);
    }
  free(sum);
  return 0;
}

/* templates.bin: every template and bias of a composed model, float32,
 * little-endian (the byte order of every platform dlgn runs on), laid out as
 * the report describes:
 *   "DLGNTPL1", int32 nlayers, then per layer
 *   int32 dense, channels, n, stride, ncls; per class int32 lo, hi, rep,
 *   interior; int32 class of each of the n positions; then per class pair
 *   (a, b), a major: float32 templates (channels, 3, hy, hx), float32 biases
 *   (channels). */
#include <stdio.h>
#include <stdlib.h>

#include "dlgn/explain.h"
#include "dlgn/status.h"

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

/* Pictures of the report through libpng: filter grids and kernel heatmaps. */
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlgn/explain.h"
#include "dlgn/status.h"

#define GAP 3       /* pixels between filters */
#define GAP_GREY 48 /* background between filters */
#define MIN_FILTER_PX 48
#define HEATMAP_PX 512 /* a heatmap is upsampled to at least this */

int dlgn_png_write_rgb(const char *path, const uint8_t *rgb, int w, int h) {
  if (w < 1 || h < 1) return dlgn_fail("%s: empty image (%dx%d)", path, w, h);
  png_bytep *rows = malloc((size_t)h * sizeof *rows);
  if (!rows) return dlgn_fail("out of memory writing %s", path);
  for (int y = 0; y < h; y++) rows[y] = (png_bytep)(rgb + (size_t)y * w * 3);
  FILE *f = fopen(path, "wb");
  png_structp png = f ? png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL) : NULL;
  png_infop info = png ? png_create_info_struct(png) : NULL;
  if (!info) {
    if (png) png_destroy_write_struct(&png, NULL);
    if (f) fclose(f);
    free(rows);
    return dlgn_fail("cannot create %s", path);
  }
  /* libpng reports errors by longjmp; nothing below changes a local that is
   * read after the jump */
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    fclose(f);
    free(rows);
    remove(path);
    return dlgn_fail("libpng failed writing %s", path);
  }
  png_init_io(png, f);
  png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  png_write_image(png, rows);
  png_write_end(png, NULL);
  png_destroy_write_struct(&png, &info);
  free(rows);
  if (fclose(f) != 0) {
    remove(path);
    return dlgn_fail("writing %s failed (disk full?)", path);
  }
  return 0;
}

int dlgn_png_filter_grid(const dlgn_templates *t, int l, const char *path, int *w_out, int *h_out) {
  const dlgn_layer_templates *L = &t->layers[l];
  int a, b;
  dlgn_templates_display_class(t, l, &a, &b);
  int hy = L->c[a].hi - L->c[a].lo + 1, hx = L->c[b].hi - L->c[b].lo + 1;
  int big = hy > hx ? hy : hx;
  int f = (MIN_FILTER_PX + big - 1) / big;
  int C = L->channels;
  int cols = (int)ceil(sqrt((double)C)), rows = (C + cols - 1) / cols;
  int W = GAP + cols * (hx * f + GAP), H = GAP + rows * (hy * f + GAP);
  uint8_t *img = dlgn_malloc((size_t)W * H * 3, "filter grid");
  if (!img) return -1;
  memset(img, GAP_GREY, (size_t)W * H * 3);
  size_t S = dlgn_tpl_size(L, a, b);
  const double *T = L->t + L->off[a * L->ncls + b];
  for (int o = 0; o < C; o++) {
    const double *to = T + (size_t)o * S;
    double lo = to[0], hi = to[0];
    for (size_t s = 1; s < S; s++) lo = to[s] < lo ? to[s] : lo, hi = to[s] > hi ? to[s] : hi;
    double scale = hi > lo ? 255.0 / (hi - lo) : 0;
    int ox = GAP + (o % cols) * (hx * f + GAP), oy = GAP + (o / cols) * (hy * f + GAP);
    for (int y = 0; y < hy * f; y++)
      for (int x = 0; x < hx * f; x++)
        for (int c = 0; c < 3; c++) {
          double v = to[((size_t)c * hy + y / f) * hx + x / f];
          double px = scale > 0 ? (v - lo) * scale : 128;
          img[((size_t)(oy + y) * W + ox + x) * 3 + c] = (uint8_t)lround(px);
        }
  }
  int rc = dlgn_png_write_rgb(path, img, W, H);
  free(img);
  if (rc == 0 && w_out) *w_out = W;
  if (rc == 0 && h_out) *h_out = H;
  return rc;
}

/* A perceptually ordered colour map (dark blue - teal - green - yellow),
 * linear between five stops; v in [0, 1]. */
static void colour_map(double v, uint8_t rgb[3]) {
  static const double stops[5][3] = {
      {68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}};
  if (!(v > 0)) v = 0;
  if (v > 1) v = 1;
  double x = v * 4;
  int i = x >= 4 ? 3 : (int)x;
  double t = x - i;
  for (int c = 0; c < 3; c++)
    rgb[c] = (uint8_t)lround(stops[i][c] + t * (stops[i + 1][c] - stops[i][c]));
}

int dlgn_png_kernel_heatmap(const double *K, size_t n, const size_t *order, const char *path,
                            int *w_out, int *h_out, double range[2]) {
  if (n == 0) return dlgn_fail("%s: a heatmap of no images", path);
  /* cosine-normalised, so that images with many gates on do not dominate */
  double lo = INFINITY, hi = -INFINITY;
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < n; j++) {
      if (i == j) continue;
      double d = sqrt(K[i * n + i] * K[j * n + j]);
      double v = d > 0 ? K[i * n + j] / d : 0;
      lo = v < lo ? v : lo, hi = v > hi ? v : hi;
    }
  if (!(hi > lo)) lo = 0, hi = 1;
  if (range) range[0] = lo, range[1] = hi;
  int f = n >= HEATMAP_PX ? 1 : (int)((HEATMAP_PX + n - 1) / n);
  int W = (int)n * f;
  uint8_t *img = dlgn_malloc((size_t)W * W * 3, "kernel heatmap");
  if (!img) return -1;
  for (size_t r = 0; r < n; r++)
    for (size_t c = 0; c < n; c++) {
      size_t i = order[r], j = order[c];
      double d = sqrt(K[i * n + i] * K[j * n + j]);
      double v = d > 0 ? K[i * n + j] / d : 0;
      uint8_t rgb[3];
      colour_map((v - lo) / (hi - lo), rgb);
      for (int y = 0; y < f; y++)
        for (int x = 0; x < f; x++)
          memcpy(img + (((r * f + y) * (size_t)W) + c * f + x) * 3, rgb, 3);
    }
  int rc = dlgn_png_write_rgb(path, img, W, W);
  free(img);
  if (rc == 0 && w_out) *w_out = W;
  if (rc == 0 && h_out) *h_out = W;
  return rc;
}

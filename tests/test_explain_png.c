/* The pictures are valid PNGs of the expected size and content: read back
 * with libpng. */
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlgn/explain.h"
#include "dlgn/status.h"
#include "testutil.h"
#include "nn/model_internal.h"

/* Read an 8-bit RGB PNG (rgb may be NULL: size only). */
static void read_png(const char *path, int *w, int *h, uint8_t **rgb) {
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f != NULL, "cannot open %s", path);
  uint8_t sig[8];
  ck_assert(fread(sig, 1, 8, f) == 8 && png_sig_cmp(sig, 0, 8) == 0);
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
  png_infop info = png_create_info_struct(png);
  ck_assert(png && info);
  if (setjmp(png_jmpbuf(png))) ck_abort_msg("libpng failed reading %s", path);
  png_init_io(png, f);
  png_set_sig_bytes(png, 8);
  png_read_info(png, info);
  *w = (int)png_get_image_width(png, info);
  *h = (int)png_get_image_height(png, info);
  ck_assert_int_eq(png_get_color_type(png, info), PNG_COLOR_TYPE_RGB);
  ck_assert_int_eq(png_get_bit_depth(png, info), 8);
  uint8_t *buf = malloc((size_t)*w * *h * 3);
  png_bytep *rows = malloc((size_t)*h * sizeof *rows);
  for (int y = 0; y < *h; y++) rows[y] = buf + (size_t)y * *w * 3;
  png_read_image(png, rows);
  png_read_end(png, NULL);
  png_destroy_read_struct(&png, &info, NULL);
  fclose(f);
  free(rows);
  if (rgb)
    *rgb = buf;
  else
    free(buf);
}

START_TEST(test_png_roundtrip) {
  char dir[256], path[512];
  test_tmpdir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/a.png", dir);
  enum { W = 7, H = 5 };
  uint8_t img[W * H * 3];
  for (int i = 0; i < W * H * 3; i++) img[i] = (uint8_t)(i * 37);
  ck_assert_ok(dlgn_png_write_rgb(path, img, W, H));
  int w, h;
  uint8_t *back;
  read_png(path, &w, &h, &back);
  ck_assert_int_eq(w, W);
  ck_assert_int_eq(h, H);
  ck_assert_mem_eq(back, img, sizeof img);
  free(back);
  ck_assert_int_ne(dlgn_png_write_rgb("/nonexistent-dir/a.png", img, W, H), 0);
  test_rmtree(dir);
}
END_TEST

/* A c4gap dlgn of 5 channels, 2 layers: 5 filters of 3x5x5 in layer 2,
 * each upsampled 10x (to at least 48 px), in a 3x2 grid with 3 px gaps. */
START_TEST(test_filter_grid_size) {
  dlgn_model_config cfg;
  dlgn_model_config_default(&cfg);
  cfg.arch = DLGN_C4GAP;
  cfg.depth = 2;
  cfg.width = 5;
  dlgn_model m;
  memset(&m, 0, sizeof m);
  ck_assert_ok(nn_model_layout(&m, &cfg));
  float *p = calloc(m.nparams, sizeof *p);
  nn_model_init_host(&m, 3, p, NULL);
  dlgn_templates t;
  ck_assert_ok(dlgn_templates_compose(&t, &m, p, NULL));
  char dir[256], path[512];
  test_tmpdir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/grid.png", dir);
  int w, h, rw, rh;
  ck_assert_ok(dlgn_png_filter_grid(&t, 1, path, &w, &h));
  read_png(path, &rw, &rh, NULL);
  ck_assert_int_eq(rw, w);
  ck_assert_int_eq(rh, h);
  ck_assert_int_eq(w, 3 + 3 * (5 * 10 + 3));
  ck_assert_int_eq(h, 3 + 2 * (5 * 10 + 3));

  /* fc: 3072-dim templates shown as 32x32 RGB, upsampled 2x */
  cfg.arch = DLGN_FC;
  cfg.depth = 1;
  cfg.width = 4;
  dlgn_templates_free(&t);
  ck_assert_ok(nn_model_layout(&m, &cfg));
  free(p);
  p = calloc(m.nparams, sizeof *p);
  nn_model_init_host(&m, 3, p, NULL);
  ck_assert_ok(dlgn_templates_compose(&t, &m, p, NULL));
  ck_assert_ok(dlgn_png_filter_grid(&t, 0, path, &w, &h));
  read_png(path, &rw, &rh, NULL);
  ck_assert_int_eq(rw, 3 + 2 * (64 + 3));
  ck_assert_int_eq(rh, 3 + 2 * (64 + 3));
  dlgn_templates_free(&t);
  free(p);
  test_rmtree(dir);
}
END_TEST

/* 4 images -> 128 px per image (512 in all); the largest off-diagonal
 * entry is yellow, the smallest dark blue. */
START_TEST(test_heatmap) {
  double K[16] = {1, 0.9, 0.1, 0.2, 0.9, 1, 0.3, 0.2, 0.1, 0.3, 1, 0.5, 0.2, 0.2, 0.5, 1};
  size_t order[4] = {0, 1, 2, 3};
  char dir[256], path[512];
  test_tmpdir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/k.png", dir);
  int w, h;
  double range[2];
  ck_assert_ok(dlgn_png_kernel_heatmap(K, 4, order, path, &w, &h, range));
  ck_assert_double_eq_tol(range[0], 0.1, 1e-12);
  ck_assert_double_eq_tol(range[1], 0.9, 1e-12);
  uint8_t *rgb;
  int rw, rh;
  read_png(path, &rw, &rh, &rgb);
  ck_assert_int_eq(rw, 512);
  ck_assert_int_eq(rh, 512);
  const uint8_t *hi = rgb + ((size_t)0 * 512 + 128 + 5) * 3; /* K(0,1) */
  const uint8_t *lo = rgb + ((size_t)0 * 512 + 256 + 5) * 3; /* K(0,2) */
  ck_assert(hi[0] > 200 && hi[1] > 200 && hi[2] < 80);
  ck_assert(lo[0] < 100 && lo[1] < 30 && lo[2] > 60);
  free(rgb);
  test_rmtree(dir);
}
END_TEST

Suite *make_suite(void) {
  Suite *s = suite_create("explain_png");
  TCase *tc = tcase_create("png");
  tcase_add_test(tc, test_png_roundtrip);
  tcase_add_test(tc, test_filter_grid_size);
  tcase_add_test(tc, test_heatmap);
  suite_add_tcase(s, tc);
  return s;
}

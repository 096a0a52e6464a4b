/* Synthetic CIFAR-format data: every class is a fixed smooth pattern (a
 * base colour, an oriented colour grating and a coloured blob); every image
 * shifts it by up to 4 pixels and varies brightness, contrast, background
 * and per-pixel noise. Colour alone separates classes only partly, so a
 * model must combine colour, orientation and position: learnable, but not
 * from one pixel. Only integer arithmetic, + - * / and floor are used (no
 * libm transcendentals), so the bytes do not depend on the C library. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/cifar_internal.h"
#include "dlgn/rng.h"
#include "dlgn/status.h"

#define SYNTH_SHIFT 4.0
#define SYNTH_NOISE 45.0
/* Separate streams, so that the test images do not change with ntrain. */
#define SYNTH_STREAM_TRAIN 0x7472616e5f737973ull
#define SYNTH_STREAM_TEST 0x746573745f737973ull
#define SYNTH_STREAM_CLASSES 0x636c61737365735full

typedef struct {
  double base[3], grating[3], blob[3];
  double fx, fy;                   /* grating wave vector, turns per pixel */
  double bx, by, br2;              /* blob centre and squared radius */
  double cos_a[1024], sin_a[1024]; /* the grating's phase at every pixel */
} class_pattern;

/* cos(2 pi t) by folding into [0, 1/4] turn and a Taylor series to x^12
 * (error below 1e-8). */
static double cos_turns(double t) {
  t -= floor(t);
  if (t > 0.5) t = 1.0 - t;
  double sign = 1.0;
  if (t > 0.25) {
    t = 0.5 - t;
    sign = -1.0;
  }
  double x = 6.283185307179586 * t, x2 = x * x, term = 1.0, sum = 1.0;
  for (int k = 1; k <= 6; k++) {
    term = -term * x2 / (double)((2 * k - 1) * (2 * k));
    sum += term;
  }
  return sign * sum;
}

static double sin_turns(double t) { return cos_turns(t - 0.25); }

static void make_pattern(class_pattern *p, dlgn_cifar_kind kind, int k) {
  dlgn_rng r;
  dlgn_rng_seed(&r, SYNTH_STREAM_CLASSES + (uint64_t)k);
  /* CIFAR-100: the colour mostly follows the coarse class (5 fine classes
   * each), orientation and blob tell the fine classes apart. */
  int group = kind == DLGN_CIFAR100 ? k / 5 : k, member = kind == DLGN_CIFAR100 ? k % 5 : k;
  double hue = kind == DLGN_CIFAR100 ? group / 20.0 + member * 0.008 : k / 10.0;
  double theta = kind == DLGN_CIFAR100 ? member / 10.0 + group * 0.013 : (k * 3 % 10) / 20.0;
  double cycles = 2.0 + (double)((group + member) % 3);
  for (int c = 0; c < 3; c++) {
    p->base[c] = 128.0 + 15.0 * cos_turns(hue - c / 3.0);
    p->grating[c] = 16.0 + 10.0 * cos_turns(hue + 0.5 - c / 3.0);
    p->blob[c] = 30.0 * (2.0 * dlgn_rng_uniform(&r) - 1.0);
  }
  p->fx = cycles / 32.0 * cos_turns(theta);
  p->fy = cycles / 32.0 * sin_turns(theta);
  p->bx = 9.0 + 14.0 * dlgn_rng_uniform(&r);
  p->by = 9.0 + 14.0 * dlgn_rng_uniform(&r);
  double radius = 5.0 + 3.0 * dlgn_rng_uniform(&r);
  p->br2 = radius * radius;
  for (int y = 0; y < 32; y++)
    for (int x = 0; x < 32; x++) {
      double phase = p->fx * x + p->fy * y;
      p->cos_a[y * 32 + x] = cos_turns(phase);
      p->sin_a[y * 32 + x] = sin_turns(phase);
    }
}

static uint8_t to_byte(double v) {
  double r = floor(v + 0.5);
  return (uint8_t)(r < 0.0 ? 0.0 : r > 255.0 ? 255.0 : r);
}

static void draw_image(uint8_t *img, const class_pattern *p, dlgn_rng *r) {
  double sx = SYNTH_SHIFT * (2.0 * dlgn_rng_uniform(r) - 1.0);
  double sy = SYNTH_SHIFT * (2.0 * dlgn_rng_uniform(r) - 1.0);
  double bright = 0.75 + 0.5 * dlgn_rng_uniform(r);
  double contrast = 0.5 + 0.5 * dlgn_rng_uniform(r);
  double background[3];
  for (int c = 0; c < 3; c++) background[c] = 120.0 * (dlgn_rng_uniform(r) - 0.5);
  /* Shifting the pattern by (sx, sy) shifts the grating's phase by beta. */
  double beta = p->fx * sx + p->fy * sy;
  double cb = cos_turns(beta), sb = sin_turns(beta);
  for (int y = 0; y < 32; y++)
    for (int x = 0; x < 32; x++) {
      int i = y * 32 + x;
      double wave = contrast * (p->cos_a[i] * cb + p->sin_a[i] * sb);
      double dx = x - sx - p->bx, dy = y - sy - p->by;
      double blob = 1.0 / (1.0 + (dx * dx + dy * dy) / p->br2);
      for (int c = 0; c < 3; c++) {
        /* Irwin-Hall of four 16-bit uniforms: near-normal noise from one draw. */
        uint64_t u = dlgn_rng_next(r);
        double sum =
            (double)((u & 0xffff) + ((u >> 16) & 0xffff) + ((u >> 32) & 0xffff) + (u >> 48)) /
            65536.0;
        double noise = SYNTH_NOISE * 1.7320508075688772 * (sum - 2.0);
        double v = bright * (p->base[c] + p->grating[c] * wave + p->blob[c] * blob) +
                   background[c] + noise;
        img[c * 1024 + i] = to_byte(v);
      }
    }
}

static int draw_split(dlgn_split *s, const class_pattern *pats, dlgn_cifar_kind kind, size_t n,
                      uint64_t seed, uint64_t stream) {
  int classes = kind == DLGN_CIFAR100 ? 100 : 10;
  s->n = n;
  s->images = dlgn_malloc(n * DLGN_IMAGE_BYTES, "synthetic images");
  s->labels = dlgn_malloc(n, "synthetic labels");
  s->coarse = kind == DLGN_CIFAR100 ? dlgn_malloc(n, "synthetic coarse labels") : NULL;
  uint32_t *order = dlgn_malloc(n * sizeof *order, "synthetic label order");
  if (!s->images || !s->labels || (kind == DLGN_CIFAR100 && !s->coarse) || !order) {
    free(order);
    return -1;
  }
  dlgn_rng r;
  dlgn_rng_seed(&r, seed ^ stream);
  /* Balanced classes, as in CIFAR, in a seeded order. */
  for (size_t i = 0; i < n; i++) order[i] = (uint32_t)(i % (size_t)classes);
  dlgn_rng_shuffle(&r, order, n);
  for (size_t i = 0; i < n; i++) {
    s->labels[i] = (uint8_t)order[i];
    if (s->coarse) s->coarse[i] = (uint8_t)(order[i] / 5);
    draw_image(s->images + i * DLGN_IMAGE_BYTES, &pats[order[i]], &r);
  }
  free(order);
  return 0;
}

int dlgn_synth_generate(dlgn_dataset *ds, dlgn_cifar_kind kind, size_t ntrain, size_t ntest,
                        uint64_t seed) {
  memset(ds, 0, sizeof *ds);
  if (kind != DLGN_CIFAR10 && kind != DLGN_CIFAR100)
    return dlgn_fail("synthetic data: kind must be CIFAR-10 or CIFAR-100 (got %d)", (int)kind);
  if (ntrain == 0 || ntest == 0 || ntrain > UINT32_MAX || ntest > UINT32_MAX)
    return dlgn_fail("synthetic data: --train and --test must be 1..%u (got %zu, %zu)", UINT32_MAX,
                     ntrain, ntest);
  ds->kind = kind;
  ds->num_classes = kind == DLGN_CIFAR100 ? 100 : 10;
  ds->num_coarse = kind == DLGN_CIFAR100 ? 20 : 0;
  cifar_default_names(ds);
  snprintf(ds->source, sizeof ds->source, "synthetic:%s,train=%zu,test=%zu,seed=%llu",
           kind == DLGN_CIFAR100 ? "cifar100" : "cifar10", ntrain, ntest, (unsigned long long)seed);
  class_pattern *pats = dlgn_malloc(sizeof *pats * (size_t)ds->num_classes, "synthetic patterns");
  if (!pats) return -1;
  for (int k = 0; k < ds->num_classes; k++) make_pattern(&pats[k], kind, k);
  int rc = draw_split(&ds->train, pats, kind, ntrain, seed, SYNTH_STREAM_TRAIN);
  if (rc == 0) rc = draw_split(&ds->test, pats, kind, ntest, seed, SYNTH_STREAM_TEST);
  free(pats);
  if (rc != 0) dlgn_dataset_free(ds);
  return rc;
}

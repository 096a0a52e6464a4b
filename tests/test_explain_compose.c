/* The effective filters are exact: on random small dlgn and dlgn-sf models
 * (fc, c4gap-like, pooled vgg16, resnets; with and without batch norm; random biases
 * and running statistics), the gates recomputed from the templates alone
 * equal the network's own gates from the device, on every device present,
 * everywhere including the border, except gates whose |q| is within
 * DLGN_CHECK_EPS_REL of the layer's RMS of zero. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlgn/explain.h"
#include "dlgn/rng.h"
#include "dlgn/status.h"
#include "nn/model_internal.h"
#include "testutil.h"

static const float MEAN[3] = {0.49f, 0.48f, 0.45f}, STD[3] = {0.25f, 0.24f, 0.26f};

typedef struct {
  dlgn_model_class cls;
  dlgn_arch arch;
  int depth, width;
  bool bn;
} model_case;

static const model_case CASES[] = {
    {DLGN_DLGN, DLGN_FC, 3, 16, false},     {DLGN_DLGN_SF, DLGN_FC, 3, 16, false},
    {DLGN_DLGN, DLGN_C4GAP, 3, 4, false},   {DLGN_DLGN, DLGN_C4GAP, 3, 4, true},
    {DLGN_DLGN_SF, DLGN_C4GAP, 3, 4, true}, {DLGN_DLGN, DLGN_VGG16, 13, 2, true},
    {DLGN_DLGN, DLGN_VGG16, 13, 3, false},  {DLGN_DLGN_SF, DLGN_VGG16, 13, 2, true},
    /* resnets: the templates of a block's output add those of its input
     * (strided, zero-padded channels) to its branch's */
    {DLGN_DLGN, DLGN_RESNET, 8, 2, true},   {DLGN_DLGN, DLGN_RESNET, 14, 2, false},
    {DLGN_DLGN_SF, DLGN_RESNET, 8, 2, true},
};
#define NCASES (int)(sizeof CASES / sizeof CASES[0])
#define NIMG 3

/* He-normal weights from the model's own init, then random biases and
 * batch-norm parameters and statistics, so that every term of the
 * composition is exercised. */
static void random_params(const dlgn_model *m, uint64_t seed, float *p, float *s) {
  nn_model_init_host(m, seed, p, s);
  dlgn_rng r;
  dlgn_rng_seed(&r, seed + 1);
  for (int l = 0; l < m->feat.nlayers; l++) {
    const nn_layer *L = &m->feat.layers[l];
    for (int o = 0; o < L->out_c; o++) {
      p[L->b_off + o] = 0.3f * dlgn_rng_normal(&r);
      if (!L->gamma_off) continue;
      p[L->gamma_off + o] = 0.5f + dlgn_rng_uniform(&r);
      p[L->beta_off + o] = 0.3f * dlgn_rng_normal(&r);
      s[L->mean_off + o] = 0.3f * dlgn_rng_normal(&r);
      s[L->var_off + o] = 0.2f + 2.0f * dlgn_rng_uniform(&r);
    }
  }
}

/* The filter-export check of the templates t against the network's q of
 * every layer, for the NIMG normalised images x. */
static void run_check(const dlgn_templates *t, const float *x, float *const *q,
                      dlgn_filter_check *res) {
  dlgn_check_acc acc;
  ck_assert_ok(dlgn_check_start(&acc, t));
  for (int l = 0; l < t->nlayers; l++)
    ck_assert_ok(dlgn_check_add(&acc, t, l, x, NIMG, NIMG, q[l]));
  dlgn_check_finish(&acc, res);
  dlgn_check_free(&acc);
}

/* Negate channel o's template and bias in every class pair of a layer (the
 * same call undoes it exactly): every gate of o with |q| beyond eps flips. */
static void negate_template(dlgn_layer_templates *L, int o) {
  for (int a = 0; a < L->ncls; a++)
    for (int b = 0; b < L->ncls; b++) {
      size_t S = dlgn_tpl_size(L, a, b), off = L->off[a * L->ncls + b];
      for (size_t i = 0; i < S; i++) {
        L->t[off + (size_t)o * S + i] = -L->t[off + (size_t)o * S + i];
        L->tt[off + i * (size_t)L->channels + (size_t)o] =
            -L->tt[off + i * (size_t)L->channels + (size_t)o];
      }
      L->bias[(size_t)(a * L->ncls + b) * L->channels + o] *= -1;
    }
}

static void shift_bias(dlgn_layer_templates *L, int o, double by) {
  for (int ab = 0; ab < L->ncls * L->ncls; ab++) L->bias[(size_t)ab * L->channels + o] += by;
}

/* Move channel o's threshold (its bias, in every class pair) by -2 q of its
 * gate with the largest |q| over the images: that gate then flips, and its
 * |q| is far beyond eps. Returns the shift. */
static double move_threshold(dlgn_layer_templates *T, const nn_layer *L, const float *q, int o) {
  size_t hw = L->kind == NN_LAYER_DENSE ? 1 : (size_t)L->h * L->w;
  float big = 0;
  for (size_t j = 0; j < NIMG; j++)
    for (size_t p = 0; p < hw; p++) {
      float v = L->kind == NN_LAYER_DENSE ? q[j * (size_t)L->out_c + (size_t)o]
                                            : q[((size_t)o * NIMG + j) * hw + p];
      if (fabsf(v) > fabsf(big)) big = v;
    }
  ck_assert_msg(big != 0, "channel %d of a layer has q = 0 on every image", o);
  double shift = -2.0 * big;
  shift_bias(T, o, shift);
  return shift;
}

static void run_case(dlgn_device *dev, const model_case *mc, uint64_t seed) {
  dlgn_model_config cfg;
  dlgn_model_config_default(&cfg);
  cfg.cls = mc->cls;
  cfg.arch = mc->arch;
  cfg.depth = mc->depth;
  cfg.width = mc->width;
  cfg.batchnorm = mc->bn;
  dlgn_model *m;
  ck_assert_ok(dlgn_model_create(&m, dev, &cfg, NIMG, seed));
  float *p = malloc(m->nparams * sizeof *p), *s = calloc(m->nstate + 1, sizeof *s);
  random_params(m, seed, p, s);
  ck_assert_ok(ocl_buffer_write(dev, m->params, 0, m->nparams * sizeof *p, p, "params"));
  if (m->nstate)
    ck_assert_ok(ocl_buffer_write(dev, m->state, 0, m->nstate * sizeof *s, s, "state"));

  uint8_t img[NIMG * DLGN_IMAGE_BYTES];
  dlgn_rng r;
  dlgn_rng_seed(&r, seed + 2);
  for (size_t i = 0; i < sizeof img; i++) img[i] = (uint8_t)dlgn_rng_below(&r, 256);
  cl_mem x8;
  ck_assert_ok(ocl_buffer_create(dev, sizeof img, "images", &x8));
  ck_assert_ok(ocl_buffer_write(dev, x8, 0, sizeof img, img, "images"));
  ck_assert_ok(nn_model_load_images(m, x8, 0, NULL, 0, NIMG, MEAN, STD));
  ck_assert_ok(nn_model_forward(m, NIMG, DLGN_GATE_HARD, false));
  float *x = malloc(sizeof img * sizeof *x);
  dlgn_input_ref(x, img, NULL, NIMG, MEAN, STD, false);

  float *q[DLGN_MAX_LAYERS] = {NULL};
  for (int l = 0; l < m->feat.nlayers; l++) {
    size_t nq = nn_layer_units(&m->feat.layers[l]) * NIMG;
    q[l] = malloc(nq * sizeof *q[l]);
    ck_assert(q[l] != NULL);
    ck_assert_ok(ocl_buffer_read(dev, nn_model_gate_preact(m, l), 0, nq * sizeof *q[l], q[l],
                                 "q"));
  }
  dlgn_templates t;
  ck_assert_ok(dlgn_templates_compose(&t, m, p, s));
  dlgn_filter_check res;
  run_check(&t, x, q, &res);
  for (int l = 0; l < res.nlayers; l++) {
    ck_assert_msg(res.mismatched[l] == 0 && res.max_err[l] < 1e-4,
                  "%s %s depth %d width %d%s on %s, layer %d: %zu of %zu gates differ beyond "
                  "eps (%zu near zero), max error %.3g of the RMS |q| %.3g",
                  dlgn_class_name(mc->cls), dlgn_arch_name(mc->arch), mc->depth, mc->width,
                  mc->bn ? " bn" : "", dev->info.name, l + 1, res.mismatched[l], res.compared[l],
                  res.near_zero[l], res.max_err[l], res.q_scale[l]);
  }
  if (getenv("DLGN_TEST_VERBOSE"))
    for (int l = 0; l < res.nlayers; l++)
      printf("%s %s w%d%s layer %d: %zu gates, %zu near zero, max err %.2e of RMS %.3g\n",
             dlgn_class_name(mc->cls), dlgn_arch_name(mc->arch), mc->width, mc->bn ? " bn" : "",
             l + 1, res.compared[l], res.near_zero[l], res.max_err[l], res.q_scale[l]);
  ck_assert(res.passed);
  ck_assert_int_eq(res.failed_layer, 0);

  /* The check can fail: break one layer's templates at a time, in the two
   * ways an export could go wrong, and it must fail at that layer alone. */
  for (int l = 0; l < m->feat.nlayers; l++) {
    const nn_layer *L = &m->feat.layers[l];
    int o = (int)((seed + (uint64_t)l) % (uint64_t)L->out_c);
    for (int how = 0; how < 2; how++) {
      double shift = 0;
      if (how == 0)
        negate_template(&t.layers[l], o);
      else
        shift = move_threshold(&t.layers[l], L, q[l], o);
      run_check(&t, x, q, &res);
      if (how == 0)
        negate_template(&t.layers[l], o);
      else
        shift_bias(&t.layers[l], o, -shift);
      const char *what = how == 0 ? "template negated" : "threshold moved";
      ck_assert_msg(!res.passed && res.failed_layer == l + 1,
                    "%s %s on %s: %s in channel %d of layer %d; the check must fail at layer "
                    "%d, but it %s (failed_layer %d)",
                    dlgn_class_name(mc->cls), dlgn_arch_name(mc->arch), dev->info.name, what, o,
                    l + 1, l + 1, res.passed ? "passed" : "failed", res.failed_layer);
      for (int k = 0; k < res.nlayers; k++)
        ck_assert_msg((res.mismatched[k] > 0) == (k == l),
                      "%s in layer %d: layer %d has %zu mismatches", what, l + 1, k + 1,
                      res.mismatched[k]);
    }
  }
  run_check(&t, x, q, &res); /* the perturbations were undone */
  ck_assert(res.passed);

  for (int l = 0; l < m->feat.nlayers; l++) free(q[l]);
  dlgn_templates_free(&t);
  ocl_buffer_release(&x8);
  free(x);
  free(p);
  free(s);
  dlgn_model_destroy(m);
}

START_TEST(test_templates_exact) {
  dlgn_device **devs;
  int n;
  ck_assert_ok(test_open_all_devices(&devs, &n));
  for (int d = 0; d < n; d++) run_case(devs[d], &CASES[_i], 100 + (uint64_t)_i);
  test_close_all_devices(devs, n);
}
END_TEST

/* The interior template of layer l of a c4gap dlgn is (2l+1)x(2l+1), and a
 * lone pixel's response reaches exactly that far. */
START_TEST(test_template_geometry) {
  dlgn_model_config cfg;
  dlgn_model_config_default(&cfg);
  cfg.arch = DLGN_C4GAP;
  cfg.depth = 4;
  cfg.width = 3;
  dlgn_model m;
  memset(&m, 0, sizeof m);
  ck_assert_ok(nn_model_layout(&m, &cfg));
  float *p = malloc(m.nparams * sizeof *p), *s = calloc(1, sizeof *s);
  random_params(&m, 7, p, s);
  dlgn_templates t;
  ck_assert_ok(dlgn_templates_compose(&t, &m, p, s));
  for (int l = 0; l < 4; l++) {
    const dlgn_layer_templates *L = &t.layers[l];
    int a, b;
    dlgn_templates_display_class(&t, l, &a, &b);
    ck_assert(L->c[a].interior);
    ck_assert_int_eq(L->c[a].hi - L->c[a].lo + 1, 2 * (l + 1) + 1);
    /* border classes: l on each side (none for the first layer) plus the interior */
    ck_assert_int_eq(L->ncls, 2 * l + 1);
  }
  dlgn_templates_free(&t);
  free(p);
  free(s);

  cfg.cls = DLGN_DGN;
  ck_assert_ok(nn_model_layout(&m, &cfg));
  ck_assert_int_ne(dlgn_templates_compose(&t, &m, NULL, NULL), 0);
}
END_TEST

Suite *make_suite(void) {
  Suite *s = suite_create("explain_compose");
  TCase *tc = tcase_create("compose");
  tcase_set_timeout(tc, 600);
  tcase_add_loop_test(tc, test_templates_exact, 0, NCASES);
  tcase_add_test(tc, test_template_geometry);
  suite_add_tcase(s, tc);
  return s;
}

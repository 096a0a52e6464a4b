/* The model wiring that the PyTorch fixtures do not reach: gates shuffled
 * across layers or channels (value layer l gated by feature layer src(l), or
 * by a channel permutation of it). The device gradient of every parameter
 * tensor is compared with central finite differences of the device loss on
 * the coordinates with the largest gradients (float32 loss: tolerance 5% +
 * 2e-3 of the tensor's largest gradient). */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dlgn/model.h"
#include "dlgn/rng.h"
#include "dlgn/status.h"
#include "nn/model_internal.h"
#include "testutil.h"

enum { N = 6, K = 10, PROBES = 3 };

typedef struct {
  dlgn_device *dev;
  dlgn_model *m;
  cl_mem x8, labels, counter, loss;
} grad_case;

static float device_loss(grad_case *g) {
  dlgn_model *m = g->m;
  const float zero3[3] = {0, 0, 0}, one3[3] = {1, 1, 1};
  ck_assert_ok(nn_model_load_images(m, g->x8, 0, NULL, 0, N, zero3, one3));
  ck_assert_ok(nn_model_forward(m, N, DLGN_GATE_SOFT, true));
  ck_assert_ok(xent_forward(g->dev, (dlgn_buf){g->loss, 0}, g->counter, 0,
                            (dlgn_buf){m->logits, 0}, g->labels, 0, N, K));
  float l;
  ck_assert_ok(dlgn_buffer_read(g->dev, g->loss, 0, sizeof l, &l, "loss"));
  return l;
}

static void set_param(grad_case *g, size_t i, float v) {
  ck_assert_ok(dlgn_buffer_write(g->dev, g->m->params, i * sizeof v, sizeof v, &v, "parameter"));
}

static void check_model(dlgn_device *dev, dlgn_model_config *cfg) {
  grad_case g = {.dev = dev};
  ck_assert_ok(dlgn_model_create(&g.m, dev, cfg, N, 3));
  dlgn_model *m = g.m;
  dlgn_rng r;
  dlgn_rng_seed(&r, 11);
  unsigned char img[N * 3072];
  int labels[N];
  for (int i = 0; i < N * 3072; i++) img[i] = (unsigned char)dlgn_rng_below(&r, 256);
  for (int i = 0; i < N; i++) labels[i] = (int)dlgn_rng_below(&r, K);
  ck_assert_ok(dlgn_buffer_create(dev, sizeof img, "images", &g.x8));
  ck_assert_ok(dlgn_buffer_write(dev, g.x8, 0, sizeof img, img, "images"));
  ck_assert_ok(dlgn_buffer_create(dev, sizeof labels, "labels", &g.labels));
  ck_assert_ok(dlgn_buffer_write(dev, g.labels, 0, sizeof labels, labels, "labels"));
  ck_assert_ok(dlgn_buffer_create(dev, sizeof(int), "counter", &g.counter));
  ck_assert_ok(dlgn_buffer_create(dev, sizeof(float), "loss", &g.loss));

  device_loss(&g);
  ck_assert_ok(xent_backward(dev, (dlgn_buf){m->dlogits, 0}, (dlgn_buf){m->logits, 0}, g.labels,
                             0, N, K));
  ck_assert_ok(nn_model_backward(m, N, DLGN_GATE_SOFT));
  float *grad = malloc(m->nparams * sizeof *grad), *p = malloc(m->nparams * sizeof *p);
  ck_assert_ok(dlgn_buffer_read(dev, m->grads, 0, m->nparams * sizeof *grad, grad, "grads"));
  ck_assert_ok(dlgn_buffer_read(dev, m->params, 0, m->nparams * sizeof *p, p, "params"));

  nn_param_entry tab[4 * DLGN_MAX_LAYERS + 4];
  int nt = nn_model_param_table(m, tab, (int)(sizeof tab / sizeof tab[0]));
  for (int t = 0; t < nt; t++) {
    /* the PROBES largest gradients of this tensor */
    size_t pick[PROBES];
    int np = 0;
    for (int k = 0; k < PROBES; k++) {
      size_t best = SIZE_MAX;
      for (size_t j = tab[t].off; j < tab[t].off + tab[t].count; j++) {
        bool taken = false;
        for (int q = 0; q < np; q++) taken |= pick[q] == j;
        if (!taken && (best == SIZE_MAX || fabsf(grad[j]) > fabsf(grad[best]))) best = j;
      }
      if (best != SIZE_MAX) pick[np++] = best;
    }
    float gmax = fabsf(grad[pick[0]]);
    if (gmax < 2e-3f) continue; /* nothing measurable through a float32 loss */
    for (int q = 0; q < np; q++) {
      size_t j = pick[q];
      /* two step sizes: a ReLU kink within the larger one, or rounding in the
       * smaller one, spoils only one of them */
      float best = INFINITY, fd = 0, allowed = 0;
      for (int k = 0; k < 2; k++) {
        float h = (k ? 1e-3f : 3e-3f) * fmaxf(fabsf(p[j]), 1.0f);
        set_param(&g, j, p[j] + h);
        float lp = device_loss(&g);
        set_param(&g, j, p[j] - h);
        float lm = device_loss(&g);
        set_param(&g, j, p[j]);
        float d = (lp - lm) / (2 * h);
        /* rounding of the two float32 losses: a few ulps over 2h */
        float noise = 4.0f * FLT_EPSILON * fmaxf(fabsf(lp), fabsf(lm)) / (2 * h);
        float tol = 0.05f * fabsf(grad[j]) + 2e-3f * gmax + noise;
        if (fabsf(d - grad[j]) / tol < best) {
          best = fabsf(d - grad[j]) / tol;
          fd = d;
          allowed = tol;
        }
      }
      ck_assert_msg(best <= 1.0f,
                    "%s %s shuffle %s: d loss / d %s[%zu]: backward %g, finite difference %g "
                    "(allowed %g)",
                    dlgn_class_name(cfg->cls), dlgn_arch_name(cfg->arch),
                    dlgn_shuffle_name(cfg->shuffle), tab[t].name, j - tab[t].off, grad[j], fd,
                    allowed);
    }
  }
  free(grad);
  free(p);
  dlgn_buffer_release(&g.x8);
  dlgn_buffer_release(&g.labels);
  dlgn_buffer_release(&g.counter);
  dlgn_buffer_release(&g.loss);
  dlgn_model_destroy(m);
}

START_TEST(test_shuffled_gates_gradients) {
  dlgn_device **devs;
  int ndev;
  ck_assert_ok(test_open_all_devices(&devs, &ndev));
  const dlgn_model_class classes[] = {DLGN_DGN, DLGN_DLGN, DLGN_DLGN_SF};
  const dlgn_shuffle shuffles[] = {DLGN_SHUFFLE_LAYERS, DLGN_SHUFFLE_CHANNELS};
  for (int d = 0; d < ndev; d++)
    for (int a = 0; a < 2; a++)
      for (int c = 0; c < 3; c++)
        for (int s = 0; s < 2; s++) {
          dlgn_model_config cfg;
          dlgn_model_config_default(&cfg);
          cfg.cls = classes[c];
          cfg.arch = a == 0 ? DLGN_FC : DLGN_C4GAP;
          cfg.depth = 3;
          cfg.width = a == 0 ? 6 : 4;
          cfg.beta = 1.0f; /* soft gates away from saturation, so gate gradients are sizeable */
          cfg.value_input = c == 1 ? DLGN_VALUE_ONES : DLGN_VALUE_IMAGE;
          cfg.shuffle = shuffles[s];
          cfg.shuffle_seed = 5;
          check_model(devs[d], &cfg);
        }
  test_close_all_devices(devs, ndev);
}
END_TEST

Suite *make_suite(void) {
  Suite *s = suite_create("model gradients with shuffled gates");
  TCase *tc = tcase_create("finite differences");
  tcase_set_timeout(tc, 900); /* minutes on Mesa's llvmpipe, a few seconds on PoCL */
  tcase_add_test(tc, test_shuffled_gates_gradients);
  suite_add_tcase(s, tc);
  return s;
}

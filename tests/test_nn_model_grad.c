/* The model wiring that the PyTorch fixtures do not reach: gates shuffled
 * across layers or channels (value layer l gated by feature layer src(l), or
 * by a channel permutation of it), and the residual networks in every class
 * and mode (shortcuts into ReLU, linear and gated networks; strided stages). The device gradient of every parameter
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
  ck_assert_ok(nn_model_forward(m, N, dlgn_model_train_gates(m), true));
  ck_assert_ok(xent_forward(g->dev, (nn_buf){g->loss, 0}, g->counter, 0,
                            (nn_buf){m->logits, 0}, g->labels, 0, N, K));
  float l;
  ck_assert_ok(ocl_buffer_read(g->dev, g->loss, 0, sizeof l, &l, "loss"));
  return l;
}

static void set_param(grad_case *g, size_t i, float v) {
  ck_assert_ok(ocl_buffer_write(g->dev, g->m->params, i * sizeof v, sizeof v, &v, "parameter"));
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
  ck_assert_ok(ocl_buffer_create(dev, sizeof img, "images", &g.x8));
  ck_assert_ok(ocl_buffer_write(dev, g.x8, 0, sizeof img, img, "images"));
  ck_assert_ok(ocl_buffer_create(dev, sizeof labels, "labels", &g.labels));
  ck_assert_ok(ocl_buffer_write(dev, g.labels, 0, sizeof labels, labels, "labels"));
  ck_assert_ok(ocl_buffer_create(dev, sizeof(int), "counter", &g.counter));
  ck_assert_ok(ocl_buffer_create(dev, sizeof(float), "loss", &g.loss));
  if (cfg->arch == DLGN_RESNET) {
    /* random biases: with zero ones, a unit whose 3x3 window of inputs is all
     * zero (dead ReLUs below it) sits exactly on its own kink, where finite
     * differences of its bias see half the slope */
    nn_param_entry tab[8 * DLGN_MAX_LAYERS + 4];
    int nt = nn_model_param_table(m, tab, (int)(sizeof tab / sizeof tab[0]));
    for (int t = 0; t < nt; t++) {
      size_t len = strlen(tab[t].name);
      if (len < 2 || strcmp(tab[t].name + len - 2, ".b") != 0) continue;
      for (size_t j = 0; j < tab[t].count; j++)
        set_param(&g, tab[t].off + j, 0.1f * dlgn_rng_normal(&r));
    }
  }

  device_loss(&g);
  ck_assert_ok(xent_backward(dev, (nn_buf){m->dlogits, 0}, (nn_buf){m->logits, 0}, g.labels,
                             0, N, K));
  ck_assert_ok(nn_model_backward(m, N, dlgn_model_train_gates(m)));
  float *grad = malloc(m->nparams * sizeof *grad), *p = malloc(m->nparams * sizeof *p);
  ck_assert_ok(ocl_buffer_read(dev, m->grads, 0, m->nparams * sizeof *grad, grad, "grads"));
  ck_assert_ok(ocl_buffer_read(dev, m->params, 0, m->nparams * sizeof *p, p, "params"));

  nn_param_entry tab[8 * DLGN_MAX_LAYERS + 4];
  int nt = nn_model_param_table(m, tab, (int)(sizeof tab / sizeof tab[0]));
  for (int t = 0; t < nt; t++) {
    if (tab[t].off < m->train_begin) continue; /* frozen gates: no gradient kept */
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
      /* three step sizes: a ReLU kink (or, with batch norm, the curvature)
       * within the larger ones, or rounding in the smaller ones, spoils only
       * some of them */
      static const float steps[3] = {3e-3f, 1e-3f, 1e-4f};
      float best = INFINITY, fd = 0, allowed = 0;
      for (int k = 0; k < 3; k++) {
        float h = steps[k] * fmaxf(fabsf(p[j]), 1.0f);
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
                    "%s %s-%d %s bn %d %s shuffle %s on '%s': d loss / d %s[%zu]: backward %g, "
                    "finite difference %g (allowed %g)",
                    dlgn_class_name(cfg->cls), dlgn_arch_name(cfg->arch), cfg->depth,
                    dlgn_mode_name(cfg->mode), cfg->batchnorm,
                    dlgn_value_input_name(cfg->value_input), dlgn_shuffle_name(cfg->shuffle),
                    dev->info.name, tab[t].name, j - tab[t].off, grad[j], fd, allowed);
    }
  }
  free(grad);
  free(p);
  ocl_buffer_release(&g.x8);
  ocl_buffer_release(&g.labels);
  ocl_buffer_release(&g.counter);
  ocl_buffer_release(&g.loss);
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

/* A ResNet-8 (stem, one block per stage) of width 2 in every class: joint,
 * with and without batch norm, both value inputs; the fixed modes (hard
 * gates, value network and head only) and shuffled gates. Every variant on
 * the first device; on the others (slow CPU runtimes such as llvmpipe, where
 * the whole set takes minutes) the joint dlgn with batch norm, which runs
 * the shortcut's kernels in both networks. */
START_TEST(test_resnet_gradients) {
  dlgn_device **devs;
  int ndev;
  ck_assert_ok(test_open_all_devices(&devs, &ndev));
  for (int d = 0; d < ndev; d++)
    for (int c = DLGN_DNN; c <= DLGN_DLGN_SF; c++)
      for (int v = 0; v < 6; v++) {
        dlgn_model_config cfg;
        dlgn_model_config_default(&cfg);
        cfg.cls = (dlgn_model_class)c;
        cfg.arch = DLGN_RESNET;
        cfg.depth = 8;
        cfg.width = 2;
        cfg.beta = 1.0f;
        cfg.batchnorm = v % 2 == 0;
        cfg.value_input = v < 2 && c != DLGN_DNN ? DLGN_VALUE_ONES : DLGN_VALUE_IMAGE;
        if (c == DLGN_DNN && v >= 2) continue;
        if (d > 0 && !(c == DLGN_DLGN && v == 0)) continue;
        if (v == 2) cfg.mode = DLGN_FIXED_RANDOM;
        if (v == 3) cfg.mode = DLGN_FIXED_LEARNT, cfg.value_input = DLGN_VALUE_ONES;
        if (v == 4) cfg.shuffle = DLGN_SHUFFLE_LAYERS, cfg.shuffle_seed = 3;
        if (v == 5) cfg.shuffle = DLGN_SHUFFLE_CHANNELS, cfg.shuffle_seed = 4;
        check_model(devs[d], &cfg);
      }
  test_close_all_devices(devs, ndev);
}
END_TEST

/* The dnn is the ReLU ResNet, and a dgn whose feature and value networks
 * both hold the dnn's weights (its own gates) computes the same logits:
 * every gate multiplies the same sum (branch plus shortcut) that the dnn's
 * ReLU reads. */
START_TEST(test_resnet_dgn_own_gates) {
  dlgn_device **devs;
  int ndev;
  ck_assert_ok(test_open_all_devices(&devs, &ndev));
  enum { NI = 4 };
  for (int d = 0; d < ndev; d++)
    for (int bn = 0; bn < 2; bn++) {
      dlgn_device *dev = devs[d];
      dlgn_model_config cfg;
      dlgn_model_config_default(&cfg);
      cfg.cls = DLGN_DNN;
      cfg.arch = DLGN_RESNET;
      cfg.depth = 14;
      cfg.width = 3;
      cfg.batchnorm = bn;
      cfg.value_input = DLGN_VALUE_IMAGE;
      dlgn_model *dnn, *dgn;
      ck_assert_ok(dlgn_model_create(&dnn, dev, &cfg, NI, 5));
      cfg.cls = DLGN_DGN;
      ck_assert_ok(dlgn_model_create(&dgn, dev, &cfg, NI, 6));
      float *p = malloc(dnn->nparams * sizeof *p), *q = malloc(dgn->nparams * sizeof *q);
      ck_assert(p && q);
      ck_assert_ok(ocl_buffer_read(dev, dnn->params, 0, dnn->nparams * sizeof *p, p, "params"));
      size_t fe = dnn->feat.end, heads = dnn->nparams - fe;
      ck_assert_uint_eq(dgn->value.end - dgn->value.begin, fe);
      memcpy(q, p, fe * sizeof *q);
      memcpy(q + dgn->value.begin, p, fe * sizeof *q);
      memcpy(q + dgn->value.end, p + fe, heads * sizeof *q);
      ck_assert_ok(ocl_buffer_write(dev, dgn->params, 0, dgn->nparams * sizeof *q, q, "params"));
      dlgn_rng r;
      dlgn_rng_seed(&r, 8);
      unsigned char img[NI * 3072];
      for (int i = 0; i < NI * 3072; i++) img[i] = (unsigned char)dlgn_rng_below(&r, 256);
      cl_mem x8;
      ck_assert_ok(ocl_buffer_create(dev, sizeof img, "images", &x8));
      ck_assert_ok(ocl_buffer_write(dev, x8, 0, sizeof img, img, "images"));
      const float mean3[3] = {0.5f, 0.5f, 0.5f}, std3[3] = {0.25f, 0.25f, 0.25f};
      float la[NI * 10], lb[NI * 10];
      dlgn_model *ms[2] = {dnn, dgn};
      float *out[2] = {la, lb};
      for (int k = 0; k < 2; k++) {
        ck_assert_ok(nn_model_load_images(ms[k], x8, 0, NULL, 0, NI, mean3, std3));
        ck_assert_ok(nn_model_forward(ms[k], NI, DLGN_GATE_HARD, true));
        ck_assert_ok(ocl_buffer_read(dev, ms[k]->logits, 0, sizeof la, out[k], "logits"));
      }
      for (int i = 0; i < NI * 10; i++)
        ck_assert_msg(fabsf(la[i] - lb[i]) <= 1e-5f * (1 + fabsf(la[i])),
                      "resnet bn %d on '%s': dnn logit %d is %g, dgn with its gates %g", bn,
                      dev->info.name, i, la[i], lb[i]);
      free(p);
      free(q);
      ocl_buffer_release(&x8);
      dlgn_model_destroy(dnn);
      dlgn_model_destroy(dgn);
    }
  test_close_all_devices(devs, ndev);
}
END_TEST

Suite *make_suite(void) {
  Suite *s = suite_create("model gradients with shuffled gates");
  TCase *tc = tcase_create("finite differences");
  tcase_set_timeout(tc, 900); /* minutes on Mesa's llvmpipe, a few seconds on PoCL */
  tcase_add_test(tc, test_shuffled_gates_gradients);
  tcase_add_test(tc, test_resnet_gradients);
  tcase_add_test(tc, test_resnet_dgn_own_gates);
  suite_add_tcase(s, tc);
  return s;
}

/* The neural path kernel on a case small enough to write out by hand, and
 * the ensemble structure of a residual network's kernel: the sum over the
 * sub-networks that take or skip each block, checked path by path on a tiny
 * layout and on the gates of a ResNet-8 dgn. The hand case:
 * 3 images, 2 layers of 2 gates each,
 *   layer 1 gates: image 0 (1,0), image 1 (1,1), image 2 (0,1)
 *   layer 2 gates: image 0 (1,1), image 1 (0,1), image 2 (1,0)
 * Lambda_1 = G1 G1^T / 2 = [1/2 1/2 0; 1/2 1 1/2; 0 1/2 1/2]
 * Lambda_2 = G2 G2^T / 2 = [1 1/2 1/2; 1/2 1/2 0; 1/2 0 1/2]
 * K = Lambda_1 * Lambda_2 = [1/2 1/4 0; 1/4 1/2 0; 0 0 1/4].
 * Labels (0, 0, 1): the cosine-normalised K is 1/2 within class (images 0
 * and 1) and 0 across; with the centred one-hot Y, YY^T = [2 2 -4; 2 2 -4;
 * -4 -4 8] / 9, so <K, YY^T> = 5/9, ||K|| = sqrt(11/16), ||YY^T|| = 4/3 and
 * the alignment is 5 / (3 sqrt(11)). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dlgn/explain.h"
#include "dlgn/rng.h"
#include "dlgn/status.h"
#include "nn/model_internal.h"
#include "testutil.h"

static const double WANT_K[9] = {0.5, 0.25, 0, 0.25, 0.5, 0, 0, 0, 0.25};

/* q of a batch of 3 in the dense device layout (N, C): +1 for on, -1 for off */
static const float Q1[6] = {1, -1, 1, 1, -1, 1};
static const float Q2[6] = {1, 1, -1, 1, 1, -1};

static void check_kernel(const dlgn_gate_bits *g, const double *xx, const double *want) {
  double l1[9], l2[9], K[9];
  double *lambda[2] = {l1, l2};
  ck_assert_ok(dlgn_npk_compute(g, xx, lambda, K));
  static const double W1[9] = {0.5, 0.5, 0, 0.5, 1, 0.5, 0, 0.5, 0.5};
  static const double W2[9] = {1, 0.5, 0.5, 0.5, 0.5, 0, 0.5, 0, 0.5};
  for (int k = 0; k < 9; k++) {
    ck_assert_double_eq_tol(l1[k], W1[k], 1e-15);
    ck_assert_double_eq_tol(l2[k], W2[k], 1e-15);
    ck_assert_double_eq_tol(K[k], want[k], 1e-15);
  }
}

START_TEST(test_npk_by_hand) {
  dlgn_gate_bits g;
  size_t units[2] = {2, 2};
  ck_assert_ok(dlgn_gate_bits_create(&g, 2, units, 3));
  for (int i = 0; i < 3; i++) {
    dlgn_gate_bits_set(&g, 0, (size_t)i, Q1, 3, i, 2, 0);
    dlgn_gate_bits_set(&g, 1, (size_t)i, Q2, 3, i, 2, 0);
  }
  check_kernel(&g, NULL, WANT_K);

  /* with the image factor: K = XX * Lambda_1 * Lambda_2 */
  double xx[9] = {2, 1, 3, 1, 4, 5, 3, 5, 6}, want[9];
  for (int k = 0; k < 9; k++) want[k] = xx[k] * WANT_K[k];
  check_kernel(&g, xx, want);

  int labels[3] = {0, 0, 1};
  dlgn_kernel_summary s;
  dlgn_kernel_summarize(WANT_K, 3, labels, 2, &s);
  ck_assert_double_eq_tol(s.within, 0.5, 1e-15);
  ck_assert_double_eq_tol(s.across, 0.0, 1e-15);
  ck_assert_double_eq_tol(s.alignment, 5.0 / (3.0 * sqrt(11.0)), 1e-14);
  dlgn_gate_bits_free(&g);
}
END_TEST

/* The same gates as a conv layer (C, N, h, w) with 1 channel at 2 positions
 * and with 2 channels at 1 position give the same overlaps; and more than
 * 64 gates per image cross word boundaries. */
START_TEST(test_npk_conv_layout) {
  dlgn_gate_bits g;
  size_t units[2] = {2, 2};
  ck_assert_ok(dlgn_gate_bits_create(&g, 2, units, 3));
  /* (C=1, N=3, hw=2): q[(0*3 + j)*2 + p] = dense q[j*2 + p] */
  for (int i = 0; i < 3; i++) {
    dlgn_gate_bits_set(&g, 0, (size_t)i, Q1, 3, i, 1, 2);
    dlgn_gate_bits_set(&g, 1, (size_t)i, Q2, 3, i, 1, 2);
  }
  check_kernel(&g, NULL, WANT_K);
  dlgn_gate_bits_free(&g);

  /* 2 images, 200 gates: image 0 has gates 0..149 on, image 1 gates 100..199 */
  enum { U = 200 };
  float *q = malloc(2 * U * sizeof *q);
  for (int u = 0; u < U; u++) {
    q[u] = u < 150 ? 1.0f : -1.0f;
    q[U + u] = u >= 100 ? 1.0f : -1.0f;
  }
  size_t big[1] = {U};
  ck_assert_ok(dlgn_gate_bits_create(&g, 1, big, 2));
  for (int i = 0; i < 2; i++) dlgn_gate_bits_set(&g, 0, (size_t)i, q, 2, i, U, 0);
  double lam[4], K[4];
  double *lp[1] = {lam};
  ck_assert_ok(dlgn_npk_compute(&g, NULL, lp, K));
  ck_assert_double_eq_tol(lam[0], 150.0 / U, 1e-15);
  ck_assert_double_eq_tol(lam[1], 50.0 / U, 1e-15);
  ck_assert_double_eq_tol(lam[3], 100.0 / U, 1e-15);
  dlgn_gate_bits_free(&g);
  free(q);
}
END_TEST

/* ---- the ensemble structure of a residual network's kernel ---- */

enum { RB = 3, RL = 1 + 2 * RB, RN = 4 }; /* blocks, layers (stem + 2 per block), images */

/* The layers of the sub-network that takes the blocks in mask: the stem, and
 * per block its first layer (taken only) and its output layer (always: the
 * shortcut joins there). */
static int subnet_layers(unsigned mask, int *layers) {
  int k = 0;
  layers[k++] = 0;
  for (int b = 0; b < RB; b++) {
    if (mask & (1u << b)) layers[k++] = 1 + 2 * b;
    layers[k++] = 2 + 2 * b;
  }
  return k;
}

static bool gate_on(const dlgn_gate_bits *g, int l, size_t i, size_t u) {
  return (g->bits[l][i * g->words[l] + u / 64] >> (u % 64)) & 1;
}

/* Paths of the chain layers[0..k-1] from depth d on, one unit per layer:
 * how many are on (every gate on) for both images i and j. */
static double count_paths(const dlgn_gate_bits *g, const int *layers, int k, int d, size_t i,
                          size_t j) {
  if (d == k) return 1;
  int l = layers[d];
  double c = 0;
  for (size_t u = 0; u < g->units[l]; u++)
    if (gate_on(g, l, i, u) && gate_on(g, l, j, u)) c += count_paths(g, layers, k, d + 1, i, j);
  return c;
}

/* The sub-network's layers as gate bits of their own (sharing g's bits). */
static dlgn_gate_bits subnet_bits(const dlgn_gate_bits *g, const int *layers, int k) {
  dlgn_gate_bits s;
  memset(&s, 0, sizeof s);
  s.nlayers = k;
  s.n = g->n;
  for (int d = 0; d < k; d++) {
    s.units[d] = g->units[layers[d]];
    s.words[d] = g->words[layers[d]];
    s.bits[d] = g->bits[layers[d]];
  }
  return s;
}

/* K of the residual network against the sum over the 2^RB sub-networks of
 * their kernels (dlgn_npk_compute on each sub-network's layers); with
 * enumerate, each sub-network's kernel is also counted path by path. */
static void check_ensemble(const dlgn_gate_bits *g, const double *xx, const bool *skippable,
                           bool enumerate) {
  size_t n = g->n;
  double *lam[RL], *K = calloc(n * n, sizeof *K), *sum = calloc(n * n, sizeof *sum);
  double *KJ = calloc(n * n, sizeof *KJ), *sublam[RL];
  for (int l = 0; l < RL; l++) {
    lam[l] = calloc(n * n, sizeof(double));
    sublam[l] = calloc(n * n, sizeof(double));
  }
  ck_assert_ok(dlgn_npk_compute_residual(g, xx, skippable, lam, K));
  for (unsigned mask = 0; mask < 1u << RB; mask++) {
    int layers[RL];
    int k = subnet_layers(mask, layers);
    dlgn_gate_bits s = subnet_bits(g, layers, k);
    ck_assert_ok(dlgn_npk_compute(&s, xx, sublam, KJ));
    for (size_t p = 0; p < n * n; p++) sum[p] += KJ[p];
    if (!enumerate) continue;
    double paths = 1;
    for (int d = 0; d < k; d++) paths *= (double)g->units[layers[d]];
    for (size_t i = 0; i < n; i++)
      for (size_t j = 0; j < n; j++) {
        double want = (xx ? xx[i * n + j] : 1.0) * count_paths(g, layers, k, 0, i, j) / paths;
        ck_assert_msg(fabs(KJ[i * n + j] - want) <= 1e-14 * (1 + fabs(want)),
                      "sub-network %u, images %zu %zu: kernel %.17g, paths counted %.17g", mask,
                      i, j, KJ[i * n + j], want);
      }
  }
  for (size_t p = 0; p < n * n; p++)
    ck_assert_msg(fabs(K[p] - sum[p]) <= 1e-12 * (1 + fabs(sum[p])),
                  "pair %zu: residual kernel %.17g, sum over the sub-networks %.17g", p, K[p],
                  sum[p]);
  for (int l = 0; l < RL; l++) free(lam[l]), free(sublam[l]);
  free(K), free(sum), free(KJ);
}

/* Random gates of a tiny residual network (a few units per layer), every
 * path enumerated. */
START_TEST(test_npk_residual_enumerated) {
  static const size_t units[RL] = {2, 3, 2, 2, 3, 2, 3};
  dlgn_gate_bits g;
  ck_assert_ok(dlgn_gate_bits_create(&g, RL, units, RN));
  dlgn_rng r;
  dlgn_rng_seed(&r, 17);
  for (int l = 0; l < RL; l++)
    for (size_t i = 0; i < RN; i++) {
      float q[3];
      for (size_t u = 0; u < units[l]; u++) q[u] = dlgn_rng_below(&r, 4) ? 1.0f : -1.0f;
      dlgn_gate_bits_set(&g, l, i, q, 1, 0, (int)units[l], 0);
    }
  bool skippable[RL] = {false};
  for (int b = 0; b < RB; b++) skippable[1 + 2 * b] = true;
  check_ensemble(&g, NULL, skippable, true);
  double xx[RN * RN];
  for (int i = 0; i < RN; i++)
    for (int j = 0; j <= i; j++) xx[i * RN + j] = xx[j * RN + i] = 0.5 + dlgn_rng_uniform(&r);
  check_ensemble(&g, xx, skippable, true);
  /* the plain product (no block skipped) is one term of the sum, not all */
  double *lam[RL], K[RN * RN], Kres[RN * RN];
  for (int l = 0; l < RL; l++) lam[l] = calloc(RN * RN, sizeof(double));
  ck_assert_ok(dlgn_npk_compute(&g, xx, lam, K));
  ck_assert_ok(dlgn_npk_compute_residual(&g, xx, skippable, lam, Kres));
  int larger = 0;
  for (int p = 0; p < RN * RN; p++) {
    ck_assert(Kres[p] >= K[p]);
    larger += Kres[p] > K[p];
  }
  ck_assert_int_gt(larger, 0);
  for (int l = 0; l < RL; l++) free(lam[l]);
  dlgn_gate_bits_free(&g);
}
END_TEST

/* The gates of a ResNet-8 dgn (a block per stage, strided shortcuts) on the
 * device: the blocks are found in the model, and its kernel is the sum over
 * the 8 sub-networks. */
START_TEST(test_npk_residual_dgn) {
  dlgn_device **devs;
  int ndev;
  ck_assert_ok(test_open_all_devices(&devs, &ndev));
  for (int d = 0; d < ndev; d++) {
    dlgn_model_config cfg;
    dlgn_model_config_default(&cfg);
    cfg.cls = DLGN_DGN;
    cfg.arch = DLGN_RESNET;
    cfg.depth = 8;
    cfg.width = 1;
    cfg.value_input = DLGN_VALUE_IMAGE;
    enum { NI = 5 };
    dlgn_model *m;
    ck_assert_ok(dlgn_model_create(&m, devs[d], &cfg, NI, 9));
    ck_assert_int_eq(m->feat.nlayers, RL);
    bool skippable[DLGN_MAX_LAYERS];
    int first[DLGN_MAX_LAYERS], out[DLGN_MAX_LAYERS];
    ck_assert_int_eq(dlgn_npk_residual_blocks(m, skippable, first, out), RB);
    for (int b = 0; b < RB; b++) {
      ck_assert_int_eq(first[b], 1 + 2 * b);
      ck_assert_int_eq(out[b], 2 + 2 * b);
    }
    unsigned char img[NI * 3072];
    dlgn_rng r;
    dlgn_rng_seed(&r, 4);
    for (size_t i = 0; i < sizeof img; i++) img[i] = (unsigned char)dlgn_rng_below(&r, 256);
    cl_mem x8;
    ck_assert_ok(ocl_buffer_create(devs[d], sizeof img, "images", &x8));
    ck_assert_ok(ocl_buffer_write(devs[d], x8, 0, sizeof img, img, "images"));
    const float mean3[3] = {0.5f, 0.5f, 0.5f}, std3[3] = {0.25f, 0.25f, 0.25f};
    ck_assert_ok(nn_model_load_images(m, x8, 0, NULL, 0, NI, mean3, std3));
    ck_assert_ok(nn_model_forward_features(m, NI));
    size_t units[RL];
    for (int l = 0; l < RL; l++) units[l] = nn_layer_units(&m->feat.layers[l]);
    dlgn_gate_bits g;
    ck_assert_ok(dlgn_gate_bits_create(&g, RL, units, NI));
    for (int l = 0; l < RL; l++) {
      const nn_layer *L = &m->feat.layers[l];
      float *q = malloc(units[l] * NI * sizeof *q);
      ck_assert_ok(ocl_buffer_read(devs[d], nn_model_gate_preact(m, l), 0,
                                   units[l] * NI * sizeof *q, q, "q"));
      for (int i = 0; i < NI; i++)
        dlgn_gate_bits_set(&g, l, (size_t)i, q, NI, i, L->out_c, L->h * L->w);
      free(q);
    }
    check_ensemble(&g, NULL, skippable, false);
    dlgn_gate_bits_free(&g);
    ocl_buffer_release(&x8);
    dlgn_model_destroy(m);
  }
  test_close_all_devices(devs, ndev);
}
END_TEST

Suite *make_suite(void) {
  Suite *s = suite_create("explain_npk");
  TCase *tc = tcase_create("npk");
  tcase_add_test(tc, test_npk_by_hand);
  tcase_add_test(tc, test_npk_conv_layout);
  tcase_add_test(tc, test_npk_residual_enumerated);
  tcase_add_test(tc, test_npk_residual_dgn);
  suite_add_tcase(s, tc);
  return s;
}

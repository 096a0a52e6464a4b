/* The neural path kernel on a case small enough to write out by hand:
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

#include "dlgn/explain.h"
#include "dlgn/status.h"
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

Suite *make_suite(void) {
  Suite *s = suite_create("explain_npk");
  TCase *tc = tcase_create("npk");
  tcase_add_test(tc, test_npk_by_hand);
  tcase_add_test(tc, test_npk_conv_layout);
  suite_add_tcase(s, tc);
  return s;
}

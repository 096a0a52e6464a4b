/* The real CIFAR-10 archive, when it is beside the project: counts, labels,
 * md5s, class names and channel statistics. Loaded once, before Check forks
 * the tests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlgn/data.h"
#include "dlgn/status.h"
#include "testutil.h"

static dlgn_dataset real;
static int real_rc = -1;
static char real_error[DLGN_ERROR_MAX];

const char *suite_skip_reason(void) {
  return test_real_cifar10()
             ? NULL
             : "no real CIFAR-10 archive (../shared/datasets/cifar-10-binary.tar.gz "
               "or $DLGN_REAL_CIFAR10)";
}

static void load_real(void) {
  real_rc = dlgn_dataset_load(&real, test_real_cifar10(), NULL);
  if (real_rc != 0) snprintf(real_error, sizeof real_error, "%s", dlgn_error());
}

static void free_real(void) { dlgn_dataset_free(&real); }

#define REQUIRE_LOADED() ck_assert_msg(real_rc == 0, "loading failed: %s", real_error)

START_TEST(real_counts) {
  REQUIRE_LOADED();
  ck_assert_int_eq(real.kind, DLGN_CIFAR10);
  ck_assert_int_eq(real.num_classes, 10);
  ck_assert_uint_eq(real.train.n, 50000);
  ck_assert_uint_eq(real.test.n, 10000);
  ck_assert_ptr_null(real.train.coarse);
  size_t hist[2][10] = {{0}};
  for (size_t i = 0; i < real.train.n; i++) hist[0][real.train.labels[i]]++;
  for (size_t i = 0; i < real.test.n; i++) hist[1][real.test.labels[i]]++;
  for (int c = 0; c < 10; c++) {
    ck_assert_uint_eq(hist[0][c], 5000);
    ck_assert_uint_eq(hist[1][c], 1000);
  }
}
END_TEST

START_TEST(real_first_labels) {
  REQUIRE_LOADED();
  const uint8_t train[5] = {6, 9, 9, 4, 1}, test[10] = {3, 8, 8, 0, 6, 6, 1, 6, 3, 1};
  for (int i = 0; i < 5; i++) ck_assert_uint_eq(real.train.labels[i], train[i]);
  for (int i = 0; i < 10; i++) ck_assert_uint_eq(real.test.labels[i], test[i]);
}
END_TEST

START_TEST(real_member_md5s) {
  REQUIRE_LOADED();
  static const char *const want[6][2] = {
      {"data_batch_1.bin", "5dd7e06a14cb22eb9f671a540d1b7c25"},
      {"data_batch_2.bin", "5ea93a67294ea407fff1d09f752e9692"},
      {"data_batch_3.bin", "942cd6a4bcdd0dd3c604fbe906cb4421"},
      {"data_batch_4.bin", "ae636b3ba5c66a11e91e8cb52e771fcb"},
      {"data_batch_5.bin", "53f37980c15c3d472c316c40844f3f0d"},
      {"test_batch.bin", "803d5f7f4d78ea53de84dbe85f74fb6d"},
  };
  ck_assert_int_eq(real.nmembers, 6);
  for (int i = 0; i < 6; i++) {
    ck_assert_str_eq(real.members[i].name, want[i][0]);
    ck_assert_str_eq(real.members[i].md5, want[i][1]);
    ck_assert_int_eq(real.members[i].official, 1);
    ck_assert_uint_eq(real.members[i].records, 10000);
  }
}
END_TEST

START_TEST(real_names_and_stats) {
  REQUIRE_LOADED();
  ck_assert(real.names_from_meta);
  ck_assert_str_eq(real.class_names[0], "airplane");
  ck_assert_str_eq(real.class_names[3], "cat");
  ck_assert_str_eq(real.class_names[9], "truck");
  /* The widely quoted CIFAR-10 training-set statistics. */
  float mean[3], std[3];
  dlgn_split_channel_stats(&real.train, mean, std);
  const float want_mean[3] = {0.4914f, 0.4822f, 0.4465f}, want_std[3] = {0.2470f, 0.2435f, 0.2616f};
  for (int c = 0; c < 3; c++) {
    ck_assert_float_eq_tol(mean[c], want_mean[c], 2e-4f);
    ck_assert_float_eq_tol(std[c], want_std[c], 2e-4f);
  }
}
END_TEST

Suite *make_suite(void) {
  Suite *s = suite_create("data_real");
  TCase *tc = tcase_create("cifar10");
  tcase_add_unchecked_fixture(tc, load_real, free_real);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, real_counts);
  tcase_add_test(tc, real_first_labels);
  tcase_add_test(tc, real_member_md5s);
  tcase_add_test(tc, real_names_and_stats);
  suite_add_tcase(s, tc);
  return s;
}

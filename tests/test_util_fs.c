/* Whole-file reads are bounded: a file past its kind's cap (or a device that
 * never ends) is an error naming the file and the cap, never a read until
 * memory runs out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlgn/status.h"
#include "dlgn/util.h"
#include "testutil.h"

static char dir[256];

static void setup(void) { test_tmpdir(dir, sizeof dir); }
static void teardown(void) { test_rmtree(dir); }

static void write_bytes(const char *path, size_t n) {
  char *p = malloc(n + 1);
  ck_assert_ptr_nonnull(p);
  memset(p, 'x', n);
  ck_assert_ok(dlgn_write_file_atomic(path, p, n));
  free(p);
}

START_TEST(read_up_to_the_cap) {
  char path[512];
  snprintf(path, sizeof path, "%s/f.json", dir);
  /* Sizes around the first buffer (64 KiB) and at the cap exactly. */
  const size_t sizes[] = {0, 1, 65534, 65535, 65536, 65537, 200000};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    write_bytes(path, sizes[i]);
    char *text;
    size_t len;
    ck_assert_ok(dlgn_read_file(path, "test file", sizes[i], &text, &len));
    ck_assert_uint_eq(len, sizes[i]);
    ck_assert_uint_eq(strlen(text), sizes[i]);
    free(text);
  }
}
END_TEST

START_TEST(past_the_cap) {
  char path[512];
  snprintf(path, sizeof path, "%s/big.json", dir);
  const size_t sizes[] = {1, 65536, 200001};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    write_bytes(path, sizes[i]);
    char *text = (char *)1;
    size_t len = 7;
    dlgn_error_clear();
    ck_assert_int_eq(dlgn_read_file(path, "sweep file", sizes[i] - 1, &text, &len), -1);
    ck_assert_ptr_null(text);
    ck_assert_uint_eq(len, 0);
    char want[64];
    snprintf(want, sizeof want, "larger than %zu bytes", sizes[i] - 1);
    ck_assert_msg(strstr(dlgn_error(), path) && strstr(dlgn_error(), want) &&
                      strstr(dlgn_error(), "sweep file"),
                  "%s", dlgn_error());
  }
}
END_TEST

/* A device without end stops at the cap (the caps of every kind). */
START_TEST(endless_device) {
  const size_t caps[] = {DLGN_MAX_JSON_BYTES, DLGN_MAX_METRICS_BYTES, DLGN_MAX_SWEEP_BYTES,
                         DLGN_MAX_TUNING_BYTES};
  for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
    char *text;
    dlgn_error_clear();
    ck_assert_int_eq(dlgn_read_file("/dev/zero", "run file", caps[i], &text, NULL), -1);
    ck_assert_msg(strstr(dlgn_error(), "/dev/zero") && strstr(dlgn_error(), "larger than"), "%s",
                  dlgn_error());
  }
}
END_TEST

START_TEST(missing_file) {
  char *text;
  dlgn_error_clear();
  ck_assert_int_eq(
      dlgn_read_file("/nonexistent/config.json", "run configuration", 100, &text, NULL), -1);
  ck_assert_msg(strstr(dlgn_error(), "run configuration /nonexistent/config.json"), "%s",
                dlgn_error());
}
END_TEST

Suite *make_suite(void) {
  Suite *s = suite_create("util_fs");
  TCase *tc = tcase_create("read_file");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, read_up_to_the_cap);
  tcase_add_test(tc, past_the_cap);
  tcase_add_test(tc, endless_device);
  tcase_add_test(tc, missing_file);
  suite_add_tcase(s, tc);
  return s;
}

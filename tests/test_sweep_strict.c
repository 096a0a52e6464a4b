/* Sweep files are parsed strictly, and each error says what is wrong and
 * where: trailing commas, duplicate keys, empty and truncated files, numbers
 * out of range; a very large grid gets a note, one past the cap an error
 * naming the file. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlgn/status.h"
#include "dlgn/sweep.h"
#include "testutil.h"

static void expect_error(const char *json, const char *part) {
  dlgn_sweep_plan p;
  dlgn_error_clear();
  ck_assert_msg(dlgn_sweep_plan_parse(&p, json, "s.json", "out") == -1, "accepted: %s", json);
  ck_assert_msg(strstr(dlgn_error(), "s.json") && strstr(dlgn_error(), part),
                "message lacks '%s': %s", part, dlgn_error());
  ck_assert_ptr_null(p.runs);
}

#define RUNS "\"runs\": [{\"arch\": \"fc\", \"depth\": 1, \"width\": 4}]"

START_TEST(strict_json) {
  /* the same file without its flaw is accepted */
  dlgn_sweep_plan p;
  ck_assert_ok(dlgn_sweep_plan_parse(&p, "{\"name\": \"x\", " RUNS "}", "s.json", "out"));
  ck_assert_int_eq(p.nruns, 1);
  dlgn_sweep_plan_free(&p);
  expect_error("{\"name\": \"x\", " RUNS ",}", "not valid JSON near line 1");
  expect_error("{\"name\": \"x\",\n \"runs\": [{\"arch\": \"fc\", \"depth\": 1,}]}", "line 2");
  expect_error("{'name': 'x', " RUNS "}", "not valid JSON");
  expect_error("{\"name\": \"x\", " RUNS "} {}", "not valid JSON near line 1");
}
END_TEST

START_TEST(duplicate_keys) {
  expect_error("{\"name\": \"x\",\n \"name\": \"y\", " RUNS "}",
               "line 2: key \"name\" appears twice in one object");
  expect_error("{\"name\": \"x\", \"defaults\": {\"lr\": 0.1,\n\n \"lr\": 0.01}, " RUNS "}",
               "line 3: key \"lr\" appears twice");
  expect_error("{\"runs\": [{\"arch\": \"fc\", \"depth\": 1, \"width\": 4, \"depth\": 2}]}",
               "key \"depth\" appears twice");
  /* equal keys in different objects are fine */
  dlgn_sweep_plan p;
  ck_assert_ok(dlgn_sweep_plan_parse(
      &p,
      "{\"defaults\": {\"depth\": 1}, \"runs\": [{\"arch\": \"fc\", \"depth\": 1, \"width\": 4}]}",
      "s.json", "out"));
  dlgn_sweep_plan_free(&p);
}
END_TEST

START_TEST(empty_and_truncated) {
  expect_error("", "the file is empty");
  expect_error(" \n\t\n", "the file is empty");
  expect_error("{\"name\": \"x\",\n \"runs\": [", "ends at line 2 before its object is closed");
  expect_error("{", "a truncated file?");
}
END_TEST

START_TEST(numbers_out_of_range) {
  expect_error("{\"defaults\": {\"epochs\": 1e23}, " RUNS "}",
               "\"epochs\" must be an integer in 1..100000 (got 1e23)");
  expect_error("{\"defaults\": {\"batch\": 2.5}, " RUNS "}", "\"batch\" must be an integer");
  expect_error("{\"defaults\": {\"seed\": -1}, " RUNS "}", "\"seed\" must be an integer in 0..");
  expect_error("{\"defaults\": {\"beta\": 1e300}, " RUNS "}", "\"beta\" must be a number in (0, 1e+06] (got 1e300)");
}
END_TEST

/* A grid of n x 100 runs over seeds and widths. */
static char *big_grid(int n) {
  size_t cap = 20 * (size_t)n + 2000;
  char *s = malloc(cap);
  size_t at = (size_t)snprintf(s, cap,
                               "{\"defaults\": {\"arch\": \"fc\", \"depth\": 1, \"epochs\": 1}, "
                               "\"grid\": {\"width\": [");
  for (int w = 1; w <= 100; w++)
    at += (size_t)snprintf(s + at, cap - at, "%s%d", w > 1 ? "," : "", w);
  at += (size_t)snprintf(s + at, cap - at, "], \"seed\": [");
  for (int i = 0; i < n; i++) at += (size_t)snprintf(s + at, cap - at, "%s%d", i ? "," : "", i);
  snprintf(s + at, cap - at, "]}}");
  return s;
}

START_TEST(large_grids) {
  /* just past the note's threshold (1000), which a 10000-run grid passed
   * without a word */
  char *s = big_grid(11);
  dlgn_sweep_plan p;
  ck_assert_ok(dlgn_sweep_plan_parse(&p, s, "s.json", "out"));
  ck_assert_int_eq(p.nruns, 1100);
  int noted = 0;
  for (int i = 0; i < p.nnotes; i++)
    noted += strstr(p.notes[i], "s.json expands to 1100 runs") != NULL;
  ck_assert_int_eq(noted, 1);
  dlgn_sweep_plan_free(&p);
  free(s);
  s = big_grid(201);
  expect_error(s, "expands to more than 20000 runs");
  free(s);
}
END_TEST

Suite *make_suite(void) {
  Suite *s = suite_create("sweep_strict");
  TCase *tc = tcase_create("strict");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, strict_json);
  tcase_add_test(tc, duplicate_keys);
  tcase_add_test(tc, empty_and_truncated);
  tcase_add_test(tc, numbers_out_of_range);
  tcase_add_test(tc, large_grids);
  suite_add_tcase(s, tc);
  return s;
}

/* Sweep files without a device: grid expansion, skipped combinations,
 * fixed-learnt wiring and order, stable names, errors, job lines. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlgn/status.h"
#include "dlgn/sweep.h"
#include "testutil.h"

static const char *GRID =
    "{\"name\": \"t\", \"defaults\": {\"arch\": \"fc\", \"depth\": 2, \"width\": 8, \"epochs\": 1},"
    " \"grid\": {\"class\": [\"dnn\", \"dgn\", \"dlgn\"], \"mode\": [\"joint\", \"fixed-learnt\"],"
    "            \"value_input\": [\"image\", \"ones\"]}}";

static int find(const dlgn_sweep_plan *p, const char *cls, const char *mode, const char *value) {
  for (int i = 0; i < p->nruns; i++) {
    const dlgn_model_config *m = &p->runs[i].cfg.model;
    if (!strcmp(dlgn_class_name(m->cls), cls) && !strcmp(dlgn_mode_name(m->mode), mode) &&
        !strcmp(dlgn_value_input_name(m->value_input), value))
      return i;
  }
  return -1;
}

static int count_notes(const dlgn_sweep_plan *p, const char *needle) {
  int n = 0;
  for (int i = 0; i < p->nnotes; i++) n += strstr(p->notes[i], needle) != NULL;
  return n;
}

START_TEST(grid_expands_and_skips) {
  dlgn_sweep_plan p;
  ck_assert_ok(dlgn_sweep_plan_parse(&p, GRID, "grid.json", "out"));
  /* 3 classes x 2 modes x 2 inputs = 12; the dnn keeps only joint + image */
  ck_assert_int_eq(p.nruns, 9);
  ck_assert_int_eq(p.nnotes, 3);
  ck_assert_int_eq(count_notes(&p, "class=dnn"), 3);
  ck_assert_int_eq(count_notes(&p, "a dnn"), 3);
  ck_assert_str_eq(p.name, "t");
  /* the last grid key varies fastest: dgn joint image, then dgn joint ones */
  ck_assert_int_lt(find(&p, "dgn", "joint", "image"), find(&p, "dgn", "joint", "ones"));
  for (int i = 0; i < p.nruns; i++) {
    ck_assert_int_eq(p.runs[i].cfg.model.depth, 2);
    ck_assert_int_eq(p.runs[i].cfg.epochs, 1);
  }
  dlgn_sweep_plan_free(&p);
}
END_TEST

START_TEST(fixed_learnt_wiring_and_order) {
  dlgn_sweep_plan p;
  ck_assert_ok(dlgn_sweep_plan_parse(&p, GRID, "grid.json", "out"));
  int dnn = find(&p, "dnn", "joint", "image");
  int dlgn_img = find(&p, "dlgn", "joint", "image"), dlgn_ones = find(&p, "dlgn", "joint", "ones");
  struct { const char *cls, *value; int want; } cases[] = {
      {"dgn", "image", dnn}, {"dgn", "ones", dnn}, /* a dnn's gates make a dgn */
      {"dlgn", "image", dlgn_img}, {"dlgn", "ones", dlgn_ones}};
  for (size_t k = 0; k < 4; k++) {
    int i = find(&p, cases[k].cls, "fixed-learnt", cases[k].value);
    ck_assert_int_ge(i, 0);
    const dlgn_sweep_run *r = &p.runs[i];
    ck_assert_int_eq(r->source, cases[k].want);
    ck_assert_int_lt(r->source, i); /* sources train first */
    ck_assert_int_eq(dlgn_sweep_run_wave(r), 2);
    char want[1200];
    snprintf(want, sizeof want, "out/runs/%s/checkpoint.bin", p.runs[r->source].name);
    ck_assert_str_eq(r->cfg.gates_from, want);
  }
  /* wave 1 entirely before wave 2 */
  for (int i = 1; i < p.nruns; i++)
    ck_assert_int_le(dlgn_sweep_run_wave(&p.runs[i - 1]), dlgn_sweep_run_wave(&p.runs[i]));
  dlgn_sweep_plan_free(&p);
}
END_TEST

START_TEST(fixed_learnt_without_source) {
  const char *json =
      "{\"runs\": [{\"class\": \"dlgn\", \"mode\": \"fixed-learnt\"},"
      "            {\"class\": \"dlgn\", \"mode\": \"fixed-learnt\", \"gates_from\": \"x/checkpoint.bin\"},"
      "            {\"class\": \"dlgn\", \"mode\": \"joint\", \"seed\": 7}]}";
  dlgn_sweep_plan p;
  ck_assert_ok(dlgn_sweep_plan_parse(&p, json, "dir/own.json", "o"));
  ck_assert_str_eq(p.name, "own");
  ck_assert_int_eq(p.nruns, 2); /* a joint run of another seed is no source */
  ck_assert_int_eq(count_notes(&p, "runs[0]"), 1);
  ck_assert_int_eq(count_notes(&p, "gates_from"), 1);
  ck_assert_str_eq(p.runs[0].cfg.gates_from, "x/checkpoint.bin");
  ck_assert_int_eq(dlgn_sweep_run_wave(&p.runs[0]), 1);
  dlgn_sweep_plan_free(&p);
}
END_TEST

START_TEST(names_are_stable) {
  dlgn_sweep_plan a, b, c;
  ck_assert_ok(dlgn_sweep_plan_parse(&a, GRID, "grid.json", "out"));
  /* the same runs given the other way round, with one more: same names */
  const char *runs =
      "{\"defaults\": {\"arch\": \"fc\", \"depth\": 2, \"width\": 8, \"epochs\": 1},"
      " \"runs\": [{\"class\": \"dlgn\", \"mode\": \"fixed-learnt\", \"value_input\": \"ones\"},"
      "          {\"class\": \"dlgn\", \"value_input\": \"ones\", \"seed\": 3},"
      "          {\"class\": \"dlgn\", \"value_input\": \"ones\"}]}";
  ck_assert_ok(dlgn_sweep_plan_parse(&b, runs, "runs.json", "elsewhere"));
  ck_assert_int_eq(b.nruns, 3);
  int ia = find(&a, "dlgn", "fixed-learnt", "ones"), ib = find(&b, "dlgn", "fixed-learnt", "ones");
  ck_assert_str_eq(a.runs[ia].name, b.runs[ib].name);
  ia = find(&a, "dlgn", "joint", "ones");
  ck_assert(strcmp(b.runs[0].name, a.runs[ia].name) == 0 || strcmp(b.runs[1].name, a.runs[ia].name) == 0);
  /* the seed and any other setting change the name; epochs do not (runs train on) */
  ck_assert_str_ne(b.runs[0].name, b.runs[1].name);
  ck_assert_ptr_nonnull(strstr(a.runs[ia].name, "dlgn-fc-d2-w8-joint-ones-s1-"));
  const char *longer =
      "{\"defaults\": {\"arch\": \"fc\", \"depth\": 2, \"width\": 8, \"epochs\": 9},"
      " \"runs\": [{\"class\": \"dlgn\", \"value_input\": \"ones\"}, "
      "          {\"class\": \"dlgn\", \"value_input\": \"ones\", \"lr\": 0.01}]}";
  ck_assert_ok(dlgn_sweep_plan_parse(&c, longer, "c.json", "out"));
  ck_assert_str_eq(c.runs[0].name, a.runs[ia].name);
  ck_assert_str_ne(c.runs[1].name, a.runs[ia].name);
  ck_assert_str_eq(c.runs[0].cfg.run.run_dir, a.runs[ia].cfg.run.run_dir);
  dlgn_sweep_plan_free(&a);
  dlgn_sweep_plan_free(&b);
  dlgn_sweep_plan_free(&c);
}
END_TEST

START_TEST(arch_defaults_and_duplicates) {
  const char *json =
      "{\"grid\": {\"arch\": [\"fc\", \"c4gap\"], \"class\": [\"dlgn\"]},"
      " \"runs\": [{\"arch\": \"c4gap\", \"class\": \"dlgn\"}, {\"arch\": \"c4gap\", \"width\": 32}]}";
  dlgn_sweep_plan p;
  ck_assert_ok(dlgn_sweep_plan_parse(&p, json, "d.json", "o"));
  ck_assert_int_eq(p.nruns, 3);
  ck_assert_int_eq(count_notes(&p, "the same run as grid combination (arch=c4gap, class=dlgn)"), 1);
  ck_assert_int_eq(p.runs[0].cfg.model.depth, 5);
  ck_assert_int_eq(p.runs[1].cfg.model.depth, 4);
  ck_assert_int_eq(p.runs[1].cfg.model.width, 128);
  ck_assert_int_eq(p.runs[2].cfg.model.width, 32);
  dlgn_sweep_plan_free(&p);
  /* the same settings with other epochs cannot share one folder */
  json = "{\"runs\": [{\"epochs\": 2}, {\"epochs\": 3}]}";
  ck_assert_int_eq(dlgn_sweep_plan_parse(&p, json, "e.json", "o"), -1);
  ck_assert_ptr_nonnull(strstr(dlgn_error(), "differ only in epochs"));
}
END_TEST

static void expect_error(const char *json, const char *needle);

START_TEST(bundles_and_grid_lists) {
  const char *json =
      "{\"grid\": [{\"recipe\": [{\"arch\": \"fc\", \"width\": 16, \"lr\": 0.01},"
      "                          {\"arch\": \"c4gap\", \"width\": 8}],"
      "             \"class\": [\"dnn\", \"dlgn\"]},"
      "            {\"recipe\": [{\"arch\": \"c4gap\", \"width\": 8}], \"class\": [\"dlgn\"],"
      "             \"mode\": [\"fixed-learnt\"], \"shuffle_gates\": [\"layers\"]}]}";
  dlgn_sweep_plan p;
  ck_assert_ok(dlgn_sweep_plan_parse(&p, json, "b.json", "o"));
  ck_assert_int_eq(p.nruns, 5);
  ck_assert_int_eq(p.nnotes, 0);
  for (int i = 0; i < 4; i++) {
    const dlgn_train_config *c = &p.runs[i].cfg;
    bool fc = c->model.arch == DLGN_FC;
    ck_assert_int_eq(c->model.width, fc ? 16 : 8);
    ck_assert_int_eq(c->model.depth, fc ? 5 : 4); /* depth still follows the arch */
    ck_assert_float_eq_tol(c->lr, fc ? 0.01f : 1e-3f, 1e-9f);
  }
  const dlgn_sweep_run *r = &p.runs[4];
  ck_assert_int_eq(r->cfg.model.shuffle, DLGN_SHUFFLE_LAYERS);
  ck_assert_int_ge(r->source, 0);
  const dlgn_model_config *src = &p.runs[r->source].cfg.model;
  ck_assert(src->cls == DLGN_DLGN && src->arch == DLGN_C4GAP && src->mode == DLGN_JOINT &&
            src->shuffle == DLGN_SHUFFLE_NONE);
  dlgn_sweep_plan_free(&p);
  expect_error("{\"grid\": [{\"r\": [{\"arch\": \"fc\"}, \"c4gap\"]}]}", "grid[0] \"r\"[1]");
  expect_error("{\"grid\": [{\"r\": [{\"arhc\": \"fc\"}]}]}", "arhc");
  expect_error("{\"grid\": [5]}", "grid[0] must be an object");
}
END_TEST

static void expect_error(const char *json, const char *needle) {
  dlgn_sweep_plan p;
  ck_assert_int_eq(dlgn_sweep_plan_parse(&p, json, "bad.json", "o"), -1);
  ck_assert_msg(strstr(dlgn_error(), needle) != NULL, "error '%s' lacks '%s'", dlgn_error(), needle);
  ck_assert_ptr_nonnull(strstr(dlgn_error(), "bad.json"));
}

START_TEST(errors_name_the_place) {
  expect_error("{\"grid\": {\"mode\": [\"joint\", \"fixed-lernt\"]}}", "grid \"mode\"[1]");
  expect_error("{\"grid\": {\"widht\": [8]}}", "widht");
  expect_error("{\"grid\": {\"width\": 8}}", "non-empty list");
  expect_error("{\"grid\": {\"width\": []}}", "non-empty list");
  expect_error("{\"defaults\": {\"run_dir\": \"x\"}, \"runs\": [{}]}", "run_dir");
  expect_error("{\"runs\": [{\"lr\": \"fast\"}]}", "runs[0]");
  expect_error("{\"grids\": {}}", "unknown key \"grids\"");
  expect_error("{}", "no runs");
  expect_error("{\"runs\": [{\"class\": \"dnn\", \"value_input\": \"ones\"}]}", "every combination was skipped");
  expect_error("{\n\"runs\": [\n{\"class\": }]}", "line 3");
  expect_error("[1, 2]", "JSON object");
}
END_TEST

static bool has_pair(char **argv, int argc, const char *opt, const char *value) {
  for (int i = 0; i + 1 < argc; i++)
    if (!strcmp(argv[i], opt) && (!value || !strcmp(argv[i + 1], value))) return true;
  return false;
}

START_TEST(job_lines) {
  dlgn_sweep_plan p;
  ck_assert_ok(dlgn_sweep_plan_parse(&p, GRID, "grid.json", "out"));
  const dlgn_sweep_run *r = &p.runs[find(&p, "dgn", "fixed-learnt", "ones")];
  char **argv;
  int argc;
  ck_assert_ok(dlgn_sweep_job_args(r, &argv, &argc));
  ck_assert_str_eq(argv[0], "train");
  ck_assert_ptr_null(argv[argc]);
  ck_assert(has_pair(argv, argc, "--gates-from", r->cfg.gates_from));
  ck_assert(has_pair(argv, argc, "--run-dir", r->cfg.run.run_dir));
  ck_assert(has_pair(argv, argc, "--lr", "0.001"));
  ck_assert(has_pair(argv, argc, "--momentum", "0.9"));
  ck_assert(has_pair(argv, argc, "--class", "dgn"));
  ck_assert(has_pair(argv, argc, "--value-input", "ones"));
  dlgn_sweep_job_args_free(argv, argc);
  dlgn_sweep_plan_free(&p);
  /* every setting has its option, so every run can be a job line */
  ck_assert_ok(dlgn_sweep_plan_parse(
      &p, "{\"runs\": [{\"synth_train\": 64, \"adam_eps\": 1e-6}]}", "s.json", "o"));
  ck_assert_ok(dlgn_sweep_job_args(&p.runs[0], &argv, &argc));
  ck_assert(has_pair(argv, argc, "--synth-train", "64"));
  ck_assert(has_pair(argv, argc, "--adam-eps", "1e-06"));
  dlgn_sweep_job_args_free(argv, argc);
  dlgn_sweep_plan_free(&p);
}
END_TEST

START_TEST(shell_quoting) {
  char out[256];
  dlgn_sweep_shell_quote("runs/a-b_c.1=2,x:y+z", out, sizeof out);
  ck_assert_str_eq(out, "runs/a-b_c.1=2,x:y+z");
  dlgn_sweep_shell_quote("my data/it's", out, sizeof out);
  ck_assert_str_eq(out, "'my data/it'\\''s'");
  dlgn_sweep_shell_quote("", out, sizeof out);
  ck_assert_str_eq(out, "''");
  dlgn_sweep_shell_quote("$HOME", out, sizeof out);
  ck_assert_str_eq(out, "'$HOME'");
}
END_TEST

/* The ready files parse, have the documented sizes, and can all be job lines. */
START_TEST(bench_sweep_files) {
  static const struct { const char *file; int runs; } files[] = {
      {"quick.json", 45}, {"paper-cifar10.json", 225}, {"paper-cifar100.json", 225}};
  for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
    char path[1024];
    snprintf(path, sizeof path, "%s/bench/sweeps/%s", DLGN_SOURCE_DIR, files[f].file);
    dlgn_sweep_plan p;
    ck_assert_ok(dlgn_sweep_plan_load(&p, path, "out"));
    ck_assert_int_eq(p.nruns, files[f].runs);
    int classes[4] = {0}, shuffled = 0;
    for (int i = 0; i < p.nruns; i++) {
      char **argv;
      int argc;
      ck_assert_ok(dlgn_sweep_job_args(&p.runs[i], &argv, &argc));
      dlgn_sweep_job_args_free(argv, argc);
      classes[p.runs[i].cfg.model.cls]++;
      shuffled += p.runs[i].cfg.model.shuffle != DLGN_SHUFFLE_NONE;
      if (p.runs[i].cfg.model.mode == DLGN_FIXED_LEARNT) ck_assert_int_ge(p.runs[i].source, 0);
    }
    for (int c = 0; c < 4; c++) ck_assert_int_gt(classes[c], 0);
    ck_assert_int_gt(shuffled, 0);
    dlgn_sweep_plan_free(&p);
  }
}
END_TEST

Suite *make_suite(void) {
  Suite *s = suite_create("sweep_plan");
  TCase *t = tcase_create("plan");
  tcase_add_test(t, grid_expands_and_skips);
  tcase_add_test(t, fixed_learnt_wiring_and_order);
  tcase_add_test(t, fixed_learnt_without_source);
  tcase_add_test(t, names_are_stable);
  tcase_add_test(t, arch_defaults_and_duplicates);
  tcase_add_test(t, errors_name_the_place);
  tcase_add_test(t, bundles_and_grid_lists);
  tcase_add_test(t, job_lines);
  tcase_add_test(t, shell_quoting);
  tcase_add_test(t, bench_sweep_files);
  suite_add_tcase(s, t);
  return s;
}

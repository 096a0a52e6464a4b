/* Results files from run folders written by hand (no device): run states,
 * row order, relative paths, mean and std over seeds, the plot files, the
 * missing-gnuplot path, and --merge giving the same table. */
#include <check.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dlgn/status.h"
#include "dlgn/run_files.h"
#include "dlgn/sweep.h"
#include "dlgn/util.h"
#include "testutil.h"

static char root[512];

static void write_text(const char *dir, const char *file, const char *text) {
  char path[1200];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  ck_assert_ok(dlgn_write_file_atomic(path, text, strlen(text)));
}

/* A run folder; test_hard < 0: no summary yet. filter: -1 none, 0 fail, 1 pass.
 * arch: "fc" (batch 128) or "c4gap" (batch 32, lr as given). */
static void make_run_in(const char *sub, const char *name, const char *arch, float lr,
                        const char *cls, const char *mode, const char *value, int seed, int epochs,
                        double test_hard, int filter) {
  dlgn_train_config c;
  dlgn_train_config_default(&c);
  dlgn_arch_parse(arch, &c.model.arch);
  if (c.model.arch == DLGN_C4GAP) {
    c.model.depth = 4;
    c.batch = 32;
    c.lr = lr;
  }
  dlgn_class_parse(cls, &c.model.cls);
  dlgn_mode_parse(mode, &c.model.mode);
  dlgn_value_input_parse(value, &c.model.value_input);
  c.seed = (uint64_t)seed;
  c.epochs = epochs;
  snprintf(c.run.run_dir, sizeof c.run.run_dir, "%s/%s/runs/%s", root, sub, name);
  ck_assert_ok(dlgn_mkdir_p(c.run.run_dir));
  char *json = dlgn_train_config_to_json(&c);
  write_text(c.run.run_dir, "config.json", json);
  free(json);
  write_text(c.run.run_dir, "checkpoint.bin", "x");
  if (test_hard < 0) return;
  write_text(c.run.run_dir, "metrics.jsonl",
             "{\"epoch\":1,\"seconds\":1.5,\"images_per_s\":90}\n"
             "{\"epoch\":2,\"seconds\":2.5,\"images_per_s\":100}\n");
  bool linear = c.model.cls == DLGN_DLGN || c.model.cls == DLGN_DLGN_SF;
  char summary[2048];
  snprintf(summary, sizeof summary,
           "{\"class\":\"%s\",\"linear_gating\":%s,\"gating_depth\":%d,\"gate_source\":\"%s\","
           "\"device\":\"fake device\",\"data\":\"synthetic:test\",\"synthetic_data\":true,"
           "\"epochs\":%d,\"final\":{\"test_acc_soft\":%g,\"test_acc_hard\":%g,"
           "\"train_acc_soft\":0.9,\"train_acc_hard\":0.8,\"images_per_s\":100,\"seconds\":2.5},"
           "\"best\":{\"test_acc_hard\":%g}}",
           cls, linear ? "true" : "false", linear ? 5 : 0, dlgn_model_gate_source(&c.model),
           epochs, test_hard, test_hard, test_hard);
  write_text(c.run.run_dir, "summary.json", summary);
  if (filter >= 0) {
    snprintf(summary, sizeof summary, "{\"passed\":%s,\"min_agreement\":%s}",
             filter ? "true" : "false", filter ? "1" : "0.75");
    write_text(c.run.run_dir, "filter_check.json", summary);
  }
}

static void make_run(const char *name, const char *cls, const char *mode, const char *value,
                     int seed, int epochs, double test_hard, int filter) {
  make_run_in("out", name, "fc", 0, cls, mode, value, seed, epochs, test_hard, filter);
}

static void setup(void) {
  test_tmpdir(root, sizeof root);
  make_run("dlgn-b", "dlgn", "joint", "ones", 2, 2, 0.7, 1);
  make_run("dnn-a", "dnn", "joint", "image", 1, 2, 0.8, -1);
  make_run("dlgn-a", "dlgn", "joint", "ones", 1, 2, 0.5, 1);
  make_run("dgn-fl", "dgn", "fixed-learnt", "image", 1, 2, 0.6, -1);
  make_run("dlgn-sf-unchecked", "dlgn-sf", "fixed-random", "ones", 1, 2, 0.3, -1);
  make_run("dlgn-fail", "dlgn", "fixed-random", "image", 1, 2, 0.4, 0);
  make_run("unfinished", "dlgn", "joint", "image", 1, 2, -1, -1);
}

static void teardown(void) { test_rmtree(root); }

static char *slurp(const char *dir, const char *file) {
  char path[1200], *text;
  snprintf(path, sizeof path, "%s/%s", dir, file);
  ck_assert_ok(dlgn_read_file(path, "test file", 1u << 20, &text, NULL));
  return text;
}

static int write_all(const char *out) {
  static const char *names[] = {"dlgn-b", "dnn-a", "dlgn-a", "dgn-fl", "dlgn-sf-unchecked",
                                "dlgn-fail", "unfinished"};
  char dirs[7][1024], *ptrs[7];
  for (int i = 0; i < 7; i++) {
    snprintf(dirs[i], sizeof dirs[i], "%s/out/runs/%s", root, names[i]);
    ptrs[i] = dirs[i];
  }
  return dlgn_sweep_write_results(ptrs, 7, out, "unit");
}

/* filter_check.json through the run-folder module: written and read by the
 * same code; a file that is not a verdict is an error naming it */
START_TEST(filter_check_file) {
  char dir[1024];
  snprintf(dir, sizeof dir, "%s/out/runs/dlgn-a", root);
  dlgn_run_filter_check c = {.passed = false, .min_agreement = 0.875, .images = 256,
                             .eps = 1e-4, .nlayers = 2};
  c.layer[1].compared = 1000;
  c.layer[1].mismatched = 3;
  c.layer[1].agreement = 0.875;
  ck_assert_ok(dlgn_run_write_filter_check(dir, &c));
  dlgn_run_filter_check back;
  bool found;
  ck_assert_ok(dlgn_run_read_filter_check(dir, &back, &found));
  ck_assert(found && !back.passed && back.nlayers == 2 && back.images == 256);
  ck_assert_uint_eq(back.layer[1].mismatched, 3);
  ck_assert_double_eq_tol(back.min_agreement, 0.875, 1e-12);
  snprintf(dir, sizeof dir, "%s/out/runs/dnn-a", root);
  ck_assert_ok(dlgn_run_read_filter_check(dir, &back, &found));
  ck_assert(!found);
  write_text(dir, "filter_check.json", "{\"min_agreement\": 1}");
  ck_assert_int_ne(dlgn_run_read_filter_check(dir, &back, &found), 0);
  ck_assert_msg(strstr(dlgn_error(), "dnn-a/filter_check.json: no \"passed\""), "%s", dlgn_error());
  write_text(dir, "filter_check.json", "{\"passed\": tru");
  ck_assert_int_ne(dlgn_run_read_filter_check(dir, &back, &found), 0);
  ck_assert_msg(strstr(dlgn_error(), "filter_check.json is corrupt"), "%s", dlgn_error());
}
END_TEST

START_TEST(run_states) {
  char dir[1024];
  snprintf(dir, sizeof dir, "%s/out/runs/dnn-a", root);
  ck_assert_int_eq(dlgn_sweep_run_state(dir, 2), DLGN_RUN_FINISHED);
  ck_assert_int_eq(dlgn_sweep_run_state(dir, 3), DLGN_RUN_INTERRUPTED); /* train on */
  snprintf(dir, sizeof dir, "%s/out/runs/unfinished", root);
  ck_assert_int_eq(dlgn_sweep_run_state(dir, 2), DLGN_RUN_INTERRUPTED);
  snprintf(dir, sizeof dir, "%s/out/runs/none", root);
  ck_assert_int_eq(dlgn_sweep_run_state(dir, 2), DLGN_RUN_NEW);
}
END_TEST

START_TEST(table_rows) {
  char out[1024];
  snprintf(out, sizeof out, "%s/out", root);
  ck_assert_ok(write_all(out));
  char *csv = slurp(out, "results.csv");
  char *lines[16];
  int n = 0;
  for (char *l = strtok(csv, "\n"); l && n < 16; l = strtok(NULL, "\n")) lines[n++] = l;
  ck_assert_int_eq(n, 7); /* header + 6 finished runs */
  ck_assert_ptr_nonnull(strstr(lines[0], "name,class,arch,"));
  ck_assert_ptr_nonnull(strstr(lines[0], ",linear_gating,gating_depth,gate_source,filter_check,"
                                         "filter_min_agreement,test_acc_soft,test_acc_hard,"));
  /* interpretability order, then mode, then value input, then name */
  const char *order[] = {"dnn-a,", "dgn-fl,", "dlgn-a,", "dlgn-b,", "dlgn-fail,", "dlgn-sf-unchecked,"};
  for (int i = 0; i < 6; i++)
    ck_assert_msg(strncmp(lines[i + 1], order[i], strlen(order[i])) == 0, "row %d: %s", i, lines[i + 1]);
  ck_assert_ptr_nonnull(strstr(lines[1], ",runs/dnn-a,"));     /* relative to out */
  ck_assert_ptr_nonnull(strstr(lines[1], ",false,0,learnt,n/a,,"));
  ck_assert_ptr_nonnull(strstr(lines[3], ",true,5,learnt,pass,1,"));
  ck_assert_ptr_nonnull(strstr(lines[5], ",fail,0.75,"));
  ck_assert_ptr_nonnull(strstr(lines[6], ",not checked,,"));
  ck_assert_ptr_nonnull(strstr(lines[1], ",4,100,fake device,")); /* seconds summed, last speed */
  free(csv);

  char *jsonl = slurp(out, "results.jsonl");
  json_object *first = json_tokener_parse(jsonl), *v;
  ck_assert_ptr_nonnull(first);
  ck_assert(json_object_object_get_ex(first, "test_acc_hard", &v));
  ck_assert_double_eq_tol(json_object_get_double(v), 0.8, 1e-9);
  ck_assert(json_object_object_get_ex(first, "filter_min_agreement", &v));
  ck_assert_ptr_null(v);
  json_object_put(first);
  free(jsonl);

  char *md = slurp(out, "results.md");
  ck_assert_ptr_nonnull(strstr(md, "# unit:"));
  ck_assert_ptr_nonnull(strstr(md, "## fc, depth 5, width 128"));
  /* two seeds of dlgn joint ones: 50 and 70 -> 60.00 +- 14.14 (sample std) */
  ck_assert_msg(strstr(md, "| dlgn | joint | ones | learnt | yes | 5 | pass (min 1.0000) | 2 | 60.00 ± 14.14 |"),
                "%s", md);
  ck_assert_ptr_nonnull(strstr(md, "| dnn | joint | image | learnt | no | 0 | n/a | 1 | 80.00 |"));
  ck_assert_ptr_nonnull(strstr(md, "fail 1/1 (min 0.7500)"));
  ck_assert_ptr_nonnull(strstr(md, "not checked"));
  free(md);

  char *dat = slurp(out, "tradeoff.dat"), *gp = slurp(out, "tradeoff.gp");
  ck_assert_ptr_nonnull(strstr(dat, "60.0000 14.1421 2 dlgn"));
  ck_assert_ptr_nonnull(strstr(gp, "set output \"tradeoff.png\""));
  ck_assert_ptr_nonnull(strstr(gp, "title \"joint, ones input\""));
  free(dat);
  free(gp);
  char png[1200];
  snprintf(png, sizeof png, "%s/tradeoff.png", out);
  if (system("command -v gnuplot > /dev/null 2>&1") == 0) ck_assert_int_eq(access(png, F_OK), 0);
}
END_TEST

START_TEST(without_gnuplot) {
  char out[1024], png[1200];
  snprintf(out, sizeof out, "%s/nognuplot", root);
  const char *path = getenv("PATH");
  char *saved = strdup(path ? path : "");
  setenv("PATH", "/nonexistent", 1);
  int rc = write_all(out);
  setenv("PATH", saved, 1);
  free(saved);
  ck_assert_ok(rc);
  snprintf(png, sizeof png, "%s/tradeoff.png", out);
  ck_assert_int_ne(access(png, F_OK), 0);
  snprintf(png, sizeof png, "%s/tradeoff.gp", out);
  ck_assert_int_eq(access(png, F_OK), 0);
  snprintf(png, sizeof png, "%s/results.csv", out);
  ck_assert_int_eq(access(png, F_OK), 0);
}
END_TEST

START_TEST(merge_gives_the_same_table) {
  char out[1024], merged[1024], from[1024];
  snprintf(out, sizeof out, "%s/out", root);
  snprintf(merged, sizeof merged, "%s/merged", root);
  ck_assert_ok(write_all(out));
  dlgn_sweep_options o;
  dlgn_sweep_options_default(&o);
  o.filter_check = false; /* the unchecked run would need a device */
  const char *dirs[] = {out};
  ck_assert_ok(dlgn_sweep_merge(dirs, 1, out, &o));
  char *a = slurp(out, "results.csv");
  ck_assert_ok(write_all(out));
  char *b = slurp(out, "results.csv");
  ck_assert_str_eq(a, b);
  free(b);
  /* into another folder, the paths stay as given (not under it) */
  snprintf(from, sizeof from, "%s/out/runs", root);
  const char *dirs2[] = {from, out}; /* the second repeats every run: each taken once */
  ck_assert_ok(dlgn_sweep_merge(dirs2, 2, merged, &o));
  b = slurp(merged, "results.csv");
  ck_assert_int_eq(strlen(a) > 0, 1);
  int na = 0, nb = 0;
  for (char *s = a; *s; s++) na += *s == '\n';
  for (char *s = b; *s; s++) nb += *s == '\n';
  ck_assert_int_eq(na, nb);
  ck_assert_ptr_nonnull(strstr(b, "/out/runs/dnn-a,"));
  free(a);
  free(b);
  const char *none[] = {"/nonexistent-dir"};
  ck_assert_int_eq(dlgn_sweep_merge(none, 1, merged, &o), -1);
  ck_assert_ptr_nonnull(strstr(dlgn_error(), "/nonexistent-dir"));
}
END_TEST

/* Settings that vary inside one panel get a column there, and only there. */
START_TEST(extra_columns_per_panel) {
  make_run_in("mixed", "fc", "fc", 0, "dlgn", "joint", "ones", 1, 2, 0.5, 1);
  make_run_in("mixed", "c4-a", "c4gap", 1e-3f, "dlgn", "joint", "ones", 1, 2, 0.5, 1);
  make_run_in("mixed", "c4-b", "c4gap", 1e-2f, "dlgn", "joint", "ones", 1, 2, 0.6, 1);
  char out[1024];
  snprintf(out, sizeof out, "%s/mixed", root);
  dlgn_sweep_options o;
  dlgn_sweep_options_default(&o);
  const char *dirs[] = {out};
  ck_assert_ok(dlgn_sweep_merge(dirs, 1, out, &o));
  char *md = slurp(out, "results.md"), *gp = slurp(out, "tradeoff.gp");
  char *fc = strstr(md, "## fc"), *c4 = strstr(md, "## c4gap");
  ck_assert(fc && c4 && fc < c4);
  ck_assert_ptr_null(strstr(fc, "| batch |"));  /* batch differs between panels only */
  ck_assert(strstr(c4, "| lr |") && !strstr(c4, "| batch |"));
  char *lr = strstr(md, "| lr |");
  ck_assert(lr > c4); /* and not in the fc table */
  ck_assert_ptr_nonnull(strstr(c4, "| 0.01 | 1 | 60.00 |"));
  ck_assert_ptr_nonnull(strstr(gp, "title \"joint, ones input, lr=0.01\""));
  ck_assert_ptr_nonnull(strstr(gp, "title \"joint, ones input\""));
  free(md);
  free(gp);
}
END_TEST

Suite *make_suite(void) {
  Suite *s = suite_create("sweep_results");
  TCase *t = tcase_create("results");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, run_states);
  tcase_add_test(t, filter_check_file);
  tcase_add_test(t, table_rows);
  tcase_add_test(t, without_gnuplot);
  tcase_add_test(t, merge_gives_the_same_table);
  tcase_add_test(t, extra_columns_per_panel);
  suite_add_tcase(s, t);
  return s;
}

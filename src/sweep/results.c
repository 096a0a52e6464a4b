/* The results files: one row per finished run folder, read back from the
 * folder itself through the run-folder readers (dlgn/run_files.h: config.json,
 * summary.json, metrics.jsonl, filter_check.json), so that a sweep trained here and one gathered with
 * --merge give the same rows. */
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dlgn/run_files.h"
#include "dlgn/status.h"
#include "dlgn/sweep.h"
#include "dlgn/util.h"
#include "sweep_internal.h"

static bool file_exists(const char *path) { return access(path, F_OK) == 0; }

int sweep_row_load(sweep_row *r, const char *run_dir, bool *finished) {
  memset(r, 0, sizeof *r);
  *finished = false;
  char path[1100];
  snprintf(path, sizeof path, "%s/summary.json", run_dir);
  if (!file_exists(path)) return 0;
  snprintf(r->run_dir, sizeof r->run_dir, "%s", run_dir);
  size_t len = strlen(run_dir);
  while (len > 1 && run_dir[len - 1] == '/') len--;
  const char *base = run_dir + len;
  while (base > run_dir && base[-1] != '/') base--;
  snprintf(r->name, sizeof r->name, "%.*s", (int)(run_dir + len - base), base);
  dlgn_train_summary sum;
  DLGN_TRY(dlgn_run_read_summary(run_dir, &sum));
  r->cfg = sum.config;
  const dlgn_model_config *m = &r->cfg.model;
  r->linear_gating = dlgn_model_linear_gating(m);
  r->gating_depth = dlgn_model_gating_depth(m);
  snprintf(r->gate_source, sizeof r->gate_source, "%s", dlgn_model_gate_source(m));
  snprintf(r->device_name, sizeof r->device_name, "%s", sum.device);
  snprintf(r->data_source, sizeof r->data_source, "%s", sum.data_source);
  r->synthetic = sum.synthetic;
  r->epochs_run = sum.epochs_run;
  r->test_soft = sum.final.test_soft;
  r->test_hard = sum.final.test_hard;
  r->train_soft = sum.final.train_soft;
  r->train_hard = sum.final.train_hard;
  r->images_per_s = sum.final.images_per_s;
  r->best_test_hard = sum.best.test_hard;
  /* an extension (more epochs) that has not finished yet */
  if (r->epochs_run < r->cfg.epochs) return 0;
  DLGN_TRY(dlgn_run_metrics_timing(run_dir, &r->seconds, &r->images_per_s));
  r->filter = r->linear_gating ? 2 : -1;
  if (r->linear_gating) {
    dlgn_run_filter_check c;
    bool found;
    DLGN_TRY(dlgn_run_read_filter_check(run_dir, &c, &found));
    if (found) {
      r->filter = c.passed ? 1 : 0;
      r->filter_min_agreement = c.min_agreement;
    }
  }
  *finished = true;
  return 0;
}

int sweep_class_rank(dlgn_model_class c) {
  switch (c) {
    case DLGN_DNN: return 0;
    case DLGN_DGN: return 1;
    case DLGN_DLGN: return 2;
    default: return 3;
  }
}

int sweep_row_compare(const void *pa, const void *pb) {
  const sweep_row *a = pa, *b = pb;
  const dlgn_model_config *x = &a->cfg.model, *y = &b->cfg.model;
  int keys[][2] = {{sweep_class_rank(x->cls), sweep_class_rank(y->cls)},
                   {(int)x->arch, (int)y->arch},
                   {x->depth, y->depth},
                   {x->width, y->width},
                   {x->batchnorm, y->batchnorm},
                   {(int)x->mode, (int)y->mode},
                   {(int)x->value_input, (int)y->value_input},
                   {(int)x->shuffle, (int)y->shuffle}};
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
    if (keys[i][0] != keys[i][1]) return keys[i][0] < keys[i][1] ? -1 : 1;
  return strcmp(a->name, b->name);
}

/* A path under out_dir is written relative to it, so that the same runs in
 * another folder give the same file. */
static void relative_path(const char *path, const char *out_dir, char *out, size_t size) {
  char rp[PATH_MAX], ro[PATH_MAX];
  size_t n;
  if (path[0] && realpath(path, rp) && realpath(out_dir, ro) && (n = strlen(ro)) > 0 &&
      strncmp(rp, ro, n) == 0 && rp[n] == '/')
    snprintf(out, size, "%s", rp + n + 1);
  else
    snprintf(out, size, "%s", path);
}

/* One row as ordered (key, value) pairs: the configuration, then the
 * tradeoff columns of the paper, then the figures. Values are typed
 * JSON; null where a figure does not exist. */
static json_object *row_object(const sweep_row *r, const char *out_dir) {
  json_object *o = json_object_new_object(), *c = sweep_config_object(&r->cfg);
  if (!o || !c) {
    json_object_put(o);
    json_object_put(c);
    return NULL;
  }
  char buf[64], rel[PATH_MAX];
#define ADD(k, v) json_object_object_add(o, k, v)
#define DBL(v) (snprintf(buf, sizeof buf, "%.6g", (double)(v)), json_object_new_double_s((v), buf))
#define FIG(v) ((v) >= 0 ? DBL(v) : NULL)
  ADD("name", json_object_new_string(r->name));
  json_object_object_foreach(c, key, v) {
    if (!strcmp(key, "run_dir") || !strcmp(key, "gates_from")) {
      relative_path(json_object_get_string(v), out_dir, rel, sizeof rel);
      ADD(key, json_object_new_string(rel));
    } else if (json_object_is_type(v, json_type_double))
      ADD(key, DBL(json_object_get_double(v)));
    else
      ADD(key, json_object_get(v));
  }
  json_object_put(c);
  ADD("linear_gating", json_object_new_boolean(r->linear_gating));
  ADD("gating_depth", json_object_new_int(r->gating_depth));
  ADD("gate_source", json_object_new_string(r->gate_source));
  static const char *verdicts[] = {"fail", "pass", "not checked"};
  ADD("filter_check", json_object_new_string(r->filter < 0 ? "n/a" : verdicts[r->filter]));
  ADD("filter_min_agreement",
      r->filter == 0 || r->filter == 1 ? DBL(r->filter_min_agreement) : NULL);
  ADD("test_acc_soft", FIG(r->test_soft));
  ADD("test_acc_hard", FIG(r->test_hard));
  ADD("train_acc_soft", FIG(r->train_soft));
  ADD("train_acc_hard", FIG(r->train_hard));
  ADD("best_test_acc_hard", FIG(r->best_test_hard));
  ADD("epochs_run", json_object_new_int(r->epochs_run));
  ADD("seconds", DBL(r->seconds));
  ADD("images_per_s", DBL(r->images_per_s));
  ADD("device_name", json_object_new_string(r->device_name));
  ADD("data_source", json_object_new_string(r->data_source));
  ADD("synthetic_data", json_object_new_boolean(r->synthetic));
#undef ADD
#undef DBL
#undef FIG
  return o;
}

static void csv_field(FILE *f, json_object *v) {
  const char *s = v ? json_object_get_string(v) : "";
  if (!strpbrk(s, ",\"\n\r")) {
    fputs(s, f);
    return;
  }
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"') fputc('"', f);
    fputc(*s, f);
  }
  fputc('"', f);
}

static int write_table(json_object **rows, int n, const char *out_dir) {
  char *csv = NULL, *jsonl = NULL;
  size_t csv_len = 0, jsonl_len = 0;
  FILE *fc = open_memstream(&csv, &csv_len), *fj = open_memstream(&jsonl, &jsonl_len);
  int rc = -1;
  if (!fc || !fj) {
    dlgn_fail("out of host memory writing the results");
    goto done;
  }
  /* every row has the same keys in the same order */
  if (n > 0) {
    int k = 0;
    json_object_object_foreach(rows[0], key, unused) {
      (void)unused;
      fprintf(fc, "%s%s", k++ ? "," : "", key);
    }
    fputc('\n', fc);
  }
  for (int i = 0; i < n; i++) {
    int k = 0;
    json_object_object_foreach(rows[i], key, v) {
      (void)key;
      if (k++) fputc(',', fc);
      csv_field(fc, v);
    }
    fputc('\n', fc);
    fprintf(fj, "%s\n",
            json_object_to_json_string_ext(
                rows[i], JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
  }
  if (fclose(fc) != 0 || fclose(fj) != 0) {
    fc = fj = NULL;
    dlgn_fail("out of host memory writing the results");
    goto done;
  }
  fc = fj = NULL;
  char path[1200];
  snprintf(path, sizeof path, "%s/results.csv", out_dir);
  if (dlgn_write_file_atomic(path, csv, csv_len) != 0) goto done;
  snprintf(path, sizeof path, "%s/results.jsonl", out_dir);
  if (dlgn_write_file_atomic(path, jsonl, jsonl_len) != 0) goto done;
  rc = 0;
done:
  if (fc) fclose(fc);
  if (fj) fclose(fj);
  free(csv);
  free(jsonl);
  return rc;
}

int dlgn_sweep_write_results(char *const *run_dirs, int n, const char *out_dir, const char *title) {
  DLGN_TRY(dlgn_mkdir_p(out_dir));
  sweep_row *rows = calloc((size_t)(n ? n : 1), sizeof *rows);
  json_object **objs = calloc((size_t)(n ? n : 1), sizeof *objs);
  int nrows = 0, rc = -1;
  if (!rows || !objs) {
    dlgn_fail("out of host memory reading %d runs", n);
    goto done;
  }
  for (int i = 0; i < n; i++) {
    bool finished;
    if (sweep_row_load(&rows[nrows], run_dirs[i], &finished) != 0) {
      dlgn_fail_context("reading run folder %s", run_dirs[i]);
      goto done;
    }
    if (finished) nrows++;
  }
  qsort(rows, (size_t)nrows, sizeof *rows, sweep_row_compare);
  for (int i = 0; i < nrows; i++)
    if (!(objs[i] = row_object(&rows[i], out_dir))) {
      dlgn_fail("out of host memory building the results");
      goto done;
    }
  if (write_table(objs, nrows, out_dir) != 0 ||
      sweep_write_markdown(rows, nrows, out_dir, title) != 0 ||
      sweep_write_plot(rows, nrows, out_dir, title) != 0)
    goto done;
  rc = 0;
done:
  for (int i = 0; objs && i < nrows; i++) json_object_put(objs[i]);
  free(objs);
  free(rows);
  return rc;
}

#include "run_files.h"

#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dlgn/run_files.h"
#include "dlgn/status.h"
#include "dlgn/util.h"

int train_run_write_config(const dlgn_train_config *c) {
  char path[1100];
  snprintf(path, sizeof path, "%s/config.json", c->run.run_dir);
  char *text = dlgn_train_config_to_json(c);
  if (!text) return dlgn_fail("out of host memory writing %s", path);
  size_t n = strlen(text);
  text[n] = '\n'; /* replaces the NUL: written with its length */
  int rc = dlgn_write_file_atomic(path, text, n + 1);
  free(text);
  return rc;
}

json_object *train_run_metrics_json(const dlgn_epoch_metrics *e) {
  json_object *o = json_object_new_object();
  json_object_object_add(o, "epoch", json_object_new_int(e->epoch));
  json_object_object_add(o, "train_loss", json_object_new_double(e->train_loss));
  json_object_object_add(o, "train_acc", json_object_new_double(e->train_acc));
  json_object_object_add(o, "test_acc_soft", json_object_new_double(e->test_soft));
  json_object_object_add(o, "test_acc_hard", json_object_new_double(e->test_hard));
  if (e->train_soft >= 0) {
    json_object_object_add(o, "train_acc_soft", json_object_new_double(e->train_soft));
    json_object_object_add(o, "train_acc_hard", json_object_new_double(e->train_hard));
  }
  json_object_object_add(o, "images_per_s", json_object_new_double(e->images_per_s));
  json_object_object_add(o, "seconds", json_object_new_double(e->seconds));
  json_object_object_add(o, "lr", json_object_new_double(e->lr));
  return o;
}

int train_run_truncate_metrics(const char *run_dir, int epoch) {
  char path[1100];
  snprintf(path, sizeof path, "%s/metrics.jsonl", run_dir);
  FILE *f = fopen(path, "rb");
  if (!f) return 0;
  fclose(f);
  char *text;
  size_t len;
  DLGN_TRY(dlgn_read_file(path, "metrics file", DLGN_MAX_METRICS_BYTES, &text, &len));
  char *out = dlgn_malloc(len + 2, "metrics");
  if (!out) {
    free(text);
    return -1;
  }
  size_t n = 0;
  for (char *line = text; *line;) {
    char *end = strchr(line, '\n');
    size_t l = end ? (size_t)(end - line) : strlen(line);
    json_tokener *tok = json_tokener_new();
    json_object *o = json_tokener_parse_ex(tok, line, (int)l), *v;
    json_tokener_free(tok);
    int ep = o && json_object_object_get_ex(o, "epoch", &v) ? json_object_get_int(v) : -1;
    if (o) json_object_put(o);
    if (ep >= 0 && ep <= epoch) {
      memcpy(out + n, line, l);
      out[n + l] = '\n';
      n += l + 1;
    }
    line += end ? l + 1 : l;
  }
  int rc = dlgn_write_file_atomic(path, out, n);
  free(text);
  free(out);
  return rc;
}

static double get_double(json_object *o, const char *key) {
  json_object *v;
  return json_object_object_get_ex(o, key, &v) ? json_object_get_double(v) : 0;
}

void train_run_metrics_parse(json_object *o, dlgn_epoch_metrics *e) {
  memset(e, 0, sizeof *e);
  /* an epoch no run reaches (or not a number) reads as -1, which matches no
   * epoch, instead of overflowing the int */
  double epoch = get_double(o, "epoch");
  e->epoch = epoch >= 0 && epoch <= 1e9 ? (int)epoch : -1;
  e->train_loss = get_double(o, "train_loss");
  e->train_acc = get_double(o, "train_acc");
  e->test_soft = get_double(o, "test_acc_soft");
  e->test_hard = get_double(o, "test_acc_hard");
  e->train_soft = e->train_hard = -1;
  json_object *v;
  if (json_object_object_get_ex(o, "train_acc_soft", &v)) e->train_soft = json_object_get_double(v);
  if (json_object_object_get_ex(o, "train_acc_hard", &v)) e->train_hard = json_object_get_double(v);
  e->images_per_s = get_double(o, "images_per_s");
  e->seconds = get_double(o, "seconds");
  e->lr = get_double(o, "lr");
}

int train_run_read_metrics(const char *run_dir, int epoch, dlgn_epoch_metrics *e) {
  char path[1100], *text;
  snprintf(path, sizeof path, "%s/metrics.jsonl", run_dir);
  DLGN_TRY(dlgn_read_file(path, "metrics file", DLGN_MAX_METRICS_BYTES, &text, NULL));
  int found = 0;
  for (char *line = strtok(text, "\n"); line && !found; line = strtok(NULL, "\n")) {
    json_object *o = json_tokener_parse(line), *v;
    if (o && json_object_object_get_ex(o, "epoch", &v) && json_object_get_int(v) == epoch) {
      train_run_metrics_parse(o, e);
      found = 1;
    }
    if (o) json_object_put(o);
  }
  free(text);
  if (!found) return dlgn_fail("%s has no line for epoch %d", path, epoch);
  return 0;
}

int train_run_append_metrics(const char *run_dir, const dlgn_epoch_metrics *e) {
  char path[1100];
  snprintf(path, sizeof path, "%s/metrics.jsonl", run_dir);
  FILE *f = fopen(path, "ab");
  if (!f) return dlgn_fail("cannot append to %s: %s", path, strerror(errno));
  json_object *o = train_run_metrics_json(e);
  int bad = fprintf(f, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN)) < 0;
  json_object_put(o);
  if (fclose(f) != 0 || bad) return dlgn_fail("cannot append to %s", path);
  return 0;
}

int train_run_write_summary(const dlgn_train_config *c, const dlgn_train_summary *s) {
  const dlgn_model_config *m = &c->model;
  json_object *o = json_object_new_object();
  json_object_object_add(o, "class", json_object_new_string(dlgn_class_name(m->cls)));
  json_object_object_add(o, "arch", json_object_new_string(dlgn_arch_name(m->arch)));
  json_object_object_add(o, "mode", json_object_new_string(dlgn_mode_name(m->mode)));
  json_object_object_add(o, "value_input",
                         json_object_new_string(dlgn_value_input_name(m->value_input)));
  json_object_object_add(o, "shuffle_gates", json_object_new_string(dlgn_shuffle_name(m->shuffle)));
  json_object_object_add(o, "linear_gating", json_object_new_boolean(dlgn_model_linear_gating(m)));
  json_object_object_add(o, "gating_depth", json_object_new_int(dlgn_model_gating_depth(m)));
  json_object_object_add(o, "gate_source", json_object_new_string(dlgn_model_gate_source(m)));
  json_object_object_add(o, "device", json_object_new_string(s->device));
  json_object_object_add(o, "data", json_object_new_string(s->data_source));
  json_object_object_add(o, "synthetic_data", json_object_new_boolean(s->synthetic));
  json_object_object_add(o, "epochs", json_object_new_int(s->epochs_run));
  json_object_object_add(o, "final", train_run_metrics_json(&s->final));
  json_object_object_add(o, "best", train_run_metrics_json(&s->best));
  char path[1100];
  snprintf(path, sizeof path, "%s/summary.json", c->run.run_dir);
  const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
                                                           JSON_C_TO_STRING_NOSLASHESCAPE);
  char *copy = dlgn_malloc(strlen(text) + 2, "summary");
  int rc = -1;
  if (copy) {
    size_t n = (size_t)sprintf(copy, "%s\n", text);
    rc = dlgn_write_file_atomic(path, copy, n);
  }
  free(copy);
  json_object_put(o);
  return rc;
}

/* The files a run writes; with their temporaries, all that --overwrite
 * removes (anything else in the folder is the user's). */
static const char *const run_files[] = {"config.json", "metrics.jsonl", "summary.json",
                                        "checkpoint.bin", "filter_check.json"};
#define NRUN_FILES (int)(sizeof run_files / sizeof run_files[0])

/* A temporary of a run file: NAME.tmp (the checkpoint's) or NAME.tmp.PID
 * (dlgn_write_file_atomic's). */
static bool is_run_temporary(const char *name) {
  for (int i = 0; i < NRUN_FILES; i++) {
    size_t n = strlen(run_files[i]);
    if (strncmp(name, run_files[i], n) != 0 || strncmp(name + n, ".tmp", 4) != 0) continue;
    const char *rest = name + n + 4;
    if (!*rest) return true;
    if (*rest++ != '.' || !*rest) continue;
    while (*rest >= '0' && *rest <= '9') rest++;
    if (!*rest) return true;
  }
  return false;
}

int dlgn_run_remove_temporaries(const char *run_dir, int *removed) {
  if (removed) *removed = 0;
  DIR *d = opendir(run_dir);
  if (!d) {
    if (errno == ENOENT) return 0;
    return dlgn_fail("cannot list run folder %s: %s", run_dir, strerror(errno));
  }
  int rc = 0;
  struct dirent *e;
  while (rc == 0 && (e = readdir(d)) != NULL) {
    if (!is_run_temporary(e->d_name)) continue;
    char path[1400];
    snprintf(path, sizeof path, "%s/%s", run_dir, e->d_name);
    if (remove(path) != 0 && errno != ENOENT)
      rc = dlgn_fail("cannot remove the stale temporary file %s: %s", path, strerror(errno));
    else if (removed)
      (*removed)++;
  }
  closedir(d);
  return rc;
}

int dlgn_run_dir_claim(const char *run_dir, bool overwrite) {
  char found[256] = "", path[1200];
  for (int i = 0; i < NRUN_FILES; i++) {
    snprintf(path, sizeof path, "%s/%s", run_dir, run_files[i]);
    if (access(path, F_OK) != 0) continue;
    size_t used = strlen(found);
    snprintf(found + used, sizeof found - used, "%s%s", used ? ", " : "", run_files[i]);
    if (!overwrite) continue;
    if (remove(path) != 0)
      return dlgn_fail("--overwrite: cannot remove %s: %s", path, strerror(errno));
  }
  if (!found[0] || overwrite) return dlgn_run_remove_temporaries(run_dir, NULL);
  return dlgn_fail("%s already holds a run (%s); continue it with --resume %s, or pass "
                   "--overwrite to train it again from the start",
                   run_dir, found, run_dir);
}

/* path as a JSON object, strict and whole: a NUL byte or text after the
 * object is damage too. *out NULL (and 0) when the file does not exist. */
static int read_object(const char *path, const char *what, json_object **out) {
  char *text;
  size_t len;
  *out = NULL;
  if (access(path, F_OK) != 0) return 0;
  if (dlgn_read_file(path, what, DLGN_MAX_JSON_BYTES, &text, &len) != 0)
    return dlgn_fail_context("%s is corrupt", path);
  json_tokener *tok = json_tokener_new();
  if (!tok) {
    free(text);
    return dlgn_fail("out of host memory reading %s", path);
  }
  json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
  json_object *o = json_tokener_parse_ex(tok, text, (int)len);
  enum json_tokener_error jerr = json_tokener_get_error(tok);
  size_t end = json_tokener_get_parse_end(tok);
  json_tokener_free(tok);
  bool whole = end <= len && strspn(text + end, " \t\r\n") == len - end;
  free(text);
  if (!o || jerr != json_tokener_success || !whole) {
    json_object_put(o);
    return dlgn_fail("%s is corrupt: not valid JSON (%s)", path,
                     jerr == json_tokener_continue ? "it ends early"
                     : jerr != json_tokener_success ? json_tokener_error_desc(jerr)
                                                    : "bytes after the object");
  }
  if (!json_object_is_type(o, json_type_object)) {
    json_object_put(o);
    return dlgn_fail("%s is corrupt: not a JSON object", path);
  }
  *out = o;
  return 0;
}

static int summary_epochs(json_object *o, const char *path, int *epochs) {
  json_object *v;
  if (!json_object_object_get_ex(o, "epochs", &v) || !json_object_is_type(v, json_type_int) ||
      json_object_get_int64(v) < 0 || json_object_get_int64(v) > 100000)
    return dlgn_fail("%s is corrupt: \"epochs\" is missing or not an epoch count", path);
  *epochs = (int)json_object_get_int64(v);
  return 0;
}

int dlgn_run_summary_epochs(const char *run_dir, int *epochs) {
  char path[1200];
  *epochs = -1;
  snprintf(path, sizeof path, "%s/summary.json", run_dir);
  json_object *o;
  DLGN_TRY(read_object(path, "run summary", &o));
  if (!o) return 0;
  int rc = summary_epochs(o, path, epochs);
  json_object_put(o);
  return rc;
}

static void copy_string(json_object *o, const char *key, char *out, size_t size) {
  json_object *v;
  snprintf(out, size, "%s", json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : "");
}

/* The reverse of train_run_write_summary; the interpretability properties
 * follow from the configuration. */
int dlgn_run_read_summary(const char *run_dir, dlgn_train_summary *s) {
  char path[1200];
  memset(s, 0, sizeof *s);
  snprintf(path, sizeof path, "%s/summary.json", run_dir);
  json_object *o, *v;
  DLGN_TRY(read_object(path, "run summary", &o));
  if (!o) return dlgn_fail("%s not found (the run has not finished)", path);
  int rc = summary_epochs(o, path, &s->epochs_run);
  if (rc == 0 && !json_object_object_get_ex(o, "final", &v))
    rc = dlgn_fail("%s: no \"final\" figures", path);
  if (rc == 0) rc = dlgn_train_config_load(&s->config, run_dir);
  if (rc == 0) {
    train_run_metrics_parse(v, &s->final);
    if (json_object_object_get_ex(o, "best", &v)) train_run_metrics_parse(v, &s->best);
    else s->best.test_hard = -1;
    copy_string(o, "device", s->device, sizeof s->device);
    copy_string(o, "data", s->data_source, sizeof s->data_source);
    s->synthetic = json_object_object_get_ex(o, "synthetic_data", &v) && json_object_get_boolean(v);
  }
  json_object_put(o);
  return rc;
}

int dlgn_run_metrics_timing(const char *run_dir, double *seconds, double *images_per_s) {
  char path[1100], *text;
  snprintf(path, sizeof path, "%s/metrics.jsonl", run_dir);
  *seconds = 0;
  if (access(path, F_OK) != 0) return 0;
  DLGN_TRY(dlgn_read_file(path, "metrics file", DLGN_MAX_METRICS_BYTES, &text, NULL));
  for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
    json_object *o = json_tokener_parse(line);
    if (o) {
      dlgn_epoch_metrics e;
      train_run_metrics_parse(o, &e);
      *seconds += e.seconds;
      json_object *v;
      if (json_object_object_get_ex(o, "images_per_s", &v)) *images_per_s = e.images_per_s;
    }
    json_object_put(o);
  }
  free(text);
  return 0;
}

int dlgn_run_write_filter_check(const char *run_dir, const dlgn_run_filter_check *c) {
  json_object *o = json_object_new_object(), *layers = json_object_new_array();
  for (int l = 0; l < c->nlayers && l < DLGN_MAX_LAYERS; l++) {
    json_object *e = json_object_new_object();
    json_object_object_add(e, "compared", json_object_new_int64((int64_t)c->layer[l].compared));
    json_object_object_add(e, "mismatched",
                           json_object_new_int64((int64_t)c->layer[l].mismatched));
    json_object_object_add(e, "near_zero", json_object_new_int64((int64_t)c->layer[l].near_zero));
    json_object_object_add(e, "agreement", json_object_new_double(c->layer[l].agreement));
    json_object_object_add(e, "max_err", json_object_new_double(c->layer[l].max_err));
    json_object_array_add(layers, e);
  }
  json_object_object_add(o, "passed", json_object_new_boolean(c->passed));
  json_object_object_add(o, "min_agreement", json_object_new_double(c->min_agreement));
  json_object_object_add(o, "images", json_object_new_int64((int64_t)c->images));
  json_object_object_add(o, "eps", json_object_new_double(c->eps));
  json_object_object_add(o, "layers", layers);
  const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY);
  char path[1200];
  snprintf(path, sizeof path, "%s/filter_check.json", run_dir);
  int rc = dlgn_write_file_atomic(path, text, strlen(text));
  json_object_put(o);
  return rc;
}

int dlgn_run_read_filter_check(const char *run_dir, dlgn_run_filter_check *c, bool *found) {
  char path[1200];
  memset(c, 0, sizeof *c);
  *found = false;
  snprintf(path, sizeof path, "%s/filter_check.json", run_dir);
  json_object *o, *v, *layers;
  DLGN_TRY(read_object(path, "filter check", &o));
  if (!o) return 0;
  int rc = 0;
  if (!json_object_object_get_ex(o, "passed", &v) || !json_object_is_type(v, json_type_boolean))
    rc = dlgn_fail("%s: no \"passed\" verdict", path);
  if (rc == 0) {
    c->passed = json_object_get_boolean(v);
    c->min_agreement = get_double(o, "min_agreement");
    double images = get_double(o, "images");
    c->images = images > 0 && images < 1e15 ? (size_t)images : 0;
    c->eps = get_double(o, "eps");
    if (json_object_object_get_ex(o, "layers", &layers) &&
        json_object_is_type(layers, json_type_array)) {
      size_t n = json_object_array_length(layers);
      for (size_t l = 0; l < n && l < DLGN_MAX_LAYERS; l++) {
        json_object *e = json_object_array_get_idx(layers, l);
        if (!json_object_is_type(e, json_type_object)) continue;
        double counts[3] = {get_double(e, "compared"), get_double(e, "mismatched"),
                            get_double(e, "near_zero")};
        size_t *dst[3] = {&c->layer[l].compared, &c->layer[l].mismatched,
                          &c->layer[l].near_zero};
        for (int k = 0; k < 3; k++) *dst[k] = counts[k] > 0 && counts[k] < 1e15 ? (size_t)counts[k] : 0;
        c->layer[l].agreement = get_double(e, "agreement");
        c->layer[l].max_err = get_double(e, "max_err");
        c->nlayers = (int)l + 1;
      }
    }
    *found = true;
  }
  json_object_put(o);
  return rc;
}

/* Groups of runs (mean and sample std over seeds) for results.md and the
 * plot, and results.md itself: one table per panel (architecture shape),
 * rows in the interpretability order of the paper, dnn < dgn < dlgn <
 * dlgn-sf, then by mode. */
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlgn/status.h"
#include "dlgn/sweep.h"
#include "dlgn/util.h"
#include "sweep_internal.h"

static void stat_add(sweep_stat *s, double v) {
  if (v < 0) return; /* not measured */
  s->sum += v;
  s->sumsq += v * v;
  s->n++;
}

double sweep_stat_mean(const sweep_stat *s) { return s->n ? s->sum / s->n : 0; }

/* Sample standard deviation (n - 1); 0 for a single seed. */
double sweep_stat_std(const sweep_stat *s) {
  if (s->n < 2) return 0;
  double m = sweep_stat_mean(s), var = (s->sumsq - s->n * m * m) / (s->n - 1);
  return var > 0 ? sqrt(var) : 0;
}

void sweep_panel_label(const sweep_row *r, char *out, size_t size) {
  const dlgn_model_config *m = &r->cfg.model;
  snprintf(out, size, "%s, depth %d, width %d%s", dlgn_arch_name(m->arch), m->depth, m->width,
           m->batchnorm ? ", batch norm" : "");
}

/* Settings shown as columns (or as the panel) are not "extra". */
static bool shown_anyway(const char *key) {
  static const char *keys[] = {"class",     "arch",    "depth",       "width",
                               "batchnorm", "mode",    "value_input", "shuffle_gates",
                               "seed",      "run_dir", "device",      "gates_from"};
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
    if (strcmp(key, keys[i]) == 0) return true;
  return false;
}

/* The settings that vary between the rows of panel p (panel_of: each row's). */
static int find_extra(const sweep_report *rp, const int *panel_of, int p, sweep_label *panel) {
  json_object *first = sweep_config_object(&rp->rows[panel->rep].cfg);
  if (!first) return dlgn_fail("out of host memory");
  for (int i = 0; i < rp->n; i++) {
    if (panel_of[i] != p || i == panel->rep) continue;
    json_object *o = sweep_config_object(&rp->rows[i].cfg);
    if (!o) {
      json_object_put(first);
      return dlgn_fail("out of host memory");
    }
    json_object_object_foreach(first, key, v) {
      json_object *w;
      if (shown_anyway(key) || !json_object_object_get_ex(o, key, &w) ||
          strcmp(json_object_get_string(v), json_object_get_string(w)) == 0)
        continue;
      bool known = false;
      for (int k = 0; k < panel->nextra; k++) known |= strcmp(panel->extra[k], key) == 0;
      if (!known && panel->nextra < MAX_EXTRA)
        snprintf(panel->extra[panel->nextra++], sizeof panel->extra[0], "%s", key);
    }
    json_object_put(o);
  }
  json_object_put(first);
  return 0;
}

/* The value of a config key as text (doubles as %g). */
void sweep_extra_value(const sweep_row *r, const char *key, char *out, size_t size) {
  out[0] = '\0';
  json_object *o = sweep_config_object(&r->cfg), *v = NULL;
  if (o && json_object_object_get_ex(o, key, &v)) {
    if (json_object_is_type(v, json_type_double))
      snprintf(out, size, "%g", json_object_get_double(v));
    else
      snprintf(out, size, "%s", json_object_get_string(v));
  }
  json_object_put(o);
}

/* "lr=0.01, batch=32" for the extra settings of a row. */
static void extra_label(const sweep_label *panel, const sweep_row *r, char *out, size_t size) {
  size_t used = 0;
  out[0] = '\0';
  for (int k = 0; k < panel->nextra && used < size; k++) {
    char v[128];
    sweep_extra_value(r, panel->extra[k], v, sizeof v);
    used += (size_t)snprintf(out + used, size - used, "%s%s=%s", used ? ", " : "", panel->extra[k], v);
  }
}

static void series_label(const sweep_label *panel, const sweep_row *r, char *out, size_t size) {
  const dlgn_model_config *m = &r->cfg.model;
  char extra[160];
  extra_label(panel, r, extra, sizeof extra);
  snprintf(out, size, "%s%s%s%s%s%s", dlgn_mode_name(m->mode),
           m->value_input == DLGN_VALUE_ONES ? ", ones input" : "",
           m->shuffle != DLGN_SHUFFLE_NONE ? ", shuffled " : "",
           m->shuffle != DLGN_SHUFFLE_NONE ? dlgn_shuffle_name(m->shuffle) : "",
           extra[0] ? ", " : "", extra);
}

static int intern(sweep_label **list, int *n, int cap, const char *label, int row) {
  for (int i = 0; i < *n; i++)
    if (strcmp((*list)[i].label, label) == 0) return i;
  if (*n == cap) return -1;
  snprintf((*list)[*n].label, sizeof(*list)[*n].label, "%s", label);
  (*list)[*n].rep = row;
  return (*n)++;
}

/* The group key: every setting but the seed (and paths). */
static char *group_key(const sweep_row *r) {
  dlgn_train_config c = r->cfg;
  c.seed = 0;
  c.gates_from[0] = '\0';
  return sweep_canonical(&c, true, true);
}

/* Panels by architecture shape, series by mode, value input, shuffle, label. */
static void label_key(const sweep_report *rp, const sweep_label *l, bool panel, int *key) {
  const dlgn_model_config *m = &rp->rows[l->rep].cfg.model;
  if (panel) {
    key[0] = (int)m->arch, key[1] = m->depth, key[2] = m->width, key[3] = m->batchnorm;
  } else {
    key[0] = (int)m->mode, key[1] = (int)m->value_input, key[2] = (int)m->shuffle, key[3] = 0;
  }
}

static void sort_labels(sweep_report *rp, sweep_label *list, int n, bool panel) {
  int *map = malloc((size_t)(n ? n : 1) * sizeof *map);
  int *inv = malloc((size_t)(n ? n : 1) * sizeof *inv);
  if (!map || !inv) { /* unsorted is still correct */
    free(map);
    free(inv);
    return;
  }
  for (int i = 0; i < n; i++) map[i] = i;
  for (int i = 1; i < n; i++) /* insertion sort: a handful of labels */
    for (int j = i; j > 0; j--) {
      int a[4], b[4], c = 0;
      label_key(rp, &list[j - 1], panel, a);
      label_key(rp, &list[j], panel, b);
      for (int k = 0; k < 4 && !c; k++) c = (a[k] > b[k]) - (a[k] < b[k]);
      if (!c) c = strcmp(list[j - 1].label, list[j].label);
      if (c <= 0) break;
      sweep_label t = list[j];
      list[j] = list[j - 1];
      list[j - 1] = t;
      int u = map[j];
      map[j] = map[j - 1];
      map[j - 1] = u;
    }
  /* map[new] = old; groups hold old indices */
  for (int i = 0; i < n; i++) inv[map[i]] = i;
  for (int g = 0; g < rp->ngroups; g++) {
    int *idx = panel ? &rp->groups[g].panel : &rp->groups[g].series;
    *idx = inv[*idx];
  }
  free(inv);
  free(map);
}

int sweep_report_build(sweep_report *rp, const sweep_row *rows, int n) {
  memset(rp, 0, sizeof *rp);
  rp->rows = rows;
  rp->n = n;
  int cap = n ? n : 1;
  rp->group_of = calloc((size_t)cap, sizeof *rp->group_of);
  rp->groups = calloc((size_t)cap, sizeof *rp->groups);
  rp->panels = calloc((size_t)cap, sizeof *rp->panels);
  rp->series = calloc((size_t)cap, sizeof *rp->series);
  char **keys = calloc((size_t)cap, sizeof *keys);
  int *panel_of = calloc((size_t)cap, sizeof *panel_of);
  int rc = -1;
  if (!rp->group_of || !rp->groups || !rp->panels || !rp->series || !keys || !panel_of) {
    dlgn_fail("out of host memory building the report");
    goto done;
  }
  char label[256];
  for (int i = 0; i < n; i++) {
    sweep_panel_label(&rows[i], label, sizeof label);
    panel_of[i] = intern(&rp->panels, &rp->npanels, cap, label, i);
  }
  for (int p = 0; p < rp->npanels; p++)
    if (find_extra(rp, panel_of, p, &rp->panels[p]) != 0) goto done;
  for (int i = 0; i < n; i++) {
    const sweep_row *r = &rows[i];
    if (!(keys[i] = group_key(r))) {
      dlgn_fail("out of host memory building the report");
      goto done;
    }
    int g = 0;
    while (g < rp->ngroups && strcmp(keys[rp->groups[g].first], keys[i]) != 0) g++;
    if (g == rp->ngroups) {
      sweep_group *G = &rp->groups[rp->ngroups++];
      G->first = i;
      G->min_agreement = 1;
      G->panel = panel_of[i];
      series_label(&rp->panels[G->panel], r, label, sizeof label);
      G->series = intern(&rp->series, &rp->nseries, cap, label, i);
    }
    sweep_group *G = &rp->groups[g];
    rp->group_of[i] = g;
    G->nseeds++;
    stat_add(&G->test_hard, r->test_hard);
    stat_add(&G->test_soft, r->test_soft);
    stat_add(&G->train_hard, r->train_hard);
    stat_add(&G->train_soft, r->train_soft);
    stat_add(&G->seconds, r->seconds);
    stat_add(&G->ips, r->images_per_s);
    if (r->filter == 1 || r->filter == 0) {
      if (r->filter)
        G->pass++;
      else
        G->fail++;
      if (r->filter_min_agreement < G->min_agreement) G->min_agreement = r->filter_min_agreement;
    } else if (r->filter == 2)
      G->unchecked++;
  }
  sort_labels(rp, rp->panels, rp->npanels, true);
  sort_labels(rp, rp->series, rp->nseries, false);
  rc = 0;
done:
  for (int i = 0; keys && i < n; i++) free(keys[i]);
  free(keys);
  free(panel_of);
  return rc;
}

void sweep_report_free(sweep_report *rp) {
  free(rp->group_of);
  free(rp->groups);
  free(rp->panels);
  free(rp->series);
}

static void fmt_acc(const sweep_stat *s, char *out, size_t size) {
  if (!s->n)
    snprintf(out, size, "-");
  else if (s->n == 1)
    snprintf(out, size, "%.2f", 100 * sweep_stat_mean(s));
  else
    snprintf(out, size, "%.2f ± %.2f", 100 * sweep_stat_mean(s), 100 * sweep_stat_std(s));
}

static void fmt_filter(const sweep_group *g, const sweep_row *r, char *out, size_t size) {
  if (r->filter < 0)
    snprintf(out, size, "n/a");
  else if (!g->pass && !g->fail)
    snprintf(out, size, "not checked");
  else if (!g->fail)
    snprintf(out, size, "pass (min %.4f)", g->min_agreement);
  else
    snprintf(out, size, "fail %d/%d (min %.4f)", g->fail, g->pass + g->fail, g->min_agreement);
}

int sweep_write_markdown(const sweep_row *rows, int n, const char *out_dir, const char *title) {
  sweep_report rp;
  if (sweep_report_build(&rp, rows, n) != 0) {
    sweep_report_free(&rp);
    return -1;
  }
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  if (!f) {
    sweep_report_free(&rp);
    return dlgn_fail("out of host memory writing results.md");
  }
  fprintf(f, "# %s: interpretability against accuracy\n\n", title);
  fprintf(f,
          "%d runs. Accuracy in %%, mean ± sample standard deviation over the seeds (column "
          "*seeds*); *hard*/*soft*: evaluated with hard or soft gates. Interpretability rises "
          "down each table: dnn < dgn < dlgn < dlgn-sf. *gates*: learnt (joint "
          "training), fixed-learnt (frozen gates of a trained model), fixed-random, shuffled. "
          "*filter check*: gates recomputed from the exported effective filters equal the "
          "network's own (minimum agreement over layers and seeds); n/a where gates are not "
          "hyperplanes. *seconds*: training time per run.\n\n",
          n);
  for (int i = 0; i < n; i++) {
    bool seen = false;
    for (int j = 0; j < i; j++) seen |= strcmp(rows[j].data_source, rows[i].data_source) == 0;
    if (!seen)
      fprintf(f, "data: %s%s  \n", rows[i].data_source, rows[i].synthetic ? " (synthetic)" : "");
  }
  for (int p = 0; p < rp.npanels; p++) {
    fprintf(f,
            "\n## %s\n\n| class | mode | value input | gates | linear gating | gating depth | "
            "filter check |",
            rp.panels[p].label);
    const sweep_label *P = &rp.panels[p];
    for (int k = 0; k < P->nextra; k++) fprintf(f, " %s |", P->extra[k]);
    fprintf(f,
            " seeds | test hard | test soft | train hard | train soft | seconds | images/s |\n|");
    for (int k = 0; k < 14 + P->nextra; k++) fprintf(f, "---|");
    fputc('\n', f);
    for (int g = 0; g < rp.ngroups; g++) {
      const sweep_group *G = &rp.groups[g];
      if (G->panel != p) continue;
      const sweep_row *r = &rows[G->first];
      const dlgn_model_config *m = &r->cfg.model;
      char th[48], ts[48], trh[48], trs[48], filt[64], extra[160];
      fmt_acc(&G->test_hard, th, sizeof th);
      fmt_acc(&G->test_soft, ts, sizeof ts);
      fmt_acc(&G->train_hard, trh, sizeof trh);
      fmt_acc(&G->train_soft, trs, sizeof trs);
      fmt_filter(G, r, filt, sizeof filt);
      fprintf(f, "| %s | %s | %s | %s%s%s | %s | %d | %s |", dlgn_class_name(m->cls),
              dlgn_mode_name(m->mode), dlgn_value_input_name(m->value_input), r->gate_source,
              m->shuffle != DLGN_SHUFFLE_NONE ? " " : "",
              m->shuffle != DLGN_SHUFFLE_NONE ? dlgn_shuffle_name(m->shuffle) : "",
              r->linear_gating ? "yes" : "no", r->gating_depth, filt);
      for (int k = 0; k < P->nextra; k++) {
        sweep_extra_value(r, P->extra[k], extra, sizeof extra);
        fprintf(f, " %s |", extra);
      }
      fprintf(f, " %d | %s | %s | %s | %s | %.1f | %.0f |\n", G->nseeds, th, ts, trh, trs,
              sweep_stat_mean(&G->seconds), sweep_stat_mean(&G->ips));
    }
  }
  if (n == 0) fprintf(f, "\nNo finished runs yet.\n");
  int bad = fclose(f) != 0;
  int rc = -1;
  if (bad)
    dlgn_fail("out of host memory writing results.md");
  else {
    char path[1200];
    snprintf(path, sizeof path, "%s/results.md", out_dir);
    rc = dlgn_write_file_atomic(path, text, len);
  }
  free(text);
  sweep_report_free(&rp);
  return rc;
}

/* Sweep files: grid expansion over defaults, skipping of meaningless
 * combinations, stable run names, and the wiring of fixed-learnt runs to the
 * joint runs whose gates they freeze. */
#include <json-c/json.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlgn/config_keys.h"
#include "dlgn/status.h"
#include "dlgn/sweep.h"
#include "dlgn/util.h"
#include "sweep_internal.h"

#define MAX_RUNS 20000
/* A plan this large is worth a note: every grid key multiplies the count. */
#define LARGE_PLAN 1000

typedef struct {
  dlgn_sweep_run run;
  char what[512]; /* "grid combination (class=dnn, mode=joint)" or "runs[2]", for notes */
  bool derived;   /* gates_from wired by the sweep */
  bool dropped;
} spec;

typedef struct {
  spec *v;
  int n, cap;
} spec_list;

json_object *sweep_config_object(const dlgn_train_config *c) {
  char *text = dlgn_train_config_to_json(c);
  if (!text) return NULL;
  json_object *o = json_tokener_parse(text);
  free(text);
  return o;
}

char *sweep_canonical(const dlgn_train_config *c, bool with_epochs, bool derived_gates) {
  json_object *o = sweep_config_object(c);
  if (!o) return NULL;
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  if (!f) {
    json_object_put(o);
    return NULL;
  }
  json_object_object_foreach(o, key, v) {
    /* the experiment's keys only, num_classes following from the data */
    const dlgn_config_key *k = dlgn_config_key_find(key);
    if (!k || k->scope != DLGN_SCOPE_EXPERIMENT || !strcmp(key, "num_classes")) continue;
    if (k->omit_default && dlgn_config_key_is_default(k, c)) continue;
    if (!with_epochs && !strcmp(key, "epochs")) continue;
    if (derived_gates && !strcmp(key, "gates_from")) continue;
    if (json_object_is_type(v, json_type_double))
      fprintf(f, "%s=%.9g;", key, json_object_get_double(v));
    else
      fprintf(f, "%s=%s;", key, json_object_get_string(v));
  }
  json_object_put(o);
  if (fclose(f) != 0) {
    free(text);
    return NULL;
  }
  return text;
}

int sweep_note(dlgn_sweep_plan *p, const char *fmt, ...) {
  char **grown = realloc(p->notes, (size_t)(p->nnotes + 1) * sizeof *grown);
  if (!grown) return dlgn_fail("out of host memory for sweep notes");
  p->notes = grown;
  va_list ap;
  va_start(ap, fmt);
  int len = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *text = len >= 0 ? malloc((size_t)len + 1) : NULL;
  if (!text) return dlgn_fail("out of host memory for sweep notes");
  va_start(ap, fmt);
  vsnprintf(text, (size_t)len + 1, fmt, ap);
  va_end(ap);
  p->notes[p->nnotes++] = text;
  return 0;
}

/* Apply one JSON object of configuration keys; run_dir is the sweep's. */
static int apply_object(dlgn_train_config *c, json_object *o, const char *origin) {
  if (!json_object_is_type(o, json_type_object))
    return dlgn_fail("%s: expected an object of configuration keys", origin);
  if (json_object_object_get_ex(o, "run_dir", NULL))
    return dlgn_fail("%s: \"run_dir\" is chosen by the sweep (OUT/runs/NAME); leave it out",
                     origin);
  return dlgn_train_config_from_json(c, json_object_to_json_string(o), origin);
}

static bool has_key(json_object *const *objs, int n, const char *key) {
  for (int i = 0; i < n; i++)
    if (json_object_object_get_ex(objs[i], key, NULL)) return true;
  return false;
}

static int spec_push(spec_list *l, const spec *s) {
  if (l->n == MAX_RUNS) return dlgn_fail("the sweep expands to more than %d runs", MAX_RUNS);
  if (l->n == l->cap) {
    int cap = l->cap ? 2 * l->cap : 64;
    spec *grown = realloc(l->v, (size_t)cap * sizeof *grown);
    if (!grown) return dlgn_fail("out of host memory expanding the sweep");
    l->v = grown;
    l->cap = cap;
  }
  l->v[l->n++] = *s;
  return 0;
}

/* One run from layers of keys applied in order (defaults, then a grid
 * combination's values, or a runs entry); a combination the model rejects
 * becomes a note. */
static int add_spec(dlgn_sweep_plan *p, spec_list *l, json_object *const *objs, int n,
                    const char *what, const char *origin) {
  spec s;
  memset(&s, 0, sizeof s);
  s.run.source = -1;
  snprintf(s.what, sizeof s.what, "%s", what);
  dlgn_train_config *c = &s.run.cfg;
  dlgn_train_config_default(c);
  for (int i = 0; i < n; i++) DLGN_TRY(apply_object(c, objs[i], origin));
  /* the same derived defaults as dlgn train (a dnn told to read ones is skipped) */
  dlgn_train_config_settle(c, has_key(objs, n, "depth"), has_key(objs, n, "width"),
                           has_key(objs, n, "value_input"));
  c->run.class_given = true;
  if (c->epochs < 1 || c->batch < 1 || !(c->lr > 0))
    return dlgn_fail("%s: epochs and batch must be >= 1 and lr > 0", origin);
  if (dlgn_model_config_check(&c->model) != 0) {
    DLGN_TRY(sweep_note(p, "skipped %s: %s", what, dlgn_error()));
    dlgn_error_clear();
    return 0;
  }
  /* the cap's message names the file and where the grid passed it */
  if (spec_push(l, &s) != 0) return dlgn_fail_context("%s", origin);
  return 0;
}

/* A grid axis is a configuration key with a list of values, or a label with
 * a list of objects ("bundles" of keys that go together, such as an
 * architecture and its optimiser). */
typedef struct {
  const char *key;
  json_object *values;
  bool bundle;
  int at; /* index of the current value */
} axis;

/* The keys one value of an axis sets, as an object (json_object_put it). */
static json_object *axis_object(const axis *a, int i) {
  json_object *v = json_object_array_get_idx(a->values, (size_t)i);
  if (a->bundle) return json_object_get(v);
  json_object *o = json_object_new_object();
  if (o) json_object_object_add(o, a->key, json_object_get(v));
  return o;
}

/* Check every value of an axis alone, so that a bad one is named precisely. */
static int axis_check(const axis *a, const char *path, const char *where) {
  char origin[1200];
  size_t n =
      json_object_is_type(a->values, json_type_array) ? json_object_array_length(a->values) : 0;
  if (n == 0)
    return dlgn_fail("%s: %s \"%s\" must be a non-empty list of values", path, where, a->key);
  for (size_t i = 0; i < n; i++) {
    snprintf(origin, sizeof origin, "%s: %s \"%s\"[%zu]", path, where, a->key, i);
    if (json_object_is_type(json_object_array_get_idx(a->values, i), json_type_object) != a->bundle)
      return dlgn_fail("%s: either every value is an object of keys, or none", origin);
    dlgn_train_config probe;
    dlgn_train_config_default(&probe);
    json_object *o = axis_object(a, (int)i);
    if (!o) return dlgn_fail("out of host memory");
    int rc = apply_object(&probe, o, origin);
    json_object_put(o);
    DLGN_TRY(rc);
  }
  return 0;
}

/* "grid combination (recipe[1], class=dnn, mode=joint)", for notes. */
static void describe(const axis *axes, int naxes, const char *where, char *out, size_t size) {
  size_t used = (size_t)snprintf(out, size, "%s combination (", where);
  for (int k = 0; k < naxes && used < size; k++) {
    const axis *a = &axes[k];
    const char *sep = k ? ", " : "";
    if (a->bundle)
      used += (size_t)snprintf(out + used, size - used, "%s%s[%d]", sep, a->key, a->at);
    else
      used += (size_t)snprintf(
          out + used, size - used, "%s%s=%s", sep, a->key,
          json_object_get_string(json_object_array_get_idx(a->values, (size_t)a->at)));
  }
  if (used < size) snprintf(out + used, size - used, ")");
}

/* Every combination of one grid object on top of the defaults; the last axis
 * varies fastest, like nested loops in file order. g: its index in a list of
 * grids, or -1. */
static int expand_grid(dlgn_sweep_plan *p, spec_list *l, json_object *defaults, json_object *grid,
                       const char *path, int g) {
  enum { MAX_AXES = 32 };
  axis axes[MAX_AXES];
  json_object *objs[MAX_AXES + 1];
  char where[48] = "grid", what[512], origin[1200];
  int naxes = 0, k;
  if (g >= 0) snprintf(where, sizeof where, "grid[%d]", g);
  if (!json_object_is_type(grid, json_type_object))
    return dlgn_fail("%s: %s must be an object of key: [values]", path, where);
  if (json_object_object_length(grid) > MAX_AXES)
    return dlgn_fail("%s: more than %d keys in %s", path, MAX_AXES, where);
  json_object_object_foreach(grid, key, values) {
    axis *a = &axes[naxes++];
    *a = (axis){.key = key, .values = values, .at = 0};
    a->bundle = json_object_is_type(values, json_type_array) &&
                json_object_is_type(json_object_array_get_idx(values, 0), json_type_object);
    DLGN_TRY(axis_check(a, path, where));
  }
  if (naxes == 0) return 0;
  for (;;) {
    int n = 0, rc = 0;
    if (defaults) objs[n++] = json_object_get(defaults);
    for (k = 0; k < naxes && rc == 0; k++)
      if (!(objs[n++] = axis_object(&axes[k], axes[k].at))) {
        n--;
        rc = dlgn_fail("out of host memory expanding %s", where);
      }
    describe(axes, naxes, where, what, sizeof what);
    snprintf(origin, sizeof origin, "%s: %s", path, what);
    if (rc == 0) rc = add_spec(p, l, objs, n, what, origin);
    for (int i = 0; i < n; i++) json_object_put(objs[i]);
    DLGN_TRY(rc);
    for (k = naxes - 1; k >= 0; k--) {
      if (++axes[k].at < (int)json_object_array_length(axes[k].values)) break;
      axes[k].at = 0;
    }
    if (k < 0) return 0;
  }
}

/* Can run s give the gates of fixed-learnt run t? A dnn's gates make a dgn. */
static bool source_fits(const dlgn_train_config *t, const dlgn_train_config *s) {
  const dlgn_model_config *a = &t->model, *b = &s->model;
  if (b->mode != DLGN_JOINT || b->shuffle != DLGN_SHUFFLE_NONE) return false;
  if (dlgn_model_class_on_gates_of(b->cls) != a->cls) return false;
  return a->arch == b->arch && a->depth == b->depth && a->width == b->width &&
         a->batchnorm == b->batchnorm && t->seed == s->seed && strcmp(t->data, s->data) == 0 &&
         t->synth_train == s->synth_train && t->synth_test == s->synth_test;
}

/* Among fitting sources: a dnn for a dgn (the paper's experiment), then the
 * one that shares the most other settings (value input, optimiser...). */
static int source_score(const dlgn_train_config *t, const dlgn_train_config *s) {
  json_object *a = sweep_config_object(t), *b = sweep_config_object(s);
  int score = s->model.cls == DLGN_DNN ? 1000 : 0;
  if (a && b) {
    json_object_object_foreach(a, key, va) {
      json_object *vb;
      if (json_object_object_get_ex(b, key, &vb) &&
          strcmp(json_object_get_string(va), json_object_get_string(vb)) == 0)
        score++;
    }
  }
  json_object_put(a);
  json_object_put(b);
  return score;
}

static void name_run(dlgn_sweep_run *r, bool derived) {
  const dlgn_train_config *c = &r->cfg;
  const dlgn_model_config *m = &c->model;
  char *canon = sweep_canonical(c, false, derived);
  uint64_t h = 1469598103934665603ULL; /* FNV-1a */
  for (const char *q = canon ? canon : ""; *q; q++) h = (h ^ (unsigned char)*q) * 1099511628211ULL;
  free(canon);
  snprintf(r->name, sizeof r->name, "%s-%s-d%d-w%d%s-%s%s%s%s%s-s%llu-%08x", dlgn_class_name(m->cls),
           dlgn_arch_name(m->arch), m->depth, m->width, m->batchnorm ? "-bn" : "",
           dlgn_mode_name(m->mode), m->value_input == DLGN_VALUE_ONES ? "-ones" : "",
           m->shuffle != DLGN_SHUFFLE_NONE ? "-shuffled-" : "",
           m->shuffle != DLGN_SHUFFLE_NONE ? dlgn_shuffle_name(m->shuffle) : "",
           c->labels == DLGN_LABELS_COARSE ? "-coarse" : "", (unsigned long long)c->seed, (unsigned)((h ^ (h >> 32)) & 0xffffffffu));
}

static void set_run_dir(dlgn_sweep_run *r, const char *out_dir) {
  snprintf(r->cfg.run.run_dir, sizeof r->cfg.run.run_dir, "%.800s/runs/%.150s", out_dir, r->name);
}

/* Name every run; a second run with the same settings is a duplicate. */
static int name_and_dedupe(dlgn_sweep_plan *p, spec_list *l, const char *path) {
  for (int i = 0; i < l->n; i++) {
    spec *s = &l->v[i];
    if (s->dropped) continue;
    name_run(&s->run, s->derived);
    set_run_dir(&s->run, p->out_dir);
    for (int j = 0; j < i; j++) {
      spec *o = &l->v[j];
      if (o->dropped || strcmp(o->run.name, s->run.name) != 0) continue;
      if (o->run.cfg.epochs != s->run.cfg.epochs)
        return dlgn_fail(
            "%s: %s and %s differ only in epochs; one run folder cannot hold both "
            "(raise epochs instead: finished runs resume and train on)",
            path, o->what, s->what);
      s->dropped = true;
      DLGN_TRY(sweep_note(p, "skipped %s: the same run as %s (%s)", s->what, o->what, o->run.name));
      break;
    }
  }
  return 0;
}

/* fixed-learnt runs without gates_from take the checkpoint of a joint run of
 * the sweep; copy the settings the trainer takes from the source, so that
 * the planned config is the one the run folder will hold. */
static int wire_sources(dlgn_sweep_plan *p, spec_list *l) {
  for (int i = 0; i < l->n; i++) {
    spec *t = &l->v[i];
    dlgn_train_config *c = &t->run.cfg;
    if (t->dropped || c->model.mode != DLGN_FIXED_LEARNT || c->gates_from[0]) continue;
    int best = -1, best_score = -1;
    for (int j = 0; j < l->n; j++) {
      spec *s = &l->v[j];
      if (j == i || s->dropped || !source_fits(c, &s->run.cfg)) continue;
      int score = source_score(c, &s->run.cfg);
      if (score > best_score) best = j, best_score = score;
    }
    if (best < 0) {
      t->dropped = true;
      DLGN_TRY(sweep_note(p,
                          "skipped %s: fixed-learnt needs gates_from, or a joint run of the "
                          "same arch, depth, width and seed in the sweep (a dnn for a dgn, "
                          "else the same class) to take the gates from",
                          t->what));
      continue;
    }
    const dlgn_train_config *s = &l->v[best].run.cfg;
    snprintf(c->gates_from, sizeof c->gates_from, "%.1000s/checkpoint.bin", s->run.run_dir);
    c->model.beta = s->model.beta;
    c->normalize = s->normalize;
    t->derived = true;
    t->run.source = best; /* a spec index until the runs are ordered */
  }
  return 0;
}

/* Sources (wave 1) first, each wave in file order. */
static int order_runs(dlgn_sweep_plan *p, spec_list *l) {
  int *pos = malloc((size_t)(l->n ? l->n : 1) * sizeof *pos);
  p->runs = calloc((size_t)(l->n ? l->n : 1), sizeof *p->runs);
  if (!pos || !p->runs) {
    free(pos);
    return dlgn_fail("out of host memory ordering the sweep");
  }
  for (int wave = 1; wave <= 2; wave++)
    for (int i = 0; i < l->n; i++) {
      spec *s = &l->v[i];
      if (s->dropped || (s->derived ? 2 : 1) != wave) continue;
      pos[i] = p->nruns;
      p->runs[p->nruns++] = s->run;
    }
  for (int i = 0; i < p->nruns; i++)
    if (p->runs[i].source >= 0) p->runs[i].source = pos[p->runs[i].source];
  free(pos);
  return 0;
}

static int plan_build(dlgn_sweep_plan *p, json_object *root, const char *path) {
  json_object *defaults = NULL, *grid = NULL, *runs = NULL;
  if (!json_object_is_type(root, json_type_object))
    return dlgn_fail("%s: a sweep file is a JSON object (see docs/sweeps.md)", path);
  json_object_object_foreach(root, key, v) {
    if (!strcmp(key, "name")) {
      if (!json_object_is_type(v, json_type_string))
        return dlgn_fail("%s: \"name\" must be a string", path);
      snprintf(p->name, sizeof p->name, "%s", json_object_get_string(v));
    } else if (!strcmp(key, "description")) {
      if (!json_object_is_type(v, json_type_string))
        return dlgn_fail("%s: \"description\" must be a string", path);
    } else if (!strcmp(key, "defaults"))
      defaults = v;
    else if (!strcmp(key, "grid"))
      grid = v;
    else if (!strcmp(key, "runs"))
      runs = v;
    else
      return dlgn_fail(
          "%s: unknown key \"%s\" (a sweep file has name, description, defaults, "
          "grid, runs)",
          path, key);
  }
  char origin[1200];
  snprintf(origin, sizeof origin, "%s: defaults", path);
  dlgn_train_config probe;
  dlgn_train_config_default(&probe);
  if (defaults) DLGN_TRY(apply_object(&probe, defaults, origin));
  if (grid && !json_object_is_type(grid, json_type_object) &&
      !json_object_is_type(grid, json_type_array))
    return dlgn_fail("%s: \"grid\" must be an object of key: [values], or a list of them", path);
  if (runs && !json_object_is_type(runs, json_type_array))
    return dlgn_fail("%s: \"runs\" must be a list of objects", path);
  if (!grid && (!runs || json_object_array_length(runs) == 0))
    return dlgn_fail("%s: no runs (give a \"grid\", \"runs\", or both)", path);

  spec_list l = {0};
  int rc = -1;
  if (grid && json_object_is_type(grid, json_type_object) &&
      expand_grid(p, &l, defaults, grid, path, -1) != 0)
    goto done;
  for (size_t i = 0;
       grid && json_object_is_type(grid, json_type_array) && i < json_object_array_length(grid);
       i++)
    if (expand_grid(p, &l, defaults, json_object_array_get_idx(grid, i), path, (int)i) != 0)
      goto done;
  for (size_t i = 0; runs && i < json_object_array_length(runs); i++) {
    char what[64];
    json_object *objs[2] = {defaults, json_object_array_get_idx(runs, i)};
    snprintf(what, sizeof what, "runs[%zu]", i);
    snprintf(origin, sizeof origin, "%s: %s", path, what);
    if (add_spec(p, &l, defaults ? objs : objs + 1, defaults ? 2 : 1, what, origin)) goto done;
  }
  if (l.n == 0 && p->nnotes == 0) {
    dlgn_fail("%s: no runs (the grid is empty)", path);
    goto done;
  }
  /* sources are named before their dependents, whose names exclude gates_from */
  /* named twice: sources need their folders before wiring, and wiring
   * changes the settings (and so the names) of the fixed-learnt runs */
  if (name_and_dedupe(p, &l, path) != 0 || wire_sources(p, &l) != 0 ||
      name_and_dedupe(p, &l, path) != 0 || order_runs(p, &l) != 0)
    goto done;
  if (p->nruns == 0) {
    dlgn_fail("%s: every combination was skipped (%d notes), nothing to run", path, p->nnotes);
    goto done;
  }
  if (p->nruns > LARGE_PLAN &&
      sweep_note(p, "%s expands to %d runs (every grid key multiplies the count; --list shows "
                 "them)",
                 path, p->nruns) != 0)
    goto done;
  rc = 0;
done:
  free(l.v);
  return rc;
}

int dlgn_sweep_plan_parse(dlgn_sweep_plan *p, const char *json, const char *origin,
                          const char *out_dir) {
  memset(p, 0, sizeof *p);
  if (strlen(out_dir) > 800) return dlgn_fail("output folder path too long: %s", out_dir);
  snprintf(p->out_dir, sizeof p->out_dir, "%s", out_dir);
  for (size_t n = strlen(p->out_dir); n > 1 && p->out_dir[n - 1] == '/'; n--) p->out_dir[n - 1] = '\0';
  /* the default name: the file's base name without .json */
  const char *base = strrchr(origin, '/') ? strrchr(origin, '/') + 1 : origin;
  snprintf(p->name, sizeof p->name, "%.*s", (int)strcspn(base, "."), base);
  size_t len = strlen(json);
  if (strspn(json, " \t\r\n") == len)
    return dlgn_fail("%s: the file is empty (a sweep file is one JSON object)", origin);
  json_tokener *tok = json_tokener_new();
  if (!tok) return dlgn_fail("out of host memory");
  /* strict: no trailing commas, no single quotes, no comments */
  json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
  json_object *root = json_tokener_parse_ex(tok, json, (int)len);
  enum json_tokener_error jerr = json_tokener_get_error(tok);
  int line = 1;
  size_t end = json_tokener_get_parse_end(tok);
  for (size_t i = 0; i < end && json[i]; i++) line += json[i] == '\n';
  json_tokener_free(tok);
  if (!root || jerr != json_tokener_success) {
    json_object_put(root);
    /* "continue" means the text ended inside the object */
    if (jerr == json_tokener_continue)
      return dlgn_fail("%s: the JSON ends at line %d before its object is closed (a truncated "
                       "file?)",
                       origin, line);
    return dlgn_fail("%s: not valid JSON near line %d (%s)", origin, line,
                     json_tokener_error_desc(jerr));
  }
  if (strspn(json + end, " \t\r\n") != len - end) {
    json_object_put(root);
    return dlgn_fail("%s: not valid JSON near line %d (more text after the object)", origin,
                     line);
  }
  char key[64];
  int key_line, dup = dlgn_json_find_duplicate_key(json, len, key, sizeof key, &key_line);
  if (dup != 0) {
    json_object_put(root);
    if (dup < 0) return -1;
    return dlgn_fail("%s line %d: key \"%s\" appears twice in one object (JSON keeps only one of "
                     "them)",
                     origin, key_line, key);
  }
  int rc = plan_build(p, root, origin);
  json_object_put(root);
  if (rc != 0) dlgn_sweep_plan_free(p);
  return rc;
}

/* A relative "data" path means the file beside the sweep file, else the one
 * under the working folder; the run (and its job line) gets the absolute path
 * of the one found, so that it trains on the same data from any folder. Run
 * names stay those of the path as written. Not found in either: left as
 * written, for dlgn train's own message. */
static int resolve_data(dlgn_train_config *c, const char *sweep_path) {
  if (!c->data[0] || c->data[0] == '/' || strcmp(c->data, "synthetic") == 0) return 0;
  char dir[1024], beside[2100], abs[PATH_MAX];
  snprintf(dir, sizeof dir, "%s", sweep_path);
  char *slash = strrchr(dir, '/');
  if (slash) *slash = '\0';
  else snprintf(dir, sizeof dir, ".");
  snprintf(beside, sizeof beside, "%s/%s", dir, c->data);
  const char *found = realpath(beside, abs) ? abs : realpath(c->data, abs) ? abs : NULL;
  if (!found) return 0;
  if (strlen(found) >= sizeof c->data) return dlgn_fail("data path too long: %s", found);
  memcpy(c->data, found, strlen(found) + 1);
  return 0;
}

int dlgn_sweep_plan_load(dlgn_sweep_plan *p, const char *path, const char *out_dir) {
  char *text;
  memset(p, 0, sizeof *p);
  DLGN_TRY(dlgn_read_file(path, "sweep file", DLGN_MAX_SWEEP_BYTES, &text, NULL));
  int rc = dlgn_sweep_plan_parse(p, text, path, out_dir);
  free(text);
  for (int i = 0; rc == 0 && i < p->nruns; i++) rc = resolve_data(&p->runs[i].cfg, path);
  if (rc != 0) dlgn_sweep_plan_free(p);
  return rc;
}

void dlgn_sweep_plan_free(dlgn_sweep_plan *p) {
  for (int i = 0; i < p->nnotes; i++) free(p->notes[i]);
  free(p->notes);
  free(p->runs);
  memset(p, 0, sizeof *p);
}

void dlgn_sweep_plan_set_device(dlgn_sweep_plan *p, const char *device) {
  for (int i = 0; i < p->nruns; i++)
    snprintf(p->runs[i].cfg.run.device, sizeof p->runs[i].cfg.run.device, "%s", device);
}

int dlgn_sweep_run_wave(const dlgn_sweep_run *r) { return r->source >= 0 ? 2 : 1; }

/* Training configuration: defaults, names, the learning-rate schedule, and the
 * JSON form written as RUN_DIR/config.json (also the key set of sweep files). */
#include <float.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dlgn/config_keys.h"
#include "dlgn/status.h"
#include "dlgn/train.h"
#include "dlgn/util.h"

static const char *opt_names[] = {"adam", "sgd"};
static const char *sched_names[] = {"constant", "cosine", "step"};
static const char *norm_names[] = {"unit", "standard"};
static const char *labels_names[] = {"fine", "coarse"};

const char *dlgn_optimizer_name(dlgn_optimizer o) { return opt_names[o]; }
const char *dlgn_schedule_name(dlgn_lr_schedule s) { return sched_names[s]; }
const char *dlgn_normalize_name(dlgn_normalize n) { return norm_names[n]; }
const char *dlgn_labels_name(dlgn_labels l) { return labels_names[l]; }

int dlgn_optimizer_parse(const char *s, dlgn_optimizer *out) {
  int v;
  DLGN_TRY(dlgn_parse_choice(s, opt_names, 2, "optimizer", &v));
  *out = (dlgn_optimizer)v;
  return 0;
}
int dlgn_schedule_parse(const char *s, dlgn_lr_schedule *out) {
  int v;
  DLGN_TRY(dlgn_parse_choice(s, sched_names, 3, "learning-rate schedule", &v));
  *out = (dlgn_lr_schedule)v;
  return 0;
}
int dlgn_normalize_parse(const char *s, dlgn_normalize *out) {
  int v;
  DLGN_TRY(dlgn_parse_choice(s, norm_names, 2, "normalisation", &v));
  *out = (dlgn_normalize)v;
  return 0;
}

int dlgn_labels_parse(const char *s, dlgn_labels *out) {
  int v;
  DLGN_TRY(dlgn_parse_choice(s, labels_names, 2, "label set", &v));
  *out = (dlgn_labels)v;
  return 0;
}

float dlgn_lr_at(const dlgn_train_config *c, long step, long steps_per_epoch, long total) {
  switch (c->schedule) {
    case DLGN_LR_COSINE:
      if (total <= 1) return c->lr;
      return (float)(0.5 * c->lr * (1.0 + cos(3.141592653589793 * (double)step / (double)total)));
    case DLGN_LR_STEP: {
      long epoch = steps_per_epoch > 0 ? step / steps_per_epoch : 0;
      return c->lr * powf(c->step_gamma, (float)(epoch / (c->step_every > 0 ? c->step_every : 1)));
    }
    default:
      return c->lr;
  }
}

/* Every saved key of the schema, in its order. */
char *dlgn_train_config_to_json(const dlgn_train_config *c) {
  json_object *o = json_object_new_object();
  if (!o) return NULL;
  for (int i = 0; i < dlgn_config_nkeys; i++) {
    const dlgn_config_key *k = &dlgn_config_keys[i];
    if (!k->key) continue;
    const void *f = (const char *)c + k->offset;
    json_object *v = NULL;
    switch (k->type) {
      case DLGN_KEY_INT: v = json_object_new_int64(dlgn_config_get_int(k, c)); break;
      case DLGN_KEY_REAL: v = json_object_new_double((double)*(const float *)f); break;
      case DLGN_KEY_BOOL: v = json_object_new_boolean(*(const bool *)f); break;
      case DLGN_KEY_TEXT: v = json_object_new_string((const char *)f); break;
      case DLGN_KEY_CHOICE:
        v = json_object_new_string(k->name_of(dlgn_config_choice_index(k, c)));
        break;
    }
    if (!v || json_object_object_add(o, k->key, v) != 0) {
      json_object_put(v);
      json_object_put(o);
      return NULL;
    }
  }
  const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
  char *copy = text ? strdup(text) : NULL;
  json_object_put(o);
  return copy;
}

/* One key's JSON value into its field: of the key's type, integers in their
 * field's range (an epochs of 1e23 became -1 in a cast and then a misleading
 * message), reals finite and within their range (a cast of 1e300 to float
 * is undefined behaviour). */
static int set_from_json(const dlgn_config_key *k, dlgn_train_config *c, json_object *v,
                         const char *origin) {
  bool is_int = json_object_is_type(v, json_type_int);
  bool is_num = is_int || json_object_is_type(v, json_type_double);
  double d = json_object_get_double(v);
  void *f = (char *)c + k->offset;
  switch (k->type) {
    case DLGN_KEY_INT:
      if (!is_num || d != floor(d) || !dlgn_config_in_range(k, d))
        return dlgn_fail("%s: \"%s\" must be an integer in %.0f..%.0f (got %s)", origin, k->key,
                         k->lo, k->hi, json_object_to_json_string(v));
      dlgn_config_set_int(k, c, is_int ? json_object_get_int64(v) : (int64_t)d);
      return 0;
    case DLGN_KEY_REAL:
      /* the range is checked on the float that is kept: 1e-50 passes (0, 1] as a
       * double but is stored as 0, which the same check refuses on the next read */
      if (!is_num || fabs(d) > FLT_MAX || !dlgn_config_in_range(k, (float)d))
        return dlgn_fail("%s: \"%s\" must be a number in %c%g, %g%c (got %s)", origin, k->key,
                         k->lo_open ? '(' : '[', k->lo, k->hi, k->hi_open ? ')' : ']',
                         json_object_to_json_string(v));
      *(float *)f = (float)d;
      return 0;
    case DLGN_KEY_BOOL:
      if (!json_object_is_type(v, json_type_boolean))
        return dlgn_fail("%s: \"%s\" must be true or false", origin, k->key);
      *(bool *)f = json_object_get_boolean(v);
      return 0;
    case DLGN_KEY_TEXT:
      if (!json_object_is_type(v, json_type_string))
        return dlgn_fail("%s: \"%s\" must be a string", origin, k->key);
      if ((size_t)json_object_get_string_len(v) >= k->size)
        return dlgn_fail("%s: \"%s\" is longer than %zu characters", origin, k->key, k->size - 1);
      snprintf((char *)f, k->size, "%s", json_object_get_string(v));
      return 0;
    case DLGN_KEY_CHOICE:
      if (!json_object_is_type(v, json_type_string))
        return dlgn_fail("%s: \"%s\" must be a string", origin, k->key);
      if (dlgn_config_set_choice(k, c, json_object_get_string(v)) != 0)
        return dlgn_fail_context("%s: \"%s\"", origin, k->key);
      return 0;
  }
  return dlgn_fail("%s: \"%s\" has an unknown type", origin, k->key);
}

/* Fields missing from the JSON keep their current values, so a sweep entry
 * may give only what it changes. Unknown keys are an error (typos must not
 * silently run the wrong experiment). */
int dlgn_train_config_from_json(dlgn_train_config *c, const char *json, const char *origin) {
  json_tokener *tok = json_tokener_new();
  if (!tok) return dlgn_fail("out of host memory parsing %s", origin);
  json_object *o = json_tokener_parse_ex(tok, json, (int)strlen(json));
  enum json_tokener_error jerr = json_tokener_get_error(tok);
  json_tokener_free(tok);
  if (!o || jerr != json_tokener_success) {
    if (o) json_object_put(o);
    return dlgn_fail("%s: not valid JSON (%s)", origin, json_tokener_error_desc(jerr));
  }
  int rc = 0;
  if (!json_object_is_type(o, json_type_object)) {
    rc = dlgn_fail("%s: expected a JSON object of configuration keys", origin);
    goto done;
  }
  json_object_object_foreach(o, key, v) {
    const dlgn_config_key *k = dlgn_config_key_find(key);
    if (!k) {
      rc = dlgn_fail("%s: unknown configuration key \"%s\"", origin, key);
      goto done;
    }
    if ((rc = set_from_json(k, c, v, origin)) != 0) goto done;
  }
done:
  json_object_put(o);
  return rc;
}

/* The ranges of the schema, for a configuration from any source
 * (config.json, a sweep file, a program). */
int dlgn_train_config_check(const dlgn_train_config *c) {
  for (int i = 0; i < dlgn_config_nkeys; i++) {
    const dlgn_config_key *k = &dlgn_config_keys[i];
    const void *f = (const char *)c + k->offset;
    if (k->type == DLGN_KEY_REAL && !dlgn_config_in_range(k, *(const float *)f))
      return dlgn_fail("\"%s\" must be a number in %c%g, %g%c (got %g)", k->key,
                       k->lo_open ? '(' : '[', k->lo, k->hi, k->hi_open ? ')' : ']',
                       (double)*(const float *)f);
    if (k->type == DLGN_KEY_INT && !dlgn_config_in_range(k, (double)dlgn_config_get_int(k, c)))
      return dlgn_fail("\"%s\" must be an integer in %.0f..%.0f (got %lld)", k->key, k->lo,
                       k->hi, (long long)dlgn_config_get_int(k, c));
  }
  return 0;
}

int dlgn_train_config_load(dlgn_train_config *c, const char *run_dir) {
  char path[1100];
  snprintf(path, sizeof path, "%s/config.json", run_dir);
  if (access(path, R_OK) != 0)
    return dlgn_fail("cannot resume: %s not found (is %s a run folder?)", path, run_dir);
  char *text;
  DLGN_TRY(dlgn_read_file(path, "run configuration", DLGN_MAX_JSON_BYTES, &text, NULL));
  dlgn_train_config_default(c);
  int rc = dlgn_train_config_from_json(c, text, path);
  free(text);
  return rc;
}

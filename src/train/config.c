/* Training configuration: defaults, names, the learning-rate schedule, and the
 * JSON form written as RUN_DIR/config.json (also the key set of sweep files). */
#include <float.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dlgn/status.h"
#include "dlgn/train.h"
#include "dlgn/util.h"

/* Seeds up to 2^53: every one exact in a JSON number. */
#define MAX_SEED (INT64_C(1) << 53)

void dlgn_train_config_default(dlgn_train_config *c) {
  memset(c, 0, sizeof *c);
  dlgn_model_config_default(&c->model);
  c->optimizer = DLGN_ADAM;
  c->lr = 1e-3f;
  c->momentum = 0.9f;
  c->adam_beta1 = 0.9f;
  c->adam_beta2 = 0.999f;
  c->adam_eps = 1e-8f;
  c->schedule = DLGN_LR_CONSTANT;
  c->step_every = 10;
  c->step_gamma = 0.1f;
  c->epochs = 5;
  c->batch = 128;
  c->seed = 1;
  c->normalize = DLGN_NORM_UNIT;
  c->synth_train = DLGN_SYNTH_DEFAULT_TRAIN;
  c->synth_test = DLGN_SYNTH_DEFAULT_TEST;
  c->eval_train = true;
  c->progress = -1;
  snprintf(c->run_dir, sizeof c->run_dir, "runs/latest");
}

static const char *opt_names[] = {"adam", "sgd"};
static const char *sched_names[] = {"constant", "cosine", "step"};
static const char *norm_names[] = {"unit", "standard"};

const char *dlgn_optimizer_name(dlgn_optimizer o) { return opt_names[o]; }
const char *dlgn_schedule_name(dlgn_lr_schedule s) { return sched_names[s]; }
const char *dlgn_normalize_name(dlgn_normalize n) { return norm_names[n]; }

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

char *dlgn_train_config_to_json(const dlgn_train_config *c) {
  json_object *o = json_object_new_object();
  const dlgn_model_config *m = &c->model;
#define S(k, v) json_object_object_add(o, k, json_object_new_string(v))
#define I(k, v) json_object_object_add(o, k, json_object_new_int64((int64_t)(v)))
#define D(k, v) json_object_object_add(o, k, json_object_new_double((double)(v)))
#define B(k, v) json_object_object_add(o, k, json_object_new_boolean(v))
  S("class", dlgn_class_name(m->cls));
  S("arch", dlgn_arch_name(m->arch));
  I("depth", m->depth);
  I("width", m->width);
  B("batchnorm", m->batchnorm);
  D("beta", m->beta);
  S("value_input", dlgn_value_input_name(m->value_input));
  S("mode", dlgn_mode_name(m->mode));
  S("shuffle_gates", dlgn_shuffle_name(m->shuffle));
  I("shuffle_seed", m->shuffle_seed);
  I("num_classes", m->num_classes);
  S("optimizer", dlgn_optimizer_name(c->optimizer));
  D("lr", c->lr);
  D("momentum", c->momentum);
  D("weight_decay", c->weight_decay);
  B("nesterov", c->nesterov);
  D("adam_beta1", c->adam_beta1);
  D("adam_beta2", c->adam_beta2);
  D("adam_eps", c->adam_eps);
  S("schedule", dlgn_schedule_name(c->schedule));
  I("step_every", c->step_every);
  D("step_gamma", c->step_gamma);
  I("epochs", c->epochs);
  I("batch", c->batch);
  I("seed", c->seed);
  B("augment", c->augment);
  S("normalize", dlgn_normalize_name(c->normalize));
  I("train_limit", c->train_limit);
  I("test_limit", c->test_limit);
  I("synth_train", c->synth_train);
  I("synth_test", c->synth_test);
  B("eval_train", c->eval_train);
  S("data", c->data);
  S("run_dir", c->run_dir);
  S("device", c->device);
  S("gates_from", c->gates_from);
#undef S
#undef I
#undef D
#undef B
  const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
  char *copy = strdup(text);
  json_object_put(o);
  return copy;
}

/* Fields missing from the JSON keep their current values, so a sweep entry
 * may give only what it changes. Unknown keys are an error (typos must not
 * silently run the wrong experiment). */
int dlgn_train_config_from_json(dlgn_train_config *c, const char *json, const char *origin) {
  json_tokener *tok = json_tokener_new();
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
  dlgn_model_config *m = &c->model;
  json_object_object_foreach(o, key, v) {
    const char *s = json_object_get_string(v);
    double d = json_object_get_double(v);
    int64_t i = json_object_get_int64(v);
    bool b = json_object_get_boolean(v);
    bool is_str = json_object_is_type(v, json_type_string);
    bool is_int = json_object_is_type(v, json_type_int);
    bool is_num = is_int || json_object_is_type(v, json_type_double);
    bool is_bool = json_object_is_type(v, json_type_boolean);
#define STR_FIELD(name, stmt)                                                                      \
  if (strcmp(key, name) == 0) {                                                                    \
    if (!is_str) { rc = dlgn_fail("%s: \"%s\" must be a string", origin, key); goto done; }       \
    if ((stmt) != 0) { rc = dlgn_fail_context("%s: \"%s\"", origin, key); goto done; }            \
    continue;                                                                                      \
  }
/* Integers in their field's range (an epochs of 1e23 became -1 in the cast
 * and then a misleading message); reals finite and within float (a cast of
 * 1e300 to float is undefined behaviour). */
#define INT_FIELD(name, dst, lo, hi)                                                               \
  if (strcmp(key, name) == 0) {                                                                    \
    if (!is_num || d != floor(d) || d < (double)(lo) || d > (double)(hi)) {                        \
      rc = dlgn_fail("%s: \"%s\" must be an integer in %lld..%lld (got %s)", origin, key,          \
                     (long long)(lo), (long long)(hi), json_object_to_json_string(v));             \
      goto done;                                                                                   \
    }                                                                                              \
    dst = is_int ? i : (int64_t)d;                                                                 \
    continue;                                                                                      \
  }
#define REAL_FIELD(name, dst)                                                                      \
  if (strcmp(key, name) == 0) {                                                                    \
    if (!is_num || !isfinite(d) || fabs(d) > FLT_MAX) {                                            \
      rc = dlgn_fail("%s: \"%s\" must be a finite number (got %s)", origin, key,                   \
                     json_object_to_json_string(v));                                               \
      goto done;                                                                                   \
    }                                                                                              \
    dst = (float)d;                                                                                \
    continue;                                                                                      \
  }
#define BOOL_FIELD(name, stmt)                                                                     \
  if (strcmp(key, name) == 0) {                                                                    \
    if (!is_bool) { rc = dlgn_fail("%s: \"%s\" must be true or false", origin, key); goto done; } \
    stmt;                                                                                          \
    continue;                                                                                      \
  }
#define COPY(dst) (snprintf(dst, sizeof dst, "%s", s), 0)
    STR_FIELD("class", dlgn_class_parse(s, &m->cls))
    STR_FIELD("arch", dlgn_arch_parse(s, &m->arch))
    INT_FIELD("depth", m->depth, 1, DLGN_MAX_LAYERS)
    INT_FIELD("width", m->width, 1, 4096)
    BOOL_FIELD("batchnorm", m->batchnorm = b)
    REAL_FIELD("beta", m->beta)
    STR_FIELD("value_input", dlgn_value_input_parse(s, &m->value_input))
    STR_FIELD("mode", dlgn_mode_parse(s, &m->mode))
    STR_FIELD("shuffle_gates", dlgn_shuffle_parse(s, &m->shuffle))
    INT_FIELD("shuffle_seed", m->shuffle_seed, 0, MAX_SEED)
    INT_FIELD("num_classes", m->num_classes, 2, 100)
    STR_FIELD("optimizer", dlgn_optimizer_parse(s, &c->optimizer))
    REAL_FIELD("lr", c->lr)
    REAL_FIELD("momentum", c->momentum)
    REAL_FIELD("weight_decay", c->weight_decay)
    BOOL_FIELD("nesterov", c->nesterov = b)
    REAL_FIELD("adam_beta1", c->adam_beta1)
    REAL_FIELD("adam_beta2", c->adam_beta2)
    REAL_FIELD("adam_eps", c->adam_eps)
    STR_FIELD("schedule", dlgn_schedule_parse(s, &c->schedule))
    INT_FIELD("step_every", c->step_every, 1, 100000)
    REAL_FIELD("step_gamma", c->step_gamma)
    INT_FIELD("epochs", c->epochs, 1, 100000)
    INT_FIELD("batch", c->batch, 1, 65536)
    INT_FIELD("seed", c->seed, 0, MAX_SEED)
    BOOL_FIELD("augment", c->augment = b)
    STR_FIELD("normalize", dlgn_normalize_parse(s, &c->normalize))
    INT_FIELD("train_limit", c->train_limit, 0, 1L << 30)
    INT_FIELD("test_limit", c->test_limit, 0, 1L << 30)
    INT_FIELD("synth_train", c->synth_train, 1, 1L << 24)
    INT_FIELD("synth_test", c->synth_test, 1, 1L << 24)
    BOOL_FIELD("eval_train", c->eval_train = b)
    STR_FIELD("data", COPY(c->data))
    STR_FIELD("run_dir", COPY(c->run_dir))
    STR_FIELD("device", COPY(c->device))
    STR_FIELD("gates_from", COPY(c->gates_from))
#undef STR_FIELD
#undef INT_FIELD
#undef REAL_FIELD
#undef BOOL_FIELD
#undef COPY
    rc = dlgn_fail("%s: unknown configuration key \"%s\"", origin, key);
    goto done;
  }
done:
  json_object_put(o);
  return rc;
}

/* The ranges dlgn train's options enforce, for a configuration from any
 * source (config.json, a sweep file, a program). */
static int check_real(const char *key, float v, float lo, float hi, bool lo_open, bool hi_open) {
  bool in = isfinite(v) && (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
  if (in) return 0;
  return dlgn_fail("\"%s\" must be a number in %c%g, %g%c (got %g)", key, lo_open ? '(' : '[',
                   lo, hi, hi_open ? ')' : ']', v);
}

int dlgn_train_config_check(const dlgn_train_config *c) {
  DLGN_TRY(check_real("beta", c->model.beta, 0, 1e6f, true, false));
  DLGN_TRY(check_real("lr", c->lr, 0, 1e6f, true, false));
  DLGN_TRY(check_real("momentum", c->momentum, 0, 1, false, true));
  DLGN_TRY(check_real("weight_decay", c->weight_decay, 0, 1, false, false));
  DLGN_TRY(check_real("step_gamma", c->step_gamma, 0, 1, true, false));
  DLGN_TRY(check_real("adam_beta1", c->adam_beta1, 0, 1, false, true));
  DLGN_TRY(check_real("adam_beta2", c->adam_beta2, 0, 1, false, true));
  DLGN_TRY(check_real("adam_eps", c->adam_eps, 0, 1, true, false));
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

/* The configuration schema (dlgn/config_keys.h): the table, and the
 * conversions every user of it shares. */
#include "dlgn/config_keys.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dlgn/status.h"
#include "dlgn/util.h"

/* Seeds up to 2^53: every one exact in a JSON number. */
#define MAX_SEED 9007199254740992.0

_Static_assert(sizeof(dlgn_model_class) == sizeof(int) && sizeof(dlgn_arch) == sizeof(int) &&
                   sizeof(dlgn_value_input) == sizeof(int) && sizeof(dlgn_train_mode) == sizeof(int) &&
                   sizeof(dlgn_shuffle) == sizeof(int) && sizeof(dlgn_optimizer) == sizeof(int) &&
                   sizeof(dlgn_lr_schedule) == sizeof(int) && sizeof(dlgn_normalize) == sizeof(int) &&
                   sizeof(dlgn_labels) == sizeof(int),
               "choice fields are stored as int");

static const char *class_name(int i) { return dlgn_class_name((dlgn_model_class)i); }
static const char *arch_name(int i) { return dlgn_arch_name((dlgn_arch)i); }
static const char *value_name(int i) { return dlgn_value_input_name((dlgn_value_input)i); }
static const char *mode_name(int i) { return dlgn_mode_name((dlgn_train_mode)i); }
static const char *shuffle_name(int i) { return dlgn_shuffle_name((dlgn_shuffle)i); }
static const char *optimizer_name(int i) { return dlgn_optimizer_name((dlgn_optimizer)i); }
static const char *schedule_name(int i) { return dlgn_schedule_name((dlgn_lr_schedule)i); }
static const char *normalize_name(int i) { return dlgn_normalize_name((dlgn_normalize)i); }
static const char *labels_name(int i) { return dlgn_labels_name((dlgn_labels)i); }
static const char *progress_name(int i) {
  static const char *const names[] = {"auto", "bar", "plain"};
  return names[i];
}
static const int progress_values[] = {-1, 1, 0};

#define FIELD(f) offsetof(dlgn_train_config, f), sizeof(((dlgn_train_config *)0)->f)
#define EXP DLGN_SCOPE_EXPERIMENT
#define RUN DLGN_SCOPE_RUN
#define INT_KEY(k, fl, sc, f, l, h, d) \
  .key = k, .flag = fl, .type = DLGN_KEY_INT, .scope = sc, FIELD(f), .lo = l, .hi = h, .def = d
#define REAL_KEY(k, fl, sc, f, l, lopen, h, hopen, d)                                          \
  .key = k, .flag = fl, .type = DLGN_KEY_REAL, .scope = sc, FIELD(f), .lo = l, .hi = h,        \
  .lo_open = lopen, .hi_open = hopen, .def = d
#define BOOL_KEY(k, fl, sc, f, d, set) \
  .key = k, .flag = fl, .type = DLGN_KEY_BOOL, .scope = sc, FIELD(f), .def = d, .flag_value = set
#define TEXT_KEY(k, fl, sc, f, d) \
  .key = k, .flag = fl, .type = DLGN_KEY_TEXT, .scope = sc, FIELD(f), .def_text = d
#define CHOICE_KEY(k, fl, sc, f, fn, n, w, d)                                                  \
  .key = k, .flag = fl, .type = DLGN_KEY_CHOICE, .scope = sc, FIELD(f), .name_of = fn,        \
  .nnames = n, .what = w, .def = d

#define S_DATA "data and device"
#define S_MODEL "model"
#define S_OPT "optimisation"
#define S_OUT "output"

/* In the order of config.json (which is also the order that names sweep runs). */
const dlgn_config_key dlgn_config_keys[] = {
    {CHOICE_KEY("class", "class", EXP, model.cls, class_name, 4, "model class", DLGN_DLGN),
     .section = S_MODEL, .help = "model class"},
    {CHOICE_KEY("arch", "arch", EXP, model.arch, arch_name, 4, "architecture", DLGN_FC),
     .section = S_MODEL, .help = "architecture"},
    {INT_KEY("depth", "depth", EXP, model.depth, 1, DLGN_MAX_LAYERS, 5), .metavar = "L",
     .section = S_MODEL, .help = "hidden layers (resnet: 6n+2 weighted layers)",
     .help_default = "by --arch: fc 5, c4gap 4, vgg16 13, resnet 20"},
    {INT_KEY("width", "width", EXP, model.width, 1, 4096, 128), .metavar = "W", .section = S_MODEL,
     .help = "fc width, c4gap channels, vgg16 and resnet first stage",
     .help_default = "by --arch: fc 128, c4gap 128, vgg16 64, resnet 16"},
    {BOOL_KEY("batchnorm", "batchnorm", EXP, model.batchnorm, false, true), .section = S_MODEL,
     .help = "batch norm after every layer of both networks", .help_default = "off"},
    {REAL_KEY("beta", "beta", EXP, model.beta, 0, true, 1e6, false, 4), .metavar = "B",
     .section = S_MODEL, .help = "soft gate sigmoid(B*q)"},
    {CHOICE_KEY("value_input", "value-input", EXP, model.value_input, value_name, 2,
                "value input", DLGN_VALUE_ONES),
     .section = S_MODEL, .help = "value network input (a dnn has none: only image is valid)",
     .help_default = "ones; image for a dnn"},
    {CHOICE_KEY("mode", "mode", EXP, model.mode, mode_name, 3, "training mode", DLGN_JOINT),
     .section = S_MODEL, .help = "training mode"},
    {CHOICE_KEY("shuffle_gates", "shuffle-gates", EXP, model.shuffle, shuffle_name, 3,
                "gate shuffle", DLGN_SHUFFLE_NONE),
     .section = S_MODEL, .help = "shuffle the gates across layers or channels"},
    {INT_KEY("shuffle_seed", "shuffle-seed", EXP, model.shuffle_seed, 0, MAX_SEED, 1),
     .metavar = "S", .section = S_MODEL, .help = "permutation seed"},
    {INT_KEY("num_classes", NULL, EXP, model.num_classes, 2, 100, 10)},
    {CHOICE_KEY("optimizer", "optimizer", EXP, optimizer, optimizer_name, 2, "optimizer",
                DLGN_ADAM),
     .section = S_OPT, .help = "optimiser"},
    {REAL_KEY("lr", "lr", EXP, lr, 0, true, 1e6, false, 1e-3), .metavar = "X", .section = S_OPT,
     .help = "learning rate"},
    {REAL_KEY("momentum", "momentum", EXP, momentum, 0, false, 1, true, 0.9), .metavar = "X",
     .section = S_OPT, .help = "sgd momentum"},
    {REAL_KEY("weight_decay", "weight-decay", EXP, weight_decay, 0, false, 1, false, 0),
     .metavar = "X", .section = S_OPT, .help = "L2 weight decay (added to the gradient)"},
    {REAL_KEY("decoupled_weight_decay", "decoupled-weight-decay", EXP, decoupled_weight_decay, 0,
              false, 1, false, 0),
     .omit_default = true, .metavar = "X", .section = S_OPT,
     .help = "weight decay apart from the gradient, w -= lr*X*w each step (AdamW; SGDW with sgd)"},
    {BOOL_KEY("nesterov", "nesterov", EXP, nesterov, false, true), .section = S_OPT,
     .help = "sgd Nesterov momentum", .help_default = "off"},
    {REAL_KEY("adam_beta1", "adam-beta1", EXP, adam_beta1, 0, false, 1, true, 0.9),
     .metavar = "X", .section = S_OPT, .help = "Adam's first-moment decay"},
    {REAL_KEY("adam_beta2", "adam-beta2", EXP, adam_beta2, 0, false, 1, true, 0.999),
     .metavar = "X", .section = S_OPT, .help = "Adam's second-moment decay"},
    {REAL_KEY("adam_eps", "adam-eps", EXP, adam_eps, 0, true, 1, false, 1e-8), .metavar = "X",
     .section = S_OPT, .help = "Adam's epsilon"},
    {CHOICE_KEY("schedule", "schedule", EXP, schedule, schedule_name, 3,
                "learning-rate schedule", DLGN_LR_CONSTANT),
     .section = S_OPT, .help = "learning-rate schedule"},
    {INT_KEY("step_every", "step-every", EXP, step_every, 1, 100000, 10), .metavar = "N",
     .section = S_OPT, .help = "step schedule: epochs per decay"},
    {REAL_KEY("step_gamma", "step-gamma", EXP, step_gamma, 0, true, 1, false, 0.1),
     .metavar = "X", .section = S_OPT, .help = "step schedule: factor per decay"},
    {INT_KEY("epochs", "epochs", EXP, epochs, 1, 100000, 5), .metavar = "N", .section = S_OPT,
     .help = "epochs (a resumed run may raise it)"},
    {INT_KEY("batch", "batch", EXP, batch, 1, 65536, 128), .metavar = "N", .section = S_OPT,
     .help = "batch size"},
    {INT_KEY("seed", "seed", EXP, seed, 0, MAX_SEED, 1), .metavar = "S", .section = S_OPT,
     .help = "weights, shuffles and augmentation"},
    {BOOL_KEY("augment", "augment", EXP, augment, false, true), .section = S_DATA,
     .help = "random crop (pad 4) and horizontal flip", .help_default = "off"},
    {CHOICE_KEY("normalize", "normalize", EXP, normalize, normalize_name, 2, "normalisation",
                DLGN_NORM_UNIT),
     .section = S_DATA, .help = "x/255, or per-channel mean/std of the training set"},
    {INT_KEY("train_limit", "train-limit", EXP, train_limit, 0, 1L << 30, 0), .metavar = "N",
     .section = S_DATA, .help = "train on the first N images only", .help_default = "all"},
    {INT_KEY("test_limit", "test-limit", EXP, test_limit, 0, 1L << 30, 0), .metavar = "N",
     .section = S_DATA, .help = "test on the first N images only", .help_default = "all"},
    {INT_KEY("synth_train", "synth-train", EXP, synth_train, 1, 1L << 24, DLGN_SYNTH_DEFAULT_TRAIN),
     .metavar = "N", .section = S_DATA, .help = "images of the synthetic set: train"},
    {INT_KEY("synth_test", "synth-test", EXP, synth_test, 1, 1L << 24, DLGN_SYNTH_DEFAULT_TEST),
     .metavar = "N", .section = S_DATA, .help = "images of the synthetic set: test"},
    {BOOL_KEY("eval_train", "no-eval-train", EXP, eval_train, true, false), .section = S_OUT,
     .help = "skip the final soft/hard accuracy on the training set"},
    {TEXT_KEY("data", "data", EXP, data, ""), .metavar = "PATH", .section = S_DATA,
     .help = "CIFAR-10/100 archive or folder",
     .help_default = "$DLGN_DATA, else the first archive in ./datasets/, else a synthetic "
                     "CIFAR-10"},
    {TEXT_KEY("run_dir", "run-dir", RUN, run.run_dir, "runs/latest"), .metavar = "DIR",
     .section = S_OUT, .help = "the run folder",
     .help_default = "runs/CLASS-ARCH-MODE[-ones][-coarse]-sSEED"},
    {TEXT_KEY("device", "device", RUN, run.device, ""), .metavar = "SEL", .section = S_DATA,
     .help = "OpenCL device: index, gpu, cpu or name substring",
     .help_default = "$DLGN_DEVICE, else the first GPU, else the first CPU"},
    {TEXT_KEY("gates_from", "gates-from", EXP, gates_from, ""), .metavar = "CKPT",
     .section = S_MODEL,
     .help = "fixed-learnt: checkpoint (or run folder) whose gates are frozen; a dnn's gates "
             "make a dgn",
     .help_default = "none"},
    {CHOICE_KEY("labels", "labels", EXP, labels, labels_name, 2, "label set", DLGN_LABELS_FINE),
     .omit_default = true, .section = S_DATA,
     .help = "CIFAR-100: the 100 fine classes or the 20 coarse superclasses"},
    /* options of this invocation only, not saved */
    {CHOICE_KEY(NULL, "progress", RUN, run.progress, progress_name, 3, "progress display", -1),
     .values = progress_values, .section = S_OUT,
     .help = "live bar on a terminal, plain lines otherwise"},
    {BOOL_KEY(NULL, "quiet", RUN, run.quiet, false, true), .section = S_OUT,
     .help = "print only errors and the final line"},
    {BOOL_KEY(NULL, "overwrite", RUN, run.overwrite, false, true), .section = S_OUT,
     .help = "train again in a --run-dir that already holds a run, replacing it"},
};
const int dlgn_config_nkeys = (int)(sizeof dlgn_config_keys / sizeof dlgn_config_keys[0]);

const dlgn_config_key *dlgn_config_key_find(const char *key) {
  for (int i = 0; i < dlgn_config_nkeys; i++)
    if (dlgn_config_keys[i].key && strcmp(dlgn_config_keys[i].key, key) == 0)
      return &dlgn_config_keys[i];
  return NULL;
}

const dlgn_config_key *dlgn_config_key_by_flag(const char *flag) {
  for (int i = 0; i < dlgn_config_nkeys; i++)
    if (dlgn_config_keys[i].flag && strcmp(dlgn_config_keys[i].flag, flag) == 0)
      return &dlgn_config_keys[i];
  return NULL;
}

static void *field(const dlgn_config_key *k, dlgn_train_config *c) { return (char *)c + k->offset; }
static const void *cfield(const dlgn_config_key *k, const dlgn_train_config *c) {
  return (const char *)c + k->offset;
}

/* INT fields are int (4 bytes) or size_t/uint64_t (8 bytes, never negative). */
int64_t dlgn_config_get_int(const dlgn_config_key *k, const dlgn_train_config *c) {
  if (k->size == sizeof(int)) return *(const int *)cfield(k, c);
  uint64_t v;
  memcpy(&v, cfield(k, c), sizeof v);
  return (int64_t)v;
}
void dlgn_config_set_int(const dlgn_config_key *k, dlgn_train_config *c, int64_t v) {
  if (k->size == sizeof(int)) {
    *(int *)field(k, c) = (int)v;
    return;
  }
  uint64_t u = (uint64_t)v;
  memcpy(field(k, c), &u, sizeof u);
}

int dlgn_config_choice_index(const dlgn_config_key *k, const dlgn_train_config *c) {
  int v = *(const int *)cfield(k, c);
  for (int i = 0; i < k->nnames; i++)
    if ((k->values ? k->values[i] : i) == v) return i;
  return 0;
}

int dlgn_config_set_choice(const dlgn_config_key *k, dlgn_train_config *c, const char *name) {
  const char *names[8];
  for (int i = 0; i < k->nnames && i < 8; i++) names[i] = k->name_of(i);
  int i;
  DLGN_TRY(dlgn_parse_choice(name, names, k->nnames, k->what, &i));
  *(int *)field(k, c) = k->values ? k->values[i] : i;
  return 0;
}

bool dlgn_config_in_range(const dlgn_config_key *k, double v) {
  if (!isfinite(v)) return false;
  bool lo = k->lo_open ? v > k->lo : v >= k->lo;
  bool hi = k->hi_open ? v < k->hi : v <= k->hi;
  return lo && hi;
}

int dlgn_config_key_parse(const dlgn_config_key *k, dlgn_train_config *c, const char *text) {
  char *end;
  switch (k->type) {
    case DLGN_KEY_INT: {
      errno = 0;
      long long v = strtoll(text, &end, 10);
      if (end == text || *end || errno == ERANGE || !dlgn_config_in_range(k, (double)v))
        return dlgn_fail("--%s: expected an integer in %.0f..%.0f, got '%s'", k->flag, k->lo, k->hi,
                         text);
      dlgn_config_set_int(k, c, v);
      return 0;
    }
    case DLGN_KEY_REAL: {
      /* nan and inf are never valid (strtof accepts both, and a run with them
       * trained to NaN and still exited 0) */
      errno = 0;
      float v = strtof(text, &end);
      if (end == text || *end || errno == ERANGE || !dlgn_config_in_range(k, v))
        return dlgn_fail("--%s: expected a number in %c%g, %g%c, got '%s'", k->flag,
                         k->lo_open ? '(' : '[', k->lo, k->hi, k->hi_open ? ')' : ']', text);
      *(float *)field(k, c) = v;
      return 0;
    }
    case DLGN_KEY_BOOL: *(bool *)field(k, c) = k->flag_value; return 0;
    case DLGN_KEY_TEXT:
      if (strlen(text) >= k->size)
        return dlgn_fail("--%s: longer than %zu characters", k->flag, k->size - 1);
      memcpy(field(k, c), text, strlen(text) + 1);
      return 0;
    case DLGN_KEY_CHOICE: return dlgn_config_set_choice(k, c, text);
  }
  return dlgn_fail("--%s: unknown key type", k->flag);
}

/* The shortest text that strtof reads back as the same float (9 digits always do). */
static void format_real(float v, char *out, size_t size) {
  for (int digits = 6; digits <= 9; digits++) {
    snprintf(out, size, "%.*g", digits, (double)v);
    if (strtof(out, NULL) == v) return;
  }
}

void dlgn_config_key_format(const dlgn_config_key *k, const dlgn_train_config *c, char *out,
                            size_t size) {
  switch (k->type) {
    case DLGN_KEY_INT: snprintf(out, size, "%lld", (long long)dlgn_config_get_int(k, c)); return;
    case DLGN_KEY_REAL: format_real(*(const float *)cfield(k, c), out, size); return;
    case DLGN_KEY_BOOL: snprintf(out, size, "%s", *(const bool *)cfield(k, c) ? "true" : "false"); return;
    case DLGN_KEY_TEXT: snprintf(out, size, "%s", (const char *)cfield(k, c)); return;
    case DLGN_KEY_CHOICE: snprintf(out, size, "%s", k->name_of(dlgn_config_choice_index(k, c))); return;
  }
}

static void set_default(const dlgn_config_key *k, dlgn_train_config *c) {
  switch (k->type) {
    case DLGN_KEY_INT: dlgn_config_set_int(k, c, (int64_t)k->def); return;
    case DLGN_KEY_REAL: *(float *)field(k, c) = (float)k->def; return;
    case DLGN_KEY_BOOL: *(bool *)field(k, c) = k->def != 0; return;
    case DLGN_KEY_TEXT: snprintf((char *)field(k, c), k->size, "%s", k->def_text); return;
    case DLGN_KEY_CHOICE: *(int *)field(k, c) = (int)k->def; return;
  }
}

bool dlgn_config_key_is_default(const dlgn_config_key *k, const dlgn_train_config *c) {
  dlgn_train_config d;
  memset(&d, 0, sizeof d);
  set_default(k, &d);
  if (k->type == DLGN_KEY_TEXT) return strcmp((const char *)cfield(k, c), (const char *)cfield(k, &d)) == 0;
  return memcmp(cfield(k, c), cfield(k, &d), k->size) == 0;
}

void dlgn_train_config_default(dlgn_train_config *c) {
  memset(c, 0, sizeof *c);
  for (int i = 0; i < dlgn_config_nkeys; i++) set_default(&dlgn_config_keys[i], c);
}

void dlgn_train_config_settle(dlgn_train_config *c, bool depth_given, bool width_given,
                              bool value_input_given) {
  dlgn_model_config *m = &c->model;
  static const int depth[] = {5, 4, 13, 20}, width[] = {128, 128, 64, 16}; /* by dlgn_arch */
  if (!depth_given) m->depth = depth[m->arch];
  if (!width_given) m->width = width[m->arch];
  if (!value_input_given && m->cls == DLGN_DNN) m->value_input = DLGN_VALUE_IMAGE;
}

void dlgn_config_print_help(FILE *f, const char *section) {
  dlgn_train_config d;
  dlgn_train_config_default(&d);
  for (int i = 0; i < dlgn_config_nkeys; i++) {
    const dlgn_config_key *k = &dlgn_config_keys[i];
    if (!k->flag || !k->section || strcmp(k->section, section) != 0) continue;
    char head[96], def[160];
    if (k->type == DLGN_KEY_CHOICE) {
      size_t n = (size_t)snprintf(head, sizeof head, "--%s ", k->flag);
      for (int j = 0; j < k->nnames && n < sizeof head; j++)
        n += (size_t)snprintf(head + n, sizeof head - n, "%s%s", j ? "|" : "", k->name_of(j));
    } else if (k->type == DLGN_KEY_BOOL)
      snprintf(head, sizeof head, "--%s", k->flag);
    else
      snprintf(head, sizeof head, "--%s %s", k->flag, k->metavar ? k->metavar : "X");
    if (k->help_default)
      snprintf(def, sizeof def, "%s", k->help_default);
    else
      dlgn_config_key_format(k, &d, def, sizeof def);
    char text[512];
    if (k->type == DLGN_KEY_BOOL && !k->help_default)
      snprintf(text, sizeof text, "%s", k->help);
    else
      snprintf(text, sizeof text, "%s (default: %s)", k->help, def);
    /* the option, then its text wrapped at 96 columns under column 22 */
    if (strlen(head) < 20)
      fprintf(f, "  %-19s", head);
    else
      fprintf(f, "  %s\n  %-19s", head, "");
    size_t col = 21;
    for (const char *w = text; *w;) {
      size_t n = strcspn(w, " ");
      if (col + 1 + n > 96 && col > 21) {
        fprintf(f, "\n  %-19s", "");
        col = 21;
      }
      fprintf(f, " %.*s", (int)n, w);
      col += 1 + n;
      w += n;
      while (*w == ' ') w++;
    }
    fputc('\n', f);
  }
}

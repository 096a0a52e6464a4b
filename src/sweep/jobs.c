/* Job lines: the `dlgn train` arguments that reproduce one planned run, for
 * GNU parallel or a Slurm array instead of a scheduler of our own. Every
 * setting is written out (not only those that differ from the defaults), so
 * a job line means the same under a later dlgn with other defaults. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlgn/status.h"
#include "dlgn/sweep.h"

typedef struct {
  char **v;
  int n, cap;
} arg_list;

static int push(arg_list *a, const char *s) {
  if (a->n + 2 > a->cap) {
    int cap = a->cap ? 2 * a->cap : 64;
    char **grown = realloc(a->v, (size_t)cap * sizeof *grown);
    if (!grown) return dlgn_fail("out of host memory building a job line");
    a->v = grown;
    a->cap = cap;
  }
  if (!(a->v[a->n] = strdup(s))) return dlgn_fail("out of host memory building a job line");
  a->v[++a->n] = NULL;
  return 0;
}

static int opt(arg_list *a, const char *name, const char *value) {
  DLGN_TRY(push(a, name));
  return push(a, value);
}

static int opt_num(arg_list *a, const char *name, double v, bool integer) {
  char buf[64];
  if (integer)
    snprintf(buf, sizeof buf, "%.0f", v);
  else /* the shortest text that strtof reads back as the same float (9 digits always do) */
    for (int digits = 6; digits <= 9; digits++) {
      snprintf(buf, sizeof buf, "%.*g", digits, v);
      if (strtof(buf, NULL) == (float)v) break;
    }
  return opt(a, name, buf);
}

static int build(arg_list *a, const dlgn_sweep_run *r) {
  const dlgn_train_config *c = &r->cfg;
  const dlgn_model_config *m = &c->model;
  DLGN_TRY(push(a, "train"));
  DLGN_TRY(opt(a, "--class", dlgn_class_name(m->cls)));
  DLGN_TRY(opt(a, "--arch", dlgn_arch_name(m->arch)));
  DLGN_TRY(opt_num(a, "--depth", m->depth, true));
  DLGN_TRY(opt_num(a, "--width", m->width, true));
  if (m->batchnorm) DLGN_TRY(push(a, "--batchnorm"));
  DLGN_TRY(opt_num(a, "--beta", m->beta, false));
  DLGN_TRY(opt(a, "--value-input", dlgn_value_input_name(m->value_input)));
  DLGN_TRY(opt(a, "--mode", dlgn_mode_name(m->mode)));
  if (c->gates_from[0]) DLGN_TRY(opt(a, "--gates-from", c->gates_from));
  DLGN_TRY(opt(a, "--shuffle-gates", dlgn_shuffle_name(m->shuffle)));
  DLGN_TRY(opt_num(a, "--shuffle-seed", (double)m->shuffle_seed, true));
  DLGN_TRY(opt(a, "--optimizer", dlgn_optimizer_name(c->optimizer)));
  DLGN_TRY(opt_num(a, "--lr", c->lr, false));
  DLGN_TRY(opt_num(a, "--adam-beta1", c->adam_beta1, false));
  DLGN_TRY(opt_num(a, "--adam-beta2", c->adam_beta2, false));
  DLGN_TRY(opt_num(a, "--adam-eps", c->adam_eps, false));
  DLGN_TRY(opt_num(a, "--momentum", c->momentum, false));
  if (c->nesterov) DLGN_TRY(push(a, "--nesterov"));
  DLGN_TRY(opt_num(a, "--weight-decay", c->weight_decay, false));
  DLGN_TRY(opt(a, "--schedule", dlgn_schedule_name(c->schedule)));
  DLGN_TRY(opt_num(a, "--step-every", c->step_every, true));
  DLGN_TRY(opt_num(a, "--step-gamma", c->step_gamma, false));
  DLGN_TRY(opt_num(a, "--epochs", c->epochs, true));
  DLGN_TRY(opt_num(a, "--batch", c->batch, true));
  DLGN_TRY(opt_num(a, "--seed", (double)c->seed, true));
  if (c->augment) DLGN_TRY(push(a, "--augment"));
  DLGN_TRY(opt(a, "--normalize", dlgn_normalize_name(c->normalize)));
  DLGN_TRY(opt_num(a, "--synth-train", (double)c->synth_train, true));
  DLGN_TRY(opt_num(a, "--synth-test", (double)c->synth_test, true));
  DLGN_TRY(opt_num(a, "--train-limit", (double)c->train_limit, true));
  DLGN_TRY(opt_num(a, "--test-limit", (double)c->test_limit, true));
  if (!c->eval_train) DLGN_TRY(push(a, "--no-eval-train"));
  if (c->data[0]) DLGN_TRY(opt(a, "--data", c->data));
  if (c->device[0]) DLGN_TRY(opt(a, "--device", c->device));
  DLGN_TRY(opt(a, "--run-dir", c->run_dir));
  return push(a, "--quiet");
}

int dlgn_sweep_job_args(const dlgn_sweep_run *r, char ***argv, int *argc) {
  *argv = NULL;
  *argc = 0;
  arg_list a = {0};
  if (build(&a, r) != 0) {
    dlgn_sweep_job_args_free(a.v, a.n);
    return -1;
  }
  *argv = a.v;
  *argc = a.n;
  return 0;
}

void dlgn_sweep_job_args_free(char **argv, int argc) {
  for (int i = 0; argv && i < argc; i++) free(argv[i]);
  free(argv);
}

void dlgn_sweep_shell_quote(const char *word, char *out, size_t size) {
  bool plain = word[0] != '\0';
  for (const char *s = word; *s; s++)
    plain &= strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./=:,+-", *s) !=
             NULL;
  if (plain) {
    snprintf(out, size, "%s", word);
    return;
  }
  /* single quotes; a quote inside becomes '\'' */
  size_t n = 0;
  if (n + 1 < size) out[n++] = '\'';
  for (const char *s = word; *s && n + 5 < size; s++) {
    if (*s == '\'') {
      memcpy(out + n, "'\\''", 4);
      n += 4;
    } else
      out[n++] = *s;
  }
  if (n + 1 < size) out[n++] = '\'';
  out[n < size ? n : size - 1] = '\0';
}

/* Job lines: the `dlgn train` arguments that reproduce one planned run, for
 * GNU parallel or a Slurm array (slurm.c) instead of a scheduler of our own. Every
 * setting is written out (not only those that differ from the defaults), so
 * a job line means the same under a later dlgn with other defaults. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlgn/config_keys.h"
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

/* Every saved key with an option, from the schema: a flag only when it
 * differs from its default (the flag sets the other value), a text only when
 * set; then --run-dir and --quiet. */
static int build(arg_list *a, const dlgn_sweep_run *r) {
  const dlgn_train_config *c = &r->cfg;
  DLGN_TRY(push(a, "train"));
  for (int i = 0; i < dlgn_config_nkeys; i++) {
    const dlgn_config_key *k = &dlgn_config_keys[i];
    if (!k->key || !k->flag || !strcmp(k->key, "run_dir")) continue;
    char flag[64], value[1100];
    snprintf(flag, sizeof flag, "--%s", k->flag);
    dlgn_config_key_format(k, c, value, sizeof value);
    if (k->type == DLGN_KEY_BOOL) {
      if (!strcmp(value, k->flag_value ? "true" : "false")) DLGN_TRY(push(a, flag));
    } else if (k->type != DLGN_KEY_TEXT || value[0]) {
      DLGN_TRY(opt(a, flag, value));
    }
  }
  DLGN_TRY(opt(a, "--run-dir", c->run.run_dir));
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

int dlgn_sweep_job_line(const dlgn_sweep_run *r, const char *program, char **line) {
  *line = NULL;
  char **argv;
  int argc;
  DLGN_TRY(dlgn_sweep_job_args(r, &argv, &argc));
  /* a quoted word is at most 4 bytes per byte of the word, plus 2 quotes */
  size_t cap = 4 * strlen(program) + 4;
  for (int i = 0; i < argc; i++) cap += 4 * strlen(argv[i]) + 4;
  char *out = dlgn_malloc(cap, "a job line");
  char *word = dlgn_malloc(cap, "a job line");
  if (out && word) {
    dlgn_sweep_shell_quote(program, out, cap);
    for (int i = 0; i < argc; i++) {
      dlgn_sweep_shell_quote(argv[i], word, cap);
      size_t n = strlen(out);
      snprintf(out + n, cap - n, " %s", word);
    }
  }
  dlgn_sweep_job_args_free(argv, argc);
  free(word);
  if (!word) {
    free(out);
    return -1;
  }
  *line = out;
  return out ? 0 : -1;
}

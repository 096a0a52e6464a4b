/* The configuration schema: one table gives every setting of a training run
 * its key (config.json, sweep files), its field of dlgn_train_config, its
 * `dlgn train` option, type, range, default and help text, and whether it
 * belongs to the experiment (what the run is) or to the run options (where
 * and how it runs here: device, folders, display). The defaults, the JSON
 * form in both directions, the command line and its --help, and sweep job
 * lines are all derived from it, so a new setting is one row. */
#ifndef DLGN_CONFIG_KEYS_H
#define DLGN_CONFIG_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dlgn/train.h"

typedef enum {
  DLGN_KEY_INT,    /* int, size_t or uint64_t field (by its size); lo..hi */
  DLGN_KEY_REAL,   /* float field; lo..hi, an end excluded when its open flag is set */
  DLGN_KEY_BOOL,   /* bool field; its option takes no argument and sets flag_value */
  DLGN_KEY_TEXT,   /* char array field */
  DLGN_KEY_CHOICE  /* int-sized enum field: name_of(i) is stored as values ? values[i] : i */
} dlgn_key_type;

typedef enum {
  DLGN_SCOPE_EXPERIMENT, /* what the run is: saved, resumed, part of a sweep run's name */
  DLGN_SCOPE_RUN         /* where and how it runs here (dlgn_run_options, c->run): taken from
                            the command at hand */
} dlgn_key_scope;

typedef struct {
  const char *key;  /* config.json key; NULL: not saved (an option of this invocation only) */
  const char *flag; /* dlgn train option without "--"; NULL: none (derived, e.g. num_classes) */
  dlgn_key_type type;
  dlgn_key_scope scope;
  size_t offset, size; /* the field in dlgn_train_config */
  double lo, hi;       /* INT and REAL */
  bool lo_open, hi_open;
  const char *(*name_of)(int i); /* CHOICE: the i-th name, i < nnames */
  const int *values;              /* CHOICE: the stored value of each name (NULL: its index) */
  int nnames;
  const char *what;   /* CHOICE: what a wrong name is called in errors */
  double def;         /* default of an INT, REAL, BOOL or CHOICE (the stored value) */
  const char *def_text; /* default of a TEXT */
  bool flag_value;    /* BOOL: what the option sets */
  bool omit_default;  /* left out of a sweep run's name while at its default (newer keys keep
                         the names of existing runs) */
  const char *metavar; /* the option's argument in --help */
  const char *section; /* --help heading */
  const char *help;    /* one line of --help */
  const char *help_default; /* what --help says the default is (NULL: the value) */
} dlgn_config_key;

extern const dlgn_config_key dlgn_config_keys[];
extern const int dlgn_config_nkeys;

const dlgn_config_key *dlgn_config_key_find(const char *key);
const dlgn_config_key *dlgn_config_key_by_flag(const char *flag);

/* Field access by the table. INT fields are int, or size_t/uint64_t (never
 * negative); CHOICE fields are int-sized enums. */
int64_t dlgn_config_get_int(const dlgn_config_key *k, const dlgn_train_config *c);
void dlgn_config_set_int(const dlgn_config_key *k, dlgn_train_config *c, int64_t v);
int dlgn_config_choice_index(const dlgn_config_key *k, const dlgn_train_config *c);
int dlgn_config_set_choice(const dlgn_config_key *k, dlgn_train_config *c, const char *name);
/* v within the key's range (INT and REAL), and finite. */
bool dlgn_config_in_range(const dlgn_config_key *k, double v);

/* Set a field from the text of an option (the error names "--FLAG"). */
int dlgn_config_key_parse(const dlgn_config_key *k, dlgn_train_config *c, const char *text);
/* A field as text: the choice's name, "true"/"false", or the shortest
 * number that reads back as the same value. */
void dlgn_config_key_format(const dlgn_config_key *k, const dlgn_train_config *c, char *out,
                            size_t size);
/* Is the field at its default? */
bool dlgn_config_key_is_default(const dlgn_config_key *k, const dlgn_train_config *c);

/* The defaults that follow from other settings, for whatever was not given:
 * the depth and width of the architecture, and a dnn's value input (the
 * image; the default, ones, means nothing to it). */
void dlgn_train_config_settle(dlgn_train_config *c, bool depth_given, bool width_given,
                              bool value_input_given);

/* The option lines of one --help section. */
void dlgn_config_print_help(FILE *f, const char *section);

#endif

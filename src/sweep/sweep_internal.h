/* Shared between the files of the sweep stage. */
#ifndef DLGN_SWEEP_INTERNAL_H
#define DLGN_SWEEP_INTERNAL_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>

#include "dlgn/sweep.h"

/* The settings of a config as "key=value;" pairs in config.json's order
 * (doubles as %.9g, so the text does not depend on json-c's formatting).
 * Left out: run_dir, device and num_classes (the data decides it), epochs
 * unless with_epochs, gates_from when derived. malloc'd; NULL on failure. */
char *sweep_canonical(const dlgn_train_config *c, bool with_epochs, bool derived_gates);

/* config.json's key order, as a parsed object (json_object_put it). */
json_object *sweep_config_object(const dlgn_train_config *c);

/* Add a note to the plan and print nothing; -1 only when out of memory. */
int sweep_note(dlgn_sweep_plan *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* dir/file exists. */
bool sweep_exists(const char *dir, const char *file);

/* The filter-export check of a finished run that lacks one (after training
 * here, or for runs trained by job lines), unless o turns it off. */
int sweep_check_if_missing(const char *run_dir, const char *device, const dlgn_sweep_options *o);

/* One finished run, as the results files see it. */
typedef struct {
  char name[256];
  char run_dir[1024];
  dlgn_train_config cfg; /* from config.json */
  bool linear_gating;
  int gating_depth;
  char gate_source[32];
  char device_name[256];
  char data_source[1024];
  bool synthetic;
  int epochs_run;
  double test_soft, test_hard, train_soft, train_hard; /* train: -1 when not measured */
  double best_test_hard;
  double seconds;      /* training time, summed over metrics.jsonl */
  double images_per_s; /* of the last epoch */
  int filter;          /* -1 n/a (not linear), 0 fail, 1 pass, 2 not checked */
  double filter_min_agreement;
} sweep_row;

/* Read run_dir's config.json, summary.json, metrics.jsonl, filter_check.json.
 * *finished false (and 0 returned) when there is no summary yet. */
int sweep_row_load(sweep_row *r, const char *run_dir, bool *finished);

/* Order of the results: class by interpretability, then arch, depth, width,
 * mode, value input, shuffle, name. */
int sweep_row_compare(const void *a, const void *b);

/* Position of a class on the interpretability axis: dnn 0 ... dlgn-sf 3. */
int sweep_class_rank(dlgn_model_class c);

/* ---- grouping for results.md and the plot (report.c) ----
 * Runs that differ only in their seed form a group; a panel is one
 * architecture shape; a series is one mode / value input / shuffle (plus
 * any other setting that varies, "extra"), drawn across the classes. */
#define MAX_EXTRA 8

typedef struct {
  double sum, sumsq;
  int n;
} sweep_stat;

typedef struct {
  int first; /* its first row (the rows are sorted, so seeds are adjacent or not) */
  int panel, series;
  int nseeds;
  sweep_stat test_hard, test_soft, train_hard, train_soft, seconds, ips;
  int pass, fail, unchecked;
  double min_agreement;
} sweep_group;

typedef struct {
  char label[256];
  int rep; /* a row of it, for ordering */
  /* panels: settings that vary between its rows besides those shown anyway */
  char extra[MAX_EXTRA][32];
  int nextra;
} sweep_label;

typedef struct {
  const sweep_row *rows;
  int n;
  int *group_of; /* (n) */
  sweep_group *groups;
  int ngroups;
  sweep_label *panels, *series;
  int npanels, nseries;
} sweep_report;

double sweep_stat_mean(const sweep_stat *s);
double sweep_stat_std(const sweep_stat *s); /* sample std (n - 1); 0 for one seed */

int sweep_report_build(sweep_report *rp, const sweep_row *rows, int n);
void sweep_report_free(sweep_report *rp);
void sweep_panel_label(const sweep_row *r, char *out, size_t size);
void sweep_extra_value(const sweep_row *r, const char *key, char *out, size_t size);

/* results.md (report.c), and tradeoff.{dat,gp,png} (plot.c). */
int sweep_write_markdown(const sweep_row *rows, int n, const char *out_dir, const char *title);
int sweep_write_plot(const sweep_row *rows, int n, const char *out_dir, const char *title);

#endif

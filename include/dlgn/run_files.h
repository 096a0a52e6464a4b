/* The run folder: the files `dlgn train` writes in RUN_DIR and everything
 * that reads them back (resume, eval, explain, sweep results), through the
 * same code: config.json (the configuration, dlgn_train_config_load),
 * metrics.jsonl (one line per epoch), summary.json (final and best figures
 * next to the model's interpretability properties) and filter_check.json
 * (the filter-export check's verdict, below). */
#ifndef DLGN_RUN_FILES_H
#define DLGN_RUN_FILES_H

#include "dlgn/train.h"

/* summary.json and config.json of a finished (or extended) run: s->config,
 * figures, epochs run, device and data. A missing summary is an error; a
 * corrupt one names the file. */
int dlgn_run_read_summary(const char *run_dir, dlgn_train_summary *s);

/* The epochs summary.json says were run: -1 when there is no summary yet; a
 * summary that is not whole, strict JSON with an epoch count is an error. */
int dlgn_run_summary_epochs(const char *run_dir, int *epochs);

/* Training seconds summed over metrics.jsonl, and the speed of its last
 * epoch (*images_per_s kept when there is none); 0 seconds without the file. */
int dlgn_run_metrics_timing(const char *run_dir, double *seconds, double *images_per_s);

/* filter_check.json: the filter-export check of a run (dlgn sweep runs it
 * after training; explain.h's dlgn_filter_check holds the full result). */
typedef struct {
  bool passed;          /* no mismatch beyond eps in any layer */
  double min_agreement; /* the lowest of the layers' agreements */
  size_t images;        /* test images compared */
  double eps;           /* differences within eps of zero are allowed */
  int nlayers;
  struct {
    size_t compared, mismatched, near_zero;
    double agreement, max_err;
  } layer[DLGN_MAX_LAYERS];
} dlgn_run_filter_check;

/* Write it (atomically), and read it back: found says whether the run has
 * one; one that is not whole, strict JSON with a "passed" verdict is an error
 * naming the file. */
int dlgn_run_write_filter_check(const char *run_dir, const dlgn_run_filter_check *c);
int dlgn_run_read_filter_check(const char *run_dir, dlgn_run_filter_check *c, bool *found);

#endif

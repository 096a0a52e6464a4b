/* The run folder: the files `dlgn train` writes in RUN_DIR and everything
 * that reads them back (resume, eval, explain, sweep results), through the
 * same code: config.json (the configuration, dlgn_train_config_load),
 * metrics.jsonl (one line per epoch) and summary.json (final and best
 * figures next to the model's interpretability properties). */
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

#endif

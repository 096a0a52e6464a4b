/* The files of a run folder: config.json (the full configuration),
 * metrics.jsonl (one line per epoch), summary.json (final and best figures
 * next to the model's interpretability properties). */
#ifndef DLGN_TRAIN_RUN_FILES_H
#define DLGN_TRAIN_RUN_FILES_H

#include <json-c/json.h>

#include "dlgn/train.h"

/* One epoch's figures as JSON (metrics.jsonl lines, summary, checkpoint
 * header), and back. */
json_object *train_run_metrics_json(const dlgn_epoch_metrics *e);
void train_run_metrics_parse(json_object *o, dlgn_epoch_metrics *e);

int train_run_write_config(const dlgn_train_config *c);
/* Keep only the lines of epochs <= epoch (a resumed run rewrites the rest). */
int train_run_truncate_metrics(const char *run_dir, int epoch);
/* The metrics line of one epoch (a run resumed after its last epoch reports it). */
int train_run_read_metrics(const char *run_dir, int epoch, dlgn_epoch_metrics *e);
int train_run_append_metrics(const char *run_dir, const dlgn_epoch_metrics *e);
int train_run_write_summary(const dlgn_train_config *c, const dlgn_train_summary *s);

#endif

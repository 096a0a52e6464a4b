/* The training stage: runs of the paper from an archive through the
 * OpenCL model, with metrics, checkpoints, resume and evaluation. */
#ifndef DLGN_TRAIN_H
#define DLGN_TRAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dlgn/data.h"
#include "dlgn/model.h"

typedef enum { DLGN_ADAM = 0, DLGN_SGD } dlgn_optimizer;
typedef enum { DLGN_LR_CONSTANT = 0, DLGN_LR_COSINE, DLGN_LR_STEP } dlgn_lr_schedule;
typedef enum { DLGN_NORM_UNIT = 0, DLGN_NORM_STANDARD } dlgn_normalize;
typedef enum { DLGN_LABELS_FINE = 0, DLGN_LABELS_COARSE } dlgn_labels; /* CIFAR-100's two sets */

/* Where and how a run runs here: none of it changes what the run is, so a
 * resumed run takes these from the command that resumes it. */
typedef struct {
  char run_dir[1024];
  char device[128];
  int progress;   /* -1 auto (a terminal), 0 plain lines, 1 bar (not saved) */
  bool quiet;     /* (not saved) */
  bool overwrite; /* dlgn train --overwrite: replace the run in run_dir (not saved) */
  bool class_given; /* --class was explicit: fixed-learnt checks it against the source's (not
                       saved) */
} dlgn_run_options;

/* A training run: the experiment (every field but run), and its run options.
 * Every experiment field is a row of the configuration schema
 * (dlgn/config_keys.h), which gives its key, option, default and range. */
typedef struct {
  dlgn_model_config model;
  dlgn_optimizer optimizer;
  float lr, momentum, weight_decay;
  float decoupled_weight_decay; /* AdamW's: w -= lr * it * w each step, apart from the gradient */
  bool nesterov;
  float adam_beta1, adam_beta2, adam_eps;
  dlgn_lr_schedule schedule;
  int step_every;   /* step schedule: epochs between decays */
  float step_gamma; /* step schedule: factor per decay */
  int epochs, batch;
  uint64_t seed;
  bool augment;              /* random crop (pad 4) + horizontal flip */
  dlgn_normalize normalize;  /* unit: x/255 (the paper); standard: per-channel mean/std */
  size_t train_limit, test_limit; /* first N images only (0 = all) */
  size_t synth_train, synth_test; /* size of the synthetic default */
  bool eval_train;           /* final soft/hard accuracy on the training set */
  dlgn_labels labels;        /* CIFAR-100: fine (100 classes) or coarse (20); CIFAR-10: fine */
  char data[1024];           /* archive or folder; "" = resolve (--data, $DLGN_DATA, ./datasets) */
  char gates_from[1024];     /* fixed-learnt: checkpoint whose gates to freeze */
  dlgn_run_options run;
} dlgn_train_config;

void dlgn_train_config_default(dlgn_train_config *c);

/* JSON text of a config (the run's config.json), and back. */
char *dlgn_train_config_to_json(const dlgn_train_config *c); /* free() it */
int dlgn_train_config_from_json(dlgn_train_config *c, const char *json, const char *origin);

/* Every real setting in its valid range (finite; the error names the key). */
int dlgn_train_config_check(const dlgn_train_config *c);

const char *dlgn_optimizer_name(dlgn_optimizer o);
const char *dlgn_schedule_name(dlgn_lr_schedule s);
const char *dlgn_normalize_name(dlgn_normalize n);
const char *dlgn_labels_name(dlgn_labels l);
int dlgn_optimizer_parse(const char *s, dlgn_optimizer *out);
int dlgn_schedule_parse(const char *s, dlgn_lr_schedule *out);
int dlgn_normalize_parse(const char *s, dlgn_normalize *out);
int dlgn_labels_parse(const char *s, dlgn_labels *out);

/* Learning rate of global step `step` (0-based) of `total` steps. */
float dlgn_lr_at(const dlgn_train_config *c, long step, long steps_per_epoch, long total);

typedef struct {
  int epoch;
  double train_loss, train_acc;  /* running, under the training gates */
  double test_soft, test_hard;   /* test accuracy with soft and hard gates */
  double train_soft, train_hard; /* -1 unless measured (final epoch with eval_train) */
  double images_per_s, seconds, lr;
} dlgn_epoch_metrics;

typedef struct {
  dlgn_train_config config;       /* as run (fixed-learnt takes its class from the source) */
  dlgn_epoch_metrics final, best; /* best: by test accuracy under hard gates */
  int epochs_run;
  char device[256];
  char data_source[1024];
  bool synthetic;
} dlgn_train_summary;

/* Train per config: writes run_dir/{config.json, metrics.jsonl, summary.json,
 * checkpoint.bin}. resume: continue run_dir from its checkpoint. */
int dlgn_train_run(const dlgn_train_config *c, bool resume, dlgn_train_summary *out);

/* The dataset of a configuration: data (if given) else c->data, resolved as
 * --data / $DLGN_DATA / ./datasets/, else the synthetic default of c's sizes
 * (a fixed seed, whatever the run's seed). resolved (may be NULL, the
 * size of c->data) gets what was used: an absolute path, or "synthetic", so that a run
 * records its data and later commands (eval, explain, resume) find the same. */
int dlgn_train_load_dataset(const dlgn_train_config *c, const char *data, dlgn_dataset *ds,
                            bool *synthetic, char *resolved);

/* A run folder stands for its checkpoint: ARG or ARG/checkpoint.bin. */
void dlgn_checkpoint_path(const char *arg, char *out, size_t size);

/* Before a fresh run in run_dir: an error pointing to --resume when the
 * folder already holds a run (a finished or a partial one), unless overwrite,
 * which removes that run's files first. */
int dlgn_run_dir_claim(const char *run_dir, bool overwrite);
/* Removes what a killed write left in run_dir (checkpoint.bin.tmp, and the
 * NAME.tmp.PID of the other run files); removed (may be NULL) gets how many. */
int dlgn_run_remove_temporaries(const char *run_dir, int *removed);

/* Load config from run_dir/config.json (for --resume). */
int dlgn_train_config_load(dlgn_train_config *c, const char *run_dir);

/* ---- checkpoints ---- */
typedef struct {
  dlgn_train_config config;
  int epoch;          /* epochs completed */
  long step;          /* optimizer steps done */
  size_t nparams, nstate, nopt;
  float *params, *state, *opt;
  dlgn_epoch_metrics best;
  float mean[3], std[3]; /* input normalisation the model was trained with */
} dlgn_checkpoint;

/* Atomic write (temporary file, fsync, rename), with magic, version, shapes
 * and a CRC-32; a corrupt, truncated or mismatched file is a clear error. */
int dlgn_checkpoint_write(const char *path, const dlgn_checkpoint *ck);
int dlgn_checkpoint_read(const char *path, dlgn_checkpoint *ck);
void dlgn_checkpoint_free(dlgn_checkpoint *ck);

/* ---- evaluation ---- */
/* Accuracy of a model on a split (no augmentation) with soft and hard gates
 * (both computed in one pass over the data). */
int dlgn_evaluate(dlgn_model *m, const dlgn_split *split, size_t limit, const float mean[3],
                  const float std[3], double *acc_soft, double *acc_hard);

/* A model on a device from a checkpoint file, ready to evaluate or explain. */
int dlgn_model_from_checkpoint(dlgn_model **out, dlgn_device *dev, const char *path, int max_batch,
                               dlgn_checkpoint *ck_out);

#endif

/* The sweep stage: many training runs from one JSON file (a grid over any
 * configuration keys, plus explicit runs), trained one after another or
 * emitted as `dlgn train` job lines, and gathered into the tradeoff table of
 * the paper (results.csv, results.jsonl, results.md, tradeoff.png).
 * The file format is documented in docs/sweeps.md. */
#ifndef DLGN_SWEEP_H
#define DLGN_SWEEP_H

#include <stdbool.h>
#include <stddef.h>

#include "dlgn/train.h"

typedef struct {
  char name[160];        /* folder under OUT/runs; a function of the settings alone */
  dlgn_train_config cfg; /* run_dir = OUT/runs/name; fixed-learnt: gates_from wired */
  int source;            /* index of the run whose checkpoint gives the gates, or -1 */
} dlgn_sweep_run;

typedef struct {
  char name[128]; /* the file's "name" (else its base name) */
  char out_dir[1024];
  int nruns;
  dlgn_sweep_run *runs; /* every source before the runs that take its gates */
  int nnotes;
  char **notes; /* one per skipped combination or duplicate */
} dlgn_sweep_plan;

/* Expand a sweep file into runs under out_dir. Combinations the model
 * rejects, and fixed-learnt runs with no source, become notes, not errors;
 * unknown keys, bad values and a malformed file are errors naming origin. */
int dlgn_sweep_plan_parse(dlgn_sweep_plan *p, const char *json, const char *origin,
                          const char *out_dir);
int dlgn_sweep_plan_load(dlgn_sweep_plan *p, const char *path, const char *out_dir);
void dlgn_sweep_plan_free(dlgn_sweep_plan *p);

/* Point every run at one device (the CLI's --device). */
void dlgn_sweep_plan_set_device(dlgn_sweep_plan *p, const char *device);

/* Runs of wave 1 need nothing; wave 2 (fixed-learnt with a source in the
 * sweep) reads checkpoints that wave 1 writes. */
int dlgn_sweep_run_wave(const dlgn_sweep_run *r);

typedef enum { DLGN_RUN_NEW = 0, DLGN_RUN_INTERRUPTED, DLGN_RUN_FINISHED } dlgn_run_state;

/* finished: summary.json records at least `epochs` epochs; interrupted: a
 * checkpoint to resume from; new: neither. */
dlgn_run_state dlgn_sweep_run_state(const char *run_dir, int epochs);

typedef struct {
  const char *device;  /* filter checks in --merge (NULL: $DLGN_DEVICE, first GPU, first CPU) */
  size_t check_images; /* test images the filter-export check compares (0: 256) */
  bool filter_check;   /* run the check for dlgn and dlgn-sf runs that lack one */
  int progress;        /* as dlgn_train_config.progress */
  bool quiet;
  bool set_aside_broken; /* move a run whose checkpoint is broken to OUT/broken/, train afresh */
} dlgn_sweep_options;

void dlgn_sweep_options_default(dlgn_sweep_options *o);

/* Train every run that is not finished (resuming interrupted ones), check
 * filters, then write the results files of the plan's finished runs. A
 * failed run does not stop the others; the call fails at the end, naming it. */
int dlgn_sweep_execute(const dlgn_sweep_plan *p, const dlgn_sweep_options *o);

/* The results files in out_dir from finished run folders found under dirs
 * (a sweep's output folder, a folder of run folders, or a run folder). */
int dlgn_sweep_merge(const char *const *dirs, int ndirs, const char *out_dir,
                     const dlgn_sweep_options *o);

/* The filter-export check of a finished dlgn/dlgn-sf run, written as
 * RUN_DIR/filter_check.json (nothing to do for other classes). */
int dlgn_sweep_filter_check(const char *run_dir, const char *device, size_t images);

/* The `dlgn train` arguments that reproduce run r: argv[0] is "train";
 * NULL-terminated; free with dlgn_sweep_job_args_free. Fails when the run
 * sets a key that dlgn train has no option for. */
int dlgn_sweep_job_args(const dlgn_sweep_run *r, char ***argv, int *argc);
void dlgn_sweep_job_args_free(char **argv, int argc);
/* One shell word: quoted when it holds anything but [A-Za-z0-9_./=:,+-]. */
void dlgn_sweep_shell_quote(const char *word, char *out, size_t size);
/* Run r's job line as one shell command: program (the dlgn to call), then
 * the quoted arguments of dlgn_sweep_job_args. malloc'd; free it. */
int dlgn_sweep_job_line(const dlgn_sweep_run *r, const char *program, char **line);
/* A bash script at path that submits the plan to Slurm as job arrays, one
 * run per array index: wave 1 as one array, wave 2 (fixed-learnt runs) as a
 * second that waits for every task of the first (--dependency=afterok).
 * `bash path [SBATCH OPTIONS...]` submits; inside a task the script runs
 * that task's job line. Fails when the plan has no runs. */
int dlgn_sweep_write_slurm(const dlgn_sweep_plan *p, const char *program, const char *path);

/* results.csv, results.jsonl, results.md, tradeoff.{dat,gp,png} in out_dir
 * from finished run folders, in a fixed order (class by interpretability,
 * architecture, mode, value input, shuffle, name). */
int dlgn_sweep_write_results(char *const *run_dirs, int n, const char *out_dir, const char *title);

#endif

/* Running a plan: runs one after another, each either skipped (finished),
 * resumed (a checkpoint, no final summary) or trained afresh; the
 * filter-export check after each dlgn/dlgn-sf run; then the results files. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dlgn/explain.h"
#include "dlgn/run_files.h"
#include "dlgn/status.h"
#include "dlgn/sweep.h"
#include "dlgn/train.h"
#include "dlgn/util.h"
#include "sweep_internal.h"

#define DEFAULT_CHECK_IMAGES 256
/* images per forward pass of the check (memory, not results) */
#define CHECK_BATCH 100

void dlgn_sweep_options_default(dlgn_sweep_options *o) {
  memset(o, 0, sizeof *o);
  o->check_images = DEFAULT_CHECK_IMAGES;
  o->filter_check = true;
  o->progress = -1;
}

bool sweep_exists(const char *dir, const char *file) {
  char path[1200];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  return access(path, F_OK) == 0;
}

dlgn_run_state dlgn_sweep_run_state(const char *run_dir, int epochs) {
  int done;
  /* a corrupt summary is no finished run: resuming rewrites it */
  if (dlgn_run_summary_epochs(run_dir, &done) != 0) dlgn_error_clear();
  if (done >= epochs) return DLGN_RUN_FINISHED;
  if (sweep_exists(run_dir, "checkpoint.bin")) return DLGN_RUN_INTERRUPTED;
  return DLGN_RUN_NEW;
}

/* The check's result as the run folder keeps it. */
static int write_check(const char *run_dir, const dlgn_filter_check *r) {
  dlgn_run_filter_check c = {.passed = r->passed, .images = r->images, .eps = r->eps,
                             .nlayers = r->nlayers, .min_agreement = 1};
  for (int l = 0; l < r->nlayers; l++) {
    c.layer[l].compared = r->compared[l];
    c.layer[l].mismatched = r->mismatched[l];
    c.layer[l].near_zero = r->near_zero[l];
    c.layer[l].agreement = r->agreement[l];
    c.layer[l].max_err = r->max_err[l];
    if (r->agreement[l] < c.min_agreement) c.min_agreement = r->agreement[l];
  }
  return dlgn_run_write_filter_check(run_dir, &c);
}

int dlgn_sweep_filter_check(const char *run_dir, const char *device, size_t images) {
  dlgn_train_config c;
  DLGN_TRY(dlgn_train_config_load(&c, run_dir));
  if (!dlgn_model_linear_gating(&c.model)) return 0;
  char path[1200];
  dlgn_checkpoint_path(run_dir, path, sizeof path);
  dlgn_device *dev = NULL;
  dlgn_model *m = NULL;
  dlgn_checkpoint ck = {0};
  dlgn_dataset ds;
  bool have_ds = false;
  dlgn_filter_check r;
  int rc = -1;
  if (dlgn_device_open(&dev, device && device[0] ? device : NULL, 0) != 0 ||
      dlgn_model_from_checkpoint(&m, dev, path, CHECK_BATCH, &ck) != 0 ||
      dlgn_train_load_dataset(&ck.config, NULL, &ds, NULL, NULL) != 0)
    goto done;
  have_ds = true;
  size_t n = images ? images : DEFAULT_CHECK_IMAGES;
  if (n > ds.test.n) n = ds.test.n;
  if (dlgn_explain_filter_check(m, &ck, &ds.test, n, &r) != 0 || write_check(run_dir, &r) != 0)
    goto done;
  rc = 0;
done:
  if (rc) dlgn_fail_context("filter-export check of %s", run_dir);
  if (have_ds) dlgn_dataset_free(&ds);
  dlgn_checkpoint_free(&ck);
  dlgn_model_destroy(m);
  dlgn_device_close(dev);
  return rc;
}

int sweep_check_if_missing(const char *run_dir, const char *device, const dlgn_sweep_options *o) {
  if (!o->filter_check || sweep_exists(run_dir, "filter_check.json")) return 0;
  return dlgn_sweep_filter_check(run_dir, device, o->check_images);
}

/* A run whose checkpoint cannot be read fails the same way on every rerun;
 * with set_aside it moves to OUT/broken/NAME (NAME-2, ... when taken) and
 * the run starts afresh. Returns 0 (*st updated) or -1 with the reason. */
static int check_resumable(const dlgn_sweep_plan *p, const dlgn_sweep_run *r, bool set_aside,
                           dlgn_run_state *st) {
  char path[1200];
  dlgn_checkpoint ck;
  snprintf(path, sizeof path, "%s/checkpoint.bin", r->cfg.run.run_dir);
  if (dlgn_checkpoint_read(path, &ck) == 0) {
    dlgn_checkpoint_free(&ck);
    return 0;
  }
  char broken[1100], dest[1300];
  snprintf(broken, sizeof broken, "%.1000s/broken", p->out_dir); /* out_dir: <= 800 */
  snprintf(dest, sizeof dest, "%s/%s", broken, r->name);
  for (int k = 2; access(dest, F_OK) == 0 && k < 1000; k++)
    snprintf(dest, sizeof dest, "%s/%s-%d", broken, r->name, k);
  if (!set_aside)
    return dlgn_fail_context("its checkpoint is broken, and a rerun fails the same way; "
                             "--set-aside-broken moves the run to %s and trains it afresh",
                             dest);
  char reason[DLGN_ERROR_MAX];
  snprintf(reason, sizeof reason, "%s", dlgn_error());
  DLGN_TRY(dlgn_mkdir_p(broken));
  if (rename(r->cfg.run.run_dir, dest) != 0)
    return dlgn_fail("cannot move the broken run %s to %s: %s", r->cfg.run.run_dir, dest,
                     strerror(errno));
  fprintf(stderr, "dlgn: note: %s: moved to %s (%s); training it afresh\n", r->name, dest, reason);
  *st = DLGN_RUN_NEW;
  return 0;
}

/* Collected failures: "name: message" lines, for the final error. */
typedef struct {
  char text[DLGN_ERROR_MAX];
  int n;
} failures;

static void failed(failures *f, const char *name) {
  size_t used = strlen(f->text);
  snprintf(f->text + used, sizeof f->text - used, "%s%s: %s", f->n ? "; " : "", name, dlgn_error());
  f->n++;
  fprintf(stderr, "dlgn: %s: %s\n", name, dlgn_error());
  dlgn_error_clear();
}

int dlgn_sweep_execute(const dlgn_sweep_plan *p, const dlgn_sweep_options *o) {
  char runs_dir[1100];
  snprintf(runs_dir, sizeof runs_dir, "%s/runs", p->out_dir);
  DLGN_TRY(dlgn_mkdir_p(runs_dir));
  bool *bad = calloc((size_t)p->nruns, sizeof *bad);
  char **dirs = calloc((size_t)p->nruns, sizeof *dirs);
  failures *f = calloc(1, sizeof *f);
  int rc = -1, nbroken = 0;
  if (!bad || !dirs || !f) {
    dlgn_fail("out of host memory running the sweep");
    goto done;
  }
  for (int i = 0; i < p->nruns; i++) {
    const dlgn_sweep_run *r = &p->runs[i];
    dlgn_train_config c = r->cfg;
    c.run.progress = o->progress;
    c.run.quiet = o->quiet;
    dirs[i] = (char *)r->cfg.run.run_dir;
    dlgn_run_state st = dlgn_sweep_run_state(c.run.run_dir, c.epochs);
    static const char *what[] = {"training", "resuming from its checkpoint", "finished, skipped"};
    if (st != DLGN_RUN_FINISHED && r->source >= 0 && bad[r->source]) {
      dlgn_fail("not trained: %s, whose gates it takes, failed", p->runs[r->source].name);
      bad[i] = true;
      failed(f, r->name);
      continue;
    }
    if (st == DLGN_RUN_INTERRUPTED && check_resumable(p, r, o->set_aside_broken, &st) != 0) {
      bad[i] = true;
      nbroken++;
      failed(f, r->name);
      continue;
    }
    printf("[%d/%d] %s: %s\n", i + 1, p->nruns, r->name, what[st]);
    fflush(stdout);
    dlgn_train_summary sum;
    if ((st != DLGN_RUN_FINISHED && dlgn_train_run(&c, st == DLGN_RUN_INTERRUPTED, &sum) != 0) ||
        sweep_check_if_missing(c.run.run_dir, c.run.device, o) != 0) {
      bad[i] = true;
      failed(f, r->name);
    }
  }
  if (dlgn_sweep_write_results(dirs, p->nruns, p->out_dir, p->name) != 0) goto done;
  printf("results: %s/results.{csv,jsonl,md}, %s/tradeoff.png\n", p->out_dir, p->out_dir);
  if (f->n) {
    dlgn_fail("%d of %d runs failed (the others are in the results; run the sweep again to retry "
              "them%s): %s",
              f->n, p->nruns,
              nbroken ? ", with --set-aside-broken for those whose checkpoint is broken" : "",
              f->text);
    goto done;
  }
  rc = 0;
done:
  free(bad);
  free(dirs);
  free(f);
  return rc;
}

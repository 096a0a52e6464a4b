/* Where a run's data and checkpoints live, one way for every command. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dlgn/status.h"
#include "dlgn/train.h"

/* The synthetic default does not depend on the run's seed, so that runs with
 * different seeds (and evaluations of them) see the same data. */
#define SYNTH_SEED 2022

int dlgn_train_load_dataset(const dlgn_train_config *c, const char *data, dlgn_dataset *ds,
                            bool *synthetic, char *resolved) {
  char path[1024];
  bool synth = false;
  const char *want = data && *data ? data : (c->data[0] ? c->data : NULL);
  DLGN_TRY(dlgn_data_resolve(want, path, sizeof path, &synth));
  DLGN_TRY(synth ? dlgn_synth_generate(ds, DLGN_CIFAR10, c->synth_train, c->synth_test, SYNTH_SEED)
                 : dlgn_dataset_load(ds, path, NULL));
  if (synthetic) *synthetic = synth;
  if (resolved) {
    char abs[PATH_MAX];
    const char *used = synth ? "synthetic" : realpath(path, abs) ? abs : path;
    if (strlen(used) >= sizeof c->data) return dlgn_fail("data path too long: %s", used);
    memcpy(resolved, used, strlen(used) + 1);
  }
  return 0;
}

void dlgn_checkpoint_path(const char *arg, char *out, size_t size) {
  struct stat st;
  if (stat(arg, &st) == 0 && S_ISDIR(st.st_mode)) snprintf(out, size, "%s/checkpoint.bin", arg);
  else snprintf(out, size, "%s", arg);
}

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

/* CIFAR-100's 20 superclasses as the classes: each split's labels and
 * coarse labels trade places (dlgn_dataset_free frees both), and the coarse
 * names become the class names. */
static void use_coarse_labels(dlgn_dataset *ds) {
  dlgn_split *splits[2] = {&ds->train, &ds->test};
  for (int s = 0; s < 2; s++) {
    uint8_t *fine = splits[s]->labels;
    splits[s]->labels = splits[s]->coarse;
    splits[s]->coarse = fine;
  }
  ds->num_classes = ds->num_coarse;
  memset(ds->class_names, 0, sizeof ds->class_names);
  for (int i = 0; i < ds->num_coarse; i++)
    memcpy(ds->class_names[i], ds->coarse_names[i], sizeof ds->class_names[i]);
  ds->names_from_meta = ds->coarse_names_from_meta;
}

int dlgn_train_load_dataset(const dlgn_train_config *c, const char *data, dlgn_dataset *ds,
                            bool *synthetic, char *resolved) {
  char path[1024];
  bool synth = false;
  const char *want = data && *data ? data : (c->data[0] ? c->data : NULL);
  DLGN_TRY(dlgn_data_resolve(want, path, sizeof path, &synth));
  DLGN_TRY(synth ? dlgn_synth_generate(ds, DLGN_CIFAR10, c->synth_train, c->synth_test, SYNTH_SEED)
                 : dlgn_dataset_load(ds, path, NULL));
  if (c->labels == DLGN_LABELS_COARSE) {
    if (ds->kind != DLGN_CIFAR100) {
      dlgn_fail("--labels coarse needs CIFAR-100, but %s is %s (it has only its %d classes)",
                ds->source, dlgn_cifar_kind_name(ds->kind), ds->num_classes);
      dlgn_dataset_free(ds);
      return -1;
    }
    use_coarse_labels(ds);
  }
  /* the names only label reports, but a user who trusts them should know
   * where they came from */
  if (!synth && !ds->names_from_meta)
    fprintf(stderr, "dlgn: note: %s has no %s: the class names are the built-in %s names\n",
            ds->source,
            ds->kind != DLGN_CIFAR100              ? "batches.meta.txt"
            : c->labels == DLGN_LABELS_COARSE      ? "coarse_label_names.txt"
                                                   : "fine_label_names.txt",
            dlgn_cifar_kind_name(ds->kind));
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

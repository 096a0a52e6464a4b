/* A run folder's files as resume and --merge read them, from arbitrary
 * bytes: the input, split at NUL bytes, is config.json, summary.json,
 * metrics.jsonl and filter_check.json (a missing part: no such file).
 * Invariants: a configuration read back survives its own JSON form
 * unchanged and its strings are terminated; a merged row of a finished run
 * has run every epoch; a failure leaves one line of error. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dlgn/status.h"
#include "dlgn/sweep.h"
#include "dlgn/train.h"
#include "fuzz_util.h"
#include "sweep/sweep_internal.h"

static const char *const files[] = {"config.json", "summary.json", "metrics.jsonl",
                                    "filter_check.json"};

static void check_config(const dlgn_train_config *c) {
  FUZZ_TERMINATED(c->data);
  FUZZ_TERMINATED(c->run.run_dir);
  FUZZ_TERMINATED(c->run.device);
  FUZZ_TERMINATED(c->gates_from);
  char *text = dlgn_train_config_to_json(c);
  FUZZ_CHECK(text != NULL, "no JSON form");
  dlgn_train_config back;
  dlgn_train_config_default(&back);
  FUZZ_CHECK(dlgn_train_config_from_json(&back, text, "again") == 0, "own JSON refused: %s",
             dlgn_error());
  char *again = dlgn_train_config_to_json(&back);
  FUZZ_CHECK(again && strcmp(text, again) == 0, "the JSON form changes on a second pass");
  free(text);
  free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *dir = fuzz_path("run");
  fuzz_rmtree(dir);
  FUZZ_CHECK(mkdir(dir, 0755) == 0, "mkdir %s", dir);
  size_t at = 0;
  for (int i = 0; i < 4 && at <= size; i++) {
    const uint8_t *end = memchr(data + at, '\0', size - at);
    size_t n = end ? (size_t)(end - (data + at)) : size - at;
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, files[i]);
    fuzz_write(path, data + at, n);
    at += n + 1;
    if (!end) break;
  }
  /* resume's reading */
  dlgn_train_config c;
  dlgn_error_clear();
  int epochs = 1;
  if (dlgn_train_config_load(&c, dir) == 0) {
    check_config(&c);
    epochs = c.epochs;
  } else {
    fuzz_check_error("dlgn_train_config_load");
  }
  /* the sweep's and --merge's */
  dlgn_run_state st = dlgn_sweep_run_state(dir, epochs);
  FUZZ_CHECK(st == DLGN_RUN_NEW || st == DLGN_RUN_INTERRUPTED || st == DLGN_RUN_FINISHED,
             "state %d", (int)st);
  sweep_row row;
  bool finished;
  dlgn_error_clear();
  if (sweep_row_load(&row, dir, &finished) == 0) {
    if (finished) {
      FUZZ_TERMINATED(row.name);
      FUZZ_TERMINATED(row.gate_source);
      FUZZ_TERMINATED(row.device_name);
      FUZZ_TERMINATED(row.data_source);
      FUZZ_CHECK(row.epochs_run >= row.cfg.epochs, "finished after %d of %d epochs", row.epochs_run,
                 row.cfg.epochs);
      FUZZ_CHECK(row.filter >= -1 && row.filter <= 2, "filter %d", row.filter);
    }
  } else {
    fuzz_check_error("sweep_row_load");
  }
  return 0;
}

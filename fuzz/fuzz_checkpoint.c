/* The checkpoint reader on arbitrary bytes. Invariants: a checkpoint read
 * back is consistent with its own configuration (the shapes it lays out,
 * optimizer state for its optimizer or none, epoch and step in range, finite
 * normalisation); a failure frees everything and leaves one line of error. */
#include <math.h>
#include <string.h>

#include "dlgn/model.h"
#include "dlgn/status.h"
#include "dlgn/train.h"
#include "fuzz_util.h"
#include "nn/model_internal.h"

static void check_read(const dlgn_checkpoint *ck) {
  const dlgn_train_config *c = &ck->config;
  FUZZ_CHECK(dlgn_train_config_check(c) == 0, "config out of range: %s", dlgn_error());
  FUZZ_CHECK(dlgn_model_config_check(&c->model) == 0, "model config: %s", dlgn_error());
  dlgn_model m;
  memset(&m, 0, sizeof m);
  FUZZ_CHECK(nn_model_layout(&m, &c->model) == 0, "layout: %s", dlgn_error());
  FUZZ_CHECK(m.nparams == ck->nparams && m.nstate == ck->nstate, "%zu/%zu values, layout %zu/%zu",
             ck->nparams, ck->nstate, m.nparams, m.nstate);
  size_t ntrain = m.train_end - m.train_begin;
  size_t nopt = c->optimizer == DLGN_ADAM ? 2 * ntrain : ntrain;
  FUZZ_CHECK(ck->nopt == nopt || ck->nopt == 0, "%zu optimizer values, needs %zu", ck->nopt, nopt);
  FUZZ_CHECK(ck->params && ck->state && ck->opt, "payload not allocated");
  FUZZ_CHECK(ck->epoch >= 0 && ck->epoch <= c->epochs, "epoch %d of %d", ck->epoch, c->epochs);
  FUZZ_CHECK(ck->step >= ck->epoch, "step %ld after %d epochs", ck->step, ck->epoch);
  FUZZ_CHECK(c->model.num_classes == 10 || c->model.num_classes == 100, "%d classes",
             c->model.num_classes);
  for (int i = 0; i < 3; i++)
    FUZZ_CHECK(isfinite(ck->mean[i]) && isfinite(ck->std[i]) && ck->std[i] > 0, "channel %d", i);
  FUZZ_CHECK(ck->best.epoch >= 0 && ck->best.epoch <= ck->epoch, "best epoch %d", ck->best.epoch);
  FUZZ_TERMINATED(c->data);
  FUZZ_TERMINATED(c->run.run_dir);
  FUZZ_TERMINATED(c->run.device);
  FUZZ_TERMINATED(c->gates_from);
  /* the payload is readable to its end (ASan reports it otherwise) */
  volatile float sum = 0;
  for (size_t i = 0; i < ck->nparams; i++) sum += ck->params[i];
  for (size_t i = 0; i < ck->nstate; i++) sum += ck->state[i];
  for (size_t i = 0; i < ck->nopt; i++) sum += ck->opt[i];
  (void)sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *path = fuzz_path("checkpoint.bin");
  fuzz_write(path, data, size);
  dlgn_checkpoint ck;
  dlgn_error_clear();
  if (dlgn_checkpoint_read(path, &ck) == 0) {
    check_read(&ck);
    dlgn_checkpoint_free(&ck);
  } else {
    FUZZ_CHECK(!ck.params && !ck.state && !ck.opt, "a failed read left its buffers");
    fuzz_check_error("dlgn_checkpoint_read");
  }
  return 0;
}

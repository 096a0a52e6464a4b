/* A trained model back on a device, from its checkpoint. */
#include <string.h>

#include "dlgn/status.h"
#include "dlgn/train.h"
#include "nn/model_internal.h"

int dlgn_model_from_checkpoint(dlgn_model **out, dlgn_device *dev, const char *path, int max_batch,
                               dlgn_checkpoint *ck_out) {
  *out = NULL;
  dlgn_checkpoint ck;
  DLGN_TRY(dlgn_checkpoint_read(path, &ck));
  dlgn_model *m = NULL;
  if (dlgn_model_create(&m, dev, &ck.config.model, max_batch, ck.config.seed) != 0) goto fail;
  if (m->nparams != ck.nparams || m->nstate != ck.nstate) {
    dlgn_fail("checkpoint %s holds %zu parameters and %zu state values but its configuration "
              "needs %zu and %zu",
              path, ck.nparams, ck.nstate, m->nparams, m->nstate);
    goto fail;
  }
  if (ocl_buffer_write(dev, m->params, 0, ck.nparams * sizeof(float), ck.params, path) != 0 ||
      (ck.nstate && ocl_buffer_write(dev, m->state, 0, ck.nstate * sizeof(float), ck.state, path) != 0))
    goto fail;
  *out = m;
  if (ck_out) *ck_out = ck;
  else dlgn_checkpoint_free(&ck);
  return 0;
fail:
  dlgn_model_destroy(m);
  dlgn_checkpoint_free(&ck);
  return -1;
}

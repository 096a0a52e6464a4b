/* Accuracy of a model on a split, soft and hard gates in one pass over the
 * data; correct counts accumulate on the device and are read once. */
#include <stdlib.h>

#include "dlgn/status.h"
#include "dlgn/train.h"
#include "nn/model_internal.h"
#include "stream.h"

int dlgn_evaluate(dlgn_model *m, const dlgn_split *split, size_t limit, const float mean[3],
                  const float std[3], double *acc_soft, double *acc_hard) {
  dlgn_device *dev = m->dev;
  int rc = -1;
  dlgn_batcher *b = NULL;
  train_stream st = {0};
  cl_mem counters = NULL, loss = NULL;
  dlgn_batcher_options bo = {.batch = m->max_batch, .limit = limit};
  if (dlgn_batcher_create(&b, split, &bo) != 0 || dlgn_batcher_start_epoch(b, 0) != 0) goto done;
  if (train_stream_create(&st, dev, m->max_batch) != 0) goto done;
  if (ocl_buffer_create(dev, 2 * sizeof(cl_int), "evaluation counters", &counters) != 0 ||
      ocl_buffer_create(dev, sizeof(float), "evaluation loss", &loss) != 0)
    goto done;
  cl_int zero[2] = {0, 0};
  if (ocl_buffer_write(dev, counters, 0, sizeof zero, zero, "evaluation counters") != 0) goto done;
  bool gated = m->cfg.cls != DLGN_DNN;
  size_t total = 0;
  dlgn_batch batch;
  int got;
  while ((got = dlgn_batcher_next(b, &batch)) == 1) {
    int slot;
    if (train_stream_push(&st, &batch, &slot) != 0) goto done;
    size_t bs = (size_t)st.batch;
    if (nn_model_load_images(m, st.x8, (size_t)slot * bs * DLGN_IMAGE_BYTES, NULL, 0, batch.n,
                             mean, std) != 0)
      goto done;
    for (int g = 0; g < (gated ? 2 : 1); g++) {
      dlgn_gate_kind kind = g == 0 ? DLGN_GATE_SOFT : DLGN_GATE_HARD;
      if (nn_model_forward(m, batch.n, kind, false) != 0 ||
          xent_forward(dev, (nn_buf){loss, 0}, counters, (size_t)g, (nn_buf){m->logits, 0},
                       st.labels, (size_t)slot * bs, batch.n, m->cfg.num_classes) != 0)
        goto done;
    }
    if (train_stream_release(&st, slot) != 0) goto done;
    total += (size_t)batch.n;
  }
  if (got < 0) goto done;
  cl_int correct[2];
  if (ocl_buffer_read(dev, counters, 0, sizeof correct, correct, "evaluation counters") != 0)
    goto done;
  if (!gated) correct[1] = correct[0];
  *acc_soft = total ? (double)correct[0] / (double)total : 0;
  *acc_hard = total ? (double)correct[1] / (double)total : 0;
  rc = 0;
done:
  train_stream_destroy(&st);
  ocl_buffer_release(&counters);
  ocl_buffer_release(&loss);
  dlgn_batcher_destroy(b);
  return rc;
}

#include "stream.h"

#include <stdlib.h>
#include <string.h>

#include "dlgn/status.h"

int train_stream_create(train_stream *s, dlgn_device *dev, int batch) {
  memset(s, 0, sizeof *s);
  s->dev = dev;
  s->batch = batch;
  size_t nb = (size_t)batch;
  DLGN_TRY(ocl_buffer_create(dev, 2 * nb * DLGN_IMAGE_BYTES, "uint8 batch slots", &s->x8));
  DLGN_TRY(ocl_buffer_create(dev, 2 * nb * sizeof(int32_t), "label slots", &s->labels));
  DLGN_TRY(ocl_buffer_create(dev, 2 * nb * sizeof(dlgn_aug), "augmentation slots", &s->aug));
  s->host_x8 = dlgn_malloc(2 * nb * DLGN_IMAGE_BYTES, "batch staging");
  s->host_labels = dlgn_malloc(2 * nb * sizeof(int32_t), "label staging");
  s->host_aug = dlgn_malloc(2 * nb * sizeof(dlgn_aug), "augmentation staging");
  if (!s->host_x8 || !s->host_labels || !s->host_aug) return -1;
  return 0;
}

int train_stream_push(train_stream *s, const dlgn_batch *b, int *slot) {
  if (b->n > s->batch)
    return dlgn_fail("batch of %d images exceeds the stream's %d", b->n, s->batch);
  int k = s->next;
  s->next ^= 1;
  /* the staging memory of this slot is free once its last upload is done */
  DLGN_TRY(ocl_event_wait(s->dev, &s->uploaded[k], "the previous upload of a batch slot"));
  size_t nb = (size_t)s->batch, n = (size_t)b->n;
  uint8_t *hx = s->host_x8 + (size_t)k * nb * DLGN_IMAGE_BYTES;
  int32_t *hl = s->host_labels + (size_t)k * nb;
  dlgn_aug *ha = s->host_aug + (size_t)k * nb;
  memcpy(hx, b->images, n * DLGN_IMAGE_BYTES);
  memcpy(hl, b->labels, n * sizeof *hl);
  memcpy(ha, b->aug, n * sizeof *ha);
  /* the upload waits until the compute queue has released the slot */
  cl_event after = s->released[k];
  const char *what = "a batch upload";
  DLGN_TRY(ocl_upload_async(s->dev, s->x8, (size_t)k * nb * DLGN_IMAGE_BYTES, n * DLGN_IMAGE_BYTES,
                            hx, after, NULL, what));
  DLGN_TRY(ocl_upload_async(s->dev, s->labels, (size_t)k * nb * sizeof *hl, n * sizeof *hl, hl,
                            NULL, NULL, what));
  DLGN_TRY(ocl_upload_async(s->dev, s->aug, (size_t)k * nb * sizeof *ha, n * sizeof *ha, ha, NULL,
                            &s->uploaded[k], what));
  ocl_event_release(&s->released[k]);
  /* make the transfer visible to the compute queue before the batch's kernels */
  DLGN_TRY(ocl_compute_waits_for(s->dev, s->uploaded[k], what));
  *slot = k;
  return 0;
}

int train_stream_release(train_stream *s, int slot) {
  ocl_event_release(&s->released[slot]);
  return ocl_compute_marker(s->dev, &s->released[slot], "releasing a batch slot");
}

void train_stream_destroy(train_stream *s) {
  if (s->dev) ocl_device_drain(s->dev);
  for (int k = 0; k < 2; k++) {
    ocl_event_release(&s->uploaded[k]);
    ocl_event_release(&s->released[k]);
  }
  ocl_buffer_release(&s->x8);
  ocl_buffer_release(&s->labels);
  ocl_buffer_release(&s->aug);
  free(s->host_x8);
  free(s->host_labels);
  free(s->host_aug);
  memset(s, 0, sizeof *s);
}

#include "stream.h"

#include <stdlib.h>
#include <string.h>

#include "dlgn/status.h"

int dlgn_stream_create(dlgn_stream *s, dlgn_device *dev, int batch) {
  memset(s, 0, sizeof *s);
  s->dev = dev;
  s->batch = batch;
  size_t nb = (size_t)batch;
  DLGN_TRY(dlgn_buffer_create(dev, 2 * nb * DLGN_IMAGE_BYTES, "uint8 batch slots", &s->x8));
  DLGN_TRY(dlgn_buffer_create(dev, 2 * nb * sizeof(int32_t), "label slots", &s->labels));
  DLGN_TRY(dlgn_buffer_create(dev, 2 * nb * sizeof(dlgn_aug), "augmentation slots", &s->aug));
  s->host_x8 = dlgn_malloc(2 * nb * DLGN_IMAGE_BYTES, "batch staging");
  s->host_labels = dlgn_malloc(2 * nb * sizeof(int32_t), "label staging");
  s->host_aug = dlgn_malloc(2 * nb * sizeof(dlgn_aug), "augmentation staging");
  if (!s->host_x8 || !s->host_labels || !s->host_aug) return -1;
  return 0;
}

static int wait_release(dlgn_stream *s, cl_event *ev, const char *what) {
  if (!*ev) return 0;
  cl_int err = clWaitForEvents(1, ev);
  clReleaseEvent(*ev);
  *ev = NULL;
  return dlgn_cl_check(s->dev, err, "clWaitForEvents", what);
}

int dlgn_stream_push(dlgn_stream *s, const dlgn_batch *b, int *slot) {
  if (b->n > s->batch)
    return dlgn_fail("batch of %d images exceeds the stream's %d", b->n, s->batch);
  int k = s->next;
  s->next ^= 1;
  /* the staging memory of this slot is free once its last upload is done */
  DLGN_TRY(wait_release(s, &s->uploaded[k], "the previous upload of a batch slot"));
  size_t nb = (size_t)s->batch, n = (size_t)b->n;
  uint8_t *hx = s->host_x8 + (size_t)k * nb * DLGN_IMAGE_BYTES;
  int32_t *hl = s->host_labels + (size_t)k * nb;
  dlgn_aug *ha = s->host_aug + (size_t)k * nb;
  memcpy(hx, b->images, n * DLGN_IMAGE_BYTES);
  memcpy(hl, b->labels, n * sizeof *hl);
  memcpy(ha, b->aug, n * sizeof *ha);
  cl_event after = s->released[k];
  cl_uint nwait = after ? 1 : 0;
  cl_command_queue q = s->dev->xfer;
  cl_int err = clEnqueueWriteBuffer(q, s->x8, CL_FALSE, (size_t)k * nb * DLGN_IMAGE_BYTES,
                                    n * DLGN_IMAGE_BYTES, hx, nwait, nwait ? &after : NULL, NULL);
  if (err == CL_SUCCESS)
    err = clEnqueueWriteBuffer(q, s->labels, CL_FALSE, (size_t)k * nb * sizeof *hl, n * sizeof *hl,
                               hl, 0, NULL, NULL);
  if (err == CL_SUCCESS)
    err = clEnqueueWriteBuffer(q, s->aug, CL_FALSE, (size_t)k * nb * sizeof *ha, n * sizeof *ha,
                               ha, 0, NULL, &s->uploaded[k]);
  DLGN_TRY(dlgn_cl_check(s->dev, err, "clEnqueueWriteBuffer", "a batch upload"));
  if (after) {
    clReleaseEvent(after);
    s->released[k] = NULL;
  }
  /* make the transfer visible to the compute queue before the batch's kernels */
  err = clFlush(q);
  if (err == CL_SUCCESS)
    err = clEnqueueBarrierWithWaitList(s->dev->queue, 1, &s->uploaded[k], NULL);
  DLGN_TRY(dlgn_cl_check(s->dev, err, "clEnqueueBarrierWithWaitList", "a batch upload"));
  *slot = k;
  return 0;
}

int dlgn_stream_release(dlgn_stream *s, int slot) {
  if (s->released[slot]) clReleaseEvent(s->released[slot]);
  s->released[slot] = NULL;
  cl_int err = clEnqueueMarkerWithWaitList(s->dev->queue, 0, NULL, &s->released[slot]);
  if (err == CL_SUCCESS) err = clFlush(s->dev->queue);
  return dlgn_cl_check(s->dev, err, "clEnqueueMarkerWithWaitList", "releasing a batch slot");
}

void dlgn_stream_destroy(dlgn_stream *s) {
  if (s->dev) {
    clFinish(s->dev->xfer);
    clFinish(s->dev->queue);
  }
  for (int k = 0; k < 2; k++) {
    if (s->uploaded[k]) clReleaseEvent(s->uploaded[k]);
    if (s->released[k]) clReleaseEvent(s->released[k]);
  }
  dlgn_buffer_release(&s->x8);
  dlgn_buffer_release(&s->labels);
  dlgn_buffer_release(&s->aug);
  free(s->host_x8);
  free(s->host_labels);
  free(s->host_aug);
  memset(s, 0, sizeof *s);
}

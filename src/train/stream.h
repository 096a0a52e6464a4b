/* Batches on their way to the device: two slots of uint8 images, int labels
 * and augmentation choices. A batch is copied into a host staging slot and
 * uploaded on the transfer queue while the compute queue still works on the
 * previous one; the compute queue waits for the upload with a barrier, and
 * the slot is reused only after the compute queue has released it. No
 * allocation after create. */
#ifndef TRAIN_STREAM_H
#define TRAIN_STREAM_H

#include "dlgn/data.h"
#include "cl/device.h"

typedef struct {
  dlgn_device *dev;
  int batch;
  cl_mem x8, labels, aug; /* 2 slots each */
  uint8_t *host_x8;
  int32_t *host_labels;
  dlgn_aug *host_aug;
  cl_event uploaded[2], released[2];
  int next;
} train_stream;

int train_stream_create(train_stream *s, dlgn_device *dev, int batch);
/* Stage and upload a batch; *slot is where its data lives on the device:
 * images at byte offset slot*batch*3072 of x8, labels at int offset
 * slot*batch, aug at element offset slot*batch. */
int train_stream_push(train_stream *s, const dlgn_batch *b, int *slot);
/* After the last kernel that reads the slot has been enqueued. */
int train_stream_release(train_stream *s, int slot);
void train_stream_destroy(train_stream *s);

#endif

/* Progress of a run: a live bar on a terminal (loss, accuracy, img/s, ETA),
 * plain lines otherwise (logs, CI, sweeps). */
#ifndef TRAIN_PROGRESS_H
#define TRAIN_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>

#include "dlgn/train.h"

typedef struct {
  bool bar;
  bool quiet;
  int width; /* characters of the last bar line, to clear it */
} train_progress;

/* mode: -1 auto (bar when stderr is a terminal), 0 plain, 1 bar */
void train_progress_init(train_progress *p, int mode, bool quiet);
void train_progress_step(train_progress *p, int epoch, int epochs, size_t done, size_t total,
                         double loss, double acc, double images_per_s, double eta_s);
void train_progress_epoch(train_progress *p, int epochs, const dlgn_epoch_metrics *e, bool gated);
void train_progress_note(train_progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif

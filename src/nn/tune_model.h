/* Tuning what training runs: the GEMMs and convolutions of one training step
 * of a model, recorded as the device runs them, and the convolution
 * strategies measured on those very shapes (src/nn/tune_model.c). The GEMM
 * side of the search is src/cl/tune.c. */
#ifndef NN_TUNE_MODEL_H
#define NN_TUNE_MODEL_H

#include <stdbool.h>
#include <stdio.h>

#include "cl/device.h"
#include "cl/tune.h"
#include "dlgn/model.h"

/* Run one training step (forward with the training gates, backward) of a
 * model of cfg at this batch size on dev, and add the shapes of the GEMMs
 * and convolutions it ran to rec (each shape once). */
int nn_record_step(dlgn_device *dev, const dlgn_model_config *cfg, int batch,
                   ocl_call_record *rec);

/* Time every strategy that fits each pass (forward, dx, dw) of s on dev,
 * each checked against the im2col GEMM's result first, and return the
 * fastest per pass with its median time. quick: fewer repetitions. log: one
 * line per measurement, or NULL. */
int nn_tune_conv(dlgn_device *dev, const ocl_conv_shape *s, bool quick, FILE *log,
                 ocl_tuned_conv *out);

#endif

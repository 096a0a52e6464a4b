/* Facts of the model layout that the nn, train and explain stages share,
 * each stated once: the conv geometry, the batch-norm constants, the sizes
 * of a layer, and how images become the model's input. */
#ifndef NN_MODEL_INTERNAL_H
#define NN_MODEL_INTERNAL_H

#include <stddef.h>

#include "dlgn/data.h"
#include "dlgn/model.h"

/* Every conv layer: square NN_CONV_K x NN_CONV_K kernels, stride 1, zero
 * padding NN_CONV_PAD, so the output has the input's size. */
#define NN_CONV_K 3
#define NN_CONV_PAD 1
#define NN_CONV_TAPS (NN_CONV_K * NN_CONV_K)

/* Batch norm: y = gamma (x - mean) / sqrt(var + NN_BN_EPS) + beta; the
 * running statistics move by NN_BN_MOMENTUM towards each training batch's. */
#define NN_BN_EPS 1e-5
#define NN_BN_MOMENTUM 0.1

/* Images are square: the templates and the pooled sizes rely on it. */
_Static_assert(DLGN_IMAGE_H == DLGN_IMAGE_W, "square images");

/* Inputs of one unit: in_c (dense), in_c * NN_CONV_TAPS (conv). */
size_t nn_layer_fan_in(const dlgn_layer *L);
/* Outputs (gates, for a feature layer) per image: out_c (dense), out_c*h*w (conv). */
size_t nn_layer_units(const dlgn_layer *L);
/* Inputs per image after any pooling: in_c (dense), in_c*h*w (conv). */
size_t nn_layer_inputs(const dlgn_layer *L);
/* Rows of the per-channel view (C, rows) of a batch of N: N, or N*h*w. */
int nn_layer_rows(const dlgn_layer *L, int N);
/* The convolution of a conv layer for a batch of N. */
dlgn_conv_shape nn_layer_conv_shape(const dlgn_layer *L, int N);

/* N uint8 images (N,3,32,32) at byte x8_off of x8, with augmentations aug
 * (NULL: none) from element aug_off, normalised with mean/std per channel of
 * x/255 into the model's input in the layout its architecture reads. */
int nn_model_load_images(dlgn_model *m, cl_mem x8, size_t x8_off, cl_mem aug, size_t aug_off,
                         int N, const float mean[3], const float std[3]);

#endif

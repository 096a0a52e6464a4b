/* Inside a model, for the stages of the library (nn, train, explain) and its
 * tests: the layout of the networks, the device buffers, the passes, and the
 * facts of the layout each stated once (the conv geometry, the batch-norm
 * constants, the sizes of a layer, how images become the model's input). */
#ifndef NN_MODEL_INTERNAL_H
#define NN_MODEL_INTERNAL_H

#include <stddef.h>

#include "cl/device.h"
#include "dlgn/data.h"
#include "dlgn/model.h"
#include "nn/ops.h"

typedef enum { NN_LAYER_DENSE = 0, NN_LAYER_CONV } nn_layer_kind;

typedef struct {
  nn_layer_kind kind;
  int in_c, out_c;    /* dense: features; conv: channels */
  int h, w;           /* conv: spatial size of the layer's output (pad 1) */
  int stride;         /* conv: 1, or 2 (the input is 2h x 2w) */
  int skip;           /* the layer whose output the shortcut adds to this layer's
                         (batch-normed) output: l - 2, the block's input; -1: none */
  bool pool_before;   /* conv: 2x2 average pooling of the input first */
  int stage;          /* number of poolings above this layer (dlgn-sf pools x this often) */
  size_t w_off, b_off;           /* in the parameter buffer */
  size_t gamma_off, beta_off;    /* batch norm; 0 when none */
  size_t mean_off, var_off;      /* batch norm running stats in the state buffer */
} nn_layer;

typedef struct {
  int nlayers;
  nn_layer layers[DLGN_MAX_LAYERS];
  size_t begin, end; /* parameter span */
} nn_net;

/* Per-network activations of one batch, kept for the backward pass. */
typedef struct {
  cl_mem pooled[DLGN_MAX_LAYERS]; /* input after 2x2 pooling (pool_before) */
  cl_mem pre[DLGN_MAX_LAYERS];    /* W x + b */
  cl_mem norm[DLGN_MAX_LAYERS];   /* batch-norm output (batchnorm only) */
  cl_mem out[DLGN_MAX_LAYERS];    /* after ReLU (feature nets with ReLU) or gating (value) */
  cl_mem gperm[DLGN_MAX_LAYERS];  /* channel-shuffled gate pre-activations (value) */
  cl_mem save_mean[DLGN_MAX_LAYERS], save_invstd[DLGN_MAX_LAYERS];
} nn_net_acts;

struct dlgn_model {
  dlgn_model_config cfg;
  dlgn_device *dev;
  int max_batch;
  int in_c, in_h, in_w;
  nn_net feat, value; /* value.nlayers == 0 for a dnn */
  size_t head_w, head_b;
  int head_in;
  size_t nparams, nstate;
  size_t train_begin, train_end; /* trainable span of the parameters */
  int gate_src[DLGN_MAX_LAYERS]; /* value layer l is gated by feature layer gate_src[l] */

  /* device memory, allocated once for max_batch */
  cl_mem params, grads, state;
  cl_mem x;          /* normalised input, (N,3072) for fc, (3,N,32,32) for conv */
  cl_mem ones;       /* constant-1 value input */
  cl_mem ones_out;   /* with it: value layer 0's output (or its gradient) for one image */
  cl_mem xpool[6];   /* dlgn-sf: x pooled s times */
  cl_mem perm_dev[DLGN_MAX_LAYERS];
  nn_net_acts fa, va;
  cl_mem head_in_buf; /* GAP output (conv) */
  cl_mem logits, dlogits;
  cl_mem dq[DLGN_MAX_LAYERS]; /* gradient reaching the feature pre-activations */
  cl_mem dtmp[4];             /* backward scratch, largest activation each */
  cl_mem dskip;               /* resnet value network: the shortcut's gradient for a
                                 block's input, until the branch's is added to it */
  cl_mem scratch;             /* conv scratch */
  size_t device_bytes;        /* all of the above, checked against the device's memory */
};

/* Lay out the networks for cfg (no device work). */
int nn_model_layout(dlgn_model *m, const dlgn_model_config *cfg);

/* Host initial values of the parameters (nparams floats) and state. */
void nn_model_init_host(const dlgn_model *m, uint64_t seed, float *params, float *state);

/* Named parameter tensors, in buffer order ("feat.0.w", "value.3.b", "head.w",
 * "feat.1.gamma", ...): name, offset, count. Returns the number written. */
typedef struct {
  char name[32];
  size_t off, count;
  int shape[4], rank;
} nn_param_entry;
int nn_model_param_table(const dlgn_model *m, nn_param_entry *out, int max);

/* Forward pass of N images already in m->x (see nn_model_load_images): logits
 * (N, num_classes) in m->logits. gates: soft or hard gating of the value
 * network; training: batch norm uses (and updates) batch statistics in the
 * trainable networks. */
int nn_model_forward(dlgn_model *m, int N, dlgn_gate_kind gates, bool training);
/* The feature network alone, in evaluation mode: fills the gate
 * pre-activations (nn_model_gate_preact) of N images in m->x. */
int nn_model_forward_features(dlgn_model *m, int N);
/* Backward from m->dlogits into m->grads over the trainable span (the
 * feature network too in joint mode); uses the activations of the last
 * forward, which must have been a training forward with the same gates. */
int nn_model_backward(dlgn_model *m, int N, dlgn_gate_kind gates);

/* The buffer holding feature pre-activations qf[l] of the last forward:
 * (N, out_c) for dense layers, (out_c, N, h, w) for conv layers. */
cl_mem nn_model_gate_preact(const dlgn_model *m, int l);


/* Every conv layer: square NN_CONV_K x NN_CONV_K kernels, zero padding
 * NN_CONV_PAD, stride 1 (the output has the input's size) or, in a resnet,
 * 2 at the start of a stage. */
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
size_t nn_layer_fan_in(const nn_layer *L);
/* Outputs (gates, for a feature layer) per image: out_c (dense), out_c*h*w (conv). */
size_t nn_layer_units(const nn_layer *L);
/* Inputs per image after any pooling: in_c (dense), in_c*h*w*stride^2 (conv). */
size_t nn_layer_inputs(const nn_layer *L);
/* Layers of a resnet of depth 6n+2 (stem + 6n convolutions); 0 if depth is not 6n+2. */
int nn_resnet_convs(int depth);
/* Whether the output of layer l of net is the input of a residual block
 * (some layer's shortcut reads it). */
bool nn_layer_is_skip_source(const nn_net *net, int l);

/* Rows of the per-channel view (C, rows) of a batch of N: N, or N*h*w. */
int nn_layer_rows(const nn_layer *L, int N);
/* The convolution of a conv layer for a batch of N. */
ocl_conv_shape nn_layer_conv_shape(const nn_layer *L, int N);

/* N uint8 images (N,3,32,32) at byte x8_off of x8, with augmentations aug
 * (NULL: none) from element aug_off, normalised with mean/std per channel of
 * x/255 into the model's input in the layout its architecture reads. */
int nn_model_load_images(dlgn_model *m, cl_mem x8, size_t x8_off, cl_mem aug, size_t aug_off,
                         int N, const float mean[3], const float std[3]);

#endif

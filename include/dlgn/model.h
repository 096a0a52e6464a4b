/* The model classes of the paper on its architectures,
 * built from the ops of ops.h. A gated model is two networks of the same
 * shape: the feature (gating) network, whose pre-activations qf[l] give the
 * gates, and the value network, whose layer l output is
 * (Wv[l] zv[l-1]) * G(qf[src(l)]); a linear head reads the value network
 * (after global average pooling for conv nets). A dnn is one ReLU network,
 * stored as the feature network (its own gates), read by the head directly.
 *
 * All parameters live in one device buffer, laid out [feature][value][head],
 * so the trainable range of the fixed-gate modes ([value][head]) is one
 * contiguous span; gradients and optimizer state mirror it. Batch-norm
 * running statistics are the only other state. docs/model.md describes the
 * classes, gates and modes. */
#ifndef DLGN_MODEL_H
#define DLGN_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "dlgn/ops.h"

typedef enum { DLGN_DNN = 0, DLGN_DGN, DLGN_DLGN, DLGN_DLGN_SF } dlgn_model_class;
typedef enum { DLGN_FC = 0, DLGN_C4GAP, DLGN_VGG16 } dlgn_arch;
typedef enum { DLGN_VALUE_IMAGE = 0, DLGN_VALUE_ONES } dlgn_value_input;
typedef enum { DLGN_JOINT = 0, DLGN_FIXED_LEARNT, DLGN_FIXED_RANDOM } dlgn_train_mode;
typedef enum { DLGN_SHUFFLE_NONE = 0, DLGN_SHUFFLE_LAYERS, DLGN_SHUFFLE_CHANNELS } dlgn_shuffle;

typedef struct {
  dlgn_model_class cls;
  dlgn_arch arch;
  int depth;      /* fc: hidden layers (5); c4gap: conv layers (4); vgg16: 13 (fixed) */
  int width;      /* fc: hidden width (128); c4gap: channels (128); vgg16: first stage (64) */
  bool batchnorm; /* after every conv/dense layer of both networks, before the gate */
  float beta;     /* soft gate sharpness: G = sigmoid(beta * qf) */
  dlgn_value_input value_input;
  dlgn_train_mode mode;
  dlgn_shuffle shuffle;
  uint64_t shuffle_seed;
  int num_classes;
} dlgn_model_config;

void dlgn_model_config_default(dlgn_model_config *cfg);
/* Rejects combinations that mean nothing (a dnn with ones input, shuffled or
 * fixed gates; vgg16 with a depth other than 13...) with a message. */
int dlgn_model_config_check(const dlgn_model_config *cfg);

const char *dlgn_class_name(dlgn_model_class c);
const char *dlgn_arch_name(dlgn_arch a);
const char *dlgn_value_input_name(dlgn_value_input v);
const char *dlgn_mode_name(dlgn_train_mode m);
const char *dlgn_shuffle_name(dlgn_shuffle s);
int dlgn_class_parse(const char *s, dlgn_model_class *out);
int dlgn_arch_parse(const char *s, dlgn_arch *out);
int dlgn_value_input_parse(const char *s, dlgn_value_input *out);
int dlgn_mode_parse(const char *s, dlgn_train_mode *out);
int dlgn_shuffle_parse(const char *s, dlgn_shuffle *out);

#define DLGN_MAX_LAYERS 16

typedef enum { DLGN_LAYER_DENSE = 0, DLGN_LAYER_CONV } dlgn_layer_kind;

typedef struct {
  dlgn_layer_kind kind;
  int in_c, out_c;    /* dense: features; conv: channels */
  int h, w;           /* conv: spatial size of the layer's input and output (stride 1, pad 1) */
  bool pool_before;   /* conv: 2x2 average pooling of the input first */
  int stage;          /* number of poolings above this layer (dlgn-sf pools x this often) */
  size_t w_off, b_off;           /* in the parameter buffer */
  size_t gamma_off, beta_off;    /* batch norm; 0 when none */
  size_t mean_off, var_off;      /* batch norm running stats in the state buffer */
} dlgn_layer;

typedef struct {
  int nlayers;
  dlgn_layer layers[DLGN_MAX_LAYERS];
  size_t begin, end; /* parameter span */
} dlgn_net;

/* Per-network activations of one batch, kept for the backward pass. */
typedef struct {
  cl_mem pooled[DLGN_MAX_LAYERS]; /* input after 2x2 pooling (pool_before) */
  cl_mem pre[DLGN_MAX_LAYERS];    /* W x + b */
  cl_mem norm[DLGN_MAX_LAYERS];   /* batch-norm output (batchnorm only) */
  cl_mem out[DLGN_MAX_LAYERS];    /* after ReLU (feature nets with ReLU) or gating (value) */
  cl_mem gperm[DLGN_MAX_LAYERS];  /* channel-shuffled gate pre-activations (value) */
  cl_mem save_mean[DLGN_MAX_LAYERS], save_invstd[DLGN_MAX_LAYERS];
} dlgn_net_acts;

typedef struct dlgn_model {
  dlgn_model_config cfg;
  dlgn_device *dev;
  int max_batch;
  int in_c, in_h, in_w;
  dlgn_net feat, value; /* value.nlayers == 0 for a dnn */
  size_t head_w, head_b;
  int head_in;
  size_t nparams, nstate;
  size_t train_begin, train_end; /* trainable span of the parameters */
  int gate_src[DLGN_MAX_LAYERS]; /* value layer l is gated by feature layer gate_src[l] */

  /* device memory, allocated once for max_batch */
  cl_mem params, grads, state;
  cl_mem x;          /* normalised input, (N,3072) for fc, (3,N,32,32) for conv */
  cl_mem ones;       /* constant-1 value input */
  cl_mem xpool[6];   /* dlgn-sf: x pooled s times */
  cl_mem perm_dev[DLGN_MAX_LAYERS];
  dlgn_net_acts fa, va;
  cl_mem head_in_buf; /* GAP output (conv) */
  cl_mem logits, dlogits;
  cl_mem dq[DLGN_MAX_LAYERS]; /* gradient reaching the feature pre-activations */
  cl_mem dtmp[4];             /* backward scratch, largest activation each */
  cl_mem scratch;             /* conv scratch */
  size_t device_bytes;        /* all of the above, checked against the device's memory */
} dlgn_model;

/* Lay out the networks for cfg (no device work). */
int dlgn_model_layout(dlgn_model *m, const dlgn_model_config *cfg);
/* Layout, allocate everything for batches up to max_batch, and initialise
 * the parameters: He-normal weights (std sqrt(2/fan_in); sqrt(1/fan_in) in
 * linear gating networks, see model.c), zero biases,
 * batch-norm gamma 1 / beta 0, running mean 0 / var 1, from seed. */
int dlgn_model_create(dlgn_model **out, dlgn_device *dev, const dlgn_model_config *cfg,
                      int max_batch, uint64_t seed);
void dlgn_model_destroy(dlgn_model *m);

/* Host initial values of the parameters (nparams floats) and state. */
void dlgn_model_init_host(const dlgn_model *m, uint64_t seed, float *params, float *state);

/* Named parameter tensors, in buffer order ("feat.0.w", "value.3.b", "head.w",
 * "feat.1.gamma", ...): name, offset, count. Returns the number written. */
typedef struct {
  char name[32];
  size_t off, count;
  int shape[4], rank;
} dlgn_param_entry;
int dlgn_model_param_table(const dlgn_model *m, dlgn_param_entry *out, int max);

/* Forward pass of N images already in m->x (see input_forward): logits
 * (N, num_classes) in m->logits. gates: soft or hard gating of the value
 * network; training: batch norm uses (and updates) batch statistics in the
 * trainable networks. */
int dlgn_model_forward(dlgn_model *m, int N, dlgn_gate_kind gates, bool training);
/* The feature network alone, in evaluation mode: fills the gate
 * pre-activations (dlgn_model_gate_preact) of N images in m->x. */
int dlgn_model_forward_features(dlgn_model *m, int N);
/* Backward from m->dlogits into m->grads over the trainable span (the
 * feature network too in joint mode); uses the activations of the last
 * forward, which must have been a training forward with the same gates. */
int dlgn_model_backward(dlgn_model *m, int N, dlgn_gate_kind gates);

/* Gates the training uses: soft in joint mode, hard with fixed gates. */
dlgn_gate_kind dlgn_model_train_gates(const dlgn_model *m);
/* Whether the feature network trains (joint mode, gated classes, and the dnn). */
bool dlgn_model_feature_trains(const dlgn_model *m);

/* The buffer holding feature pre-activations qf[l] of the last forward:
 * (N, out_c) for dense layers, (out_c, N, h, w) for conv layers. */
cl_mem dlgn_model_gate_preact(const dlgn_model *m, int l);

/* Interpretability properties of the paper. */
bool dlgn_model_linear_gating(const dlgn_model_config *cfg);
/* Layers composed into one hyperplane for the deepest gate (dlgn: depth;
 * dlgn-sf: 1; dgn/dnn: 0 = not a hyperplane). */
int dlgn_model_gating_depth(const dlgn_model_config *cfg);
const char *dlgn_model_gate_source(const dlgn_model_config *cfg);
/* The class of a model trained on the frozen gates (fixed-learnt) of a model
 * of class source: a dnn's own ReLU gates make a dgn, every other class
 * gives its gates to its own class. */
dlgn_model_class dlgn_model_class_on_gates_of(dlgn_model_class source);

#endif

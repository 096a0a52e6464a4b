/* The model classes (dnn, dgn, dlgn, dlgn-sf) on their architectures (fc,
 * c4gap, vgg16, resnet). A gated model is two networks of the same shape: the
 * feature (gating) network, whose pre-activations q give the gates, and the
 * value network, whose units are multiplied by those gates; a linear head
 * reads the value network (after global average pooling for conv nets). A
 * dnn is one ReLU network, its own gates. docs/model.md describes the
 * classes, gates and modes.
 *
 * A dlgn_model is opaque: create it with dlgn_model_create (or
 * dlgn_model_from_checkpoint, train.h), train it with dlgn_train_run, read
 * it with the functions here and in explain.h. */
#ifndef DLGN_MODEL_H
#define DLGN_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "dlgn/device.h"
#include "dlgn/types.h"

/* dnn: a ReLU network; dgn: ReLU gating network + value network; dlgn:
 * linear gating network + value network; dlgn-sf: one linear layer on the
 * image per gate layer + value network. */
typedef enum { DLGN_DNN = 0, DLGN_DGN, DLGN_DLGN, DLGN_DLGN_SF } dlgn_model_class;
typedef enum { DLGN_FC = 0, DLGN_C4GAP, DLGN_VGG16, DLGN_RESNET } dlgn_arch;
/* What the value network reads: the normalised image, or a constant 1. */
typedef enum { DLGN_VALUE_IMAGE = 0, DLGN_VALUE_ONES } dlgn_value_input;
/* joint: both networks train (soft gates); fixed-learnt: the gates of a
 * trained model, frozen; fixed-random: the initial random gates, frozen. */
typedef enum { DLGN_JOINT = 0, DLGN_FIXED_LEARNT, DLGN_FIXED_RANDOM } dlgn_train_mode;
/* Value layer l gated by another feature layer of its shape, or by a
 * permutation of its own gate channels. */
typedef enum { DLGN_SHUFFLE_NONE = 0, DLGN_SHUFFLE_LAYERS, DLGN_SHUFFLE_CHANNELS } dlgn_shuffle;

typedef struct {
  dlgn_model_class cls;
  dlgn_arch arch;
  int depth;      /* fc: hidden layers (5); c4gap: conv layers (4); vgg16: 13 (fixed);
                     resnet: 6n+2 weighted layers (20), 6n+1 of them convolutions */
  int width;      /* fc: hidden width (128); c4gap: channels (128); vgg16: first stage (64);
                     resnet: first stage (16) */
  bool batchnorm; /* after every conv/dense layer of both networks, before the gate */
  float beta;     /* soft gate sharpness: G = sigmoid(beta * qf) */
  dlgn_value_input value_input;
  dlgn_train_mode mode;
  dlgn_shuffle shuffle;
  uint64_t shuffle_seed;
  int num_classes;
} dlgn_model_config;

/* The defaults: a dlgn, fc 5 x 128, beta 4, ones input, joint, 10 classes. */
void dlgn_model_config_default(dlgn_model_config *cfg);
/* Rejects combinations that mean nothing (a dnn with ones input, shuffled or
 * fixed gates; vgg16 with a depth other than 13...) with a message. */
int dlgn_model_config_check(const dlgn_model_config *cfg);


/* Names as the CLI and config.json write them ("dlgn-sf", "c4gap",
 * "fixed-learnt", ...), and back: the parsers fail, with a message listing
 * the choices, on anything else. */
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

/* Most layers a network may have: the 109 convolutions of a ResNet-110. */
#define DLGN_MAX_LAYERS 112

/* A model on a device: its configuration, the layout of its parameters and
 * every device buffer a training step needs, allocated once. Opaque; the
 * functions below and those of train.h and explain.h act on it. */
typedef struct dlgn_model dlgn_model;

/* Layout, allocate everything for batches up to max_batch, and initialise
 * the parameters: He-normal weights (std sqrt(2/fan_in); sqrt(1/fan_in) in
 * linear gating networks, see model.c), zero biases,
 * batch-norm gamma 1 / beta 0, running mean 0 / var 1, from seed. */
int dlgn_model_create(dlgn_model **out, dlgn_device *dev, const dlgn_model_config *cfg,
                      int max_batch, uint64_t seed);
/* Releases the model's device buffers and the model; NULL is a no-op. */
void dlgn_model_destroy(dlgn_model *m);

/* The configuration the model was created with. */
const dlgn_model_config *dlgn_model_get_config(const dlgn_model *m);
/* Parameters (floats) of the whole model, and of its batch-norm running
 * statistics: the sizes of a checkpoint's params and state. */
size_t dlgn_model_param_count(const dlgn_model *m);
size_t dlgn_model_state_count(const dlgn_model *m);
/* Layers of the feature (gating) network: the layers that have gates. */
int dlgn_model_gate_layers(const dlgn_model *m);
/* The device the model lives on. */
dlgn_device *dlgn_model_device(const dlgn_model *m);

/* Gates the training uses: soft in joint mode, hard with fixed gates. */
dlgn_gate_kind dlgn_model_train_gates(const dlgn_model *m);
/* Whether the feature network trains (joint mode, gated classes, and the dnn). */
bool dlgn_model_feature_trains(const dlgn_model *m);

/* ---- interpretability properties (the tradeoff columns, docs/model.md) ---- */

/* Whether every gate is a hyperplane in input space (dlgn, dlgn-sf). */
bool dlgn_model_linear_gating(const dlgn_model_config *cfg);
/* Layers composed into one hyperplane for the deepest gate (dlgn: depth;
 * dlgn-sf: 1; dgn/dnn: 0 = not a hyperplane). */
int dlgn_model_gating_depth(const dlgn_model_config *cfg);
/* "learnt", "fixed-learnt", "fixed-random" or "shuffled". */
const char *dlgn_model_gate_source(const dlgn_model_config *cfg);
/* The class of a model trained on the frozen gates (fixed-learnt) of a model
 * of class source: a dnn's own ReLU gates make a dgn, every other class
 * gives its gates to its own class. */
dlgn_model_class dlgn_model_class_on_gates_of(dlgn_model_class source);

#endif

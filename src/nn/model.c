/* Model configuration, layout of the parameter buffer, initialisation and
 * device allocation. The passes are in model_pass.c. */
#include "dlgn/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlgn/rng.h"
#include "dlgn/status.h"
#include "dlgn/util.h"
#include "model_internal.h"

static const char *class_names[] = {"dnn", "dgn", "dlgn", "dlgn-sf"};
static const char *arch_names[] = {"fc", "c4gap", "vgg16", "resnet"};
static const char *value_names[] = {"image", "ones"};
static const char *mode_names[] = {"joint", "fixed-learnt", "fixed-random"};
static const char *shuffle_names[] = {"none", "layers", "channels"};

const char *dlgn_class_name(dlgn_model_class c) { return class_names[c]; }
const char *dlgn_arch_name(dlgn_arch a) { return arch_names[a]; }
const char *dlgn_value_input_name(dlgn_value_input v) { return value_names[v]; }
const char *dlgn_mode_name(dlgn_train_mode m) { return mode_names[m]; }
const char *dlgn_shuffle_name(dlgn_shuffle s) { return shuffle_names[s]; }

#define PARSER(fn, type, names, what)                                                              \
  int fn(const char *s, type *out) {                                                               \
    int v;                                                                                         \
    DLGN_TRY(dlgn_parse_choice(s, names, (int)(sizeof names / sizeof names[0]), what, &v));               \
    *out = (type)v;                                                                                \
    return 0;                                                                                      \
  }
PARSER(dlgn_class_parse, dlgn_model_class, class_names, "model class")
PARSER(dlgn_arch_parse, dlgn_arch, arch_names, "architecture")
PARSER(dlgn_value_input_parse, dlgn_value_input, value_names, "value input")
PARSER(dlgn_mode_parse, dlgn_train_mode, mode_names, "training mode")
PARSER(dlgn_shuffle_parse, dlgn_shuffle, shuffle_names, "gate shuffle")

void dlgn_model_config_default(dlgn_model_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->cls = DLGN_DLGN;
  cfg->arch = DLGN_FC;
  cfg->depth = 5;
  cfg->width = 128;
  cfg->beta = 4.0f;
  cfg->value_input = DLGN_VALUE_ONES;
  cfg->mode = DLGN_JOINT;
  cfg->shuffle = DLGN_SHUFFLE_NONE;
  cfg->shuffle_seed = 1;
  cfg->num_classes = 10;
}

int dlgn_model_config_check(const dlgn_model_config *c) {
  if (c->cls == DLGN_DNN) {
    if (c->value_input == DLGN_VALUE_ONES)
      return dlgn_fail("a dnn has no value network: --value-input ones needs a gated class "
                       "(dgn, dlgn, dlgn-sf)");
    if (c->mode != DLGN_JOINT)
      return dlgn_fail("a dnn trains its own gates: --mode %s needs a gated class (to train on "
                       "a dnn's gates use --mode fixed-learnt --gates-from DNN_CHECKPOINT, which "
                       "makes a dgn)",
                       dlgn_mode_name(c->mode));
    if (c->shuffle != DLGN_SHUFFLE_NONE)
      return dlgn_fail("a dnn has no separate gates to shuffle: --shuffle-gates needs a gated class");
  }
  if (c->width < 1 || c->width > 4096) return dlgn_fail("--width %d out of range 1..4096", c->width);
  if (c->batchnorm && c->arch == DLGN_FC)
    return dlgn_fail("--batchnorm is for the conv architectures (c4gap, vgg16, resnet), not fc");
  if (c->arch == DLGN_VGG16 && c->depth != 13)
    return dlgn_fail("vgg16 has 13 conv layers (got --depth %d)", c->depth);
  if (c->arch == DLGN_RESNET && (nn_resnet_convs(c->depth) == 0 ||
                                 nn_resnet_convs(c->depth) > DLGN_MAX_LAYERS))
    return dlgn_fail("resnet --depth must be 6n+2 for n = 1..%d (20, 56, 110...; got %d)",
                     (DLGN_MAX_LAYERS - 1) / 6, c->depth);
  if (c->arch != DLGN_RESNET && (c->depth < 1 || c->depth > DLGN_MAX_LAYERS))
    return dlgn_fail("--depth %d out of range 1..%d", c->depth, DLGN_MAX_LAYERS);
  if (!(c->beta > 0) || !isfinite(c->beta)) return dlgn_fail("--beta must be > 0");
  if (c->num_classes < 2) return dlgn_fail("need at least 2 classes");
  return 0;
}

int nn_resnet_convs(int depth) {
  return depth >= 8 && (depth - 2) % 6 == 0 ? depth - 1 : 0;
}

bool nn_layer_is_skip_source(const nn_net *net, int l) {
  return l + 2 < net->nlayers && net->layers[l + 2].skip == l;
}

/* The CIFAR ResNet (He et al. 2016, section 4.2): a 3x3 stem of `width`
 * channels, then three stages of n basic blocks (two 3x3 convolutions, the
 * second's output plus the block's input) of width x 1, 2, 4 channels at
 * 32, 16 and 8 pixels per side; the first convolution of stages 2 and 3 has
 * stride 2, and its block's shortcut subsamples and zero-pads (option A).
 * Shallow features (dlgn-sf) keep one layer per gate layer, each reading the
 * image pooled to its size, with no shortcuts. */
static void resnet_layer(nn_layer *L, const dlgn_model_config *c, bool shallow, int l,
                         int *in_c) {
  int n = (c->depth - 2) / 6;
  int stage = l == 0 ? 0 : (l - 1) / (2 * n);
  int first_of_stage = l > 0 && (l - 1) % (2 * n) == 0;
  L->kind = NN_LAYER_CONV;
  L->stage = stage;
  L->out_c = c->width << stage;
  L->h = L->w = DLGN_IMAGE_H >> stage;
  L->in_c = shallow || l == 0 ? DLGN_IMAGE_C : *in_c;
  L->stride = !shallow && stage > 0 && first_of_stage ? 2 : 1;
  L->skip = !shallow && l >= 2 && l % 2 == 0 ? l - 2 : -1;
  *in_c = L->out_c;
}

/* Lay out one network; *off advances over its parameters, *soff over state. */
static void net_layout(nn_net *net, const dlgn_model_config *c, bool shallow, size_t *off,
                       size_t *soff) {
  static const int vgg_stage[13] = {0, 0, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4};
  static const int vgg_mult[5] = {1, 2, 4, 8, 8};
  net->begin = *off;
  net->nlayers = c->arch == DLGN_RESNET ? nn_resnet_convs(c->depth) : c->depth;
  int in_c = DLGN_IMAGE_C, h = DLGN_IMAGE_H;
  for (int l = 0; l < net->nlayers; l++) {
    nn_layer *L = &net->layers[l];
    memset(L, 0, sizeof *L);
    L->stride = 1;
    L->skip = -1;
    if (c->arch == DLGN_RESNET) {
      resnet_layer(L, c, shallow, l, &in_c);
    } else if (c->arch == DLGN_FC) {
      L->kind = NN_LAYER_DENSE;
      L->in_c = (shallow || l == 0) ? DLGN_IMAGE_BYTES : c->width;
      L->out_c = c->width;
    } else {
      L->kind = NN_LAYER_CONV;
      int stage = c->arch == DLGN_VGG16 ? vgg_stage[l] : 0;
      L->pool_before = l > 0 && c->arch == DLGN_VGG16 && vgg_stage[l] != vgg_stage[l - 1];
      L->stage = stage;
      L->out_c = c->arch == DLGN_VGG16 ? c->width * vgg_mult[stage] : c->width;
      h = DLGN_IMAGE_H >> stage;
      L->h = L->w = h;
      /* shallow features read the image (pooled to this layer's size) directly */
      L->in_c = (shallow || l == 0) ? DLGN_IMAGE_C : in_c;
      if (shallow) L->pool_before = false;
      in_c = L->out_c;
    }
    size_t fan_in = nn_layer_fan_in(L);
    L->w_off = *off;
    *off += (size_t)L->out_c * fan_in;
    L->b_off = *off;
    *off += (size_t)L->out_c;
    if (c->batchnorm) {
      L->gamma_off = *off;
      *off += (size_t)L->out_c;
      L->beta_off = *off;
      *off += (size_t)L->out_c;
      L->mean_off = *soff;
      *soff += (size_t)L->out_c;
      L->var_off = *soff;
      *soff += (size_t)L->out_c;
    }
  }
  net->end = *off;
}

int nn_model_layout(dlgn_model *m, const dlgn_model_config *cfg) {
  DLGN_TRY(dlgn_model_config_check(cfg));
  m->cfg = *cfg;
  m->in_c = DLGN_IMAGE_C;
  m->in_h = DLGN_IMAGE_H;
  m->in_w = DLGN_IMAGE_W;
  size_t off = 0, soff = 0;
  net_layout(&m->feat, cfg, cfg->cls == DLGN_DLGN_SF, &off, &soff);
  if (cfg->cls != DLGN_DNN) net_layout(&m->value, cfg, false, &off, &soff);
  else memset(&m->value, 0, sizeof m->value), m->value.begin = m->value.end = off;
  const nn_net *top = cfg->cls == DLGN_DNN ? &m->feat : &m->value;
  m->head_in = top->layers[top->nlayers - 1].out_c;
  m->head_w = off;
  off += (size_t)cfg->num_classes * (size_t)m->head_in;
  m->head_b = off;
  off += (size_t)cfg->num_classes;
  m->nparams = off;
  m->nstate = soff;
  bool feat_trains = cfg->cls == DLGN_DNN || cfg->mode == DLGN_JOINT;
  m->train_begin = feat_trains ? 0 : m->value.begin;
  m->train_end = m->nparams;

  /* Gate sources: identity, or a seeded permutation among layers of equal
   * shape (the path-overlap kernel is a product over layers). */
  for (int l = 0; l < DLGN_MAX_LAYERS; l++) m->gate_src[l] = l;
  if (cfg->shuffle == DLGN_SHUFFLE_LAYERS) {
    dlgn_rng r;
    dlgn_rng_seed(&r, cfg->shuffle_seed);
    int L = m->feat.nlayers;
    for (int l = 0; l < L;) {
      int e = l;
      const nn_layer *a = &m->feat.layers[l];
      while (e < L && m->feat.layers[e].out_c == a->out_c && m->feat.layers[e].h == a->h) e++;
      uint32_t idx[DLGN_MAX_LAYERS];
      for (int i = l; i < e; i++) idx[i - l] = (uint32_t)i;
      dlgn_rng_shuffle(&r, idx, (size_t)(e - l));
      for (int i = l; i < e; i++) m->gate_src[i] = (int)idx[i - l];
      l = e;
    }
  }
  return 0;
}

const dlgn_model_config *dlgn_model_get_config(const dlgn_model *m) { return &m->cfg; }
size_t dlgn_model_param_count(const dlgn_model *m) { return m->nparams; }
size_t dlgn_model_state_count(const dlgn_model *m) { return m->nstate; }
int dlgn_model_gate_layers(const dlgn_model *m) { return m->feat.nlayers; }
dlgn_device *dlgn_model_device(const dlgn_model *m) { return m->dev; }

dlgn_model_class dlgn_model_class_on_gates_of(dlgn_model_class source) {
  return source == DLGN_DNN ? DLGN_DGN : source;
}

bool dlgn_model_feature_trains(const dlgn_model *m) {
  return m->cfg.cls == DLGN_DNN || m->cfg.mode == DLGN_JOINT;
}

dlgn_gate_kind dlgn_model_train_gates(const dlgn_model *m) {
  return m->cfg.cls != DLGN_DNN && m->cfg.mode == DLGN_JOINT ? DLGN_GATE_SOFT : DLGN_GATE_HARD;
}

bool dlgn_model_linear_gating(const dlgn_model_config *c) {
  return c->cls == DLGN_DLGN || c->cls == DLGN_DLGN_SF;
}

int dlgn_model_gating_depth(const dlgn_model_config *c) {
  if (c->cls == DLGN_DLGN) return c->arch == DLGN_RESNET ? nn_resnet_convs(c->depth) : c->depth;
  if (c->cls == DLGN_DLGN_SF) return 1;
  return 0;
}

const char *dlgn_model_gate_source(const dlgn_model_config *c) {
  if (c->shuffle != DLGN_SHUFFLE_NONE) return "shuffled";
  if (c->mode == DLGN_FIXED_LEARNT) return "fixed-learnt";
  if (c->mode == DLGN_FIXED_RANDOM) return "fixed-random";
  return "learnt";
}

/* He-normal, std = gain / sqrt(fan_in) with the gain of what follows the
 * layer: sqrt(2) before a ReLU or a gate (about half the units pass), 1 in a
 * linear gating network (dlgn, dlgn-sf), whose pre-activations would
 * otherwise grow by sqrt(2) per layer and saturate sigmoid(beta q). */
static void init_net(const nn_net *net, bool linear, dlgn_rng *r, float *p, float *state) {
  for (int l = 0; l < net->nlayers; l++) {
    const nn_layer *L = &net->layers[l];
    size_t fan_in = nn_layer_fan_in(L);
    float std = sqrtf((linear ? 1.0f : 2.0f) / (float)fan_in);
    for (size_t i = 0; i < (size_t)L->out_c * fan_in; i++) p[L->w_off + i] = std * dlgn_rng_normal(r);
    for (int i = 0; i < L->out_c; i++) p[L->b_off + i] = 0.0f;
    if (L->gamma_off)
      for (int i = 0; i < L->out_c; i++) {
        p[L->gamma_off + i] = 1.0f;
        p[L->beta_off + i] = 0.0f;
        state[L->mean_off + i] = 0.0f;
        state[L->var_off + i] = 1.0f;
      }
  }
}

void nn_model_init_host(const dlgn_model *m, uint64_t seed, float *params, float *state) {
  dlgn_rng r;
  dlgn_rng_seed(&r, seed);
  init_net(&m->feat, dlgn_model_linear_gating(&m->cfg), &r, params, state);
  init_net(&m->value, false, &r, params, state);
  float std = sqrtf(2.0f / (float)m->head_in);
  for (size_t i = 0; i < (size_t)m->cfg.num_classes * (size_t)m->head_in; i++)
    params[m->head_w + i] = std * dlgn_rng_normal(&r);
  for (int i = 0; i < m->cfg.num_classes; i++) params[m->head_b + i] = 0.0f;
}

static int add_entry(nn_param_entry *out, int n, int max, const char *name, size_t off,
                     size_t count, int rank, int s0, int s1, int s2, int s3) {
  if (n < max) {
    nn_param_entry *e = &out[n];
    snprintf(e->name, sizeof e->name, "%s", name);
    e->off = off;
    e->count = count;
    e->rank = rank;
    e->shape[0] = s0, e->shape[1] = s1, e->shape[2] = s2, e->shape[3] = s3;
  }
  return n + 1;
}

static int net_entries(const nn_net *net, const char *prefix, nn_param_entry *out, int n,
                       int max) {
  char name[32];
  for (int l = 0; l < net->nlayers; l++) {
    const nn_layer *L = &net->layers[l];
    snprintf(name, sizeof name, "%s.%d.w", prefix, l);
    if (L->kind == NN_LAYER_CONV)
      n = add_entry(out, n, max, name, L->w_off, (size_t)L->out_c * nn_layer_fan_in(L), 4,
                    L->out_c, L->in_c, NN_CONV_K, NN_CONV_K);
    else
      n = add_entry(out, n, max, name, L->w_off, (size_t)L->out_c * L->in_c, 2, L->out_c, L->in_c,
                    0, 0);
    snprintf(name, sizeof name, "%s.%d.b", prefix, l);
    n = add_entry(out, n, max, name, L->b_off, (size_t)L->out_c, 1, L->out_c, 0, 0, 0);
    if (L->gamma_off) {
      snprintf(name, sizeof name, "%s.%d.gamma", prefix, l);
      n = add_entry(out, n, max, name, L->gamma_off, (size_t)L->out_c, 1, L->out_c, 0, 0, 0);
      snprintf(name, sizeof name, "%s.%d.beta", prefix, l);
      n = add_entry(out, n, max, name, L->beta_off, (size_t)L->out_c, 1, L->out_c, 0, 0, 0);
    }
  }
  return n;
}

int nn_model_param_table(const dlgn_model *m, nn_param_entry *out, int max) {
  int n = net_entries(&m->feat, "feat", out, 0, max);
  n = net_entries(&m->value, "value", out, n, max);
  n = add_entry(out, n, max, "head.w", m->head_w, (size_t)m->cfg.num_classes * m->head_in, 2,
                m->cfg.num_classes, m->head_in, 0, 0);
  n = add_entry(out, n, max, "head.b", m->head_b, (size_t)m->cfg.num_classes, 1,
                m->cfg.num_classes, 0, 0, 0);
  return n;
}

size_t nn_layer_fan_in(const nn_layer *L) {
  return (size_t)L->in_c * (L->kind == NN_LAYER_CONV ? NN_CONV_TAPS : 1);
}

size_t nn_layer_units(const nn_layer *L) {
  return L->kind == NN_LAYER_DENSE ? (size_t)L->out_c : (size_t)L->out_c * L->h * L->w;
}

size_t nn_layer_inputs(const nn_layer *L) {
  return L->kind == NN_LAYER_DENSE ? (size_t)L->in_c
                                   : (size_t)L->in_c * L->h * L->w * L->stride * L->stride;
}

int nn_layer_rows(const nn_layer *L, int N) {
  return L->kind == NN_LAYER_DENSE ? N : N * L->h * L->w;
}

ocl_conv_shape nn_layer_conv_shape(const nn_layer *L, int N) {
  return (ocl_conv_shape){N,           L->in_c,   L->h * L->stride, L->w * L->stride,
                           L->out_c,    NN_CONV_K, L->stride,        NN_CONV_PAD};
}

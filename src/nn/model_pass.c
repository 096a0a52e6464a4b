/* Forward and backward passes of the model classes. Everything is enqueued
 * on the device queue; nothing waits. */
#include <stdio.h>

#include "dlgn/model.h"
#include "dlgn/status.h"
#include "model_internal.h"

/* What a network does after its linear layer (and batch norm). */
typedef enum {
  ROLE_RELU,    /* dnn, dgn feature network: relu, gates from the pre-activation */
  ROLE_LINEAR,  /* dlgn feature network: no nonlinearity at all */
  ROLE_SHALLOW, /* dlgn-sf: every layer reads the (pooled) image */
  ROLE_VALUE,   /* value network: gated by the feature network */
} net_role;

static nn_buf B(cl_mem mem) { return (nn_buf){mem, 0}; }
static nn_buf NONE(void) { return (nn_buf){NULL, 0}; }

static net_role feature_role(const dlgn_model *m) {
  switch (m->cfg.cls) {
    case DLGN_DLGN: return ROLE_LINEAR;
    case DLGN_DLGN_SF: return ROLE_SHALLOW;
    default: return ROLE_RELU;
  }
}

static size_t layer_act(const nn_layer *L, int N) { return nn_layer_units(L) * (size_t)N; }

/* The pre-activation of layer l after batch norm, if any. */
static nn_buf layer_z(const nn_net_acts *a, const nn_layer *L, int l) {
  return B(L->gamma_off ? a->norm[l] : a->pre[l]);
}

cl_mem nn_model_gate_preact(const dlgn_model *m, int l) {
  return layer_z(&m->fa, &m->feat.layers[l], l).mem;
}

static int linear_forward(dlgn_model *m, const nn_layer *L, nn_buf y, nn_buf x, int N) {
  nn_buf w = {m->params, L->w_off}, b = {m->params, L->b_off};
  if (L->kind == NN_LAYER_DENSE) return dense_forward(m->dev, y, x, w, b, N, L->in_c, L->out_c);
  ocl_conv_shape s = nn_layer_conv_shape(L, N);
  return conv2d_forward(m->dev, y, x, w, b, B(m->scratch), &s);
}

static int linear_backward(dlgn_model *m, const nn_layer *L, nn_buf dx, nn_buf dy,
                           nn_buf x, int N, bool accumulate_dx) {
  nn_buf w = {m->params, L->w_off};
  nn_buf dw = {m->grads, L->w_off}, db = {m->grads, L->b_off};
  if (L->kind == NN_LAYER_DENSE)
    return dense_backward(m->dev, dx, dw, db, dy, x, w, N, L->in_c, L->out_c, accumulate_dx);
  ocl_conv_shape s = nn_layer_conv_shape(L, N);
  return conv2d_backward(m->dev, dx, dw, db, dy, x, w, B(m->scratch), &s, accumulate_dx);
}

/* Value layer 0 on the constant-1 input: its output is the same for every
 * image (the weight sums over the taps inside the image, plus the bias), so
 * the layer runs for one image and the result is repeated; its weight
 * gradient comes from the gradient summed over the images. */
static bool repeats_images(const dlgn_model *m, const nn_net *net, int l) {
  return net == &m->value && l == 0 && m->cfg.value_input == DLGN_VALUE_ONES &&
         !net->layers[0].pool_before;
}

/* The (C, N, P) view of a layer's output: dense (1, N, OUT), conv (OC, N, h*w). */
static void image_view(const nn_layer *L, int *C, int *P) {
  bool dense = L->kind == NN_LAYER_DENSE;
  *C = dense ? 1 : L->out_c;
  *P = dense ? L->out_c : L->h * L->w;
}

static int repeated_forward(dlgn_model *m, const nn_layer *L, nn_buf y, nn_buf x, int N) {
  int C, P;
  image_view(L, &C, &P);
  DLGN_TRY(linear_forward(m, L, B(m->ones_out), x, 1));
  return repeat_images_forward(m->dev, y, B(m->ones_out), C, N, P);
}

static int repeated_backward(dlgn_model *m, const nn_layer *L, nn_buf dy, nn_buf x, int N) {
  int C, P;
  image_view(L, &C, &P);
  DLGN_TRY(repeat_images_backward(m->dev, B(m->ones_out), dy, C, N, P));
  return linear_backward(m, L, NONE(), B(m->ones_out), x, 1, false);
}

/* The input that layer l of a network read in the last forward. */
static nn_buf layer_input(const dlgn_model *m, const nn_net *net, const nn_net_acts *a,
                          net_role role, nn_buf net_in, int l) {
  const nn_layer *L = &net->layers[l];
  if (role == ROLE_SHALLOW) return L->stage ? B(m->xpool[L->stage]) : net_in;
  if (L->pool_before) return B(a->pooled[l]);
  if (l == 0) return net_in;
  return role == ROLE_LINEAR ? layer_z(a, &net->layers[l - 1], l - 1) : B(a->out[l - 1]);
}

/* What layer l passes on: its output, or for a linear network its z. */
static nn_buf layer_output(const nn_net_acts *a, const nn_net *net, net_role role, int l) {
  return role == ROLE_LINEAR ? layer_z(a, &net->layers[l], l) : B(a->out[l]);
}

/* The shortcut of a residual block: the block's input (the output of layer
 * L->skip) subsampled to L's size, zero-padded to its channels. */
static void shortcut_dims(const nn_net *net, const nn_layer *L, int *C, int *H, int *stride) {
  const nn_layer *S = &net->layers[L->skip];
  *C = S->out_c;
  *H = S->h;
  *stride = S->h / L->h;
}

static int shortcut_forward(dlgn_model *m, const nn_net *net, const nn_net_acts *a, net_role role,
                            const nn_layer *L, nn_buf z, int N) {
  int C, H, s;
  shortcut_dims(net, L, &C, &H, &s);
  return shortcut_add_forward(m->dev, z, layer_output(a, net, role, L->skip), C, L->out_c, N, H,
                              H, s);
}

/* dz (L's output) -> dx (the block's input), overwritten or accumulated */
static int shortcut_backward(dlgn_model *m, const nn_net *net, const nn_layer *L, nn_buf dx,
                             nn_buf dz, int N, bool accumulate) {
  int C, H, s;
  shortcut_dims(net, L, &C, &H, &s);
  return shortcut_add_backward(m->dev, dx, dz, C, L->out_c, N, H, H, s, accumulate);
}

static nn_buf value_input(const dlgn_model *m) {
  return B(m->cfg.value_input == DLGN_VALUE_ONES ? m->ones : m->x);
}

static int net_forward(dlgn_model *m, const nn_net *net, nn_net_acts *a, net_role role,
                       nn_buf net_in, int N, dlgn_gate_kind gates, bool bn_training) {
  dlgn_device *dev = m->dev;
  for (int l = 0; l < net->nlayers; l++) {
    const nn_layer *L = &net->layers[l];
    if (L->pool_before && role != ROLE_SHALLOW) {
      nn_buf prev = l == 0 ? net_in
                      : role == ROLE_LINEAR ? layer_z(a, &net->layers[l - 1], l - 1)
                                            : B(a->out[l - 1]);
      DLGN_TRY(avgpool2_forward(dev, B(a->pooled[l]), prev, L->in_c * N, 2 * L->h, 2 * L->w));
    }
    /* the value layer's gate pre-activations, shuffled if so */
    nn_buf g = NONE();
    if (role == ROLE_VALUE) {
      int src = m->gate_src[l];
      g = layer_z(&m->fa, &m->feat.layers[src], src);
      if (m->cfg.shuffle == DLGN_SHUFFLE_CHANNELS) {
        bool dense = L->kind == NN_LAYER_DENSE;
        DLGN_TRY(permute_channels_forward(dev, B(a->gperm[l]), g, m->perm_dev[l], dense ? N : 1,
                                          L->out_c, dense ? 1 : nn_layer_rows(L, N)));
        g = B(a->gperm[l]);
      }
    }
    nn_buf in = layer_input(m, net, a, role, net_in, l);
    size_t n = layer_act(L, N);
    /* the ReLU or gate, written by the conv or batch-norm kernel where it can */
    bool has_epi = role == ROLE_RELU || role == ROLE_VALUE;
    conv_epilogue e = {role == ROLE_RELU ? CONV_EPI_RELU : CONV_EPI_GATE, B(a->out[l]), g,
                       m->cfg.beta, gates};
    /* a conv layer without batch norm or shortcut writes its ReLU or gated
     * output as it stores its pre-activation */
    bool fuse = L->kind == NN_LAYER_CONV && !L->gamma_off && L->skip < 0 &&
                !repeats_images(m, net, l) && has_epi;
    if (fuse) {
      ocl_conv_shape s = nn_layer_conv_shape(L, N);
      DLGN_TRY(conv2d_forward_fused(dev, B(a->pre[l]), in, (nn_buf){m->params, L->w_off},
                                    (nn_buf){m->params, L->b_off}, B(m->scratch), &s, &e));
      continue;
    }
    if (repeats_images(m, net, l)) DLGN_TRY(repeated_forward(m, L, B(a->pre[l]), in, N));
    else DLGN_TRY(linear_forward(m, L, B(a->pre[l]), in, N));
    nn_buf z = layer_z(a, L, l);
    /* the block's input joins before the gate (or ReLU), as in the ReLU
     * ResNet: z is the pre-activation the gate reads. Batch norm adds a
     * shortcut of the same size itself, and writes the ReLU or gated output
     * as it stores z where nothing joins after it. */
    bool joined = L->skip < 0;
    if (L->gamma_off) {
      nn_buf res = NONE();
      int res_c = 0, res_h, stride = 1;
      if (L->skip >= 0) shortcut_dims(net, L, &res_c, &res_h, &stride);
      if (L->skip >= 0 && stride == 1) {
        res = layer_output(a, net, role, L->skip);
        joined = true;
      }
      bool epi = joined && has_epi;
      DLGN_TRY(batchnorm_forward_fused(
          dev, z, B(a->pre[l]), (nn_buf){m->params, L->gamma_off},
          (nn_buf){m->params, L->beta_off}, (nn_buf){m->state, L->mean_off},
          (nn_buf){m->state, L->var_off}, B(a->save_mean[l]), B(a->save_invstd[l]), L->out_c,
          nn_layer_rows(L, N), (float)NN_BN_MOMENTUM, (float)NN_BN_EPS, bn_training, res,
          res_c, epi ? &e : NULL));
      if (epi) continue;
    }
    if (!joined) DLGN_TRY(shortcut_forward(m, net, a, role, L, z, N));
    if (role == ROLE_RELU) DLGN_TRY(relu_forward(dev, B(a->out[l]), z, n));
    if (role == ROLE_VALUE) DLGN_TRY(gate_forward(dev, B(a->out[l]), z, g, n, m->cfg.beta, gates));
  }
  return 0;
}

/* The network the head reads, and its last output. */
static const nn_net *top_net(const dlgn_model *m) {
  return m->cfg.cls == DLGN_DNN ? &m->feat : &m->value;
}

static nn_buf top_out(const dlgn_model *m) {
  const nn_net *net = top_net(m);
  const nn_net_acts *a = m->cfg.cls == DLGN_DNN ? &m->fa : &m->va;
  return B(a->out[net->nlayers - 1]);
}

/* The feature (gating) network alone: what explaining the gates needs. */
static int features_forward(dlgn_model *m, int N, dlgn_gate_kind gates, bool training) {
  if (N < 1 || N > m->max_batch)
    return dlgn_fail("batch of %d images but the model was allocated for at most %d", N,
                     m->max_batch);
  dlgn_device *dev = m->dev;
  net_role role = feature_role(m);
  if (role == ROLE_SHALLOW)
    for (int s = 1; s < 6; s++)
      if (m->xpool[s]) {
        int hin = m->in_h >> (s - 1);
        nn_buf prev = s == 1 ? B(m->x) : B(m->xpool[s - 1]);
        DLGN_TRY(avgpool2_forward(dev, B(m->xpool[s]), prev, m->in_c * N, hin, hin));
      }
  bool feat_bn_training = training && dlgn_model_feature_trains(m);
  return net_forward(m, &m->feat, &m->fa, role, B(m->x), N, gates, feat_bn_training);
}

int nn_model_load_images(dlgn_model *m, cl_mem x8, size_t x8_off, cl_mem aug, size_t aug_off,
                         int N, const float mean[3], const float std[3]) {
  bool cnhw = m->feat.layers[0].kind == NN_LAYER_CONV;
  return input_forward(m->dev, B(m->x), x8, x8_off, aug, aug_off, N, m->in_h, m->in_w, mean, std,
                       cnhw);
}

int nn_model_forward_features(dlgn_model *m, int N) {
  return features_forward(m, N, DLGN_GATE_HARD, false);
}

int nn_model_forward(dlgn_model *m, int N, dlgn_gate_kind gates, bool training) {
  dlgn_device *dev = m->dev;
  DLGN_TRY(features_forward(m, N, gates, training));
  if (m->cfg.cls != DLGN_DNN)
    DLGN_TRY(net_forward(m, &m->value, &m->va, ROLE_VALUE, value_input(m), N, gates, training));
  const nn_net *top = top_net(m);
  const nn_layer *last = &top->layers[top->nlayers - 1];
  nn_buf hin = top_out(m);
  if (last->kind == NN_LAYER_CONV) {
    DLGN_TRY(gap_forward(dev, B(m->head_in_buf), hin, last->out_c, N, last->h * last->w));
    hin = B(m->head_in_buf);
  }
  return dense_forward(dev, B(m->logits), hin, (nn_buf){m->params, m->head_w},
                       (nn_buf){m->params, m->head_b}, N, m->head_in, m->cfg.num_classes);
}

/* Backward through the linear part of layer l (batch norm, then the layer,
 * then the pooling of its input), from dz (gradient at z). The gradient for
 * the layer's input lands in *din (one of the scratch buffers, never dz) unless
 * want_din is false. */
static int layer_backward(dlgn_model *m, const nn_net *net, const nn_net_acts *a,
                          net_role role, nn_buf net_in, int l, nn_buf dz, int N,
                          bool want_din, nn_buf *din) {
  dlgn_device *dev = m->dev;
  const nn_layer *L = &net->layers[l];
  /* pick scratch buffers distinct from dz */
  cl_mem free_bufs[3];
  int nf = 0;
  for (int i = 0; i < 4 && nf < 3; i++)
    if (m->dtmp[i] != dz.mem) free_bufs[nf++] = m->dtmp[i];
  nn_buf dpre = dz;
  if (L->gamma_off) {
    dpre = B(free_bufs[0]);
    DLGN_TRY(batchnorm_backward(dev, dpre, (nn_buf){m->grads, L->gamma_off},
                                (nn_buf){m->grads, L->beta_off}, dz, B(a->pre[l]),
                                (nn_buf){m->params, L->gamma_off}, B(a->save_mean[l]),
                                B(a->save_invstd[l]), L->out_c, nn_layer_rows(L, N)));
  }
  nn_buf x = layer_input(m, net, a, role, net_in, l);
  if (repeats_images(m, net, l)) return repeated_backward(m, L, dpre, x, N);
  if (!want_din) return linear_backward(m, L, NONE(), dpre, x, N, false);
  nn_buf dx = B(free_bufs[1]);
  DLGN_TRY(linear_backward(m, L, dx, dpre, x, N, false));
  if (L->pool_before) {
    nn_buf dprev = B(free_bufs[2]);
    DLGN_TRY(avgpool2_backward(dev, dprev, dx, L->in_c * N, 2 * L->h, 2 * L->w, false));
    dx = dprev;
  }
  *din = dx;
  return 0;
}

/* dtop: the gradient at the top layer's output, or with from_gap the
 * head's input gradient dh (N, C), which the top conv layer's gate backward
 * spreads over its planes itself (gate_backward_gap) */
static int value_backward(dlgn_model *m, nn_buf dtop, bool from_gap, int N,
                          dlgn_gate_kind gates) {
  dlgn_device *dev = m->dev;
  const nn_net *net = &m->value;
  const nn_net_acts *a = &m->va;
  bool want_dq = dlgn_model_feature_trains(m) && gates == DLGN_GATE_SOFT;
  nn_buf dout = dtop;
  for (int l = net->nlayers - 1; l >= 0; l--) {
    const nn_layer *L = &net->layers[l];
    size_t n = layer_act(L, N);
    int src = m->gate_src[l];
    nn_buf g = m->cfg.shuffle == DLGN_SHUFFLE_CHANNELS ? B(a->gperm[l])
                                                          : layer_z(&m->fa, &m->feat.layers[src], src);
    /* dz and the shuffled dq go to scratch buffers other than dout */
    cl_mem spare[3];
    int ns = 0;
    for (int i = 0; i < 4 && ns < 3; i++)
      if (m->dtmp[i] != dout.mem) spare[ns++] = m->dtmp[i];
    nn_buf dz = B(spare[0]);
    nn_buf dq = NONE();
    if (want_dq)
      dq = m->cfg.shuffle == DLGN_SHUFFLE_CHANNELS ? B(spare[1]) : B(m->dq[src]);
    if (from_gap && l == net->nlayers - 1)
      DLGN_TRY(gate_backward_gap(dev, dz, dq, dout, layer_z(a, L, l), g, L->out_c, N,
                                 L->h * L->w, m->cfg.beta, gates, false));
    else
      DLGN_TRY(gate_backward(dev, dz, dq, dout, layer_z(a, L, l), g, n, m->cfg.beta, gates,
                             false));
    if (want_dq && m->cfg.shuffle == DLGN_SHUFFLE_CHANNELS) {
      bool dense = L->kind == NN_LAYER_DENSE;
      DLGN_TRY(permute_channels_backward(dev, B(m->dq[src]), dq, m->perm_dev[l], dense ? N : 1,
                                         L->out_c, dense ? 1 : nn_layer_rows(L, N), false));
    }
    /* the shortcut's share of the block input's gradient waits in dskip
     * until the branch has brought its own (layer l - 1, next) */
    if (L->skip >= 0) DLGN_TRY(shortcut_backward(m, net, L, B(m->dskip), dz, N, false));
    DLGN_TRY(layer_backward(m, net, a, ROLE_VALUE, value_input(m), l, dz, N, l > 0, &dout));
    if (l > 0 && nn_layer_is_skip_source(net, l - 1))
      DLGN_TRY(axpy(dev, dout, B(m->dskip), layer_act(&net->layers[l - 1], N), 1.0f));
  }
  return 0;
}

/* Feature network, top down. dq[l] holds the gradient at z[l] from the gates
 * (gated classes); the gradient from layer l+1 is added to it, and in a
 * resnet the shortcut's from layer l+2 (which comes first: without gate
 * gradients it writes dq[l], and layer l+1 adds to it). */
static int feature_backward(dlgn_model *m, int N, bool has_gate_grads) {
  dlgn_device *dev = m->dev;
  const nn_net *net = &m->feat;
  const nn_net_acts *a = &m->fa;
  net_role role = feature_role(m);
  for (int l = net->nlayers - 1; l >= 0; l--) {
    const nn_layer *L = &net->layers[l];
    if (L->skip >= 0) {
      int s = L->skip;
      if (role == ROLE_LINEAR) {
        DLGN_TRY(shortcut_backward(m, net, L, B(m->dq[s]), B(m->dq[l]), N, has_gate_grads));
      } else {
        DLGN_TRY(shortcut_backward(m, net, L, B(m->dtmp[0]), B(m->dq[l]), N, false));
        const nn_layer *S = &net->layers[s];
        DLGN_TRY(relu_backward(dev, B(m->dq[s]), B(m->dtmp[0]), layer_z(a, S, s),
                               layer_act(S, N), has_gate_grads));
      }
    }
    bool want_din = role != ROLE_SHALLOW && l > 0;
    nn_buf din = NONE();
    DLGN_TRY(layer_backward(m, net, a, role, B(m->x), l, B(m->dq[l]), N, want_din, &din));
    if (!want_din) continue;
    const nn_layer *P = &net->layers[l - 1];
    size_t n = layer_act(P, N);
    bool acc = has_gate_grads || nn_layer_is_skip_source(net, l - 1);
    if (role == ROLE_LINEAR) DLGN_TRY(axpy(dev, B(m->dq[l - 1]), din, n, 1.0f));
    else DLGN_TRY(relu_backward(dev, B(m->dq[l - 1]), din, layer_z(a, P, l - 1), n, acc));
  }
  return 0;
}

int nn_model_backward(dlgn_model *m, int N, dlgn_gate_kind gates) {
  dlgn_device *dev = m->dev;
  const nn_net *top = top_net(m);
  const nn_layer *last = &top->layers[top->nlayers - 1];
  /* head */
  nn_buf hin = last->kind == NN_LAYER_CONV ? B(m->head_in_buf) : top_out(m);
  nn_buf dh = B(m->dtmp[0]);
  DLGN_TRY(dense_backward(dev, dh, (nn_buf){m->grads, m->head_w}, (nn_buf){m->grads, m->head_b},
                          B(m->dlogits), hin, (nn_buf){m->params, m->head_w}, N, m->head_in,
                          m->cfg.num_classes, false));
  nn_buf dtop = dh;
  /* planes of whole vectors: the top layer's ReLU or gate backward reads dh
   * itself, without gap_backward's copy */
  int HW = last->h * last->w;
  bool from_gap = last->kind == NN_LAYER_CONV && HW % 16 == 0;
  if (last->kind == NN_LAYER_CONV && !from_gap) {
    dtop = B(m->dtmp[1]);
    DLGN_TRY(gap_backward(dev, dtop, dh, last->out_c, N, HW, false));
  }
  if (m->cfg.cls == DLGN_DNN) {
    int L = m->feat.nlayers - 1;
    nn_buf z = layer_z(&m->fa, last, L);
    if (from_gap) DLGN_TRY(relu_backward_gap(dev, B(m->dq[L]), dh, z, last->out_c, N, HW));
    else DLGN_TRY(relu_backward(dev, B(m->dq[L]), dtop, z, layer_act(last, N), false));
    return feature_backward(m, N, false);
  }
  DLGN_TRY(value_backward(m, dtop, from_gap, N, gates));
  if (dlgn_model_feature_trains(m) && gates == DLGN_GATE_SOFT) DLGN_TRY(feature_backward(m, N, true));
  return 0;
}

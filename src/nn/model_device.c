/* Device memory of a model: everything a training step touches is allocated
 * here, once, for the largest batch; the passes only enqueue kernels. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlgn/model.h"
#include "dlgn/rng.h"
#include "dlgn/status.h"
#include "model_internal.h"

static size_t layer_act(const nn_layer *L, int N) { return nn_layer_units(L) * (size_t)N; }

static size_t layer_in(const nn_layer *L, int N) { return nn_layer_inputs(L) * (size_t)N; }

/* Drivers that overcommit (PoCL) accept allocations past the device's
 * memory and fail later, or get the process killed; so the total is checked
 * here, where the message can say what to change. */
static int alloc(dlgn_model *m, size_t floats, const char *what, cl_mem *out) {
  size_t bytes = floats * sizeof(float);
  m->device_bytes += bytes;
  if (m->device_bytes > m->dev->info.global_mem)
    return dlgn_fail("out of device memory: this model at batch %d needs more than %.1f GiB on "
                     "device '%s', which has %.1f GiB (reached allocating %s; try a smaller "
                     "--batch or width)",
                     m->max_batch, m->device_bytes / 1073741824.0, m->dev->info.name,
                     m->dev->info.global_mem / 1073741824.0, what);
  return ocl_buffer_create(m->dev, bytes, what, out);
}

static int net_alloc(dlgn_model *m, const nn_net *net, nn_net_acts *a, bool relu, bool value,
                     const char *role) {
  int N = m->max_batch;
  char what[96];
  for (int l = 0; l < net->nlayers; l++) {
    const nn_layer *L = &net->layers[l];
    size_t n = layer_act(L, N);
    snprintf(what, sizeof what, "%s layer %d pre-activations", role, l);
    DLGN_TRY(alloc(m, n, what, &a->pre[l]));
    if (L->pool_before) {
      snprintf(what, sizeof what, "%s layer %d pooled input", role, l);
      DLGN_TRY(alloc(m, layer_in(L, N), what, &a->pooled[l]));
    }
    if (L->gamma_off) {
      snprintf(what, sizeof what, "%s layer %d batch norm", role, l);
      DLGN_TRY(alloc(m, n, what, &a->norm[l]));
      DLGN_TRY(alloc(m, (size_t)L->out_c, what, &a->save_mean[l]));
      DLGN_TRY(alloc(m, (size_t)L->out_c, what, &a->save_invstd[l]));
    }
    if (relu || value) {
      snprintf(what, sizeof what, "%s layer %d outputs", role, l);
      DLGN_TRY(alloc(m, n, what, &a->out[l]));
    }
    if (value && m->cfg.shuffle == DLGN_SHUFFLE_CHANNELS) {
      snprintf(what, sizeof what, "%s layer %d shuffled gates", role, l);
      DLGN_TRY(alloc(m, n, what, &a->gperm[l]));
    }
  }
  return 0;
}

static void net_free(nn_net_acts *a) {
  for (int l = 0; l < DLGN_MAX_LAYERS; l++) {
    ocl_buffer_release(&a->pooled[l]);
    ocl_buffer_release(&a->pre[l]);
    ocl_buffer_release(&a->norm[l]);
    ocl_buffer_release(&a->out[l]);
    ocl_buffer_release(&a->gperm[l]);
    ocl_buffer_release(&a->save_mean[l]);
    ocl_buffer_release(&a->save_invstd[l]);
  }
}

static int model_alloc(dlgn_model *m) {
  int N = m->max_batch;
  const dlgn_model_config *c = &m->cfg;
  DLGN_TRY(alloc(m, m->nparams, "parameters", &m->params));
  DLGN_TRY(alloc(m, m->nparams, "gradients", &m->grads));
  DLGN_TRY(alloc(m, m->nstate ? m->nstate : 1, "batch-norm running statistics", &m->state));
  size_t xin = (size_t)N * m->in_c * m->in_h * m->in_w;
  DLGN_TRY(alloc(m, xin, "input batch", &m->x));
  if (c->cls != DLGN_DNN && c->value_input == DLGN_VALUE_ONES) {
    DLGN_TRY(alloc(m, xin, "constant-1 value input", &m->ones));
    DLGN_TRY(fill_forward(m->dev, (nn_buf){m->ones, 0}, xin, 1.0f));
    /* the first value layer's output (and its gradient) for one image: the
     * same for every image (model_pass.c) */
    DLGN_TRY(alloc(m, nn_layer_units(&m->value.layers[0]), "first value layer, one image",
                   &m->ones_out));
  }
  bool relu_feat = c->cls == DLGN_DNN || c->cls == DLGN_DGN;
  DLGN_TRY(net_alloc(m, &m->feat, &m->fa, relu_feat, false, "feature network"));
  DLGN_TRY(net_alloc(m, &m->value, &m->va, false, true, "value network"));
  if (c->cls == DLGN_DLGN_SF)
    for (int l = 0; l < m->feat.nlayers; l++) {
      int s = m->feat.layers[l].stage;
      if (s > 0 && !m->xpool[s])
        DLGN_TRY(alloc(m, xin >> (2 * s), "pooled input of the shallow features", &m->xpool[s]));
    }
  if (c->arch != DLGN_FC) DLGN_TRY(alloc(m, (size_t)N * m->head_in, "pooled features", &m->head_in_buf));
  DLGN_TRY(alloc(m, (size_t)N * c->num_classes, "logits", &m->logits));
  DLGN_TRY(alloc(m, (size_t)N * c->num_classes, "logit gradients", &m->dlogits));

  /* backward scratch: the largest activation or input of any layer */
  size_t big = xin;
  size_t scratch = 0;
  const nn_net *nets[2] = {&m->feat, &m->value};
  for (int k = 0; k < 2; k++)
    for (int l = 0; l < nets[k]->nlayers; l++) {
      const nn_layer *L = &nets[k]->layers[l];
      if (layer_act(L, N) > big) big = layer_act(L, N);
      size_t in = L->pool_before ? layer_in(L, N) * 4 : layer_in(L, N);
      if (in > big) big = in;
      /* every batch size up to N: a short last batch can take another
       * strategy (the batch kernels want whole vectors of 16 images) that
       * needs more scratch than the full one */
      for (int n = 1; L->kind == NN_LAYER_CONV && n <= N; n++) {
        ocl_conv_shape s = nn_layer_conv_shape(L, n);
        size_t need;
        DLGN_TRY(conv2d_scratch_floats(m->dev, &s, &need));
        if (need > scratch) scratch = need;
      }
    }
  for (int i = 0; i < 4; i++) DLGN_TRY(alloc(m, big, "backward scratch", &m->dtmp[i]));
  if (c->arch == DLGN_RESNET && c->cls != DLGN_DNN)
    DLGN_TRY(alloc(m, big, "shortcut gradient", &m->dskip));
  DLGN_TRY(alloc(m, scratch ? scratch : 1, "convolution scratch", &m->scratch));
  if (dlgn_model_feature_trains(m))
    for (int l = 0; l < m->feat.nlayers; l++)
      DLGN_TRY(alloc(m, layer_act(&m->feat.layers[l], N), "feature gradients", &m->dq[l]));
  if (c->shuffle == DLGN_SHUFFLE_CHANNELS) {
    dlgn_rng r;
    dlgn_rng_seed(&r, c->shuffle_seed);
    for (int l = 0; l < m->value.nlayers; l++) {
      int C = m->value.layers[l].out_c;
      /* uint32 and the kernel's int agree bit for bit for C < 2^31 */
      uint32_t *perm = dlgn_malloc((size_t)C * sizeof *perm, "channel permutation");
      if (!perm) return -1;
      for (int i = 0; i < C; i++) perm[i] = (uint32_t)i;
      dlgn_rng_shuffle(&r, perm, (size_t)C);
      int rc = ocl_buffer_create(m->dev, (size_t)C * sizeof *perm, "channel permutation",
                                 &m->perm_dev[l]);
      if (rc == 0)
        rc = ocl_buffer_write(m->dev, m->perm_dev[l], 0, (size_t)C * sizeof *perm, perm,
                              "channel permutation");
      free(perm);
      DLGN_TRY(rc);
    }
  }
  return 0;
}

int dlgn_model_create(dlgn_model **out, dlgn_device *dev, const dlgn_model_config *cfg,
                      int max_batch, uint64_t seed) {
  *out = NULL;
  if (max_batch < 1) return dlgn_fail("batch size must be >= 1 (got %d)", max_batch);
  dlgn_model *m = dlgn_calloc(1, sizeof *m, "model");
  if (!m) return -1;
  m->dev = dev;
  m->max_batch = max_batch;
  float *p = NULL, *s = NULL;
  if (nn_model_layout(m, cfg) != 0 || model_alloc(m) != 0) goto fail;
  p = dlgn_malloc(m->nparams * sizeof *p, "initial parameters");
  s = dlgn_calloc(m->nstate ? m->nstate : 1, sizeof *s, "initial state");
  if (!p || !s) goto fail;
  nn_model_init_host(m, seed, p, s);
  if (ocl_buffer_write(dev, m->params, 0, m->nparams * sizeof *p, p, "parameters") != 0) goto fail;
  if (m->nstate && ocl_buffer_write(dev, m->state, 0, m->nstate * sizeof *s, s, "state") != 0)
    goto fail;
  if (fill_forward(dev, (nn_buf){m->grads, 0}, m->nparams, 0.0f) != 0) goto fail;
  free(p);
  free(s);
  *out = m;
  return 0;
fail:
  free(p);
  free(s);
  dlgn_model_destroy(m);
  return -1;
}

void dlgn_model_destroy(dlgn_model *m) {
  if (!m) return;
  if (m->dev) dlgn_finish(m->dev);
  ocl_buffer_release(&m->params);
  ocl_buffer_release(&m->grads);
  ocl_buffer_release(&m->state);
  ocl_buffer_release(&m->x);
  ocl_buffer_release(&m->ones);
  ocl_buffer_release(&m->ones_out);
  for (int i = 0; i < 6; i++) ocl_buffer_release(&m->xpool[i]);
  net_free(&m->fa);
  net_free(&m->va);
  ocl_buffer_release(&m->head_in_buf);
  ocl_buffer_release(&m->logits);
  ocl_buffer_release(&m->dlogits);
  for (int i = 0; i < 4; i++) ocl_buffer_release(&m->dtmp[i]);
  ocl_buffer_release(&m->dskip);
  ocl_buffer_release(&m->scratch);
  for (int l = 0; l < DLGN_MAX_LAYERS; l++) {
    ocl_buffer_release(&m->dq[l]);
    ocl_buffer_release(&m->perm_dev[l]);
  }
  free(m);
}

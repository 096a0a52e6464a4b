/* Forward passes over a split that bring every layer's feature
 * pre-activations back to the host, batch by batch. */
#include <stdlib.h>
#include <string.h>

#include "dlgn/status.h"
#include "dlgn/util.h"
#include "explain_internal.h"

void pass_model_free(pass_model *pm) {
  ocl_buffer_release(&pm->x8);
  for (int l = 0; l < DLGN_MAX_LAYERS; l++) {
    free(pm->q[l]);
    pm->q[l] = NULL;
  }
}

static int prepare(pass_model *pm, int batch) {
  dlgn_model *m = pm->m;
  DLGN_TRY(
      ocl_buffer_create(m->dev, (size_t)batch * DLGN_IMAGE_BYTES, "explain image batch", &pm->x8));
  for (int l = 0; l < m->feat.nlayers; l++) {
    pm->q[l] = dlgn_malloc(layer_q_floats(&m->feat.layers[l], batch) * sizeof(float),
                           "feature pre-activations");
    if (!pm->q[l]) return -1;
  }
  return 0;
}

static int forward_batch(pass_model *pm, const uint8_t *x8, int N) {
  dlgn_model *m = pm->m;
  dlgn_device *dev = m->dev;
  DLGN_TRY(ocl_buffer_write(dev, pm->x8, 0, (size_t)N * DLGN_IMAGE_BYTES, x8, "explain images"));
  DLGN_TRY(nn_model_load_images(m, pm->x8, 0, NULL, 0, N, pm->mean, pm->std));
  DLGN_TRY(nn_model_forward_features(m, N));
  for (int l = 0; l < m->feat.nlayers; l++)
    DLGN_TRY(ocl_buffer_read(dev, nn_model_gate_preact(m, l), 0,
                             layer_q_floats(&m->feat.layers[l], N) * sizeof(float), pm->q[l],
                             "feature pre-activations"));
  return 0;
}

int explain_pass(pass_model *pm, int nm, const dlgn_split *split, size_t n, pass_fn fn, void *ctx,
                 double *forward_s) {
  if (n > split->n) n = split->n;
  int batch = pm[0].m->max_batch;
  for (int k = 1; k < nm; k++)
    if (pm[k].m->max_batch < batch) batch = pm[k].m->max_batch;
  for (int k = 0; k < nm; k++) DLGN_TRY(prepare(&pm[k], batch));
  float *x = dlgn_malloc((size_t)batch * DLGN_IMAGE_BYTES * sizeof *x, "normalised images");
  if (!x) return -1;
  int rc = 0;
  for (size_t first = 0; first < n && rc == 0; first += (size_t)batch) {
    int N = (int)(n - first < (size_t)batch ? n - first : (size_t)batch);
    const uint8_t *x8 = split->images + first * DLGN_IMAGE_BYTES;
    double t0 = dlgn_now();
    for (int k = 0; k < nm && rc == 0; k++) rc = forward_batch(&pm[k], x8, N);
    if (forward_s) *forward_s += dlgn_now() - t0;
    if (rc != 0) break;
    dlgn_input_ref(x, x8, NULL, N, pm[0].mean, pm[0].std, false);
    rc = fn(ctx, first, N, x, pm, nm);
  }
  free(x);
  return rc;
}

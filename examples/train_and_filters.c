/* Train a small deep linearly gated network (dlgn) on built-in synthetic
 * CIFAR-10-format data, then read its effective filters and check them
 * against the network's own gates, through the public API of libdlgn only.
 *
 * Build against an installed dlgn:
 *   cc -std=c11 train_and_filters.c $(pkg-config --cflags --libs dlgn) -o train_and_filters
 * Run:
 *   ./train_and_filters RUN_DIR      (a new folder; the run's files go there)
 *
 * docs/model.md describes the model, the filters and the check. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "dlgn/explain.h"
#include "dlgn/status.h"
#include "dlgn/train.h"

#define CHECK_IMAGES 500

/* The pixel (channel, row, column) where a dense layer's template of gate o
 * has its largest weight, and the template's Euclidean norm. */
static void describe_dense_template(const dlgn_layer_templates *L, int o, double *norm, int *c,
                                    int *y, int *x) {
  size_t size = dlgn_tpl_size(L, 0, 0);
  const double *t = L->t + L->off[0] + (size_t)o * size;
  double sum = 0, best = -1;
  size_t arg = 0;
  for (size_t i = 0; i < size; i++) {
    sum += t[i] * t[i];
    if (fabs(t[i]) > best) {
      best = fabs(t[i]);
      arg = i;
    }
  }
  *norm = sqrt(sum);
  *c = (int)(arg / (DLGN_IMAGE_H * DLGN_IMAGE_W));
  *y = (int)(arg / DLGN_IMAGE_W % DLGN_IMAGE_H);
  *x = (int)(arg % DLGN_IMAGE_W);
}

static int fail(const char *what) {
  fprintf(stderr, "train_and_filters: %s: %s\n", what, dlgn_error());
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s RUN_DIR (a new folder)\n", argv[0]);
    return 2;
  }

  /* 1. Train: a dlgn with three fc gating layers of 32 gates and constant-1
   * value input (everything the network knows reaches the output through
   * its gates), 8 epochs on 2000 synthetic images, per-channel
   * standardised. */
  dlgn_train_config c;
  dlgn_train_config_default(&c);
  c.model.cls = DLGN_DLGN;
  c.model.arch = DLGN_FC;
  c.model.depth = 3;
  c.model.width = 32;
  c.model.value_input = DLGN_VALUE_ONES;
  c.normalize = DLGN_NORM_STANDARD;
  c.epochs = 8;
  c.batch = 64;
  c.synth_train = 2000;
  c.synth_test = CHECK_IMAGES;
  snprintf(c.data, sizeof c.data, "synthetic");
  snprintf(c.run.run_dir, sizeof c.run.run_dir, "%s", argv[1]);
  c.run.quiet = true;
  dlgn_train_summary sum;
  if (dlgn_train_run(&c, false, &sum) != 0) return fail("training");
  printf("trained a %s %s (depth %d, width %d) for %d epochs on %s (%s):\n"
         "  test accuracy %.3f with soft gates, %.3f with hard gates\n",
         dlgn_class_name(sum.config.model.cls), dlgn_arch_name(sum.config.model.arch),
         sum.config.model.depth, sum.config.model.width, sum.epochs_run, sum.device,
         sum.data_source, sum.final.test_soft, sum.final.test_hard);

  /* 2. Load the trained model from its run folder onto a device. */
  int rc = 1;
  dlgn_device *dev = NULL;
  dlgn_model *m = NULL;
  dlgn_checkpoint ck;
  memset(&ck, 0, sizeof ck);
  dlgn_templates t;
  memset(&t, 0, sizeof t);
  dlgn_dataset ds;
  memset(&ds, 0, sizeof ds);
  bool have_ds = false;
  char path[1200];
  dlgn_checkpoint_path(argv[1], path, sizeof path);
  if (dlgn_device_open(&dev, c.run.device, 0) != 0) {
    rc = fail("opening the device");
    goto done;
  }
  if (dlgn_model_from_checkpoint(&m, dev, path, 100, &ck) != 0) {
    rc = fail("loading the checkpoint");
    goto done;
  }

  /* 3. The effective filters: every gate of a dlgn is on exactly when
   * T . x + bias > 0 for the normalised image x. */
  if (dlgn_templates_compose(&t, m, ck.params, ck.state) != 0) {
    rc = fail("composing the effective filters");
    goto done;
  }
  for (int l = 0; l < t.nlayers; l++) {
    const dlgn_layer_templates *L = &t.layers[l];
    printf("layer %d: %d gates, each a template of %zu weights\n", l + 1, L->channels,
           dlgn_tpl_size(L, 0, 0));
    for (int o = 0; o < L->channels && o < 3; o++) {
      double norm;
      int ch, y, x;
      describe_dense_template(L, o, &norm, &ch, &y, &x);
      printf("  gate %d: |T| = %.4f, bias %+.4f, strongest weight at channel %d, pixel (%d, %d)\n",
             o, norm, L->bias[o], ch, y, x);
    }
  }
  int w, h;
  char png[1300];
  snprintf(png, sizeof png, "%s/filters_layer1.png", argv[1]);
  if (dlgn_png_filter_grid(&t, 0, png, &w, &h) != 0) {
    rc = fail("drawing the filters");
    goto done;
  }
  printf("layer 1's filters drawn in %s (%d x %d)\n", png, w, h);

  /* 4. The check: the gates of the test images recomputed from the
   * templates alone against the network's own hard gates. */
  bool synthetic;
  if (dlgn_train_load_dataset(&ck.config, NULL, &ds, &synthetic, NULL) != 0) {
    rc = fail("loading the data");
    goto done;
  }
  have_ds = true;
  dlgn_filter_check res;
  if (dlgn_explain_filter_check(m, &ck, &ds.test, CHECK_IMAGES, &res) != 0) {
    rc = fail("checking the filters");
    goto done;
  }
  for (int l = 0; l < res.nlayers; l++)
    printf("check, layer %d: %zu gates compared, agreement %.6f, %zu near zero, %zu mismatched\n",
           l + 1, res.compared[l], res.agreement[l], res.near_zero[l], res.mismatched[l]);
  if (res.passed)
    printf("filter-export check PASSED on %zu images\n", res.images);
  else
    printf("filter-export check FAILED at layer %d\n", res.failed_layer);
  rc = res.passed ? 0 : 1;

done:
  if (have_ds) dlgn_dataset_free(&ds);
  dlgn_templates_free(&t);
  dlgn_model_destroy(m);
  dlgn_checkpoint_free(&ck);
  dlgn_device_close(dev);
  return rc;
}

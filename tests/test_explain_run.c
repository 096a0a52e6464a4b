/* The explain stage end to end on tiny models and synthetic data: the
 * filter-export check through its public entry point (every device, batches
 * with a short last one; a resnet's layer by layer), its answer for classes without templates, and a
 * whole `dlgn explain` run whose report and JSON are read back. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dlgn/explain.h"
#include "dlgn/rng.h"
#include "dlgn/status.h"
#include "testutil.h"
#include "nn/model_internal.h"

static void tiny_config(dlgn_model_config *c, dlgn_model_class cls) {
  dlgn_model_config_default(c);
  c->cls = cls;
  c->arch = DLGN_C4GAP;
  c->depth = 2;
  c->width = 4;
  c->batchnorm = true;
  if (cls == DLGN_DNN) c->value_input = DLGN_VALUE_IMAGE;
}

/* Initial parameters with random biases and batch-norm statistics. */
static void random_params(const dlgn_model *m, uint64_t seed, float *p, float *s) {
  nn_model_init_host(m, seed, p, s);
  dlgn_rng r;
  dlgn_rng_seed(&r, seed);
  for (int l = 0; l < m->feat.nlayers; l++) {
    const nn_layer *L = &m->feat.layers[l];
    for (int o = 0; o < L->out_c; o++) {
      p[L->b_off + o] = 0.2f * dlgn_rng_normal(&r);
      p[L->beta_off + o] = 0.2f * dlgn_rng_normal(&r);
      s[L->mean_off + o] = 0.2f * dlgn_rng_normal(&r);
      s[L->var_off + o] = 0.5f + dlgn_rng_uniform(&r);
    }
  }
}

static void fake_checkpoint(dlgn_checkpoint *ck, const dlgn_model *m, uint64_t seed) {
  memset(ck, 0, sizeof *ck);
  dlgn_train_config_default(&ck->config);
  ck->config.model = m->cfg;
  ck->nparams = m->nparams;
  ck->nstate = m->nstate;
  ck->params = malloc(m->nparams * sizeof(float));
  ck->state = calloc(m->nstate + 1, sizeof(float));
  random_params(m, seed, ck->params, ck->state);
  for (int c = 0; c < 3; c++) ck->mean[c] = 0.45f + 0.02f * c, ck->std[c] = 0.25f;
}

START_TEST(test_filter_check_entry) {
  dlgn_dataset ds;
  ck_assert_ok(dlgn_synth_generate(&ds, DLGN_CIFAR10, 4, 20, 5));
  dlgn_device **devs;
  int n;
  ck_assert_ok(test_open_all_devices(&devs, &n));
  for (int d = 0; d < n; d++) {
    dlgn_model_config cfg;
    tiny_config(&cfg, DLGN_DLGN);
    dlgn_model *m;
    ck_assert_ok(dlgn_model_create(&m, devs[d], &cfg, 8, 1));
    dlgn_checkpoint ck;
    fake_checkpoint(&ck, m, 9);
    ck_assert_ok(ocl_buffer_write(devs[d], m->params, 0, m->nparams * 4, ck.params, "params"));
    ck_assert_ok(ocl_buffer_write(devs[d], m->state, 0, m->nstate * 4, ck.state, "state"));
    dlgn_filter_check r;
    ck_assert_ok(dlgn_explain_filter_check(m, &ck, &ds.test, 20, &r));
    ck_assert(r.applicable);
    ck_assert_msg(r.passed, "check failed on %s", devs[d]->info.name);
    ck_assert_uint_eq(r.images, 20);
    ck_assert_int_eq(r.nlayers, 2);
    for (int l = 0; l < 2; l++) {
      ck_assert_uint_eq(r.compared[l], 20u * 4 * 32 * 32);
      ck_assert_uint_eq(r.mismatched[l], 0);
    }
    dlgn_checkpoint_free(&ck);
    dlgn_model_destroy(m);

    /* a resnet dlgn: composed, checked and freed one layer at a time */
    tiny_config(&cfg, DLGN_DLGN);
    cfg.arch = DLGN_RESNET;
    cfg.depth = 8;
    cfg.width = 2;
    ck_assert_ok(dlgn_model_create(&m, devs[d], &cfg, 8, 1));
    fake_checkpoint(&ck, m, 10);
    ck_assert_ok(ocl_buffer_write(devs[d], m->params, 0, m->nparams * 4, ck.params, "params"));
    ck_assert_ok(ocl_buffer_write(devs[d], m->state, 0, m->nstate * 4, ck.state, "state"));
    ck_assert_ok(dlgn_explain_filter_check(m, &ck, &ds.test, 20, &r));
    ck_assert_msg(r.applicable && r.passed, "resnet check failed on %s at layer %d",
                  devs[d]->info.name, r.failed_layer);
    ck_assert_uint_eq(r.images, 20);
    ck_assert_int_eq(r.nlayers, 7);
    for (int l = 0; l < 7; l++) {
      const nn_layer *L = &m->feat.layers[l];
      ck_assert_uint_eq(r.compared[l], 20u * L->out_c * L->h * L->w);
      ck_assert_uint_eq(r.mismatched[l], 0);
    }
    dlgn_checkpoint_free(&ck);
    dlgn_model_destroy(m);

    /* a dgn has no templates: not applicable, nothing exported */
    tiny_config(&cfg, DLGN_DGN);
    ck_assert_ok(dlgn_model_create(&m, devs[d], &cfg, 8, 1));
    fake_checkpoint(&ck, m, 9);
    ck_assert_ok(dlgn_explain_filter_check(m, &ck, &ds.test, 20, &r));
    ck_assert(!r.applicable);
    ck_assert(!r.passed);
    dlgn_checkpoint_free(&ck);
    dlgn_model_destroy(m);
  }
  test_close_all_devices(devs, n);
  dlgn_dataset_free(&ds);
}
END_TEST

static void write_checkpoint(const char *path, dlgn_model_class cls, uint64_t seed) {
  dlgn_model_config cfg;
  tiny_config(&cfg, cls);
  dlgn_model m;
  memset(&m, 0, sizeof m);
  ck_assert_ok(nn_model_layout(&m, &cfg));
  dlgn_checkpoint ck;
  fake_checkpoint(&ck, &m, seed);
  snprintf(ck.config.data, sizeof ck.config.data, "synthetic");
  ck.config.synth_train = 10;
  ck.config.synth_test = 30;
  ck_assert_ok(dlgn_checkpoint_write(path, &ck));
  dlgn_checkpoint_free(&ck);
}

static json_object *get(json_object *o, const char *k) {
  json_object *v;
  ck_assert_msg(json_object_object_get_ex(o, k, &v), "explain.json lacks %s", k);
  return v;
}

/* Walk templates.bin as the report documents it; every byte accounted for. */
static void check_templates_file(const char *path, int nlayers, int channels) {
  FILE *f = fopen(path, "rb");
  ck_assert_ptr_nonnull(f);
  char magic[8];
  int32_t v[5];
  ck_assert(fread(magic, 1, 8, f) == 8 && memcmp(magic, "DLGNTPL1", 8) == 0);
  ck_assert(fread(v, 4, 1, f) == 1 && v[0] == nlayers);
  for (int l = 0; l < nlayers; l++) {
    ck_assert(fread(v, 4, 5, f) == 5);
    int C = v[1], n = v[2], ncls = v[4];
    ck_assert_int_eq(v[0], 0);
    ck_assert_int_eq(C, channels);
    ck_assert_int_eq(n, 32);
    ck_assert_int_eq(ncls, l == 0 ? 1 : 3); /* layer 2: top row, interior, bottom row */
    int side[32];
    for (int a = 0; a < ncls; a++) {
      int32_t c[4];
      ck_assert(fread(c, 4, 4, f) == 4);
      side[a] = c[1] - c[0] + 1;
    }
    for (int y = 0; y < n; y++) {
      int32_t cls;
      ck_assert(fread(&cls, 4, 1, f) == 1 && cls >= 0 && cls < ncls);
    }
    for (int a = 0; a < ncls; a++)
      for (int b = 0; b < ncls; b++) {
        long bytes = 4L * C * (3L * side[a] * side[b] + 1);
        ck_assert(fseek(f, bytes, SEEK_CUR) == 0);
      }
  }
  long at = ftell(f);
  ck_assert(fseek(f, 0, SEEK_END) == 0);
  ck_assert_int_eq(at, ftell(f));
  fclose(f);
}

START_TEST(test_explain_run_end_to_end) {
  char dir[256], ckpt[512], ckpt2[512], out[512], path[600];
  test_tmpdir(dir, sizeof dir);
  snprintf(ckpt, sizeof ckpt, "%s/a.bin", dir);
  snprintf(ckpt2, sizeof ckpt2, "%s/b.bin", dir);
  write_checkpoint(ckpt, DLGN_DLGN, 11);
  write_checkpoint(ckpt2, DLGN_DLGN, 12);
  dlgn_explain_options o;
  dlgn_explain_options_default(&o);
  snprintf(o.checkpoint, sizeof o.checkpoint, "%s", ckpt);
  snprintf(o.compare, sizeof o.compare, "%s", ckpt);
  snprintf(out, sizeof out, "%s/out", dir);
  snprintf(o.out_dir, sizeof o.out_dir, "%s", out);
  o.check_images = 30;
  o.npk_images = 12;
  o.batch = 8;
  o.quiet = true;
  ck_assert_ok(dlgn_explain_run(&o));
  const char *files[] = {"report.md",          "explain.json",       "templates.bin",
                         "filters_layer1.png", "filters_layer2.png", "npk_heatmap.png"};
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    snprintf(path, sizeof path, "%s/%s", out, files[i]);
    ck_assert_msg(access(path, R_OK) == 0, "%s missing", path);
  }
  snprintf(path, sizeof path, "%s/templates.bin", out);
  check_templates_file(path, 2, 4);
  snprintf(path, sizeof path, "%s/explain.json", out);
  json_object *j = json_object_from_file(path);
  ck_assert_ptr_nonnull(j);
  json_object *chk = get(j, "filter_check");
  ck_assert(json_object_get_boolean(get(chk, "applicable")));
  ck_assert(json_object_get_boolean(get(chk, "passed")));
  ck_assert_int_eq(json_object_get_int(get(chk, "images")), 30);
  ck_assert_int_eq(json_object_get_int(get(j, "images")), 30);
  json_object *gates = get(j, "gates");
  ck_assert_int_eq((int)json_object_array_length(gates), 2);
  /* compared with itself: every gate agrees */
  for (int l = 0; l < 2; l++)
    ck_assert_double_eq(
        json_object_get_double(get(json_object_array_get_idx(gates, l), "agreement")), 1.0);
  json_object *npk = get(j, "npk");
  ck_assert_int_eq(json_object_get_int(get(npk, "images")), 12);
  ck_assert(!json_object_get_boolean(get(npk, "image_factor"))); /* ones input */
  json_object_put(j);

  /* another model of the same shape agrees on fewer gates */
  snprintf(o.compare, sizeof o.compare, "%s", ckpt2);
  ck_assert_ok(dlgn_explain_run(&o));
  j = json_object_from_file(path);
  gates = get(j, "gates");
  ck_assert(json_object_get_double(get(json_object_array_get_idx(gates, 0), "agreement")) < 1.0);
  json_object_put(j);

  /* a dnn: no templates, said so; the kernel has the image factor */
  write_checkpoint(ckpt, DLGN_DNN, 13);
  o.compare[0] = 0;
  ck_assert_ok(dlgn_explain_run(&o));
  j = json_object_from_file(path);
  ck_assert(!json_object_get_boolean(get(get(j, "filter_check"), "applicable")));
  ck_assert(json_object_get_boolean(get(get(j, "npk"), "image_factor")));
  json_object_put(j);

  /* a model of another shape cannot be compared */
  write_checkpoint(ckpt, DLGN_DLGN, 11);
  dlgn_model_config cfg;
  tiny_config(&cfg, DLGN_DLGN);
  cfg.width = 5;
  dlgn_model m;
  memset(&m, 0, sizeof m);
  ck_assert_ok(nn_model_layout(&m, &cfg));
  dlgn_checkpoint ck;
  fake_checkpoint(&ck, &m, 3);
  snprintf(ck.config.data, sizeof ck.config.data, "synthetic");
  ck_assert_ok(dlgn_checkpoint_write(ckpt2, &ck));
  dlgn_checkpoint_free(&ck);
  snprintf(o.compare, sizeof o.compare, "%s", ckpt2);
  ck_assert_int_ne(dlgn_explain_run(&o), 0);
  ck_assert_msg(strstr(dlgn_error(), "another shape") != NULL, "%s", dlgn_error());
  test_rmtree(dir);
}
END_TEST

Suite *make_suite(void) {
  Suite *s = suite_create("explain_run");
  TCase *tc = tcase_create("run");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, test_filter_check_entry);
  tcase_add_test(tc, test_explain_run_end_to_end);
  suite_add_tcase(s, tc);
  return s;
}

/* Parity with PyTorch: the fixtures of tests/ref/make_fixtures.py hold, per
 * model class x architecture x value input, PyTorch's logits, loss, every
 * gradient and the parameters after 3 Adam steps for given weights and batch.
 * Here the same weights and batch go through dlgn's device model on every
 * OpenCL device present and must agree within the stated tolerances. */
#include <dirent.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlgn/model.h"
#include "dlgn/status.h"
#include "nn/model_internal.h"
#include "testutil.h"

#define MAX_TENSORS 16

typedef struct {
  char name[32];
  size_t count;
  float *f;       /* float tensors */
  unsigned char *u8; /* byte tensors */
} fix_tensor;

typedef struct {
  json_object *config;
  int ntensors;
  fix_tensor t[MAX_TENSORS];
} fixture;

static const fix_tensor *fix_get(const fixture *fx, const char *name) {
  for (int i = 0; i < fx->ntensors; i++)
    if (strcmp(fx->t[i].name, name) == 0) return &fx->t[i];
  ck_abort_msg("fixture has no tensor '%s'", name);
  return NULL;
}

static void fix_read(fixture *fx, const char *path) {
  memset(fx, 0, sizeof *fx);
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f != NULL, "cannot open fixture %s", path);
  char line[8192];
  ck_assert(fgets(line, sizeof line, f) && strcmp(line, "DLGNFIX1\n") == 0);
  ck_assert(fgets(line, sizeof line, f) && strncmp(line, "config ", 7) == 0);
  fx->config = json_tokener_parse(line + 7);
  ck_assert_ptr_nonnull(fx->config);
  while (fgets(line, sizeof line, f) && strcmp(line, "end\n") != 0) {
    ck_assert_int_lt(fx->ntensors, MAX_TENSORS);
    fix_tensor *t = &fx->t[fx->ntensors++];
    char kind[16];
    ck_assert_int_eq(sscanf(line, "%15s %31s %zu", kind, t->name, &t->count), 3);
    if (strcmp(kind, "bytes") == 0) {
      t->u8 = malloc(t->count);
      ck_assert(t->u8 != NULL);
      ck_assert(fread(t->u8, 1, t->count, f) == t->count);
    } else {
      t->f = malloc(t->count * sizeof(float));
      ck_assert(t->f != NULL);
      ck_assert(fread(t->f, sizeof(float), t->count, f) == t->count);
    }
  }
  fclose(f);
}

static void fix_free(fixture *fx) {
  for (int i = 0; i < fx->ntensors; i++) {
    free(fx->t[i].f);
    free(fx->t[i].u8);
  }
  json_object_put(fx->config);
}

static const char *cfg_str(const fixture *fx, const char *k) {
  json_object *v;
  ck_assert_msg(json_object_object_get_ex(fx->config, k, &v), "fixture config lacks %s", k);
  return json_object_get_string(v);
}

static double cfg_num(const fixture *fx, const char *k) {
  json_object *v;
  ck_assert_msg(json_object_object_get_ex(fx->config, k, &v), "fixture config lacks %s", k);
  return json_object_get_double(v);
}

/* Tolerances: values from a GEMM-heavy float32 pipeline in two libraries that
 * sum in different orders. Per parameter tensor, |got - want| must stay within
 * ABS_SCALE * max|want in that tensor| + 1e-5 * max|want anywhere| + REL * |want|. */
#define LOGIT_ABS 2e-5
#define LOGIT_REL 1e-4
#define GRAD_ABS_SCALE 2e-4
#define GRAD_REL 1e-3
#define STEP_ABS 2e-5 /* after 3 Adam steps of lr 1e-3: 2% of one step */

static void compare_by_tensor(const dlgn_model *m, const float *got, const float *want,
                              double abs_scale, double abs_floor, double rel, const char *what,
                              const char *fixname, const char *dev) {
  nn_param_entry tab[4 * DLGN_MAX_LAYERS * 2 + 4];
  int n = nn_model_param_table(m, tab, (int)(sizeof tab / sizeof tab[0]));
  /* a tensor whose true values are all ~0 (a bias before batch norm) is held
   * to the scale of the whole vector instead */
  double all = 0;
  for (size_t j = 0; j < m->nparams; j++)
    if (fabs(want[j]) > all) all = fabs(want[j]);
  abs_floor += 1e-5 * all * (abs_scale > 0);
  for (int i = 0; i < n; i++) {
    double maxabs = 0;
    for (size_t j = 0; j < tab[i].count; j++)
      if (fabs(want[tab[i].off + j]) > maxabs) maxabs = fabs(want[tab[i].off + j]);
    size_t worst;
    double r = test_compare(got + tab[i].off, want + tab[i].off, tab[i].count,
                            abs_scale * maxabs + abs_floor, rel, &worst);
    ck_assert_msg(r <= 1.0,
                  "%s on %s: %s of %s differ: [%zu] got %.9g want %.9g (%.2f x tolerance)",
                  fixname, dev, what, tab[i].name, worst, got[tab[i].off + worst],
                  want[tab[i].off + worst], r);
  }
}

static void run_fixture(dlgn_device *dev, const char *path) {
  fixture fx;
  fix_read(&fx, path);
  const char *fixname = strrchr(path, '/') + 1;
  dlgn_model_config cfg;
  dlgn_model_config_default(&cfg);
  ck_assert_ok(dlgn_class_parse(cfg_str(&fx, "class"), &cfg.cls));
  ck_assert_ok(dlgn_arch_parse(cfg_str(&fx, "arch"), &cfg.arch));
  ck_assert_ok(dlgn_value_input_parse(cfg_str(&fx, "value_input"), &cfg.value_input));
  ck_assert_ok(dlgn_mode_parse(cfg_str(&fx, "mode"), &cfg.mode));
  cfg.depth = (int)cfg_num(&fx, "depth");
  cfg.width = (int)cfg_num(&fx, "width");
  cfg.beta = (float)cfg_num(&fx, "beta");
  cfg.num_classes = (int)cfg_num(&fx, "num_classes");
  json_object *bn;
  cfg.batchnorm = json_object_object_get_ex(fx.config, "batchnorm", &bn) && json_object_get_boolean(bn);
  int N = (int)cfg_num(&fx, "batch");
  int K = cfg.num_classes;
  double lr = cfg_num(&fx, "lr");
  int steps = (int)cfg_num(&fx, "steps");

  dlgn_model *m;
  ck_assert_ok(dlgn_model_create(&m, dev, &cfg, N, 1));
  const fix_tensor *params = fix_get(&fx, "params");
  ck_assert_msg(params->count == m->nparams, "%s: fixture has %zu parameters, model %zu", fixname,
                params->count, m->nparams);
  ck_assert_ok(ocl_buffer_write(dev, m->params, 0, m->nparams * sizeof(float), params->f, "params"));
  const fix_tensor *images = fix_get(&fx, "images"), *labels_f = fix_get(&fx, "labels");
  ck_assert_msg(N > 0 && K > 0 && labels_f->count == (size_t)N &&
                    fix_get(&fx, "logits")->count == (size_t)N * K,
                "%s: batch %d, %d classes, but %zu labels and %zu logits", fixname, N, K,
                labels_f->count, fix_get(&fx, "logits")->count);
  int *labels = malloc((size_t)N * sizeof(int));
  float *logits = malloc((size_t)N * K * sizeof(float));
  ck_assert(labels != NULL && logits != NULL);
  for (int i = 0; i < N; i++) labels[i] = (int)labels_f->f[i];
  cl_mem x8, lab, counter, loss, opt;
  ck_assert_ok(ocl_buffer_create(dev, images->count, "images", &x8));
  ck_assert_ok(ocl_buffer_write(dev, x8, 0, images->count, images->u8, "images"));
  ck_assert_ok(ocl_buffer_create(dev, (size_t)N * sizeof(int), "labels", &lab));
  ck_assert_ok(ocl_buffer_write(dev, lab, 0, (size_t)N * sizeof(int), labels, "labels"));
  ck_assert_ok(ocl_buffer_create(dev, sizeof(int), "counter", &counter));
  ck_assert_ok(ocl_buffer_create(dev, sizeof(float), "loss", &loss));
  size_t ntrain = m->train_end - m->train_begin;
  ck_assert_ok(ocl_buffer_create(dev, 2 * ntrain * sizeof(float), "adam state", &opt));
  ck_assert_ok(fill_forward(dev, (nn_buf){opt, 0}, 2 * ntrain, 0.0f));
  const float zero3[3] = {0, 0, 0}, one3[3] = {1, 1, 1};
  dlgn_gate_kind gates = dlgn_model_train_gates(m);
  ck_assert_str_eq(cfg_str(&fx, "train_gates"), gates == DLGN_GATE_SOFT ? "soft" : "hard");

  float *got = malloc(m->nparams * sizeof(float));
  ck_assert(got != NULL);
  for (int step = 0; step <= steps; step++) {
    ck_assert_ok(nn_model_load_images(m, x8, 0, NULL, 0, N, zero3, one3));
    ck_assert_ok(nn_model_forward(m, N, gates, true));
    ck_assert_ok(xent_forward(dev, (nn_buf){loss, 0}, counter, 0, (nn_buf){m->logits, 0}, lab,
                              0, N, K));
    ck_assert_ok(xent_backward(dev, (nn_buf){m->dlogits, 0}, (nn_buf){m->logits, 0}, lab, 0, N,
                               K));
    ck_assert_ok(nn_model_backward(m, N, gates));
    if (step == 0) {
      float l;
      ck_assert_ok(ocl_buffer_read(dev, m->logits, 0, (size_t)N * K * sizeof(float), logits, "logits"));
      ck_assert_ok(ocl_buffer_read(dev, loss, 0, sizeof l, &l, "loss"));
      size_t worst;
      double r = test_compare(logits, fix_get(&fx, "logits")->f, (size_t)N * K, LOGIT_ABS,
                              LOGIT_REL, &worst);
      ck_assert_msg(r <= 1.0, "%s on %s: logit [%zu] got %.9g want %.9g", fixname, dev->info.name,
                    worst, logits[worst], fix_get(&fx, "logits")->f[worst]);
      float want_loss = fix_get(&fx, "loss")->f[0];
      ck_assert_msg(fabsf(l - want_loss) <= 1e-5f + 1e-5f * fabsf(want_loss),
                    "%s: loss got %.9g want %.9g", fixname, l, want_loss);
      ck_assert_ok(ocl_buffer_read(dev, m->grads, 0, m->nparams * sizeof(float), got, "grads"));
      /* frozen parameters get no gradient: the fixture holds zeros there */
      for (size_t i = 0; i < m->train_begin; i++) got[i] = 0;
      compare_by_tensor(m, got, fix_get(&fx, "grads")->f, GRAD_ABS_SCALE, 1e-7, GRAD_REL,
                        "gradients", fixname, dev->info.name);
    }
    if (step == steps) break;
    ck_assert_ok(adam_update(dev, (nn_buf){m->params, m->train_begin},
                             (nn_buf){m->grads, m->train_begin}, (nn_buf){opt, 0},
                             (nn_buf){opt, ntrain}, ntrain, (float)lr, 0.9f, 0.999f, 1e-8f, 0.0f,
                             step + 1));
  }
  ck_assert_ok(ocl_buffer_read(dev, m->params, 0, m->nparams * sizeof(float), got, "params"));
  /* Adam divides by sqrt(v): where the true gradient is ~0 (a bias right
   * before batch norm) its step direction is float noise in both libraries,
   * so those parameters are held only to moving less than 3 lr. */
  const float *g = fix_get(&fx, "grads")->f, *want_after = fix_get(&fx, "params_after")->f;
  float gmax = 0;
  for (size_t i = 0; i < m->nparams; i++) gmax = fmaxf(gmax, fabsf(g[i]));
  float *want = malloc(m->nparams * sizeof(float));
  ck_assert(want != NULL);
  for (size_t i = 0; i < m->nparams; i++) {
    want[i] = want_after[i];
    if (fabsf(g[i]) <= 1e-5f * gmax) {
      ck_assert_msg(fabsf(got[i] - params->f[i]) <= 3.01f * (float)lr,
                    "%s: parameter %zu moved %g in 3 steps of lr %g", fixname, i,
                    got[i] - params->f[i], lr);
      want[i] = got[i];
    }
  }
  compare_by_tensor(m, got, want, 0, STEP_ABS, 0, "parameters after 3 Adam steps", fixname,
                    dev->info.name);
  free(want);
  free(got);
  free(logits);
  free(labels);
  ocl_buffer_release(&x8);
  ocl_buffer_release(&lab);
  ocl_buffer_release(&counter);
  ocl_buffer_release(&loss);
  ocl_buffer_release(&opt);
  dlgn_model_destroy(m);
  fix_free(&fx);
}

static int by_name(const struct dirent **a, const struct dirent **b) {
  return strcmp((*a)->d_name, (*b)->d_name);
}

static int is_fixture(const struct dirent *d) {
  size_t n = strlen(d->d_name);
  return n > 4 && strcmp(d->d_name + n - 4, ".fix") == 0;
}

START_TEST(test_parity_all_fixtures) {
  const char *dir = DLGN_SOURCE_DIR "/tests/ref/fixtures";
  struct dirent **list;
  int n = scandir(dir, &list, is_fixture, by_name);
  ck_assert_msg(n >= 19, "expected the 19 fixtures in %s, found %d", dir, n);
  dlgn_device **devs;
  int ndev;
  ck_assert_ok(test_open_all_devices(&devs, &ndev));
  const char *only = getenv("DLGN_FIXTURE"); /* debugging: run the fixtures matching this */
  for (int d = 0; d < ndev; d++)
    for (int i = 0; i < n; i++) {
      if (only && !strstr(list[i]->d_name, only)) continue;
      char path[1024];
      snprintf(path, sizeof path, "%s/%s", dir, list[i]->d_name);
      run_fixture(devs[d], path);
    }
  for (int i = 0; i < n; i++) free(list[i]);
  free(list);
  test_close_all_devices(devs, ndev);
}
END_TEST

Suite *make_suite(void) {
  Suite *s = suite_create("parity with PyTorch");
  TCase *tc = tcase_create("fixtures");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, test_parity_all_fixtures);
  suite_add_tcase(s, tc);
  return s;
}

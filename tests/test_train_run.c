/* Training runs end to end on tiny synthetic data: run files, resume giving
 * the same result as an uninterrupted run, checkpoints that refuse
 * corruption, divergence stopping with its epoch and step, fixed-learnt gates
 * staying frozen, shuffled gates. */
#include <json-c/json.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dlgn/config_keys.h"
#include "dlgn/status.h"
#include "dlgn/train.h"
#include "dlgn/util.h"
#include "testutil.h"
#include "nn/model_internal.h"

static void tiny_config(dlgn_train_config *c, const char *dir, const char *name) {
  dlgn_train_config_default(c);
  c->model.arch = DLGN_FC;
  c->model.depth = 2;
  c->model.width = 16;
  c->epochs = 2;
  c->batch = 64;
  c->synth_train = 640;
  c->synth_test = 200;
  c->run.progress = 0;
  c->run.quiet = true;
  snprintf(c->data, sizeof c->data, "synthetic");
  snprintf(c->run.run_dir, sizeof c->run.run_dir, "%s/%s", dir, name);
}

static void read_ckpt(const char *run_dir, dlgn_checkpoint *ck) {
  char path[1200];
  snprintf(path, sizeof path, "%s/checkpoint.bin", run_dir);
  ck_assert_ok(dlgn_checkpoint_read(path, ck));
}

START_TEST(test_run_files_and_resume_equivalence) {
  char dir[256];
  test_tmpdir(dir, sizeof dir);
  dlgn_train_config a, b;
  tiny_config(&a, dir, "straight");
  a.augment = true; /* the augmentation draws must resume too */
  dlgn_train_summary s;
  ck_assert_ok(dlgn_train_run(&a, false, &s));
  ck_assert_int_eq(s.epochs_run, 2);
  ck_assert(s.synthetic);
  const char *files[] = {"config.json", "metrics.jsonl", "summary.json", "checkpoint.bin"};
  for (int i = 0; i < 4; i++) {
    char p[1200];
    snprintf(p, sizeof p, "%s/%s", a.run.run_dir, files[i]);
    ck_assert_msg(access(p, R_OK) == 0, "%s missing", p);
  }
  char p[1200], *text;
  snprintf(p, sizeof p, "%s/metrics.jsonl", a.run.run_dir);
  ck_assert_ok(dlgn_read_file(p, "test file", 1u << 20, &text, NULL));
  int lines = 0;
  for (char *q = text; *q; q++) lines += *q == '\n';
  ck_assert_int_eq(lines, 2);
  ck_assert_ptr_nonnull(strstr(text, "\"test_acc_hard\""));
  free(text);

  /* the same run in two pieces: 1 epoch, then --resume to 2 */
  tiny_config(&b, dir, "pieces");
  b.augment = true;
  b.epochs = 1;
  ck_assert_ok(dlgn_train_run(&b, false, &s));
  dlgn_train_config r = b;
  r.epochs = 2;
  ck_assert_ok(dlgn_train_run(&r, true, &s));
  ck_assert_int_eq(s.epochs_run, 2);
  dlgn_checkpoint ca, cb;
  read_ckpt(a.run.run_dir, &ca);
  read_ckpt(b.run.run_dir, &cb);
  ck_assert_int_eq(ca.epoch, 2);
  ck_assert_int_eq(cb.epoch, 2);
  ck_assert_int_eq(ca.step, cb.step);
  ck_assert_uint_eq(ca.nparams, cb.nparams);
  ck_assert_msg(memcmp(ca.params, cb.params, ca.nparams * sizeof(float)) == 0,
                "resumed run differs from the uninterrupted one");
  ck_assert(memcmp(ca.opt, cb.opt, ca.nopt * sizeof(float)) == 0);
  dlgn_checkpoint_free(&ca);
  dlgn_checkpoint_free(&cb);
  snprintf(p, sizeof p, "%s/metrics.jsonl", b.run.run_dir);
  ck_assert_ok(dlgn_read_file(p, "test file", 1u << 20, &text, NULL));
  lines = 0;
  for (char *q = text; *q; q++) lines += *q == '\n';
  ck_assert_int_eq(lines, 2);
  free(text);
  test_rmtree(dir);
}
END_TEST

START_TEST(test_checkpoint_corruption) {
  char dir[256];
  test_tmpdir(dir, sizeof dir);
  dlgn_train_config c;
  tiny_config(&c, dir, "run");
  c.epochs = 1;
  dlgn_train_summary s;
  ck_assert_ok(dlgn_train_run(&c, false, &s));
  char path[1200], *data;
  size_t len;
  snprintf(path, sizeof path, "%s/checkpoint.bin", c.run.run_dir);
  ck_assert_ok(dlgn_read_file(path, "checkpoint", 64u << 20, &data, &len));
  char bad[1300];
  snprintf(bad, sizeof bad, "%s/bad.bin", dir);
  dlgn_checkpoint ck;

  data[len / 2] ^= 0x40; /* one flipped bit in the parameters */
  ck_assert_ok(dlgn_write_file_atomic(bad, data, len));
  ck_assert_int_ne(dlgn_checkpoint_read(bad, &ck), 0);
  ck_assert_msg(strstr(dlgn_error(), "CRC-32 mismatch") && strstr(dlgn_error(), "bad.bin"), "%s",
                dlgn_error());
  data[len / 2] ^= 0x40;

  ck_assert_ok(dlgn_write_file_atomic(bad, data, len - 100));
  ck_assert_int_ne(dlgn_checkpoint_read(bad, &ck), 0);
  ck_assert_msg(strstr(dlgn_error(), "truncated"), "%s", dlgn_error());

  ck_assert_ok(dlgn_write_file_atomic(bad, "not a checkpoint at all", 23));
  ck_assert_int_ne(dlgn_checkpoint_read(bad, &ck), 0);
  ck_assert_msg(strstr(dlgn_error(), "not a dlgn checkpoint"), "%s", dlgn_error());

  /* a checkpoint of another shape cannot be resumed into this configuration */
  dlgn_train_config other;
  tiny_config(&other, dir, "other");
  other.model.width = 8;
  other.epochs = 1;
  ck_assert_ok(dlgn_train_run(&other, false, &s));
  char src[1300], dst[1300];
  snprintf(src, sizeof src, "%s/checkpoint.bin", other.run.run_dir);
  snprintf(dst, sizeof dst, "%s/checkpoint.bin", c.run.run_dir);
  ck_assert_int_eq(rename(src, dst), 0);
  dlgn_train_config r = c;
  r.epochs = 2;
  /* the checkpoint's own config wins on resume, so make it lie about its size */
  dlgn_checkpoint good;
  ck_assert_ok(dlgn_checkpoint_read(dst, &good));
  good.config.model.width = 16;
  ck_assert_ok(dlgn_checkpoint_write(dst, &good));
  dlgn_checkpoint_free(&good);
  ck_assert_int_ne(dlgn_train_run(&r, true, &s), 0);
  ck_assert_msg(strstr(dlgn_error(), "does not match"), "%s", dlgn_error());
  free(data);
  test_rmtree(dir);
}
END_TEST

START_TEST(test_divergence_stops_and_keeps_checkpoint) {
  char dir[256];
  test_tmpdir(dir, sizeof dir);
  dlgn_train_config c;
  tiny_config(&c, dir, "run");
  c.epochs = 1;
  dlgn_train_summary s;
  ck_assert_ok(dlgn_train_run(&c, false, &s));
  /* poison the head so that epoch 2 produces a non-finite loss at once */
  char path[1200];
  snprintf(path, sizeof path, "%s/checkpoint.bin", c.run.run_dir);
  dlgn_checkpoint ck;
  ck_assert_ok(dlgn_checkpoint_read(path, &ck));
  for (size_t i = ck.nparams - 170; i < ck.nparams; i++) ck.params[i] = 3e38f;
  ck_assert_ok(dlgn_checkpoint_write(path, &ck));
  dlgn_checkpoint_free(&ck);
  dlgn_train_config r = c;
  r.epochs = 2;
  ck_assert_int_ne(dlgn_train_run(&r, true, &s), 0);
  ck_assert_msg(strstr(dlgn_error(), "diverged") && strstr(dlgn_error(), "epoch 2, step 1 of"),
                "%s", dlgn_error());
  ck_assert_ok(dlgn_checkpoint_read(path, &ck));
  ck_assert_int_eq(ck.epoch, 1); /* the last good checkpoint is kept */
  dlgn_checkpoint_free(&ck);
  test_rmtree(dir);
}
END_TEST

START_TEST(test_fixed_learnt_gates_stay_frozen) {
  char dir[256];
  test_tmpdir(dir, sizeof dir);
  dlgn_train_config d;
  tiny_config(&d, dir, "dnn");
  d.model.cls = DLGN_DNN;
  d.model.value_input = DLGN_VALUE_IMAGE;
  d.epochs = 1;
  dlgn_train_summary s;
  ck_assert_ok(dlgn_train_run(&d, false, &s));
  dlgn_train_config f;
  tiny_config(&f, dir, "fixed");
  f.model.mode = DLGN_FIXED_LEARNT;
  f.model.cls = DLGN_DGN;
  f.model.value_input = DLGN_VALUE_IMAGE;
  f.run.class_given = false;
  ck_assert(snprintf(f.gates_from, sizeof f.gates_from, "%s/checkpoint.bin", d.run.run_dir) <
            (int)sizeof f.gates_from);
  f.epochs = 1;
  ck_assert_ok(dlgn_train_run(&f, false, &s));
  dlgn_checkpoint cd, cf;
  read_ckpt(d.run.run_dir, &cd);
  read_ckpt(f.run.run_dir, &cf);
  ck_assert_int_eq(cf.config.model.cls, DLGN_DGN); /* a dnn's gates make a dgn */
  dlgn_model lay = {0};
  ck_assert_ok(nn_model_layout(&lay, &cf.config.model));
  ck_assert_msg(memcmp(cd.params, cf.params, lay.feat.end * sizeof(float)) == 0,
                "the frozen feature network changed");
  ck_assert_uint_eq(cf.nopt, 2 * (lay.nparams - lay.value.begin)); /* Adam on [value][head] */

  /* a gated class given explicitly must match the source */
  dlgn_train_config g = f;
  g.run.class_given = true;
  g.model.cls = DLGN_DLGN;
  snprintf(g.run.run_dir, sizeof g.run.run_dir, "%s/mismatch", dir);
  ck_assert_int_ne(dlgn_train_run(&g, false, &s), 0);
  ck_assert_msg(strstr(dlgn_error(), "make a dgn"), "%s", dlgn_error());
  dlgn_checkpoint_free(&cd);
  dlgn_checkpoint_free(&cf);
  test_rmtree(dir);
}
END_TEST

/* A ResNet-8 dlgn (strided stages, shortcuts, batch norm) through the
 * checkpoint: the run in two pieces equals the uninterrupted one. */
START_TEST(test_resnet_resume_equivalence) {
  char dir[256];
  test_tmpdir(dir, sizeof dir);
  dlgn_train_config a, b;
  tiny_config(&a, dir, "straight");
  a.model.arch = DLGN_RESNET;
  a.model.depth = 8;
  a.model.width = 2;
  a.model.batchnorm = true;
  a.synth_train = 128;
  a.synth_test = 64;
  b = a;
  snprintf(b.run.run_dir, sizeof b.run.run_dir, "%s/pieces", dir);
  dlgn_train_summary s;
  ck_assert_ok(dlgn_train_run(&a, false, &s));
  b.epochs = 1;
  ck_assert_ok(dlgn_train_run(&b, false, &s));
  b.epochs = 2;
  ck_assert_ok(dlgn_train_run(&b, true, &s));
  dlgn_checkpoint ca, cb;
  read_ckpt(a.run.run_dir, &ca);
  read_ckpt(b.run.run_dir, &cb);
  ck_assert_int_eq(cb.config.model.arch, DLGN_RESNET);
  ck_assert_int_eq(cb.config.model.depth, 8);
  ck_assert_uint_eq(ca.nparams, cb.nparams);
  ck_assert_uint_eq(ca.nstate, cb.nstate);
  ck_assert_msg(memcmp(ca.params, cb.params, ca.nparams * sizeof(float)) == 0,
                "resumed resnet differs from the uninterrupted one");
  ck_assert(memcmp(ca.state, cb.state, ca.nstate * sizeof(float)) == 0);
  dlgn_checkpoint_free(&ca);
  dlgn_checkpoint_free(&cb);
  test_rmtree(dir);
}
END_TEST

START_TEST(test_shuffled_gates_are_permutations) {
  dlgn_model_config c;
  dlgn_model_config_default(&c);
  c.depth = 6;
  c.shuffle = DLGN_SHUFFLE_LAYERS;
  c.shuffle_seed = 7;
  dlgn_model m = {0};
  ck_assert_ok(nn_model_layout(&m, &c));
  int seen[DLGN_MAX_LAYERS] = {0}, moved = 0;
  for (int l = 0; l < 6; l++) {
    seen[m.gate_src[l]]++;
    moved += m.gate_src[l] != l;
  }
  for (int l = 0; l < 6; l++) ck_assert_int_eq(seen[l], 1);
  ck_assert_int_gt(moved, 0);
  /* VGG: layers of different shape never swap gates */
  c.arch = DLGN_VGG16;
  c.depth = 13;
  c.width = 4;
  ck_assert_ok(nn_model_layout(&m, &c));
  for (int l = 0; l < 13; l++) {
    const nn_layer *a = &m.feat.layers[l], *b = &m.feat.layers[m.gate_src[l]];
    ck_assert_int_eq(a->out_c, b->out_c);
    ck_assert_int_eq(a->h, b->h);
  }
  /* and the combinations that mean nothing are refused */
  c.cls = DLGN_DNN;
  c.value_input = DLGN_VALUE_IMAGE;
  ck_assert_int_ne(dlgn_model_config_check(&c), 0);
  ck_assert_msg(strstr(dlgn_error(), "shuffle"), "%s", dlgn_error());
}
END_TEST

START_TEST(test_config_json_round_trip) {
  dlgn_train_config a, b;
  dlgn_train_config_default(&a);
  a.model.cls = DLGN_DLGN_SF;
  a.model.arch = DLGN_VGG16;
  a.model.depth = 13;
  a.model.batchnorm = true;
  a.model.shuffle = DLGN_SHUFFLE_CHANNELS;
  a.optimizer = DLGN_SGD;
  a.lr = 0.05f;
  a.schedule = DLGN_LR_COSINE;
  a.train_limit = 1234;
  snprintf(a.gates_from, sizeof a.gates_from, "x/y.bin");
  char *text = dlgn_train_config_to_json(&a);
  dlgn_train_config_default(&b);
  ck_assert_ok(dlgn_train_config_from_json(&b, text, "test"));
  free(text);
  ck_assert_int_eq(b.model.cls, DLGN_DLGN_SF);
  ck_assert_int_eq(b.model.arch, DLGN_VGG16);
  ck_assert(b.model.batchnorm);
  ck_assert_int_eq(b.model.shuffle, DLGN_SHUFFLE_CHANNELS);
  ck_assert_int_eq(b.optimizer, DLGN_SGD);
  ck_assert_float_eq_tol(b.lr, 0.05f, 1e-7f);
  ck_assert_int_eq(b.schedule, DLGN_LR_COSINE);
  ck_assert_uint_eq(b.train_limit, 1234);
  ck_assert_str_eq(b.gates_from, "x/y.bin");
  ck_assert_int_ne(dlgn_train_config_from_json(&b, "{\"lr\": 0.1, \"epochz\": 3}", "sweep.json"), 0);
  ck_assert_msg(strstr(dlgn_error(), "unknown configuration key \"epochz\""), "%s", dlgn_error());
  ck_assert_int_ne(dlgn_train_config_from_json(&b, "{\"class\": \"cnn\"}", "sweep.json"), 0);
  ck_assert_msg(strstr(dlgn_error(), "cnn"), "%s", dlgn_error());
  /* a number inside a range as a double but not as the float that is kept:
   * 1e-50 would be stored as 0 and refused when the run is resumed */
  ck_assert_int_ne(dlgn_train_config_from_json(&b, "{\"adam_eps\": 1e-50}", "sweep.json"), 0);
  ck_assert_msg(strstr(dlgn_error(), "adam_eps"), "%s", dlgn_error());
  ck_assert_int_ne(dlgn_train_config_from_json(&b, "{\"momentum\": 0.9999999999}", "s.json"), 0);
  /* learning-rate schedules */
  a.lr = 1.0f;
  a.schedule = DLGN_LR_COSINE;
  ck_assert_float_eq_tol(dlgn_lr_at(&a, 0, 10, 100), 1.0f, 1e-6f);
  ck_assert_float_eq_tol(dlgn_lr_at(&a, 50, 10, 100), 0.5f, 1e-6f);
  a.schedule = DLGN_LR_STEP;
  a.step_every = 2;
  a.step_gamma = 0.1f;
  ck_assert_float_eq_tol(dlgn_lr_at(&a, 19, 10, 100), 1.0f, 1e-6f);
  ck_assert_float_eq_tol(dlgn_lr_at(&a, 20, 10, 100), 0.1f, 1e-6f);
}
END_TEST

/* The schema: every key round-trips through its option text and through
 * config.json, run-scope keys are the fields of c->run and no others, and
 * no two rows share a key or an option. */
START_TEST(test_config_schema) {
  dlgn_train_config d, c;
  dlgn_train_config_default(&d);
  size_t run_begin = offsetof(dlgn_train_config, run), run_end = run_begin + sizeof d.run;
  for (int i = 0; i < dlgn_config_nkeys; i++) {
    const dlgn_config_key *k = &dlgn_config_keys[i];
    bool in_run = k->offset >= run_begin && k->offset + k->size <= run_end;
    ck_assert_msg(in_run == (k->scope == DLGN_SCOPE_RUN), "%s: scope and field disagree",
                  k->key ? k->key : k->flag);
    for (int j = 0; j < i; j++) {
      const dlgn_config_key *o = &dlgn_config_keys[j];
      ck_assert(!(k->key && o->key && !strcmp(k->key, o->key)));
      ck_assert(!(k->flag && o->flag && !strcmp(k->flag, o->flag)));
    }
    ck_assert(dlgn_config_key_is_default(k, &d));
    if (!k->flag || k->type == DLGN_KEY_BOOL) continue;
    char text[1100];
    dlgn_config_key_format(k, &d, text, sizeof text);
    memset(&c, 0, sizeof c);
    ck_assert_msg(dlgn_config_key_parse(k, &c, text) == 0 || (k->type == DLGN_KEY_TEXT && !text[0]),
                  "%s: %s", k->flag, dlgn_error());
    if (k->type != DLGN_KEY_TEXT) ck_assert_msg(dlgn_config_key_is_default(k, &c), "%s", k->flag);
  }
  /* the model's own defaults (for programs that build a model alone) are the schema's */
  dlgn_model_config m;
  dlgn_model_config_default(&m);
  ck_assert(memcmp(&m, &d.model, sizeof m) == 0);
  /* the defaults survive config.json */
  char *text = dlgn_train_config_to_json(&d);
  ck_assert_ptr_nonnull(text);
  dlgn_train_config_default(&c);
  c.lr = 0.5f;
  c.labels = DLGN_LABELS_COARSE;
  ck_assert_ok(dlgn_train_config_from_json(&c, text, "test"));
  free(text);
  ck_assert_float_eq(c.lr, d.lr);
  ck_assert_int_eq(c.labels, DLGN_LABELS_FINE);
  /* a range from the table, in the option's words and the key's */
  ck_assert_int_ne(dlgn_config_key_parse(dlgn_config_key_by_flag("momentum"), &c, "1"), 0);
  ck_assert_msg(strstr(dlgn_error(), "--momentum: expected a number in [0, 1)"), "%s", dlgn_error());
  ck_assert_int_ne(dlgn_train_config_from_json(&c, "{\"decoupled_weight_decay\": 2}", "s.json"), 0);
  ck_assert_msg(strstr(dlgn_error(), "\"decoupled_weight_decay\" must be a number in [0, 1]"), "%s",
                dlgn_error());
  dlgn_error_clear();
}
END_TEST

Suite *make_suite(void) {
  Suite *s = suite_create("training runs");
  TCase *tc = tcase_create("runs");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, test_config_schema);
  tcase_add_test(tc, test_run_files_and_resume_equivalence);
  tcase_add_test(tc, test_checkpoint_corruption);
  tcase_add_test(tc, test_divergence_stops_and_keeps_checkpoint);
  tcase_add_test(tc, test_fixed_learnt_gates_stay_frozen);
  tcase_add_test(tc, test_shuffled_gates_are_permutations);
  tcase_add_test(tc, test_resnet_resume_equivalence);
  tcase_add_test(tc, test_config_json_round_trip);
  suite_add_tcase(s, tc);
  return s;
}

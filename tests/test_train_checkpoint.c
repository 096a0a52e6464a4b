/* Checkpoint headers are checked field by field against the configuration
 * and the payload, also when the CRC matches: each case below edits the
 * header of a good checkpoint and writes it back with a fresh CRC, as a
 * hostile or careless editor would. No device needed. */
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <zlib.h>

#include "dlgn/status.h"
#include "dlgn/train.h"
#include "dlgn/util.h"
#include "testutil.h"
#include "nn/model_internal.h"

static char dir[256];
static void setup(void) { test_tmpdir(dir, sizeof dir); }
static void teardown(void) { test_rmtree(dir); }

static const char *tmp_path(const char *name) {
  static char p[2][512];
  static int k;
  k ^= 1;
  snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
  return p[k];
}

/* A small fc dlgn after 2 of 3 epochs, with Adam state. */
static void good_checkpoint(dlgn_checkpoint *ck) {
  memset(ck, 0, sizeof *ck);
  dlgn_train_config_default(&ck->config);
  dlgn_model_config *m = &ck->config.model;
  m->arch = DLGN_FC;
  m->depth = 2;
  m->width = 8;
  ck->config.epochs = 3;
  dlgn_model layout;
  memset(&layout, 0, sizeof layout);
  ck_assert_ok(nn_model_layout(&layout, m));
  ck->epoch = 2;
  ck->step = 20;
  ck->nparams = layout.nparams;
  ck->nstate = layout.nstate;
  ck->nopt = 2 * (layout.train_end - layout.train_begin);
  ck->params = calloc(ck->nparams, sizeof(float));
  ck->state = calloc(ck->nstate + 1, sizeof(float));
  ck->opt = calloc(ck->nopt, sizeof(float));
  for (size_t i = 0; i < ck->nparams; i++) ck->params[i] = 0.001f * (float)(i % 97);
  for (int c = 0; c < 3; c++) ck->mean[c] = 0.5f, ck->std[c] = 0.25f;
  ck->best.epoch = 2;
  ck->best.train_soft = ck->best.train_hard = -1;
}

typedef struct {
  char *data;
  size_t len;
  uint32_t hlen;
} raw_file;

static void read_raw(const char *path, raw_file *r) {
  ck_assert_ok(dlgn_read_file(path, "checkpoint", 64u << 20, &r->data, &r->len));
  memcpy(&r->hlen, r->data + 12, 4);
}

/* The bytes of a good checkpoint written to tmp_path("good.bin"). */
static void good_raw(raw_file *r) {
  dlgn_checkpoint ck;
  good_checkpoint(&ck);
  const char *path = tmp_path("good.bin");
  ck_assert_ok(dlgn_checkpoint_write(path, &ck));
  dlgn_checkpoint_free(&ck);
  read_raw(path, r);
}

/* The file with header text h instead of its own, and a matching CRC. */
static void write_with_header(const char *path, const raw_file *r, const char *h) {
  uint32_t hlen = (uint32_t)strlen(h);
  size_t payload = r->len - 16 - r->hlen - 4;
  size_t n = 16 + hlen + payload + 4;
  unsigned char *out = malloc(n);
  ck_assert_ptr_nonnull(out);
  memcpy(out, r->data, 12);
  memcpy(out + 12, &hlen, 4);
  memcpy(out + 16, h, hlen);
  memcpy(out + 16 + hlen, r->data + 16 + r->hlen, payload);
  uint32_t crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), out, (uInt)(n - 4));
  memcpy(out + n - 4, &crc, 4);
  ck_assert_ok(dlgn_write_file_atomic(path, out, n));
  free(out);
}

/* The header as JSON, for editing (json_object_put it). */
static json_object *header_of(const raw_file *r) {
  char *h = strndup(r->data + 16, r->hlen);
  json_object *o = json_tokener_parse(h);
  free(h);
  ck_assert_ptr_nonnull(o);
  return o;
}

static void expect_rejected(const char *path, const char *part) {
  dlgn_checkpoint ck;
  memset(&ck, 0xab, sizeof ck);
  dlgn_error_clear();
  ck_assert_int_eq(dlgn_checkpoint_read(path, &ck), -1);
  const char *msg = dlgn_error();
  ck_assert_msg(strstr(msg, path) && strstr(msg, part), "message lacks '%s': %s", part, msg);
  ck_assert_msg(!strchr(msg, '\n'), "not one line: %s", msg);
  /* nothing left half-initialised */
  ck_assert_ptr_null(ck.params);
  ck_assert_ptr_null(ck.state);
  ck_assert_ptr_null(ck.opt);
}

/* Edit the header with fn, write it back re-checksummed, expect part. */
static void edited(const raw_file *r, void (*fn)(json_object *), const char *part) {
  json_object *h = header_of(r);
  fn(h);
  const char *path = tmp_path("edited.bin");
  write_with_header(path, r, json_object_to_json_string_ext(h, JSON_C_TO_STRING_PLAIN));
  json_object_put(h);
  expect_rejected(path, part);
}

static void mean_two(json_object *h) {
  json_object *mean;
  json_object_object_get_ex(h, "mean", &mean);
  json_object_array_del_idx(mean, 2, 1);
}
static void no_nstate(json_object *h) { json_object_object_del(h, "nstate"); }
static void seven_classes(json_object *h) {
  json_object *c;
  json_object_object_get_ex(h, "config", &c);
  json_object_object_add(c, "num_classes", json_object_new_int(7));
}
static void step_minus_one(json_object *h) {
  json_object_object_add(h, "step", json_object_new_int(-1));
}
static void epoch_past_config(json_object *h) {
  json_object_object_add(h, "epoch", json_object_new_int(4));
}
static void epoch_as_string(json_object *h) {
  json_object_object_add(h, "epoch", json_object_new_string("2"));
}
static void more_params(json_object *h) {
  json_object *v;
  json_object_object_get_ex(h, "nparams", &v);
  json_object_object_add(h, "nparams", json_object_new_int64(json_object_get_int64(v) + 1));
}
static void std_zero(json_object *h) {
  json_object *std;
  json_object_object_get_ex(h, "std", &std);
  json_object_array_put_idx(std, 1, json_object_new_double(0));
}
static void unknown_field(json_object *h) {
  json_object_object_add(h, "comment", json_object_new_string("hi"));
}
static void nan_beta(json_object *h) {
  json_object *c;
  json_object_object_get_ex(h, "config", &c);
  json_object_object_add(c, "beta", json_object_new_double(-4));
}
static void best_later(json_object *h) {
  json_object *b;
  json_object_object_get_ex(h, "best", &b);
  json_object_object_add(b, "epoch", json_object_new_int(3));
}

START_TEST(edited_headers) {
  dlgn_checkpoint ck;
  raw_file r;
  good_raw(&r);
  /* the unedited header, rewritten the same way, reads back */
  json_object *h = header_of(&r);
  const char *same = tmp_path("same.bin");
  write_with_header(same, &r, json_object_to_json_string_ext(h, JSON_C_TO_STRING_PLAIN));
  json_object_put(h);
  ck_assert_ok(dlgn_checkpoint_read(same, &ck));
  ck_assert_int_eq(ck.epoch, 2);
  ck_assert_int_eq(ck.step, 20);
  dlgn_checkpoint_free(&ck);

  edited(&r, mean_two, "\"mean\" is not an array of 3 numbers");
  edited(&r, no_nstate, "\"nstate\" is missing");
  edited(&r, seven_classes, "has 7 classes");
  edited(&r, step_minus_one, "\"step\" is -1, outside 0..");
  edited(&r, epoch_past_config, "\"epoch\" is 4, outside 0..3");
  edited(&r, epoch_as_string, "\"epoch\" is missing or not an integer");
  edited(&r, more_params, "does not match its configuration");
  edited(&r, std_zero, "\"std\" entry 1 is not a positive finite number");
  edited(&r, unknown_field, "unknown header field \"comment\"");
  edited(&r, nan_beta, "\"beta\" must be a number in");
  edited(&r, best_later, "best epoch 3");
  free(r.data);
}
END_TEST

/* Header text that is not exactly one JSON object. */
START_TEST(header_text) {
  raw_file r;
  good_raw(&r);
  char *h = strndup(r.data + 16, r.hlen);
  size_t n = strlen(h);
  char *extra = malloc(n + 8);
  snprintf(extra, n + 8, "%s {}", h);
  const char *bad = tmp_path("bad.bin");
  write_with_header(bad, &r, extra);
  expect_rejected(bad, "not one JSON object");
  write_with_header(bad, &r, "[1, 2, 3]");
  expect_rejected(bad, "not a JSON object");
  h[n - 1] = '\0'; /* the closing brace gone */
  write_with_header(bad, &r, h);
  expect_rejected(bad, "not one JSON object");
  free(extra);
  free(h);
  free(r.data);
}
END_TEST

/* A flipped bit in the header length is damage, not a short file. */
START_TEST(header_length) {
  dlgn_checkpoint ck;
  raw_file r;
  good_raw(&r);
  const int bytes[] = {12, 13, 14, 15};
  for (int i = 0; i < 4; i++) {
    r.data[bytes[i]] ^= 0x40;
    const char *bad = tmp_path("flipped.bin");
    ck_assert_ok(dlgn_write_file_atomic(bad, r.data, r.len));
    dlgn_error_clear();
    ck_assert_int_eq(dlgn_checkpoint_read(bad, &ck), -1);
    ck_assert_msg(strstr(dlgn_error(), "corrupt") && !strstr(dlgn_error(), "truncated"), "%s",
                  dlgn_error());
    r.data[bytes[i]] ^= 0x40;
  }
  /* shorter than the header says: truncated, with the sizes */
  const char *cut = tmp_path("cut.bin");
  ck_assert_ok(dlgn_write_file_atomic(cut, r.data, r.len - 8));
  expect_rejected(cut, "is truncated");
  free(r.data);
}
END_TEST

/* A failed write says what is on disk: with no earlier checkpoint, nothing
 * is "kept". The file-size limit stands in for a full disk. */
START_TEST(failed_write_message) {
  dlgn_checkpoint ck;
  good_checkpoint(&ck);
  const char *path = tmp_path("checkpoint.bin");
  signal(SIGXFSZ, SIG_IGN); /* a write past the limit fails with EFBIG instead */
  struct rlimit lim, saved;
  ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &saved), 0);
  lim = saved;
  lim.rlim_cur = 4096; /* the soft limit only: it can be raised again */
  ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
  dlgn_error_clear();
  ck_assert_int_eq(dlgn_checkpoint_write(path, &ck), -1);
  ck_assert_msg(strstr(dlgn_error(), "no checkpoint of this run is on disk yet") &&
                    !strstr(dlgn_error(), "kept"),
                "%s", dlgn_error());
  ck_assert_int_ne(access(path, F_OK), 0);
  char tmp[600];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  ck_assert_int_ne(access(tmp, F_OK), 0);
  /* with an earlier checkpoint in place, that one is kept, intact */
  ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &saved), 0);
  ck_assert_ok(dlgn_checkpoint_write(path, &ck));
  ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
  ck.epoch = 3;
  ck_assert_int_eq(dlgn_checkpoint_write(path, &ck), -1);
  ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &saved), 0);
  ck_assert_msg(strstr(dlgn_error(), "the previous checkpoint is kept"), "%s", dlgn_error());
  dlgn_checkpoint_free(&ck);
  ck_assert_ok(dlgn_checkpoint_read(path, &ck));
  ck_assert_int_eq(ck.epoch, 2);
  dlgn_checkpoint_free(&ck);
}
END_TEST

Suite *make_suite(void) {
  Suite *s = suite_create("train_checkpoint");
  TCase *tc = tcase_create("checkpoint");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, edited_headers);
  tcase_add_test(tc, header_text);
  tcase_add_test(tc, header_length);
  tcase_add_test(tc, failed_write_message);
  suite_add_tcase(s, tc);
  return s;
}

/* The batcher: order and augmentation depend only on (seed, epoch); every
 * image once per epoch; limit and drop_last; batches hold the images and
 * labels they claim. */
#include <stdlib.h>
#include <string.h>

#include "dlgn/data.h"
#include "dlgn/status.h"
#include "testutil.h"

/* Image i carries its index in its first four bytes and label i % 10. */
static dlgn_split make_split(size_t n) {
  dlgn_split s = {.n = n};
  s.images = calloc(n, DLGN_IMAGE_BYTES);
  s.labels = malloc(n);
  for (size_t i = 0; i < n; i++) {
    uint32_t v = (uint32_t)i;
    memcpy(s.images + i * DLGN_IMAGE_BYTES, &v, sizeof v);
    s.images[i * DLGN_IMAGE_BYTES + DLGN_IMAGE_BYTES - 1] = (uint8_t)(i * 7);
    s.labels[i] = (uint8_t)(i % 10);
  }
  return s;
}

static void free_split(dlgn_split *s) {
  free(s->images);
  free(s->labels);
}

typedef struct {
  size_t count;
  uint32_t idx[1000];
  dlgn_aug aug[1000];
  int sizes[100];
  int nbatches;
} epoch_log;

/* Runs one epoch, checking each batch's contents against its claimed images. */
static void run_epoch(dlgn_batcher *b, const dlgn_split *s, int epoch, epoch_log *log) {
  memset(log, 0, sizeof *log);
  ck_assert_ok(dlgn_batcher_start_epoch(b, epoch));
  dlgn_batch batch;
  int r;
  while ((r = dlgn_batcher_next(b, &batch)) == 1) {
    ck_assert_uint_eq(batch.index, (size_t)log->nbatches);
    log->sizes[log->nbatches++] = batch.n;
    for (int i = 0; i < batch.n; i++) {
      uint32_t k;
      memcpy(&k, batch.images + (size_t)i * DLGN_IMAGE_BYTES, sizeof k);
      ck_assert_uint_lt(k, s->n);
      ck_assert_int_eq(batch.labels[i], s->labels[k]);
      ck_assert_uint_eq(batch.images[(size_t)i * DLGN_IMAGE_BYTES + DLGN_IMAGE_BYTES - 1],
                        (uint8_t)(k * 7));
      log->aug[log->count] = batch.aug[i];
      log->idx[log->count++] = k;
    }
  }
  ck_assert_int_eq(r, 0);
  ck_assert_uint_eq((size_t)log->nbatches, dlgn_batcher_batches_per_epoch(b));
}

static int same_epoch(const epoch_log *a, const epoch_log *b) {
  return a->count == b->count && memcmp(a->idx, b->idx, a->count * sizeof a->idx[0]) == 0 &&
         memcmp(a->aug, b->aug, a->count * sizeof a->aug[0]) == 0;
}

START_TEST(batcher_every_image_once_and_deterministic) {
  dlgn_split s = make_split(103);
  dlgn_batcher_options opt = {.batch = 10, .shuffle = true, .augment = true, .seed = 11};
  dlgn_batcher *a, *b;
  ck_assert_ok(dlgn_batcher_create(&a, &s, &opt));
  ck_assert_ok(dlgn_batcher_create(&b, &s, &opt));
  ck_assert_uint_eq(dlgn_batcher_batches_per_epoch(a), 11);
  static epoch_log e0, e1, e1_again, e1_other;
  run_epoch(a, &s, 0, &e0);
  run_epoch(a, &s, 1, &e1);
  /* A second batcher started straight at epoch 1, as a resumed run would be. */
  run_epoch(b, &s, 1, &e1_again);
  ck_assert(same_epoch(&e1, &e1_again));
  ck_assert(!same_epoch(&e0, &e1));
  ck_assert_int_eq(e1.sizes[10], 3);
  int seen[103] = {0};
  for (size_t i = 0; i < e1.count; i++) seen[e1.idx[i]]++;
  for (int i = 0; i < 103; i++) ck_assert_int_eq(seen[i], 1);
  /* Another seed, another order. */
  dlgn_batcher_destroy(b);
  opt.seed = 12;
  ck_assert_ok(dlgn_batcher_create(&b, &s, &opt));
  run_epoch(b, &s, 1, &e1_other);
  ck_assert(!same_epoch(&e1, &e1_other));
  dlgn_batcher_destroy(a);
  dlgn_batcher_destroy(b);
  free_split(&s);
}
END_TEST

START_TEST(batcher_augmentation_range) {
  dlgn_split s = make_split(500);
  dlgn_batcher_options opt = {.batch = 64, .shuffle = true, .augment = true, .seed = 3};
  dlgn_batcher *b;
  ck_assert_ok(dlgn_batcher_create(&b, &s, &opt));
  static epoch_log e;
  run_epoch(b, &s, 0, &e);
  int hits_dy[9] = {0}, hits_dx[9] = {0}, flips = 0;
  for (size_t i = 0; i < e.count; i++) {
    ck_assert_int_ge(e.aug[i].dy, -4);
    ck_assert_int_le(e.aug[i].dy, 4);
    ck_assert_int_ge(e.aug[i].dx, -4);
    ck_assert_int_le(e.aug[i].dx, 4);
    ck_assert(e.aug[i].flip == 0 || e.aug[i].flip == 1);
    hits_dy[e.aug[i].dy + 4]++;
    hits_dx[e.aug[i].dx + 4]++;
    flips += e.aug[i].flip;
  }
  for (int v = 0; v < 9; v++) ck_assert(hits_dy[v] > 0 && hits_dx[v] > 0);
  ck_assert(flips > 150 && flips < 350);
  dlgn_batcher_destroy(b);
  /* Off: all zero, and the order is the identity without shuffle. */
  opt.augment = false;
  opt.shuffle = false;
  ck_assert_ok(dlgn_batcher_create(&b, &s, &opt));
  run_epoch(b, &s, 5, &e);
  for (size_t i = 0; i < e.count; i++) {
    ck_assert_uint_eq(e.idx[i], i);
    ck_assert(e.aug[i].dy == 0 && e.aug[i].dx == 0 && e.aug[i].flip == 0);
  }
  dlgn_batcher_destroy(b);
  free_split(&s);
}
END_TEST

START_TEST(batcher_limit_and_drop_last) {
  dlgn_split s = make_split(100);
  dlgn_batcher_options opt = {
      .batch = 8, .shuffle = true, .drop_last = true, .limit = 50, .seed = 1};
  dlgn_batcher *b;
  ck_assert_ok(dlgn_batcher_create(&b, &s, &opt));
  ck_assert_uint_eq(dlgn_batcher_batches_per_epoch(b), 6);
  static epoch_log e;
  run_epoch(b, &s, 2, &e);
  ck_assert_uint_eq(e.count, 48);
  for (int i = 0; i < e.nbatches; i++) ck_assert_int_eq(e.sizes[i], 8);
  for (size_t i = 0; i < e.count; i++) ck_assert_uint_lt(e.idx[i], 50);
  /* Stopping mid-epoch and starting the next one is fine. */
  dlgn_batch batch;
  ck_assert_ok(dlgn_batcher_start_epoch(b, 3));
  ck_assert_int_eq(dlgn_batcher_next(b, &batch), 1);
  run_epoch(b, &s, 4, &e);
  ck_assert_uint_eq(e.count, 48);
  dlgn_batcher_destroy(b);
  /* A limit past the end means all; a batch larger than the split gives one batch. */
  opt = (dlgn_batcher_options){.batch = 1000, .limit = 5000};
  ck_assert_ok(dlgn_batcher_create(&b, &s, &opt));
  ck_assert_uint_eq(dlgn_batcher_batches_per_epoch(b), 1);
  run_epoch(b, &s, 0, &e);
  ck_assert_uint_eq(e.count, 100);
  dlgn_batcher_destroy(b);
  opt.drop_last = true;
  ck_assert_ok(dlgn_batcher_create(&b, &s, &opt));
  ck_assert_uint_eq(dlgn_batcher_batches_per_epoch(b), 0);
  run_epoch(b, &s, 0, &e);
  dlgn_batcher_destroy(b);
  free_split(&s);
}
END_TEST

START_TEST(batcher_misuse) {
  dlgn_split s = make_split(10);
  dlgn_batcher_options opt = {.batch = 0};
  dlgn_batcher *b;
  ck_assert_int_eq(dlgn_batcher_create(&b, &s, &opt), -1);
  ck_assert_ptr_nonnull(strstr(dlgn_error(), "batch size"));
  opt.batch = 4;
  ck_assert_ok(dlgn_batcher_create(&b, &s, &opt));
  dlgn_batch batch;
  ck_assert_int_eq(dlgn_batcher_next(b, &batch), -1);
  ck_assert_ptr_nonnull(strstr(dlgn_error(), "start_epoch"));
  ck_assert_int_eq(dlgn_batcher_start_epoch(b, -1), -1);
  dlgn_batcher_destroy(b);
  free_split(&s);
}
END_TEST

START_TEST(split_channel_stats) {
  /* Channel 0: one image all 0, one all 255 -> mean 0.5, std 0.5; channel 1
   * constant 51 -> 0.2, 0; channel 2: half 0, half 255 in each image. */
  dlgn_split s = make_split(2);
  for (int i = 0; i < 2; i++) {
    uint8_t *img = s.images + (size_t)i * DLGN_IMAGE_BYTES;
    memset(img, i ? 255 : 0, 1024);
    memset(img + 1024, 51, 1024);
    memset(img + 2048, 0, 512);
    memset(img + 2560, 255, 512);
  }
  float mean[3], std[3];
  dlgn_split_channel_stats(&s, mean, std);
  ck_assert_float_eq_tol(mean[0], 0.5f, 1e-6f);
  ck_assert_float_eq_tol(std[0], 0.5f, 1e-6f);
  ck_assert_float_eq_tol(mean[1], 0.2f, 1e-6f);
  ck_assert_float_eq_tol(std[1], 0.0f, 1e-6f);
  ck_assert_float_eq_tol(mean[2], 0.5f, 1e-6f);
  ck_assert_float_eq_tol(std[2], 0.5f, 1e-6f);
  free_split(&s);
}
END_TEST

Suite *make_suite(void) {
  Suite *s = suite_create("data_batcher");
  TCase *tc = tcase_create("batcher");
  tcase_add_test(tc, batcher_every_image_once_and_deterministic);
  tcase_add_test(tc, batcher_augmentation_range);
  tcase_add_test(tc, batcher_limit_and_drop_last);
  tcase_add_test(tc, batcher_misuse);
  tcase_add_test(tc, split_channel_stats);
  suite_add_tcase(s, tc);
  return s;
}

/* Seeded batching with a producer thread. start_epoch draws the epoch's
 * order and augmentation choices up front (so they depend only on (seed,
 * epoch), never on thread timing); the producer then gathers batch i+1 into
 * the free one of two slots while the caller uses batch i. Every buffer is
 * allocated in create. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "dlgn/data.h"
#include "dlgn/rng.h"
#include "dlgn/status.h"

#define AUG_PAD 4
#define STREAM_ORDER 0x6f726465725f6261ull
#define STREAM_AUG 0x6175676d656e7461ull

typedef struct {
  uint8_t *images;
  int32_t *labels;
  int n;
  size_t index;
  bool ready;
} batch_slot;

struct dlgn_batcher {
  const dlgn_split *split;
  dlgn_batcher_options opt;
  size_t n; /* images used (limit applied) */
  size_t nbatches;
  uint32_t *order; /* (n) this epoch's order */
  dlgn_aug *aug;   /* (n) this epoch's choices, by position in the order */
  batch_slot slot[2];
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  bool started, stop, epoch_active, producing;
  size_t produce_next, consume_next;
  int held; /* slot handed to the caller, or -1 */
};

static uint64_t stream_seed(uint64_t seed, int epoch, uint64_t stream) {
  return seed ^ stream ^ ((uint64_t)(uint32_t)epoch * 0x9e3779b97f4a7c15ull);
}

static void gather(const dlgn_batcher *b, batch_slot *s, size_t index) {
  size_t first = index * (size_t)b->opt.batch;
  size_t n = b->n - first < (size_t)b->opt.batch ? b->n - first : (size_t)b->opt.batch;
  for (size_t i = 0; i < n; i++) {
    uint32_t k = b->order[first + i];
    memcpy(s->images + i * DLGN_IMAGE_BYTES, b->split->images + (size_t)k * DLGN_IMAGE_BYTES,
           DLGN_IMAGE_BYTES);
    s->labels[i] = b->split->labels[k];
  }
  s->n = (int)n;
  s->index = index;
}

static void *producer_main(void *arg) {
  dlgn_batcher *b = arg;
  pthread_mutex_lock(&b->mu);
  for (;;) {
    while (!b->stop &&
           !(b->epoch_active && b->produce_next < b->nbatches &&
             !b->slot[b->produce_next % 2].ready && b->held != (int)(b->produce_next % 2)))
      pthread_cond_wait(&b->cv, &b->mu);
    if (b->stop) break;
    size_t index = b->produce_next++;
    batch_slot *s = &b->slot[index % 2];
    b->producing = true;
    pthread_mutex_unlock(&b->mu);
    gather(b, s, index);
    pthread_mutex_lock(&b->mu);
    b->producing = false;
    s->ready = true;
    pthread_cond_broadcast(&b->cv);
  }
  pthread_mutex_unlock(&b->mu);
  return NULL;
}

size_t dlgn_batcher_batches_per_epoch(const dlgn_batcher *b) { return b->nbatches; }

int dlgn_batcher_create(dlgn_batcher **out, const dlgn_split *split,
                        const dlgn_batcher_options *opt) {
  *out = NULL;
  if (opt->batch <= 0)
    return dlgn_fail("batcher: batch size must be positive (got %d)", opt->batch);
  size_t n = opt->limit && opt->limit < split->n ? opt->limit : split->n;
  if (n > UINT32_MAX) return dlgn_fail("batcher: %zu images are more than it indexes", n);
  dlgn_batcher *b = dlgn_calloc(1, sizeof *b, "the batcher");
  if (!b) return -1;
  b->split = split;
  b->opt = *opt;
  b->n = n;
  b->nbatches =
      opt->drop_last ? n / (size_t)opt->batch : (n + (size_t)opt->batch - 1) / (size_t)opt->batch;
  b->held = -1;
  b->order = dlgn_malloc((n ? n : 1) * sizeof *b->order, "the batch order");
  b->aug = dlgn_calloc(n ? n : 1, sizeof *b->aug, "the augmentation choices");
  bool ok = b->order && b->aug;
  for (int i = 0; ok && i < 2; i++) {
    b->slot[i].images = dlgn_malloc((size_t)opt->batch * DLGN_IMAGE_BYTES, "a batch of images");
    b->slot[i].labels = dlgn_malloc((size_t)opt->batch * sizeof(int32_t), "a batch of labels");
    ok = b->slot[i].images && b->slot[i].labels;
  }
  if (!ok) {
    dlgn_batcher_destroy(b);
    return -1;
  }
  pthread_mutex_init(&b->mu, NULL);
  pthread_cond_init(&b->cv, NULL);
  if (pthread_create(&b->thread, NULL, producer_main, b) != 0) {
    pthread_mutex_destroy(&b->mu);
    pthread_cond_destroy(&b->cv);
    dlgn_batcher_destroy(b);
    return dlgn_fail("batcher: cannot start the producer thread");
  }
  b->started = true;
  *out = b;
  return 0;
}

static void draw_epoch(dlgn_batcher *b, int epoch) {
  for (size_t i = 0; i < b->n; i++) b->order[i] = (uint32_t)i;
  if (b->opt.shuffle) {
    dlgn_rng r;
    dlgn_rng_seed(&r, stream_seed(b->opt.seed, epoch, STREAM_ORDER));
    dlgn_rng_shuffle(&r, b->order, b->n);
  }
  memset(b->aug, 0, b->n * sizeof *b->aug);
  if (b->opt.augment) {
    dlgn_rng r;
    dlgn_rng_seed(&r, stream_seed(b->opt.seed, epoch, STREAM_AUG));
    for (size_t i = 0; i < b->n; i++) {
      b->aug[i].dy = (int32_t)dlgn_rng_below(&r, 2 * AUG_PAD + 1) - AUG_PAD;
      b->aug[i].dx = (int32_t)dlgn_rng_below(&r, 2 * AUG_PAD + 1) - AUG_PAD;
      b->aug[i].flip = (int32_t)dlgn_rng_below(&r, 2);
    }
  }
}

int dlgn_batcher_start_epoch(dlgn_batcher *b, int epoch) {
  if (epoch < 0) return dlgn_fail("batcher: epoch must be >= 0 (got %d)", epoch);
  pthread_mutex_lock(&b->mu);
  /* The producer reads order; wait until it is between batches. */
  while (b->producing) pthread_cond_wait(&b->cv, &b->mu);
  draw_epoch(b, epoch);
  b->slot[0].ready = b->slot[1].ready = false;
  b->held = -1;
  b->produce_next = b->consume_next = 0;
  b->epoch_active = true;
  pthread_cond_broadcast(&b->cv);
  pthread_mutex_unlock(&b->mu);
  return 0;
}

int dlgn_batcher_next(dlgn_batcher *b, dlgn_batch *batch) {
  pthread_mutex_lock(&b->mu);
  if (!b->epoch_active) {
    pthread_mutex_unlock(&b->mu);
    return dlgn_fail("batcher: next called before start_epoch");
  }
  if (b->held >= 0) {
    b->slot[b->held].ready = false;
    b->held = -1;
    pthread_cond_broadcast(&b->cv);
  }
  if (b->consume_next >= b->nbatches) {
    pthread_mutex_unlock(&b->mu);
    return 0;
  }
  batch_slot *s = &b->slot[b->consume_next % 2];
  while (!s->ready) pthread_cond_wait(&b->cv, &b->mu);
  b->held = (int)(b->consume_next % 2);
  b->consume_next++;
  pthread_mutex_unlock(&b->mu);
  batch->n = s->n;
  batch->index = s->index;
  batch->images = s->images;
  batch->labels = s->labels;
  batch->aug = b->aug + s->index * (size_t)b->opt.batch;
  return 1;
}

void dlgn_batcher_destroy(dlgn_batcher *b) {
  if (!b) return;
  if (b->started) {
    pthread_mutex_lock(&b->mu);
    b->stop = true;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
    pthread_join(b->thread, NULL);
    pthread_mutex_destroy(&b->mu);
    pthread_cond_destroy(&b->cv);
  }
  for (int i = 0; i < 2; i++) {
    free(b->slot[i].images);
    free(b->slot[i].labels);
  }
  free(b->order);
  free(b->aug);
  free(b);
}

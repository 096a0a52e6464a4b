/* Decoding CIFAR records as they stream past: label bytes are checked and
 * stored, pixel runs are copied straight into the split's image array, and
 * the member's md5 is updated on the same bytes, so each byte is touched once
 * after decompression. */
#include <stdlib.h>
#include <string.h>

#include "data/cifar_internal.h"
#include "dlgn/status.h"

int split_reserve(split_builder *b, size_t records, bool exact) {
  if (records <= b->cap) return 0;
  size_t cap = records;
  if (!exact && cap < b->cap * 2) cap = b->cap * 2;
  if (!exact && cap < 1024) cap = 1024;
  if (cap > SIZE_MAX / DLGN_IMAGE_BYTES)
    return dlgn_fail("%zu records do not fit in host memory", records);
  /* Large blocks are mmapped, so realloc grows them by remapping, not copying. */
  uint8_t *images = realloc(b->images, cap * DLGN_IMAGE_BYTES);
  if (!images)
    return dlgn_fail("out of host memory allocating %zu bytes for CIFAR images",
                     cap * (size_t)DLGN_IMAGE_BYTES);
  b->images = images;
  uint8_t *labels = realloc(b->labels, cap);
  if (!labels) return dlgn_fail("out of host memory allocating %zu bytes for CIFAR labels", cap);
  b->labels = labels;
  if (b->with_coarse) {
    uint8_t *coarse = realloc(b->coarse, cap);
    if (!coarse) return dlgn_fail("out of host memory allocating %zu bytes for CIFAR labels", cap);
    b->coarse = coarse;
  }
  b->cap = cap;
  return 0;
}

void split_builder_free(split_builder *b) {
  free(b->images);
  free(b->labels);
  free(b->coarse);
  memset(b, 0, sizeof *b);
}

void record_stream_begin(record_stream *s, dlgn_cifar_kind kind, split_builder *dst,
                         const char *archive, const char *member) {
  memset(s, 0, sizeof *s);
  s->archive = archive;
  s->member = member;
  s->dst = dst;
  s->header_bytes = kind == DLGN_CIFAR100 ? 2 : 1;
  s->num_classes = kind == DLGN_CIFAR100 ? 100 : 10;
  MD5Init(&s->md5);
}

static int check_label(const record_stream *s, const char *what, unsigned value, unsigned limit,
                       uint64_t at) {
  if (value < limit) return 0;
  return dlgn_fail("%s: member %s, byte %llu: %s %u out of range 0-%u (record %zu)", s->archive,
                   s->member, (unsigned long long)at, what, value, limit - 1,
                   (size_t)(at / ((size_t)s->header_bytes + DLGN_IMAGE_BYTES)));
}

int record_stream_feed(record_stream *s, const uint8_t *p, size_t len) {
  MD5Update(&s->md5, p, len);
  const size_t record = (size_t)s->header_bytes + DLGN_IMAGE_BYTES;
  split_builder *d = s->dst;
  while (len > 0) {
    if (s->pos == 0) {
      DLGN_TRY(split_reserve(d, d->n + 1, false));
      if (s->header_bytes == 2) {
        DLGN_TRY(check_label(s, "coarse label", p[0], 20, s->offset));
        d->coarse[d->n] = p[0];
      } else {
        DLGN_TRY(check_label(s, "label", p[0], (unsigned)s->num_classes, s->offset));
        d->labels[d->n] = p[0];
      }
      s->pos = 1;
      s->offset++;
      p++;
      len--;
      continue;
    }
    if (s->pos == 1 && s->header_bytes == 2) {
      DLGN_TRY(check_label(s, "fine label", p[0], 100, s->offset));
      d->labels[d->n] = p[0];
      s->pos = 2;
      s->offset++;
      p++;
      len--;
      continue;
    }
    size_t want = record - s->pos;
    size_t take = len < want ? len : want;
    memcpy(d->images + d->n * DLGN_IMAGE_BYTES + (s->pos - (size_t)s->header_bytes), p, take);
    s->pos += take;
    s->offset += take;
    p += take;
    len -= take;
    if (s->pos == record) {
      d->n++;
      s->pos = 0;
    }
  }
  return 0;
}

int record_stream_end(record_stream *s, char md5_hex[33]) {
  MD5End(&s->md5, md5_hex);
  if (s->pos != 0) {
    const size_t record = (size_t)s->header_bytes + DLGN_IMAGE_BYTES;
    return dlgn_fail("%s: member %s, byte %llu: size %llu is not a whole number of %zu-byte "
                     "records (the last record is %zu bytes short)",
                     s->archive, s->member, (unsigned long long)(s->offset - s->pos),
                     (unsigned long long)s->offset, record, record - s->pos);
  }
  return 0;
}

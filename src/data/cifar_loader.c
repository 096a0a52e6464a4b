/* The loader: archive and folder readers hand it members one by one; it
 * decides what each member is, enforces the size cap, and at the end checks
 * that the dataset is complete before moving it into a dlgn_dataset. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/cifar_internal.h"
#include "dlgn/status.h"

void cifar_loader_init(cifar_loader *L, const char *source, uint64_t max_bytes) {
  memset(L, 0, sizeof *L);
  L->source = source;
  L->max_bytes = max_bytes ? max_bytes : DLGN_DEFAULT_MAX_BYTES;
}

void cifar_loader_free(cifar_loader *L) {
  split_builder_free(&L->split[0]);
  split_builder_free(&L->split[1]);
  for (int i = 0; i < 3; i++) free(L->meta[i]);
  memset(L->meta, 0, sizeof L->meta);
}

static int set_kind(cifar_loader *L, const cifar_member_spec *spec, const char *name) {
  if (L->kind == 0) {
    L->kind = spec->kind;
    snprintf(L->kind_member, sizeof L->kind_member, "%s", name);
    L->split[0].with_coarse = L->split[1].with_coarse = spec->kind == DLGN_CIFAR100;
    return 0;
  }
  if (L->kind == spec->kind) return 0;
  return dlgn_fail("%s: member %s, byte 0: a %s member, but member %s made this a %s archive",
                   L->source, name, dlgn_cifar_kind_name(spec->kind), L->kind_member,
                   dlgn_cifar_kind_name(L->kind));
}

static int meta_slot(member_role role) {
  return role == MEMBER_NAMES ? 0 : role == MEMBER_FINE_NAMES ? 1 : 2;
}

int cifar_loader_member_begin(cifar_loader *L, const char *name, int64_t declared) {
  snprintf(L->current, sizeof L->current, "%s", name);
  L->current_offset = 0;
  L->in_records = false;
  L->current_spec = cifar_member_lookup(name);
  if (declared >= 0 && (uint64_t)declared > L->max_bytes - L->total)
    return dlgn_fail("%s: member %s, byte 0: declares %lld bytes, past the decompressed-size cap "
                     "of %llu bytes (%llu already read; raise it with --max-bytes)",
                     L->source, name, (long long)declared, (unsigned long long)L->max_bytes,
                     (unsigned long long)L->total);
  const cifar_member_spec *spec = L->current_spec;
  if (!spec) return 0;
  if (spec->role != MEMBER_RECORDS) {
    int slot = meta_slot(spec->role);
    if (L->meta[slot])
      return dlgn_fail("%s: member %s, byte 0: duplicate of member %s", L->source, name,
                       L->meta_member[slot]);
    if (declared > CIFAR_META_MAX_BYTES)
      return dlgn_fail("%s: member %s, byte 0: %lld bytes, too large for a class-name list "
                       "(at most %d)",
                       L->source, name, (long long)declared, CIFAR_META_MAX_BYTES);
    L->meta[slot] = dlgn_malloc(CIFAR_META_MAX_BYTES, "class names");
    if (!L->meta[slot]) return -1;
    L->meta_len[slot] = 0;
    snprintf(L->meta_member[slot], sizeof L->meta_member[slot], "%s", name);
    return 0;
  }
  DLGN_TRY(set_kind(L, spec, name));
  for (int i = 0; i < L->nmembers; i++)
    if (L->members[i].spec == spec)
      return dlgn_fail("%s: member %s, byte 0: duplicate of member %s", L->source, name,
                       L->members[i].name);
  size_t record = cifar_record_bytes(spec->kind);
  if (declared >= 0 && (uint64_t)declared % record != 0)
    return dlgn_fail("%s: member %s, byte %llu: size %lld is not a whole number of %zu-byte "
                     "records (the last record is %zu bytes short)",
                     L->source, name, (unsigned long long)((uint64_t)declared / record * record),
                     (long long)declared, record, record - (size_t)((uint64_t)declared % record));
  split_builder *dst = &L->split[spec->test];
  if (declared > 0) DLGN_TRY(split_reserve(dst, dst->n + (size_t)declared / record, true));
  loaded_member *m = &L->members[L->nmembers++];
  m->spec = spec;
  snprintf(m->name, sizeof m->name, "%s", name);
  m->first = dst->n;
  record_stream_begin(&L->records, spec->kind, dst, L->source, m->name);
  L->in_records = true;
  return 0;
}

int cifar_loader_member_data(cifar_loader *L, const uint8_t *p, size_t len) {
  /* libarchive hands stored (uncompressed) zip members over with empty blocks
   * whose pointer is NULL; memcpy(dst, NULL, 0) is undefined behaviour. */
  if (len == 0) return 0;
  if (len > L->max_bytes - L->total)
    return dlgn_fail("%s: member %s, byte %llu: the decompressed data passes the size cap of %llu "
                     "bytes (a compression bomb? raise it with --max-bytes)",
                     L->source, L->current,
                     (unsigned long long)(L->current_offset + (L->max_bytes - L->total)),
                     (unsigned long long)L->max_bytes);
  L->total += len;
  const cifar_member_spec *spec = L->current_spec;
  if (L->in_records) {
    DLGN_TRY(record_stream_feed(&L->records, p, len));
  } else if (spec) {
    int slot = meta_slot(spec->role);
    if (len > CIFAR_META_MAX_BYTES - L->meta_len[slot])
      return dlgn_fail("%s: member %s, byte %llu: too large for a class-name list (at most %d "
                       "bytes)",
                       L->source, L->current, (unsigned long long)L->current_offset,
                       CIFAR_META_MAX_BYTES);
    memcpy(L->meta[slot] + L->meta_len[slot], p, len);
    L->meta_len[slot] += len;
  }
  L->current_offset += len;
  return 0;
}

int cifar_loader_member_end(cifar_loader *L) {
  if (!L->in_records) return 0;
  L->in_records = false;
  loaded_member *m = &L->members[L->nmembers - 1];
  DLGN_TRY(record_stream_end(&L->records, m->md5));
  m->count = L->split[m->spec->test].n - m->first;
  return 0;
}

/* Members may come in any order; the splits keep the official order
 * (data_batch_1..5), so reorder the records when the archive did not. */
static int put_in_canonical_order(cifar_loader *L, int test) {
  split_builder *b = &L->split[test];
  size_t next = 0;
  bool ordered = true;
  for (int order = 0; order < CIFAR_MAX_RECORD_MEMBERS; order++)
    for (int i = 0; i < L->nmembers; i++) {
      const loaded_member *m = &L->members[i];
      if (m->spec->order != order || m->spec->test != test) continue;
      if (m->first != next) ordered = false;
      next += m->count;
    }
  if (ordered) return 0;
  split_builder out = {.with_coarse = b->with_coarse};
  if (split_reserve(&out, b->n, true) != 0) return -1;
  for (int order = 0; order < CIFAR_MAX_RECORD_MEMBERS; order++)
    for (int i = 0; i < L->nmembers; i++) {
      loaded_member *m = &L->members[i];
      if (m->spec->order != order || m->spec->test != test) continue;
      memcpy(out.images + out.n * DLGN_IMAGE_BYTES, b->images + m->first * DLGN_IMAGE_BYTES,
             m->count * DLGN_IMAGE_BYTES);
      memcpy(out.labels + out.n, b->labels + m->first, m->count);
      if (b->with_coarse) memcpy(out.coarse + out.n, b->coarse + m->first, m->count);
      m->first = out.n;
      out.n += m->count;
    }
  split_builder_free(b);
  *b = out;
  return 0;
}

static int check_complete(const cifar_loader *L) {
  if (L->kind == 0)
    return dlgn_fail("%s: member data_batch_1.bin or train.bin, byte 0: no CIFAR records member "
                     "found after %llu bytes (expected cifar-10-batches-bin/data_batch_1..5.bin + "
                     "test_batch.bin, or cifar-100-binary/train.bin + test.bin)",
                     L->source, (unsigned long long)L->total);
  const cifar_member_spec *specs;
  int n = cifar_record_members(L->kind, &specs);
  for (int s = 0; s < n; s++) {
    bool found = false;
    for (int i = 0; i < L->nmembers; i++) found = found || L->members[i].spec == &specs[s];
    if (!found)
      return dlgn_fail("%s: member %s/%s, byte 0: missing (the archive ends after %llu bytes; a "
                       "%s archive needs every one of its records members)",
                       L->source, cifar_folder_name(L->kind), specs[s].base,
                       (unsigned long long)L->total, dlgn_cifar_kind_name(L->kind));
  }
  for (int t = 0; t < 2; t++)
    if (L->split[t].n == 0)
      return dlgn_fail("%s: member %s, byte 0: the %s split holds no records", L->source,
                       t ? specs[n - 1].base : specs[0].base, t ? "test" : "train");
  return 0;
}

static int take_names(cifar_loader *L, dlgn_dataset *ds) {
  cifar_default_names(ds);
  ds->names_from_meta = false;
  int fine = L->kind == DLGN_CIFAR100 ? 1 : 0;
  if (L->meta[fine]) {
    DLGN_TRY(cifar_parse_names(ds->class_names, ds->num_classes, L->meta[fine], L->meta_len[fine],
                               L->source, L->meta_member[fine]));
    ds->names_from_meta = true;
  }
  ds->coarse_names_from_meta = false;
  if (L->kind == DLGN_CIFAR100 && L->meta[2]) {
    DLGN_TRY(cifar_parse_names(ds->coarse_names, 20, L->meta[2], L->meta_len[2], L->source,
                               L->meta_member[2]));
    ds->coarse_names_from_meta = true;
  }
  return 0;
}

static void move_split(dlgn_split *dst, split_builder *b) {
  dst->n = b->n;
  dst->images = b->images;
  dst->labels = b->labels;
  dst->coarse = b->coarse;
  memset(b, 0, sizeof *b);
}

int cifar_loader_finish(cifar_loader *L, dlgn_dataset *ds) {
  memset(ds, 0, sizeof *ds);
  if (check_complete(L) != 0 || put_in_canonical_order(L, 0) != 0 ||
      put_in_canonical_order(L, 1) != 0)
    goto fail;
  ds->kind = L->kind;
  ds->num_classes = L->kind == DLGN_CIFAR100 ? 100 : 10;
  ds->num_coarse = L->kind == DLGN_CIFAR100 ? 20 : 0;
  if (take_names(L, ds) != 0) goto fail;
  snprintf(ds->source, sizeof ds->source, "%s", L->source);
  ds->bytes_read = L->total;
  for (int order = 0; order < CIFAR_MAX_RECORD_MEMBERS; order++)
    for (int i = 0; i < L->nmembers; i++) {
      const loaded_member *m = &L->members[i];
      if (m->spec->order != order) continue;
      dlgn_member_info *info = &ds->members[ds->nmembers++];
      snprintf(info->name, sizeof info->name, "%s", m->spec->base);
      info->records = m->count;
      memcpy(info->md5, m->md5, sizeof info->md5);
      info->official = strcmp(m->md5, m->spec->md5) == 0;
    }
  move_split(&ds->train, &L->split[0]);
  move_split(&ds->test, &L->split[1]);
  cifar_loader_free(L);
  return 0;
fail:
  cifar_loader_free(L);
  memset(ds, 0, sizeof *ds);
  return -1;
}

/* Writing synthetic data as a CIFAR-format .tar.gz with libarchive, laid
 * out as the official archive so that every reader of real archives reads
 * it. Fixed mtimes, owners and modes, and no gzip timestamp: the same
 * arguments give the same bytes. */
#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/cifar_internal.h"
#include "dlgn/status.h"

/* 2009-06-04, the date on the official CIFAR members. */
#define SYNTH_MTIME 1244073600

static int write_entry_header(struct archive *a, const char *path, const char *name, bool dir,
                              size_t size) {
  struct archive_entry *e = archive_entry_new();
  if (!e) return dlgn_fail("%s: member %s, byte 0: out of memory for a tar entry", path, name);
  archive_entry_set_pathname(e, name);
  archive_entry_set_filetype(e, dir ? AE_IFDIR : AE_IFREG);
  archive_entry_set_perm(e, dir ? 0755 : 0644);
  archive_entry_set_size(e, dir ? 0 : (la_int64_t)size);
  archive_entry_set_mtime(e, SYNTH_MTIME, 0);
  archive_entry_set_uid(e, 0);
  archive_entry_set_gid(e, 0);
  int r = archive_write_header(a, e);
  archive_entry_free(e);
  if (r != ARCHIVE_OK)
    return dlgn_fail("%s: member %s, byte 0: writing the header failed: %s", path, name,
                     archive_error_string(a));
  return 0;
}

static int write_bytes(struct archive *a, const char *path, const char *name, uint64_t at,
                       const void *p, size_t n) {
  la_ssize_t w = archive_write_data(a, p, n);
  if (w < 0 || (size_t)w != n)
    return dlgn_fail("%s: member %s, byte %llu: writing failed: %s", path, name,
                     (unsigned long long)at, archive_error_string(a));
  return 0;
}

static int write_text(struct archive *a, const char *path, const char *name, const char *text) {
  size_t n = strlen(text);
  DLGN_TRY(write_entry_header(a, path, name, false, n));
  return write_bytes(a, path, name, 0, text, n);
}

/* Records [first, first + count) of s, in the CIFAR record layout. */
static int write_records(struct archive *a, const char *path, const char *name, const dlgn_split *s,
                         size_t first, size_t count) {
  const size_t header = s->coarse ? 2 : 1, record = header + DLGN_IMAGE_BYTES;
  DLGN_TRY(write_entry_header(a, path, name, false, count * record));
  uint8_t buf[2 + DLGN_IMAGE_BYTES];
  for (size_t i = first; i < first + count; i++) {
    if (s->coarse) {
      buf[0] = s->coarse[i];
      buf[1] = s->labels[i];
    } else {
      buf[0] = s->labels[i];
    }
    memcpy(buf + header, s->images + i * DLGN_IMAGE_BYTES, DLGN_IMAGE_BYTES);
    DLGN_TRY(write_bytes(a, path, name, (i - first) * record, buf, record));
  }
  return 0;
}

static int write_members(struct archive *a, const char *path, const dlgn_dataset *ds,
                         uint64_t seed) {
  const char *dir = cifar_folder_name(ds->kind);
  char name[256], text[4096];
  snprintf(name, sizeof name, "%s/", dir);
  DLGN_TRY(write_entry_header(a, path, name, true, 0));
  if (ds->kind == DLGN_CIFAR100) {
    snprintf(name, sizeof name, "%s/coarse_label_names.txt", dir);
    cifar_format_names(text, sizeof text, (const char(*)[32])ds->coarse_names, 20);
    DLGN_TRY(write_text(a, path, name, text));
    snprintf(name, sizeof name, "%s/fine_label_names.txt", dir);
    cifar_format_names(text, sizeof text, (const char(*)[32])ds->class_names, 100);
    DLGN_TRY(write_text(a, path, name, text));
    snprintf(name, sizeof name, "%s/test.bin", dir);
    DLGN_TRY(write_records(a, path, name, &ds->test, 0, ds->test.n));
    snprintf(name, sizeof name, "%s/train.bin", dir);
    return write_records(a, path, name, &ds->train, 0, ds->train.n);
  }
  snprintf(name, sizeof name, "%s/batches.meta.txt", dir);
  cifar_format_names(text, sizeof text, (const char(*)[32])ds->class_names, 10);
  DLGN_TRY(write_text(a, path, name, text));
  /* The official split: five equal training batches (the first ones take
   * the remainder). */
  size_t n = ds->train.n, first = 0;
  for (int b = 0; b < 5; b++) {
    size_t count = n / 5 + ((size_t)b < n % 5 ? 1 : 0);
    snprintf(name, sizeof name, "%s/data_batch_%d.bin", dir, b + 1);
    DLGN_TRY(write_records(a, path, name, &ds->train, first, count));
    first += count;
  }
  snprintf(name, sizeof name, "%s/readme.html", dir);
  snprintf(text, sizeof text,
           "<p>Synthetic CIFAR-10-format data written by dlgn (not the real CIFAR-10): %zu "
           "training and %zu test images, seed %llu.</p>\n",
           ds->train.n, ds->test.n, (unsigned long long)seed);
  DLGN_TRY(write_text(a, path, name, text));
  snprintf(name, sizeof name, "%s/test_batch.bin", dir);
  return write_records(a, path, name, &ds->test, 0, ds->test.n);
}

static int open_writer(struct archive **out, const char *path) {
  /* libarchive takes an empty (or NULL) file name to mean standard output. */
  if (!path || !*path) return dlgn_fail("the archive's output path is empty");
  struct archive *a = archive_write_new();
  if (!a) return dlgn_fail("%s: libarchive could not allocate a writer", path);
  /* "!timestamp" (a NULL value) keeps the write time out of the gzip header. */
  if (archive_write_set_format_ustar(a) != ARCHIVE_OK ||
      archive_write_add_filter_gzip(a) != ARCHIVE_OK ||
      archive_write_set_filter_option(a, "gzip", "timestamp", NULL) != ARCHIVE_OK ||
      archive_write_set_filter_option(a, "gzip", "compression-level", "6") != ARCHIVE_OK ||
      archive_write_open_filename(a, path) != ARCHIVE_OK) {
    dlgn_fail("%s: cannot create the archive: %s", path, archive_error_string(a));
    archive_write_free(a);
    return -1;
  }
  *out = a;
  return 0;
}

int dlgn_synth_write(const char *path, dlgn_cifar_kind kind, size_t ntrain, size_t ntest,
                     uint64_t seed) {
  dlgn_dataset ds;
  DLGN_TRY(dlgn_synth_generate(&ds, kind, ntrain, ntest, seed));
  struct archive *a = NULL;
  if (open_writer(&a, path) != 0) {
    dlgn_dataset_free(&ds);
    return -1;
  }
  int rc = write_members(a, path, &ds, seed);
  if (archive_write_close(a) != ARCHIVE_OK && rc == 0)
    rc = dlgn_fail("%s: member (end), byte 0: finishing the archive failed: %s", path,
                   archive_error_string(a));
  archive_write_free(a);
  dlgn_dataset_free(&ds);
  /* Never leave a half-written archive that a later run might pick up. */
  if (rc != 0) unlink(path);
  return rc;
}

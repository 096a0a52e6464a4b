/* The CIFAR loader on arbitrary bytes: as an archive of any format
 * libarchive reads (first byte even), or as an extracted folder (first byte
 * odd) whose members the rest of the input lays out as
 * [member index][length, 2 bytes little-endian][bytes]...
 * Invariants: a loaded dataset is complete and in range; a failure leaves a
 * zeroed dataset and one line of error. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "dlgn/data.h"
#include "dlgn/status.h"
#include "fuzz_util.h"

/* small enough for speed, large enough for a few records per member */
#define MAX_BYTES ((uint64_t)4 << 20)

static const char *const members[] = {
    "cifar-10-batches-bin/data_batch_1.bin", "cifar-10-batches-bin/data_batch_2.bin",
    "cifar-10-batches-bin/data_batch_3.bin", "cifar-10-batches-bin/data_batch_4.bin",
    "cifar-10-batches-bin/data_batch_5.bin", "cifar-10-batches-bin/test_batch.bin",
    "cifar-10-batches-bin/batches.meta.txt", "cifar-10-batches-bin/readme.html",
    "cifar-100-binary/train.bin",            "cifar-100-binary/test.bin",
    "cifar-100-binary/fine_label_names.txt", "cifar-100-binary/coarse_label_names.txt"};
#define NMEMBERS (sizeof members / sizeof members[0])

static const char *make_folder(const uint8_t *p, size_t n) {
  const char *root = fuzz_path("folder");
  fuzz_rmtree(root);
  char sub[1100];
  if (mkdir(root, 0755) != 0) return root;
  snprintf(sub, sizeof sub, "%s/cifar-10-batches-bin", root);
  mkdir(sub, 0755);
  snprintf(sub, sizeof sub, "%s/cifar-100-binary", root);
  mkdir(sub, 0755);
  while (n >= 3) {
    size_t which = p[0] % NMEMBERS, len = (size_t)p[1] | (size_t)p[2] << 8;
    p += 3, n -= 3;
    if (len > n) len = n;
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", root, members[which]);
    FILE *f = fopen(path, "ab"); /* a member named twice grows */
    if (f) {
      fwrite(p, 1, len, f);
      fclose(f);
    }
    p += len, n -= len;
  }
  return root;
}

static void check_split(const dlgn_dataset *ds, const dlgn_split *s, const char *which) {
  FUZZ_CHECK(s->n > 0 && s->images && s->labels, "%s split empty", which);
  FUZZ_CHECK((s->coarse != NULL) == (ds->kind == DLGN_CIFAR100), "%s coarse labels", which);
  for (size_t i = 0; i < s->n; i++) {
    FUZZ_CHECK(s->labels[i] < ds->num_classes, "%s label %zu is %d", which, i, s->labels[i]);
    if (s->coarse) FUZZ_CHECK(s->coarse[i] < 20, "%s coarse label %zu", which, i);
  }
}

static void check_loaded(const dlgn_dataset *ds) {
  FUZZ_CHECK(ds->kind == DLGN_CIFAR10 || ds->kind == DLGN_CIFAR100, "kind %d", ds->kind);
  FUZZ_CHECK(ds->num_classes == (int)ds->kind, "%d classes", ds->num_classes);
  FUZZ_CHECK(ds->num_coarse == (ds->kind == DLGN_CIFAR100 ? 20 : 0), "%d coarse", ds->num_coarse);
  check_split(ds, &ds->train, "train");
  check_split(ds, &ds->test, "test");
  FUZZ_TERMINATED(ds->source);
  for (int c = 0; c < ds->num_classes; c++) {
    FUZZ_TERMINATED(ds->class_names[c]);
    FUZZ_CHECK(ds->class_names[c][0] != '\0', "class %d has no name", c);
  }
  for (int c = 0; c < ds->num_coarse; c++) FUZZ_TERMINATED(ds->coarse_names[c]);
  FUZZ_CHECK(ds->bytes_read <= MAX_BYTES, "read %llu bytes", (unsigned long long)ds->bytes_read);
  int want = ds->kind == DLGN_CIFAR10 ? 6 : 2;
  FUZZ_CHECK(ds->nmembers == want, "%d members", ds->nmembers);
  size_t records = 0;
  for (int m = 0; m < ds->nmembers; m++) {
    FUZZ_TERMINATED(ds->members[m].name);
    FUZZ_CHECK(strlen(ds->members[m].md5) == 32, "md5 of %s", ds->members[m].name);
    records += ds->members[m].records;
  }
  FUZZ_CHECK(records == ds->train.n + ds->test.n, "members hold %zu records, splits %zu", records,
             ds->train.n + ds->test.n);
  FUZZ_CHECK(ds->members[ds->nmembers - 1].records == ds->test.n, "test member size");
}

static void check_failed(const dlgn_dataset *ds) {
  static const dlgn_dataset zero;
  FUZZ_CHECK(memcmp(ds, &zero, sizeof zero) == 0, "a failed load left a partial dataset");
  fuzz_check_error("dlgn_dataset_load");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  const char *path;
  if (data[0] & 1) {
    path = make_folder(data + 1, size - 1);
  } else {
    path = fuzz_path("input.archive");
    fuzz_write(path, data + 1, size - 1);
  }
  dlgn_dataset ds;
  memset(&ds, 0xab, sizeof ds);
  dlgn_load_options opt = {.max_bytes = MAX_BYTES};
  dlgn_error_clear();
  if (dlgn_dataset_load(&ds, path, &opt) == 0) {
    check_loaded(&ds);
    dlgn_dataset_free(&ds);
  } else {
    check_failed(&ds);
  }
  return 0;
}

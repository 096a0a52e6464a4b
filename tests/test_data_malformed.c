/* Malformed and hostile archives, built here with libarchive's writer or as
 * raw bytes: each must fail with one message naming the archive, the member
 * and the byte offset, and leave no partial dataset. Also the variations
 * that must load: other containers, members out of order, extra members. */
#include <archive.h>
#include <archive_entry.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlgn/data.h"
#include "dlgn/rng.h"
#include "dlgn/status.h"
#include "testutil.h"

/* AS_ZIP deflates its members; AS_ZIP_STORED keeps them uncompressed, which
 * libarchive reads back through a different path (data blocks that can be
 * empty with no buffer). */
enum { AS_TAR_GZ, AS_TAR, AS_ZIP, AS_TAR_XZ, AS_ZIP_STORED, AS_TAR_BZ2 };
#define HARDLINK 1 /* type value meaning "hard link to link" */

typedef struct {
  const char *name;
  int type; /* AE_IFREG (0 means regular too), AE_IFDIR, AE_IFLNK, AE_IFCHR, HARDLINK */
  const void *data;
  size_t size;
  const char *link;
} member;

static char dir[256];

static void setup(void) { test_tmpdir(dir, sizeof dir); }
static void teardown(void) { test_rmtree(dir); }

static const char *tmp_path(const char *name) {
  static char p[4][512];
  static int k;
  k = (k + 1) % 4;
  snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
  return p[k];
}

/* Returns 0, or -1 when this libarchive cannot write the container. */
static int write_archive(const char *path, int as, const member *m, int n) {
  struct archive *a = archive_write_new();
  bool zip = as == AS_ZIP || as == AS_ZIP_STORED;
  int r = zip ? archive_write_set_format_zip(a) : archive_write_set_format_pax_restricted(a);
  ck_assert_int_eq(r, ARCHIVE_OK);
  if (as == AS_ZIP_STORED)
    ck_assert_int_eq(archive_write_set_format_option(a, "zip", "compression", "store"), ARCHIVE_OK);
  if (as == AS_TAR_GZ) ck_assert_int_eq(archive_write_add_filter_gzip(a), ARCHIVE_OK);
  if ((as == AS_TAR_XZ && archive_write_add_filter_xz(a) != ARCHIVE_OK) ||
      (as == AS_TAR_BZ2 && archive_write_add_filter_bzip2(a) != ARCHIVE_OK)) {
    archive_write_free(a);
    return -1;
  }
  ck_assert_int_eq(archive_write_open_filename(a, path), ARCHIVE_OK);
  for (int i = 0; i < n; i++) {
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, m[i].name);
    archive_entry_set_perm(e, 0644);
    if (m[i].type == HARDLINK) {
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_set_hardlink(e, m[i].link);
    } else if (m[i].type == AE_IFLNK) {
      archive_entry_set_filetype(e, AE_IFLNK);
      archive_entry_set_symlink(e, m[i].link);
    } else {
      archive_entry_set_filetype(e, m[i].type ? (unsigned)m[i].type : AE_IFREG);
      archive_entry_set_size(e, (la_int64_t)m[i].size);
    }
    ck_assert_int_eq(archive_write_header(a, e), ARCHIVE_OK);
    if (m[i].size && m[i].data)
      ck_assert_int_eq(archive_write_data(a, m[i].data, m[i].size), (la_ssize_t)m[i].size);
    archive_entry_free(e);
  }
  ck_assert_int_eq(archive_write_close(a), ARCHIVE_OK);
  archive_write_free(a);
  return 0;
}

static void write_raw(const char *path, const void *p, size_t n) {
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(p, 1, n, f), n);
  fclose(f);
}

/* n valid records: labels cycle through the classes, pixels are random so
 * that the members do not compress away. */
static uint8_t *records(dlgn_cifar_kind kind, size_t n, uint64_t seed, size_t *size) {
  size_t header = kind == DLGN_CIFAR100 ? 2 : 1, rec = header + DLGN_IMAGE_BYTES;
  uint8_t *p = malloc(n * rec + 1);
  dlgn_rng r;
  dlgn_rng_seed(&r, seed);
  for (size_t i = 0; i < n; i++) {
    uint8_t *q = p + i * rec;
    if (kind == DLGN_CIFAR100) {
      q[0] = (uint8_t)(i % 20);
      q[1] = (uint8_t)(i % 100);
    } else {
      q[0] = (uint8_t)(i % 10);
    }
    for (size_t k = header; k < rec; k++) q[k] = (uint8_t)dlgn_rng_next(&r);
  }
  *size = n * rec;
  return p;
}

/* A valid CIFAR-10 archive's members: six batches of per_batch records
 * (batch b's records come from seed b), the meta file and a readme. */
typedef struct {
  member m[8];
  uint8_t *data[6];
} cifar10_members;

static void cifar10_make_n(cifar10_members *c, size_t per_batch) {
  static const char *names[6] = {
      "cifar-10-batches-bin/data_batch_1.bin", "cifar-10-batches-bin/data_batch_2.bin",
      "cifar-10-batches-bin/data_batch_3.bin", "cifar-10-batches-bin/data_batch_4.bin",
      "cifar-10-batches-bin/data_batch_5.bin", "cifar-10-batches-bin/test_batch.bin"};
  static const char meta[] = "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n\n";
  for (int b = 0; b < 6; b++) {
    size_t size;
    c->data[b] = records(DLGN_CIFAR10, per_batch, (uint64_t)b, &size);
    c->m[b] = (member){names[b], 0, c->data[b], size, NULL};
  }
  c->m[6] = (member){"cifar-10-batches-bin/batches.meta.txt", 0, meta, sizeof meta - 1, NULL};
  c->m[7] = (member){"cifar-10-batches-bin/readme.html", 0, "<p>hi</p>\n", 10, NULL};
}

static void cifar10_make(cifar10_members *c) { cifar10_make_n(c, 3); }

static void cifar10_free(cifar10_members *c) {
  for (int b = 0; b < 6; b++) free(c->data[b]);
}

/* Loading path must fail with a message holding every one of parts. */
static void expect_failure(const char *path, uint64_t max_bytes, const char *const *parts) {
  dlgn_dataset ds;
  memset(&ds, 0xab, sizeof ds);
  dlgn_load_options opt = {.max_bytes = max_bytes};
  dlgn_error_clear();
  ck_assert_int_eq(dlgn_dataset_load(&ds, path, &opt), -1);
  const char *msg = dlgn_error();
  ck_assert_msg(strstr(msg, path) != NULL, "message lacks the archive: %s", msg);
  ck_assert_msg(strstr(msg, "member") != NULL && strstr(msg, "byte") != NULL,
                "message lacks member/byte: %s", msg);
  for (int i = 0; parts[i]; i++)
    ck_assert_msg(strstr(msg, parts[i]) != NULL, "message lacks '%s': %s", parts[i], msg);
  /* Never a partial dataset. */
  ck_assert_ptr_null(ds.train.images);
  ck_assert_ptr_null(ds.test.images);
  ck_assert_uint_eq(ds.train.n, 0);
  dlgn_dataset_free(&ds);
}

#define EXPECT_FAILURE(path, cap, ...)                                                             \
  do {                                                                                             \
    const char *const parts_[] = {__VA_ARGS__, NULL};                                              \
    expect_failure(path, cap, parts_);                                                             \
  } while (0)

START_TEST(valid_containers_and_order) {
  cifar10_members c;
  cifar10_make(&c);
  /* Out of order, with extras: the splits still follow data_batch_1..5. */
  member shuffled[10] = {c.m[7],
                         c.m[3],
                         c.m[5],
                         c.m[0],
                         c.m[6],
                         c.m[4],
                         c.m[2],
                         c.m[1],
                         {"cifar-10-batches-bin/", AE_IFDIR, NULL, 0, NULL},
                         {"notes/extra.bin", 0, "xyz", 3, NULL}};
  const int as[6] = {AS_TAR_GZ, AS_TAR, AS_ZIP, AS_TAR_XZ, AS_ZIP_STORED, AS_TAR_BZ2};
  for (int k = 0; k < 6; k++) {
    bool zip = as[k] == AS_ZIP || as[k] == AS_ZIP_STORED;
    const char *path = tmp_path(zip ? "v.zip" : "v.tar.any");
    /* Only xz and bzip2 depend on how libarchive was built. */
    if (write_archive(path, as[k], shuffled, 10) != 0) {
      ck_assert(as[k] == AS_TAR_XZ || as[k] == AS_TAR_BZ2);
      continue;
    }
    dlgn_dataset ds;
    ck_assert_ok(dlgn_dataset_load(&ds, path, NULL));
    ck_assert_uint_eq(ds.train.n, 15);
    ck_assert_uint_eq(ds.test.n, 3);
    for (int b = 0; b < 5; b++)
      for (int i = 0; i < 3; i++) {
        const uint8_t *rec = c.data[b] + (size_t)i * 3073;
        ck_assert_uint_eq(ds.train.labels[b * 3 + i], rec[0]);
        ck_assert(memcmp(ds.train.images + (size_t)(b * 3 + i) * DLGN_IMAGE_BYTES, rec + 1,
                         DLGN_IMAGE_BYTES) == 0);
      }
    ck_assert_str_eq(ds.members[0].name, "data_batch_1.bin");
    ck_assert_str_eq(ds.members[5].name, "test_batch.bin");
    ck_assert_str_eq(ds.class_names[9], "j");
    dlgn_dataset_free(&ds);
  }
  cifar10_free(&c);
}
END_TEST

START_TEST(truncated_gzip) {
  /* Large enough that libarchive's read-ahead at open does not reach the cut. */
  cifar10_members c;
  cifar10_make_n(&c, 40);
  const char *whole = tmp_path("whole.tar.gz");
  write_archive(whole, AS_TAR_GZ, c.m, 8);
  FILE *f = fopen(whole, "rb");
  static uint8_t buf[1 << 20];
  size_t n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  ck_assert_uint_gt(n, 700000);
  ck_assert_uint_lt(n, sizeof buf);
  /* Inside the gzip header, the first tar header, member data, and the
   * gzip trailer (its CRC and size). */
  const size_t cuts[] = {5, 12, 30, 2000, n / 3, n / 2, (2 * n) / 3, n - 9, n - 4, n - 1};
  for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
    const char *path = tmp_path("cut.tar.gz");
    write_raw(path, buf, cuts[i]);
    if (cuts[i] < 10) EXPECT_FAILURE(path, 0, "member (none yet)", "Unrecognized archive format");
    else EXPECT_FAILURE(path, 0, "runcated");
  }
  /* Cut inside member data: the message names the member being read. */
  const char *path = tmp_path("cut.tar.gz");
  write_raw(path, buf, n / 2);
  EXPECT_FAILURE(path, 0, "member cifar-10-batches-bin/data_batch_", "reading failed");
  cifar10_free(&c);
}
END_TEST

START_TEST(member_one_byte_short) {
  cifar10_members c;
  cifar10_make(&c);
  c.m[1].size -= 1;
  const char *path = tmp_path("short.tar.gz");
  write_archive(path, AS_TAR_GZ, c.m, 8);
  EXPECT_FAILURE(path, 0, "member cifar-10-batches-bin/data_batch_2.bin, byte 6146",
                 "not a whole number of 3073-byte records", "1 bytes short");
  cifar10_free(&c);
}
END_TEST

START_TEST(label_out_of_range) {
  cifar10_members c;
  cifar10_make(&c);
  c.data[2][3073] = 10; /* the label of the second record */
  const char *path = tmp_path("label.tar.gz");
  write_archive(path, AS_TAR_GZ, c.m, 8);
  EXPECT_FAILURE(path, 0, "member cifar-10-batches-bin/data_batch_3.bin, byte 3073",
                 "label 10 out of range 0-9");
  cifar10_free(&c);
}
END_TEST

START_TEST(cifar100_labels_out_of_range) {
  size_t size;
  uint8_t *train = records(DLGN_CIFAR100, 4, 1, &size);
  uint8_t *test = records(DLGN_CIFAR100, 2, 2, &size);
  member m[2] = {{"cifar-100-binary/train.bin", 0, train, 4 * 3074, NULL},
                 {"cifar-100-binary/test.bin", 0, test, 2 * 3074, NULL}};
  const char *path = tmp_path("c100.tar.gz");
  write_archive(path, AS_TAR_GZ, m, 2);
  dlgn_dataset ds;
  ck_assert_ok(dlgn_dataset_load(&ds, path, NULL));
  ck_assert_int_eq(ds.kind, DLGN_CIFAR100);
  ck_assert_uint_eq(ds.train.coarse[3], 3);
  ck_assert_uint_eq(ds.train.labels[3], 3);
  ck_assert(!ds.names_from_meta);
  ck_assert_str_eq(ds.class_names[99], "worm");
  dlgn_dataset_free(&ds);
  train[2 * 3074] = 20;
  write_archive(path, AS_TAR_GZ, m, 2);
  EXPECT_FAILURE(path, 0, "member cifar-100-binary/train.bin, byte 6148",
                 "coarse label 20 out of range 0-19");
  train[2 * 3074] = 0;
  test[3074 + 1] = 100;
  write_archive(path, AS_TAR_GZ, m, 2);
  EXPECT_FAILURE(path, 0, "member cifar-100-binary/test.bin, byte 3075",
                 "fine label 100 out of range 0-99");
  free(train);
  free(test);
}
END_TEST

START_TEST(missing_and_duplicate_members) {
  cifar10_members c;
  cifar10_make(&c);
  member m[9];
  memcpy(m, c.m, sizeof c.m);
  const char *path = tmp_path("missing.tar.gz");
  member no_test[7] = {m[0], m[1], m[2], m[3], m[4], m[6], m[7]};
  write_archive(path, AS_TAR_GZ, no_test, 7);
  EXPECT_FAILURE(path, 0, "member cifar-10-batches-bin/test_batch.bin, byte 0: missing");
  m[8] = (member){"other/data_batch_1.bin", 0, c.data[0], c.m[0].size, NULL};
  write_archive(path, AS_TAR_GZ, m, 9);
  EXPECT_FAILURE(path, 0,
                 "member other/data_batch_1.bin, byte 0: duplicate of member "
                 "cifar-10-batches-bin/data_batch_1.bin");
  /* No records at all, and CIFAR-10 mixed with CIFAR-100. */
  write_archive(path, AS_TAR_GZ, &c.m[7], 1);
  EXPECT_FAILURE(path, 0, "no CIFAR records member");
  m[8] = (member){"cifar-100-binary/train.bin", 0, c.data[0], 3074, NULL};
  write_archive(path, AS_TAR_GZ, m, 9);
  EXPECT_FAILURE(path, 0, "member cifar-100-binary/train.bin, byte 0: a CIFAR-100 member");
  cifar10_free(&c);
}
END_TEST

START_TEST(bad_class_names) {
  cifar10_members c;
  cifar10_make(&c);
  c.m[6].data = "a\nb\nc\n";
  c.m[6].size = 6;
  const char *path = tmp_path("meta.tar.gz");
  write_archive(path, AS_TAR_GZ, c.m, 8);
  EXPECT_FAILURE(path, 0, "member cifar-10-batches-bin/batches.meta.txt, byte 6",
                 "3 class names, expected 10");
  cifar10_free(&c);
}
END_TEST

START_TEST(empty_and_random_files) {
  const char *path = tmp_path("empty.tar.gz");
  write_raw(path, "", 0);
  EXPECT_FAILURE(path, 0, "empty file");
  static uint8_t junk[100000];
  dlgn_rng r;
  dlgn_rng_seed(&r, 99);
  for (size_t i = 0; i < sizeof junk; i++) junk[i] = (uint8_t)dlgn_rng_next(&r);
  path = tmp_path("random.tar.gz");
  write_raw(path, junk, sizeof junk);
  EXPECT_FAILURE(path, 0, "cannot open or recognise the archive");
  EXPECT_FAILURE(tmp_path("does-not-exist.tar.gz"), 0, "No such file");
  /* A gzip stream that holds no archive at all. */
  member none[1] = {{"cifar-10-batches-bin/", AE_IFDIR, NULL, 0, NULL}};
  path = tmp_path("dir-only.tar.gz");
  write_archive(path, AS_TAR_GZ, none, 1);
  EXPECT_FAILURE(path, 0, "no CIFAR records member");
}
END_TEST

START_TEST(hostile_paths_and_types) {
  cifar10_members c;
  cifar10_make(&c);
  const member hostile[] = {
      {"../x", 0, "x", 1, NULL},
      {"/etc/x", 0, "x", 1, NULL},
      {"cifar-10-batches-bin/../../x", 0, "x", 1, NULL},
      {"cifar-10-batches-bin/data_batch_1.bin", AE_IFLNK, NULL, 0, "/etc/passwd"},
      {"cifar-10-batches-bin/test_batch.bin", HARDLINK, NULL, 0,
       "cifar-10-batches-bin/data_batch_2.bin"},
      {"dev/null", AE_IFCHR, NULL, 0, NULL},
  };
  const char *reason[] = {"absolute path or '..'", "absolute path or '..'", "absolute path or '..'",
                          "a symbolic link",       "a hard link",           "a character device"};
  for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
    member m[9];
    memcpy(m, c.m, sizeof c.m);
    m[8] = hostile[i];
    /* The hostile member first: refused before any data is used. */
    member t = m[0];
    m[0] = m[8];
    m[8] = t;
    const char *path = tmp_path("hostile.tar");
    write_archive(path, AS_TAR, m, 9);
    char who[256];
    snprintf(who, sizeof who, "member %s, byte 0: refused", hostile[i].name);
    EXPECT_FAILURE(path, 0, who, reason[i]);
  }
  cifar10_free(&c);
}
END_TEST

START_TEST(decompression_bomb) {
  cifar10_members c;
  cifar10_make(&c);
  const size_t bomb = 16u << 20; /* zeros: 16 MiB compress to about 16 KiB */
  uint8_t *zeros = calloc(1, bomb);
  member m[9];
  memcpy(m, c.m, sizeof c.m);
  m[8] = (member){"cifar-10-batches-bin/readme2.html", 0, zeros, bomb, NULL};
  const char *path = tmp_path("bomb.tar.gz");
  write_archive(path, AS_TAR_GZ, m, 9);
  free(zeros);
  EXPECT_FAILURE(path, 4u << 20, "member cifar-10-batches-bin/readme2.html, byte 0",
                 "decompressed-size cap of 4194304 bytes");
  /* The same archive loads under a cap above its size. */
  dlgn_dataset ds;
  dlgn_load_options opt = {.max_bytes = 32u << 20};
  ck_assert_ok(dlgn_dataset_load(&ds, path, &opt));
  dlgn_dataset_free(&ds);
  /* A cap that the record members alone pass. */
  write_archive(path, AS_TAR_GZ, c.m, 8);
  EXPECT_FAILURE(path, 20000, "decompressed-size cap of 20000 bytes");
  cifar10_free(&c);
}
END_TEST

/* Member names are quoted in messages; one holding a newline or an escape
 * sequence must not break the one-line error (found by fuzz_archive). */
START_TEST(control_bytes_in_member_names) {
  cifar10_members c;
  cifar10_make(&c);
  member m[9];
  memcpy(m, c.m, sizeof c.m);
  m[8] = (member){"../evil\nname\x1b[2J", 0, "x", 1, NULL};
  const char *path = tmp_path("names.tar");
  write_archive(path, AS_TAR, m, 9);
  EXPECT_FAILURE(path, 0, "evil name?[2J");
  ck_assert_ptr_null(strchr(dlgn_error(), '\n'));
  cifar10_free(&c);
}
END_TEST

Suite *make_suite(void) {
  Suite *s = suite_create("data_malformed");
  TCase *tc = tcase_create("malformed");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, valid_containers_and_order);
  tcase_add_test(tc, truncated_gzip);
  tcase_add_test(tc, member_one_byte_short);
  tcase_add_test(tc, label_out_of_range);
  tcase_add_test(tc, cifar100_labels_out_of_range);
  tcase_add_test(tc, missing_and_duplicate_members);
  tcase_add_test(tc, bad_class_names);
  tcase_add_test(tc, empty_and_random_files);
  tcase_add_test(tc, hostile_paths_and_types);
  tcase_add_test(tc, decompression_bomb);
  tcase_add_test(tc, control_bytes_in_member_names);
  suite_add_tcase(s, tc);
  return s;
}

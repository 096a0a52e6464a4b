/* Synthetic data: archive round trips, byte-identical output for the same
 * arguments, learnability, extracted folders, and where data comes from. */
#include <archive.h>
#include <archive_entry.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dlgn/data.h"
#include "dlgn/status.h"
#include "testutil.h"

static void assert_same_split(const dlgn_split *a, const dlgn_split *b) {
  ck_assert_uint_eq(a->n, b->n);
  ck_assert_mem_eq(a->labels, b->labels, a->n);
  ck_assert(memcmp(a->images, b->images, a->n * DLGN_IMAGE_BYTES) == 0);
  ck_assert_int_eq(a->coarse == NULL, b->coarse == NULL);
  if (a->coarse) ck_assert_mem_eq(a->coarse, b->coarse, a->n);
}

static void round_trip(dlgn_cifar_kind kind, size_t ntrain, size_t ntest) {
  char dir[256], path[512];
  test_tmpdir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/synth.tar.gz", dir);
  ck_assert_ok(dlgn_synth_write(path, kind, ntrain, ntest, 7));
  dlgn_dataset want, got;
  ck_assert_ok(dlgn_synth_generate(&want, kind, ntrain, ntest, 7));
  ck_assert_ok(dlgn_dataset_load(&got, path, NULL));
  ck_assert_int_eq(got.kind, kind);
  ck_assert_int_eq(got.num_classes, want.num_classes);
  ck_assert_int_eq(got.num_coarse, want.num_coarse);
  assert_same_split(&got.train, &want.train);
  assert_same_split(&got.test, &want.test);
  ck_assert(got.names_from_meta);
  for (int c = 0; c < got.num_classes; c++)
    ck_assert_str_eq(got.class_names[c], want.class_names[c]);
  for (int c = 0; c < got.num_coarse; c++)
    ck_assert_str_eq(got.coarse_names[c], want.coarse_names[c]);
  ck_assert_int_eq(got.nmembers, kind == DLGN_CIFAR10 ? 6 : 2);
  for (int i = 0; i < got.nmembers; i++) ck_assert_int_eq(got.members[i].official, 0);
  /* Balanced classes, as in CIFAR. */
  size_t hist[100] = {0};
  for (size_t i = 0; i < got.train.n; i++) hist[got.train.labels[i]]++;
  for (int c = 0; c < got.num_classes; c++)
    ck_assert_uint_eq(hist[c], ntrain / (size_t)got.num_classes);
  if (kind == DLGN_CIFAR100)
    for (size_t i = 0; i < got.train.n; i++) ck_assert_uint_lt(got.train.coarse[i], 20);
  dlgn_dataset_free(&want);
  dlgn_dataset_free(&got);
  test_rmtree(dir);
}

START_TEST(synth_cifar10_round_trip) { round_trip(DLGN_CIFAR10, 200, 50); }
END_TEST

START_TEST(synth_cifar100_round_trip) { round_trip(DLGN_CIFAR100, 300, 100); }
END_TEST

static void *read_whole(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  ck_assert_ptr_nonnull(f);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  void *p = malloc((size_t)n);
  ck_assert_uint_eq(fread(p, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  *size = (size_t)n;
  return p;
}

START_TEST(synth_same_seed_same_bytes) {
  char dir[256], a[512], b[512], c[512];
  test_tmpdir(dir, sizeof dir);
  snprintf(a, sizeof a, "%s/a.tar.gz", dir);
  snprintf(b, sizeof b, "%s/b.tar.gz", dir);
  snprintf(c, sizeof c, "%s/c.tar.gz", dir);
  ck_assert_ok(dlgn_synth_write(a, DLGN_CIFAR10, 100, 20, 42));
  sleep(1); /* a timestamp anywhere would now differ */
  ck_assert_ok(dlgn_synth_write(b, DLGN_CIFAR10, 100, 20, 42));
  ck_assert_ok(dlgn_synth_write(c, DLGN_CIFAR10, 100, 20, 43));
  size_t na, nb, nc;
  unsigned char *pa = read_whole(a, &na), *pb = read_whole(b, &nb), *pc = read_whole(c, &nc);
  ck_assert_uint_eq(na, nb);
  ck_assert(memcmp(pa, pb, na) == 0);
  ck_assert(na != nc || memcmp(pa, pc, na) != 0);
  /* gzip header: magic, deflate, then a zero MTIME field. */
  ck_assert_uint_eq(pa[0], 0x1f);
  ck_assert_uint_eq(pa[1], 0x8b);
  ck_assert_uint_eq(pa[4] | pa[5] | pa[6] | pa[7], 0);
  free(pa);
  free(pb);
  free(pc);
  test_rmtree(dir);
}
END_TEST

START_TEST(synth_test_split_independent_of_ntrain) {
  dlgn_dataset a, b;
  ck_assert_ok(dlgn_synth_generate(&a, DLGN_CIFAR10, 100, 30, 5));
  ck_assert_ok(dlgn_synth_generate(&b, DLGN_CIFAR10, 250, 30, 5));
  assert_same_split(&a.test, &b.test);
  dlgn_dataset_free(&a);
  dlgn_dataset_free(&b);
}
END_TEST

/* One epoch of plain SGD on a softmax regression over normalised pixels, a
 * linear model: far above chance (10%), yet not perfect, since noise, shifts
 * and brightness keep the task from being trivial. */
START_TEST(synth_is_learnable) {
  dlgn_dataset ds;
  ck_assert_ok(dlgn_synth_generate(&ds, DLGN_CIFAR10, 3000, 500, 1));
  float mean[3], std[3];
  dlgn_split_channel_stats(&ds.train, mean, std);
  float *w = calloc(10 * DLGN_IMAGE_BYTES, sizeof *w), b[10] = {0}, x[DLGN_IMAGE_BYTES];
  const float lr = 0.001f;
  for (size_t i = 0; i < ds.train.n + ds.test.n; i++) {
    bool train = i < ds.train.n;
    const dlgn_split *sp = train ? &ds.train : &ds.test;
    size_t n = train ? i : i - ds.train.n;
    for (int k = 0; k < DLGN_IMAGE_BYTES; k++)
      x[k] = (sp->images[n * DLGN_IMAGE_BYTES + k] / 255.0f - mean[k / 1024]) / std[k / 1024];
    float p[10], top = -1e30f, z = 0;
    for (int c = 0; c < 10; c++) {
      float s = b[c];
      for (int k = 0; k < DLGN_IMAGE_BYTES; k++) s += w[c * DLGN_IMAGE_BYTES + k] * x[k];
      p[c] = s;
      top = s > top ? s : top;
    }
    if (!train) {
      static size_t correct;
      int best = 0;
      for (int c = 1; c < 10; c++) best = p[c] > p[best] ? c : best;
      correct += best == sp->labels[n];
      if (n + 1 == sp->n) {
        double acc = (double)correct / (double)sp->n;
        ck_assert_msg(acc > 0.4 && acc < 0.98, "softmax regression accuracy %.3f", acc);
      }
      continue;
    }
    for (int c = 0; c < 10; c++) z += p[c] = expf(p[c] - top);
    for (int c = 0; c < 10; c++) {
      float g = p[c] / z - (c == sp->labels[n] ? 1.0f : 0.0f);
      for (int k = 0; k < DLGN_IMAGE_BYTES; k++) w[c * DLGN_IMAGE_BYTES + k] -= lr * g * x[k];
      b[c] -= lr * g;
    }
  }
  free(w);
  dlgn_dataset_free(&ds);
}
END_TEST

/* An extracted folder: the archive's members written out as files. */
static void extract(const char *archive_path, const char *dir) {
  struct archive *a = archive_read_new();
  archive_read_support_filter_all(a);
  archive_read_support_format_all(a);
  ck_assert_int_eq(archive_read_open_filename(a, archive_path, 65536), ARCHIVE_OK);
  struct archive_entry *e;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, archive_entry_pathname(e));
    if (archive_entry_filetype(e) == AE_IFDIR) {
      mkdir(p, 0755);
      continue;
    }
    FILE *f = fopen(p, "wb");
    ck_assert_ptr_nonnull(f);
    const void *buf;
    size_t size;
    la_int64_t off;
    while (archive_read_data_block(a, &buf, &size, &off) == ARCHIVE_OK) fwrite(buf, 1, size, f);
    fclose(f);
  }
  archive_read_free(a);
}

START_TEST(synth_folder_load) {
  char dir[256], path[512], folder[512];
  test_tmpdir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/s.tar.gz", dir);
  ck_assert_ok(dlgn_synth_write(path, DLGN_CIFAR10, 120, 30, 9));
  extract(path, dir);
  dlgn_dataset want, got;
  ck_assert_ok(dlgn_synth_generate(&want, DLGN_CIFAR10, 120, 30, 9));
  /* Both the folder holding the top folder and the top folder itself. */
  ck_assert_ok(dlgn_dataset_load(&got, dir, NULL));
  assert_same_split(&got.train, &want.train);
  assert_same_split(&got.test, &want.test);
  dlgn_dataset_free(&got);
  snprintf(folder, sizeof folder, "%s/cifar-10-batches-bin", dir);
  ck_assert_ok(dlgn_dataset_load(&got, folder, NULL));
  assert_same_split(&got.test, &want.test);
  ck_assert_int_eq(got.nmembers, 6);
  dlgn_dataset_free(&got);
  dlgn_dataset_free(&want);
  test_rmtree(dir);
}
END_TEST

START_TEST(synth_rejects_bad_arguments) {
  dlgn_dataset ds;
  ck_assert_int_eq(dlgn_synth_generate(&ds, DLGN_CIFAR10, 0, 10, 1), -1);
  ck_assert_ptr_nonnull(strstr(dlgn_error(), "--train"));
  ck_assert_int_eq(dlgn_synth_generate(&ds, (dlgn_cifar_kind)7, 10, 10, 1), -1);
  ck_assert_int_eq(dlgn_synth_write("/nonexistent-dir/x.tar.gz", DLGN_CIFAR10, 10, 10, 1), -1);
  ck_assert_ptr_nonnull(strstr(dlgn_error(), "/nonexistent-dir/x.tar.gz"));
}
END_TEST

START_TEST(resolve_order) {
  char dir[256], path[1024], old[1024];
  bool synthetic;
  test_tmpdir(dir, sizeof dir);
  ck_assert_ptr_nonnull(getcwd(old, sizeof old));
  ck_assert_int_eq(chdir(dir), 0);
  unsetenv("DLGN_DATA");
  /* Nothing anywhere: synthetic. */
  ck_assert_ok(dlgn_data_resolve(NULL, path, sizeof path, &synthetic));
  ck_assert(synthetic);
  ck_assert_str_eq(path, "");
  /* ./datasets/: the first cifar-10* entry by name; other names ignored. */
  ck_assert_int_eq(mkdir("datasets", 0755), 0);
  fclose(fopen("datasets/README.md", "w"));
  /* Half-downloaded and checksum files sort first but are not data. */
  fclose(fopen("datasets/cifar-10-a.tar.gz.part", "w"));
  fclose(fopen("datasets/cifar-10-a.tar.gz.md5", "w"));
  fclose(fopen("datasets/cifar-100-binary.tar.gz", "w"));
  fclose(fopen("datasets/cifar-10-binary.tar.gz", "w"));
  ck_assert_ok(dlgn_data_resolve(NULL, path, sizeof path, &synthetic));
  ck_assert(!synthetic);
  ck_assert_str_eq(path, "datasets/cifar-10-binary.tar.gz");
  /* $DLGN_DATA wins over ./datasets/, --data over both. */
  setenv("DLGN_DATA", "datasets/cifar-100-binary.tar.gz", 1);
  ck_assert_ok(dlgn_data_resolve(NULL, path, sizeof path, &synthetic));
  ck_assert_str_eq(path, "datasets/cifar-100-binary.tar.gz");
  ck_assert_ok(dlgn_data_resolve("datasets/README.md", path, sizeof path, &synthetic));
  ck_assert_str_eq(path, "datasets/README.md");
  ck_assert_ok(dlgn_data_resolve("synthetic", path, sizeof path, &synthetic));
  ck_assert(synthetic);
  /* A named source that does not exist is an error, not a silent fallback. */
  ck_assert_int_eq(dlgn_data_resolve("nope.tar.gz", path, sizeof path, &synthetic), -1);
  ck_assert_ptr_nonnull(strstr(dlgn_error(), "--data nope.tar.gz"));
  setenv("DLGN_DATA", "missing.tar.gz", 1);
  ck_assert_int_eq(dlgn_data_resolve(NULL, path, sizeof path, &synthetic), -1);
  ck_assert_ptr_nonnull(strstr(dlgn_error(), "$DLGN_DATA missing.tar.gz"));
  unsetenv("DLGN_DATA");
  ck_assert_int_eq(chdir(old), 0);
  test_rmtree(dir);
}
END_TEST

Suite *make_suite(void) {
  Suite *s = suite_create("data_synth");
  TCase *tc = tcase_create("synth");
  tcase_add_test(tc, synth_cifar10_round_trip);
  tcase_add_test(tc, synth_cifar100_round_trip);
  tcase_add_test(tc, synth_same_seed_same_bytes);
  tcase_add_test(tc, synth_test_split_independent_of_ntrain);
  tcase_add_test(tc, synth_is_learnable);
  tcase_add_test(tc, synth_folder_load);
  tcase_add_test(tc, synth_rejects_bad_arguments);
  tcase_add_test(tc, resolve_order);
  suite_add_tcase(s, tc);
  return s;
}

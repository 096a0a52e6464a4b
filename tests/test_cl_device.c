/* The OpenCL runtime: device listing and the selection rules, the on-disk
 * binary cache, and what a kernel build failure reports. */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utime.h>

#include "cl/device.h"
#include "dlgn/status.h"
#include "testutil.h"

static bool contains_nocase(const char *hay, const char *needle) {
  for (; *hay; hay++) {
    size_t i = 0;
    while (needle[i] && tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i])) i++;
    if (!needle[i]) return true;
  }
  return false;
}

START_TEST(test_list) {
  dlgn_device_info *list;
  int n;
  ck_assert_ok(dlgn_devices_list(&list, &n));
  ck_assert_int_ge(n, 1);
  for (int i = 0; i < n; i++) {
    ck_assert_int_eq(list[i].index, i);
    ck_assert(list[i].name[0] != '\0');
    ck_assert(list[i].driver[0] != '\0');
    ck_assert_int_gt(list[i].compute_units, 0);
    ck_assert_int_gt(list[i].max_alloc, 0);
  }
  free(list);
}
END_TEST

START_TEST(test_pick_rules) {
  dlgn_device_info *list;
  int n, chosen = -1;
  ck_assert_ok(dlgn_devices_list(&list, &n));
  unsetenv("DLGN_DEVICE");

  /* no selector: the first GPU, else the first CPU, else device 0 */
  int want = -1;
  for (int i = 0; i < n && want < 0; i++)
    if (list[i].type & CL_DEVICE_TYPE_GPU) want = i;
  for (int i = 0; i < n && want < 0; i++)
    if (list[i].type & CL_DEVICE_TYPE_CPU) want = i;
  if (want < 0) want = 0;
  ck_assert_ok(dlgn_device_pick(list, n, NULL, &chosen));
  ck_assert_int_eq(chosen, want);
  ck_assert_ok(dlgn_device_pick(list, n, "", &chosen));
  ck_assert_int_eq(chosen, want);

  /* an index */
  char sel[32];
  snprintf(sel, sizeof sel, "%d", n - 1);
  ck_assert_ok(dlgn_device_pick(list, n, sel, &chosen));
  ck_assert_int_eq(chosen, n - 1);

  /* a type */
  for (int t = 0; t < 2; t++) {
    cl_device_type type = t ? CL_DEVICE_TYPE_GPU : CL_DEVICE_TYPE_CPU;
    int first = -1;
    for (int i = 0; i < n && first < 0; i++)
      if (list[i].type & type) first = i;
    int rc = dlgn_device_pick(list, n, t ? "gpu" : "cpu", &chosen);
    if (first >= 0) {
      ck_assert_int_eq(rc, 0);
      ck_assert_int_eq(chosen, first);
    } else {
      ck_assert_int_ne(rc, 0);
      ck_assert_ptr_nonnull(strstr(dlgn_error(), "no such device"));
    }
  }

  /* a case-insensitive piece of the name picks the first device carrying it */
  char piece[8] = "";
  size_t len = strlen(list[n - 1].name);
  size_t from = len > 6 ? len - 6 : 0;
  for (size_t i = 0; i < 6 && list[n - 1].name[from + i]; i++)
    piece[i] = (char)toupper((unsigned char)list[n - 1].name[from + i]);
  ck_assert_ok(dlgn_device_pick(list, n, piece, &chosen));
  ck_assert(contains_nocase(list[chosen].name, piece));
  ck_assert_int_le(chosen, n - 1);

  /* bad selectors say what was asked and where to look */
  ck_assert_int_ne(dlgn_device_pick(list, n, "no-such-device-xyz", &chosen), 0);
  ck_assert_str_eq(dlgn_error(),
                   "--device=no-such-device-xyz: no OpenCL device matches (see `dlgn devices`)");
  snprintf(sel, sizeof sel, "%d", n);
  ck_assert_int_ne(dlgn_device_pick(list, n, sel, &chosen), 0);
  ck_assert_ptr_nonnull(strstr(dlgn_error(), "no device with that index"));
  ck_assert_int_ne(dlgn_device_pick(list, n, "-1", &chosen), 0);

  /* $DLGN_DEVICE stands in for a missing selector, and errors name it */
  snprintf(sel, sizeof sel, "%d", n - 1);
  ck_assert_int_eq(setenv("DLGN_DEVICE", sel, 1), 0);
  ck_assert_ok(dlgn_device_pick(list, n, NULL, &chosen));
  ck_assert_int_eq(chosen, n - 1);
  ck_assert_ok(dlgn_device_pick(list, n, "0", &chosen)); /* an explicit selector wins */
  ck_assert_int_eq(chosen, 0);
  ck_assert_int_eq(setenv("DLGN_DEVICE", "bogus-name", 1), 0);
  ck_assert_int_ne(dlgn_device_pick(list, n, NULL, &chosen), 0);
  ck_assert_ptr_eq(strstr(dlgn_error(), "DLGN_DEVICE=bogus-name"), dlgn_error());
  dlgn_device *dev = NULL;
  ck_assert_int_ne(dlgn_device_open(&dev, NULL, 0), 0);
  ck_assert_ptr_null(dev);
  unsetenv("DLGN_DEVICE");
  free(list);
}
END_TEST

/* Number of cache files in dir; other names one that is not `except`. */
static int count_bins(const char *dir, const char *except, char *other, size_t size) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  int n = 0;
  struct dirent *e;
  char path[700];
  while ((e = readdir(d))) {
    size_t len = strlen(e->d_name);
    if (len > 4 && strcmp(e->d_name + len - 4, ".bin") == 0) {
      n++;
      snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
      if (!except || strcmp(path, except) != 0) snprintf(other, size, "%s", path);
    }
  }
  closedir(d);
  return n;
}

/* A program built once is written to the cache; the next build of the same
 * source and options loads that file instead of compiling (it is not
 * rewritten); a damaged file is compiled over and replaced. */
START_TEST(test_binary_cache) {
  char dir[256], file[700], second[700];
  test_tmpdir(dir, sizeof dir);
  char cache[300];
  snprintf(cache, sizeof cache, "%s/nested/cache", dir);
  ck_assert_int_eq(setenv("DLGN_CACHE_DIR", cache, 1), 0);
  unsetenv("DLGN_NO_CACHE");
  dlgn_device *dev;
  ck_assert_ok(dlgn_device_open(&dev, NULL, 0));
  const char *files[] = {"gemm.cl"};
  const char *opts = "-DTM=3 -DTN=8 -DVW=4";
  cl_program p;
  ck_assert_ok(ocl_program_build(dev, files, 1, opts, &p));
  clReleaseProgram(p);
  ck_assert_int_eq(count_bins(cache, NULL, file, sizeof file), 1);

  struct utimbuf old = {1000000000, 1000000000}; /* 2001 */
  ck_assert_int_eq(utime(file, &old), 0);
  ck_assert_ok(ocl_program_build(dev, files, 1, opts, &p));
  cl_int err;
  cl_kernel k = clCreateKernel(p, "gemm_tile", &err); /* the cached binary is usable */
  ck_assert_int_eq(err, CL_SUCCESS);
  clReleaseKernel(k);
  clReleaseProgram(p);
  struct stat st;
  ck_assert_int_eq(stat(file, &st), 0);
  ck_assert_msg(st.st_mtime == old.modtime,
                "second build rewrote the cache file instead of loading it");
  ck_assert_int_eq(count_bins(cache, NULL, file, sizeof file), 1);

  /* other options, another file */
  ck_assert_ok(ocl_program_build(dev, files, 1, "-DTM=2 -DTN=8 -DVW=4", &p));
  clReleaseProgram(p);
  ck_assert_int_eq(count_bins(cache, file, second, sizeof second), 2);

  /* garbage in the cache: compiled from source and replaced */
  FILE *f = fopen(second, "wb");
  ck_assert_ptr_nonnull(f);
  fputs("not a binary", f);
  fclose(f);
  ck_assert_ok(ocl_program_build(dev, files, 1, "-DTM=2 -DTN=8 -DVW=4", &p));
  clReleaseProgram(p);
  ck_assert_int_eq(stat(second, &st), 0);
  ck_assert_int_gt(st.st_size, 12);

  dlgn_device_close(dev);
  test_rmtree(dir);
}
END_TEST

/* A source that does not compile: the error names the files and points at
 * the build log, which goes to stderr and names the file and the problem. */
START_TEST(test_build_failure) {
  char dir[256], logpath[300];
  test_tmpdir(dir, sizeof dir);
  ck_assert_int_eq(setenv("DLGN_CACHE_DIR", dir, 1), 0);
  dlgn_device *dev;
  ck_assert_ok(dlgn_device_open(&dev, NULL, 0));
  snprintf(logpath, sizeof logpath, "%s/stderr.txt", dir);
  fflush(stderr);
  int saved = dup(2);
  int fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ck_assert_int_ge(fd, 0);
  dup2(fd, 2);
  close(fd);
  const char *files[] = {"gemm.cl"};
  cl_program p = NULL;
  int rc = ocl_program_build(dev, files, 1, "-DTM=no_such_identifier", &p);
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  ck_assert_int_ne(rc, 0);
  ck_assert_ptr_null(p);
  const char *msg = dlgn_error();
  ck_assert_msg(
      strstr(msg, "cl/gemm.cl") && strstr(msg, dev->info.name) && strstr(msg, "build log"),
      "message: %s", msg);

  char log[8192] = "";
  FILE *f = fopen(logpath, "r");
  ck_assert_ptr_nonnull(f);
  size_t n = fread(log, 1, sizeof log - 1, f);
  log[n] = '\0';
  fclose(f);
  ck_assert_msg(strstr(log, "build log of cl/gemm.cl") && strstr(log, "no_such_identifier"),
                "stderr: %s", log);

  /* a file that is not embedded is named too */
  const char *missing[] = {"no_such_file.cl"};
  ck_assert_int_ne(ocl_program_build(dev, missing, 1, "", &p), 0);
  ck_assert_ptr_nonnull(strstr(dlgn_error(), "cl/no_such_file.cl"));
  dlgn_device_close(dev);
  test_rmtree(dir);
}
END_TEST

Suite *make_suite(void) {
  Suite *s = suite_create("cl_device");
  TCase *tc = tcase_create("device");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, test_list);
  tcase_add_test(tc, test_pick_rules);
  tcase_add_test(tc, test_binary_cache);
  tcase_add_test(tc, test_build_failure);
  suite_add_tcase(s, tc);
  return s;
}

#define _XOPEN_SOURCE 700
#include "testutil.h"

#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dlgn/status.h"

const char *test_real_cifar10(void) {
  static char path[1024];
  const char *env = getenv("DLGN_REAL_CIFAR10");
  if (env && *env) snprintf(path, sizeof path, "%s", env);
  else snprintf(path, sizeof path, "%s/../shared/datasets/cifar-10-binary.tar.gz", DLGN_SOURCE_DIR);
  return access(path, R_OK) == 0 ? path : NULL;
}

int test_open_all_devices(dlgn_device ***devs, int *count) {
  dlgn_device_info *list;
  int n;
  *devs = NULL;
  *count = 0;
  if (dlgn_devices_list(&list, &n) != 0) return -1;
  dlgn_device **out = calloc((size_t)n, sizeof *out);
  for (int i = 0; i < n; i++) {
    char sel[16];
    snprintf(sel, sizeof sel, "%d", i);
    /* new buffers start as NaN: a kernel that reads scratch memory it never
     * wrote must fail here on every device ($DLGN_POISON=0 turns it off:
     * Oclgrind tracks unwritten memory itself) */
    const char *poison = getenv("DLGN_POISON");
    int flags = poison && strcmp(poison, "0") == 0 ? 0 : DLGN_OPEN_POISON;
    if (dlgn_device_open(&out[i], sel, flags) != 0) {
      test_close_all_devices(out, i);
      free(list);
      return -1;
    }
    /* $DLGN_TEST_AS_GPU=1: every device takes the choices dlgn makes for a
     * GPU (reduction groups of 256, im2col an element per work-item, the
     * GEMM convolutions of the built-in plan), so those paths are checked
     * against the references on machines without a GPU */
    const char *as_gpu = getenv("DLGN_TEST_AS_GPU");
    if (as_gpu && strcmp(as_gpu, "1") == 0) out[i]->info.type = CL_DEVICE_TYPE_GPU;
  }
  free(list);
  *devs = out;
  *count = n;
  return 0;
}

void test_close_all_devices(dlgn_device **devs, int count) {
  for (int i = 0; i < count; i++) dlgn_device_close(devs[i]);
  free(devs);
}

void test_tmpdir(char *out, size_t size) {
  const char *base = getenv("TMPDIR");
  snprintf(out, size, "%s/dlgn-test-XXXXXX", base && *base ? base : "/tmp");
  ck_assert_ptr_nonnull(mkdtemp(out));
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(path);
}

void test_rmtree(const char *dir) { nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

double test_compare(const float *got, const float *want, size_t n, double abs_tol, double rel_tol,
                    size_t *worst) {
  double max = 0;
  size_t wi = 0;
  for (size_t i = 0; i < n; i++) {
    double r = fabs((double)got[i] - (double)want[i]) / (abs_tol + rel_tol * fabs((double)want[i]));
    if (isnan(got[i]) || isnan(want[i]) || isinf(got[i]) != isinf(want[i])) r = INFINITY;
    if (r > max) {
      max = r;
      wi = i;
    }
  }
  if (worst) *worst = wi;
  return max;
}

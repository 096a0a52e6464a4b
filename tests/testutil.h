/* Helpers shared by the Check suites. */
#ifndef DLGN_TESTUTIL_H
#define DLGN_TESTUTIL_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>

#include "cl/device.h"

/* Optional in a suite: return a reason to skip the whole suite (exit code 77,
 * reported by ctest as skipped, the reason printed), or NULL to run it. */
const char *suite_skip_reason(void) __attribute__((weak));

/* The real CIFAR-10 archive beside the project, or NULL when absent. */
const char *test_real_cifar10(void);

/* Every OpenCL device present, opened (count may be 0 only if there is no
 * platform; then the suite fails with the runtime's message). */
int test_open_all_devices(dlgn_device ***devs, int *count);
void test_close_all_devices(dlgn_device **devs, int count);

/* A fresh temporary directory (removed with its files by test_rmtree). */
void test_tmpdir(char *out, size_t size);
void test_rmtree(const char *dir);

/* max |a-b| / (abs_tol + rel_tol*|b|) over n values; <= 1 means they agree. */
double test_compare(const float *got, const float *want, size_t n, double abs_tol, double rel_tol,
                    size_t *worst);

#define ck_assert_ok(expr) ck_assert_msg((expr) == 0, "%s failed: %s", #expr, dlgn_error())

#endif

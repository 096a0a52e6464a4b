/* Shared main of every Check suite: each tests/test_*.c provides make_suite(). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "testutil.h"

Suite *make_suite(void);

int main(void) {
  if (suite_skip_reason) {
    const char *why = suite_skip_reason();
    if (why) {
      printf("SKIPPED: %s\n", why);
      return 77;
    }
  }
  SRunner *sr = srunner_create(make_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

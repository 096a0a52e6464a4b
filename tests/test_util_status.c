/* Errors are one line, whatever the names they quote from a file hold. */
#include <string.h>

#include "dlgn/status.h"
#include "testutil.h"

START_TEST(control_bytes_in_quoted_names) {
  dlgn_fail("unknown key \"%s\"", "a\nb\rc\td\x1b[31me\x7f");
  ck_assert_str_eq(dlgn_error(), "unknown key \"a b c d?[31me?\"");
  dlgn_fail("member %s", "x\ny");
  dlgn_fail_context("archive %s", "p\nq");
  ck_assert_str_eq(dlgn_error(), "archive p q: member x y");
  /* UTF-8 names pass unchanged */
  dlgn_fail("class %s", "caf\xc3\xa9");
  ck_assert_str_eq(dlgn_error(), "class caf\xc3\xa9");
}
END_TEST

Suite *make_suite(void) {
  Suite *s = suite_create("util_status");
  TCase *tc = tcase_create("status");
  tcase_add_test(tc, control_bytes_in_quoted_names);
  suite_add_tcase(s, tc);
  return s;
}
